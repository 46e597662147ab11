"""generate/fft.py: the phase solve's FFTs through torch's MKL with kept plans give torch.fft's floats, bit for bit."""

from __future__ import annotations

import platform
import threading

import numpy as np
import pytest
import torch

from ciel_node.generate import fft as fft_mod
from ciel_node.generate.fft import PLANS_KEPT, RealFFT, direct_available, real_fft


def _bits(t: torch.Tensor) -> np.ndarray:
    return (torch.view_as_real(t) if t.is_complex() else t).numpy().view(np.uint32)


def test_the_direct_path_is_taken_where_torch_has_mkl() -> None:
    # Else every figure of the phase solve silently falls back to a new plan per call.
    if platform.machine().lower() in ("x86_64", "amd64") and torch.backends.mkl.is_available():
        assert direct_available()
        assert real_fft(1024).direct


@pytest.mark.parametrize("n", [1024, 512, 384, 256])
@pytest.mark.parametrize("direct", [True, False])
def test_rfft_and_irfft_are_torch_fft_bit_for_bit(n: int, direct: bool) -> None:
    fft = RealFFT(n, direct=direct)
    g = torch.Generator().manual_seed(n)
    for batch in (1, 5, 20, 34, 5):  # 5 twice: a kept plan gives the same again
        frames = torch.randn((batch, n), generator=g) * torch.hann_window(n)
        spectra = torch.empty((batch, n // 2 + 1), dtype=torch.complex64)
        fft.forward(frames, spectra)
        assert np.array_equal(_bits(spectra), _bits(torch.fft.rfft(frames, dim=-1))), (n, batch)
        back = torch.empty((batch, n))
        before = spectra.clone()
        fft.inverse(spectra, back)
        assert np.array_equal(_bits(back), _bits(torch.fft.irfft(spectra, n=n, dim=-1))), (n, batch)
        assert torch.equal(spectra, before)  # the input is left as it was
    if direct and direct_available():
        assert len(fft._plans) == 8  # four batch sizes, two directions


def test_plans_kept_are_bounded_and_stay_right() -> None:
    fft = RealFFT(256)
    g = torch.Generator().manual_seed(1)
    for batch in range(1, PLANS_KEPT + 10):
        frames = torch.randn((batch, 256), generator=g)
        out = torch.empty((batch, 129), dtype=torch.complex64)
        fft.forward(frames, out)
        assert np.array_equal(_bits(out), _bits(torch.fft.rfft(frames, dim=-1))), batch
        assert len(fft._plans) <= PLANS_KEPT


@pytest.mark.parametrize(
    ("frames", "out"),
    [
        (torch.zeros((4, 1024))[:, ::2].contiguous()[:, :512], torch.zeros((4, 513), dtype=torch.complex64)),
        (torch.zeros((4, 2048))[:, ::2], torch.zeros((4, 513), dtype=torch.complex64)),  # strided: would misread
        (torch.zeros((4, 1024), dtype=torch.float64), torch.zeros((4, 513), dtype=torch.complex64)),
        (torch.zeros((4, 1024)), torch.zeros((3, 513), dtype=torch.complex64)),
        (torch.zeros((4, 1024)), torch.zeros((4, 513), dtype=torch.complex128)),
    ],
)
def test_a_layout_the_plan_would_misread_is_refused(frames: torch.Tensor, out: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="RealFFT: .* want contiguous torch.float32 \\(b, 1024\\)"):
        RealFFT(1024).forward(frames, out)


def test_each_thread_has_its_own_plans() -> None:
    mine = real_fft(1024)
    assert real_fft(1024) is mine
    theirs: list[RealFFT] = []
    t = threading.Thread(target=lambda: theirs.append(real_fft(1024)))
    t.start()
    t.join(10)
    assert theirs and theirs[0] is not mine


def test_without_mkl_it_is_torch_fft(monkeypatch: pytest.MonkeyPatch) -> None:
    # A torch without MKL (ARM wheels) or whose library does not export the DFTI functions: plain torch.fft.
    monkeypatch.setattr(fft_mod, "_MKL", None)
    fft = RealFFT(512)
    assert not fft.direct
    frames = torch.randn((3, 512))
    out = torch.empty((3, 257), dtype=torch.complex64)
    fft.forward(frames, out)
    assert np.array_equal(_bits(out), _bits(torch.fft.rfft(frames, dim=-1)))
