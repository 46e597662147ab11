"""Batched real FFTs of one length for the phase solve: torch's own MKL, with its plans kept between calls.

torch.fft on a CPU build with MKL makes a new MKL descriptor (a plan) for every call, commits it and frees it. For
the phase solve's transforms (20-34 frames of 1,024 samples) that costs more than the transform: ~25 us of a
~40 us call, twice an iteration, hundreds of times a second in the live sound. Here the same MKL functions, exported
by torch's own library, are called with a descriptor configured exactly as torch configures it (ATen's
mkl/SpectralOps.cpp, _plan_mkl_fft: out of place, a batch of contiguous rows, conjugate-even storage as complex,
the inverse scaled by 1/n), committed once per batch size and kept. Same library, same plan, same floats
(tests/test_fft.py compares them bit for bit with torch.fft), in a third of the time.

Where torch has no MKL (ARM wheels use pocketfft) or its library does not export the functions, this is torch.fft
itself, with the same result as before.
"""

from __future__ import annotations

import ctypes
import platform
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

__all__ = ["RealFFT", "direct_available", "real_fft"]

# mkl_dfti.h: configuration parameters and values.
_PRECISION_SINGLE, _DOMAIN_REAL = 35, 33
_BACKWARD_SCALE, _NUMBER_OF_TRANSFORMS, _CONJUGATE_EVEN_STORAGE, _PLACEMENT = 5, 7, 10, 11
_INPUT_STRIDES, _OUTPUT_STRIDES, _INPUT_DISTANCE, _OUTPUT_DISTANCE, _THREAD_LIMIT = 12, 13, 14, 15, 27
_COMPLEX_COMPLEX, _NOT_INPLACE = 39, 44
PLANS_KEPT = 32  # per length and thread: batch sizes seen (a piece's blocks, the live pushes, cut-ins)


