"""The elementwise half of a Griffin-Lim iteration as three compiled loops (numba); the FFTs are MKL's (fft.py).

An iteration of phase.PhaseStream._solve is an inverse FFT, the overlap-add of the frames, a forward FFT, and the
projection of the new spectra onto the wanted magnitudes. In torch the overlap-add and the projection were some
twenty small tensor ops on ~35 frames (flips, a strided sum, two windowings, momentum, |z| in float64, a reciprocal,
two complex products), each paying torch's per-call cost and a trip through memory: two thirds of the solve. Here
each is one pass over the frames.

Every float is the one the torch ops made, bit for bit (tests/test_phase_golden.py holds the output to the bytes):
the same operations in the same order, each rounded to float32 as torch rounded it. Compiled without fast-math,
LLVM neither reorders nor fuses them (no FMA), so this holds on any x86 CPU the compile targets. Where torch
multiplied by a complex with a zero imaginary part (magnitudes as complex, a real scale promoted to complex, the
momentum as a complex alpha), the real and imaginary parts are scaled apart: the same floats, since x*0 adds or
subtracts only a zero; only the sign of an exact zero could differ, and no sample depends on it.

Compiled once, when this module is first imported, for these exact signatures (float32 arrays, C-contiguous),
and cached beside it (numba's cache: ~0.2 s to load instead of ~1 s to compile).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit


def _compiled(signature: str) -> Any:
    """numba's njit for one exact signature, compiled now, releasing the GIL while it runs (the speaker's thread goes
    on), with numpy's error model (no Python exception checks in the loops, so they vectorise). Cached on disk where
    numba finds a writable place (beside this file, else the user's cache); where none is (a read-only install and
    home), compiled at every start instead, ~1 s, rather than not starting."""
    options: dict[str, Any] = {"nogil": True, "error_model": "numpy", "boundscheck": False}

    def compile_(function: Any) -> Any:
        try:
            return njit(signature, cache=True, **options)(function)
        except RuntimeError as e:  # "cannot cache function ...: no locator available for file ..."
            if "cannot cache" not in str(e):
                raise
            return njit(signature, **options)(function)

    return compile_


@_compiled("void(float32[:, ::1], float32[:, ::1], float32[:, ::1])")
def magnitude_times(magnitude: np.ndarray, angles: np.ndarray, spectra: np.ndarray) -> None:
    """spectra = magnitude * angles, complex64 frames seen as (n, 2F) float32 (real, imaginary interleaved)."""
    n, bins = magnitude.shape
    for a in range(n):
        m, z, out = magnitude[a], angles[a], spectra[a]
        for b in range(bins):
            out[2 * b] = m[b] * z[2 * b]
            out[2 * b + 1] = m[b] * z[2 * b + 1]


@_compiled("void(float32[:, ::1], int64, float32[::1], float32[::1], int64, float32[:, ::1], float32[:, ::1])")
def overlap_analyse(frames: np.ndarray, fixed: int, synthesis: np.ndarray, window: np.ndarray, hop: int,
                    blocks: np.ndarray, analysed: np.ndarray) -> None:
    """Synthesised frames -> the analysis frames of the new frames' sound (what the forward FFT takes).

    `frames` (fixed + n, n_fft): the `fixed` clamped frames first, already windowed, then the n new frames as the
    inverse FFT left them (windowed here, in place, by `synthesis`). Hop-block j of the sound is slice i of frame
    j - i summed over i = 0 .. overlap - 1, from zero in ascending i (F.fold's order, Framing.add_frames');
    `blocks` (n + overlap - 1, hop) receives the blocks from j = fixed on, and `analysed` (n, n_fft) frame f's
    samples, blocks fixed + f .. fixed + f + overlap - 1, times the analysis `window`.
    """
    rows, n_fft = frames.shape
    overlap = n_fft // hop
    n = rows - fixed
    for m in range(fixed, rows):
        frame = frames[m]
        for x in range(n_fft):
            frame[x] = frame[x] * synthesis[x]
    for jj in range(n + overlap - 1):
        j = fixed + jj
        acc = blocks[jj]
        for s in range(hop):
            acc[s] = np.float32(0.0)
        for i in range(overlap):
            m = j - i
            if 0 <= m < rows:  # frames before the first or after the last are silence: adding 0 changes nothing
                frame = frames[m]
                for s in range(hop):
                    acc[s] = acc[s] + frame[i * hop + s]
    for f in range(n):
        out = analysed[f]
        for q in range(overlap):
            block = blocks[f + q]
            for s in range(hop):
                out[q * hop + s] = block[s] * window[q * hop + s]


@_compiled("void(float32[:, ::1], float32[:, ::1], float32, boolean, float32[:, ::1], float32[:, ::1])")
def project(rebuilt: np.ndarray, previous: np.ndarray, beta: np.float32, momentum: bool, magnitude: np.ndarray,
            spectra: np.ndarray) -> None:
    """The fast Griffin-Lim update: spectra = magnitude * unit(rebuilt - beta * previous), all (n, 2F) float32 views.

    Without `momentum` (the first iteration) previous is not read. unit(z) = z / (|z| + 1e-12) as torch made it on
    complex64. torch's complex abs is a SIMD hypot good to half an ulp; the float32 pair squared (exactly) and added
    (one rounding) in float64, then rooted and rounded to float32, gives the same float (no value differed in 10^6
    random pairs). Then 1e-12 is added in float32, and z is multiplied by the float32 reciprocal, as torch divides a
    complex by a real.
    """
    n, width = rebuilt.shape
    bins = width // 2
    tiny, one = np.float32(1e-12), np.float32(1.0)
    d = np.empty(width, np.float32)
    inverse = np.empty(bins, np.float32)
    for a in range(n):
        r = rebuilt[a]
        if momentum:
            p = previous[a]
            for x in range(width):
                d[x] = r[x] - beta * p[x]
        else:
            for x in range(width):
                d[x] = r[x]
        for b in range(bins):
            re, im = np.float64(d[2 * b]), np.float64(d[2 * b + 1])
            inverse[b] = one / (np.float32(math.sqrt(re * re + im * im)) + tiny)
        m, out = magnitude[a], spectra[a]
        for b in range(bins):
            out[2 * b] = m[b] * (d[2 * b] * inverse[b])
            out[2 * b + 1] = m[b] * (d[2 * b + 1] * inverse[b])