def _load_mkl() -> Any:
    """torch's library with its MKL DFTI functions typed, or None. x86-64 only: DftiSetValue is variadic, which ctypes
    calls correctly on the x86-64 ABIs (and torch's MKL builds are x86-64)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkl.is_available():
        return None
    lib_dir = Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "torch_cpu.dll"):
        try:  # a library without one of the functions raises AttributeError here: then torch.fft
            lib = ctypes.CDLL(str(lib_dir / name))
            lib.DftiCreateDescriptor_s_1d.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_long]
            for f in (lib.DftiCreateDescriptor_s_1d, lib.DftiSetValue, lib.DftiCommitDescriptor,
                      lib.DftiComputeForward, lib.DftiComputeBackward):
                f.restype = ctypes.c_long
            lib.DftiCommitDescriptor.argtypes = [ctypes.c_void_p]
            lib.DftiFreeDescriptor.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
            lib.DftiErrorMessage.argtypes = [ctypes.c_long]
            lib.DftiErrorMessage.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        return lib
    return None


_MKL = _load_mkl()


def direct_available() -> bool:
    """Whether the FFTs go to MKL directly with kept plans (else through torch.fft)."""
    return _MKL is not None


class _Plan:
    """One committed MKL descriptor: `batch` real transforms of length n, one direction."""

    def __init__(self, n: int, batch: int, forward: bool) -> None:
        self.handle = ctypes.c_void_p()
        self._check(_MKL.DftiCreateDescriptor_s_1d(ctypes.byref(self.handle), _DOMAIN_REAL, n), "create")
        bins = n // 2 + 1
        strides = (ctypes.c_long * 2)(0, 1)  # the offset (ignored), then one element between samples
        settings: list[tuple[int, Any]] = [
            (_PLACEMENT, ctypes.c_int(_NOT_INPLACE)),
            (_NUMBER_OF_TRANSFORMS, ctypes.c_long(batch)),
            (_INPUT_DISTANCE, ctypes.c_long(n if forward else bins)),
            (_OUTPUT_DISTANCE, ctypes.c_long(bins if forward else n)),
            (_INPUT_STRIDES, strides), (_OUTPUT_STRIDES, strides),
            (_CONJUGATE_EVEN_STORAGE, ctypes.c_int(_COMPLEX_COMPLEX)),
            (_THREAD_LIMIT, ctypes.c_int(1)),  # the phase solve is small; the caller's threads do the rest
        ]
        if not forward:  # irfft's default norm ("backward"): the inverse divided by n, in MKL as torch asks
            settings.append((_BACKWARD_SCALE, ctypes.c_double(1.0 / n)))
        for key, value in settings:
            self._check(_MKL.DftiSetValue(self.handle, key, value), f"set {key}")
        self._check(_MKL.DftiCommitDescriptor(self.handle), "commit")
        self.compute = _MKL.DftiComputeForward if forward else _MKL.DftiComputeBackward

    def _check(self, status: int, what: str) -> None:
        if status:
            raise RuntimeError(f"MKL DFTI {what}: {_MKL.DftiErrorMessage(status).decode(errors='replace')}")

    def __call__(self, source: torch.Tensor, out: torch.Tensor) -> None:
        self._check(self.compute(self.handle, ctypes.c_void_p(source.data_ptr()), ctypes.c_void_p(out.data_ptr())),
                    "compute")

    def __del__(self) -> None:
        if _MKL is not None and self.handle:
            _MKL.DftiFreeDescriptor(ctypes.byref(self.handle))


class RealFFT:
    """rfft/irfft along the last axis of C-contiguous (batch, n) float32 / (batch, n // 2 + 1) complex64 tensors,
    into `out`. One per thread (plans are kept per batch size, and a plan is not shared between threads)."""

    def __init__(self, n: int, direct: bool = True) -> None:
        self.n, self.bins = n, n // 2 + 1
        self.direct = direct and _MKL is not None
        self._plans: OrderedDict[tuple[int, bool], _Plan] = OrderedDict()

    def forward(self, frames: torch.Tensor, out: torch.Tensor) -> None:
        """out = torch.fft.rfft(frames, dim=-1)."""
        self._shapes(frames, torch.float32, self.n, out, torch.complex64, self.bins)
        if self.direct:
            self._plan(frames.shape[0], True)(frames, out)
        else:
            torch.fft.rfft(frames, dim=-1, out=out)

    def inverse(self, spectra: torch.Tensor, out: torch.Tensor) -> None:
        """out = torch.fft.irfft(spectra, n=n, dim=-1)."""
        self._shapes(spectra, torch.complex64, self.bins, out, torch.float32, self.n)
        if self.direct:
            self._plan(spectra.shape[0], False)(spectra, out)
        else:
            torch.fft.irfft(spectra, n=self.n, dim=-1, out=out)

    def _plan(self, batch: int, forward: bool) -> _Plan:
        key = (batch, forward)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.n, batch, forward)
            while len(self._plans) > PLANS_KEPT:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    @staticmethod
    def _shapes(source: torch.Tensor, source_dtype: torch.dtype, source_width: int, out: torch.Tensor,
                out_dtype: torch.dtype, out_width: int) -> None:
        # The plan reads and writes raw memory: anything but these exact layouts would be read wrong, so refuse it.
        if (source.dtype != source_dtype or out.dtype != out_dtype or source.dim() != 2 or out.dim() != 2
                or source.shape != (out.shape[0], source_width) or out.shape[1] != out_width
                or not source.is_contiguous() or not out.is_contiguous()):
            raise ValueError(f"RealFFT: ({source.dtype} {tuple(source.shape)}) -> ({out.dtype} {tuple(out.shape)}): "
                             f"want contiguous {source_dtype} (b, {source_width}) -> {out_dtype} (b, {out_width})")


_local = threading.local()


def real_fft(n: int) -> RealFFT:
    """This thread's RealFFT for length n (its plans kept for the thread's life)."""
    cache: dict[int, RealFFT] | None = getattr(_local, "ffts", None)
    if cache is None:
        cache = _local.ffts = {}
    fft = cache.get(n)
    if fft is None:
        fft = cache[n] = RealFFT(n)
    return fft
