"""Phase reconstruction: streaming fast Griffin-Lim (with momentum), block by block, click-free joins."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F


class Framing:
    """STFT framing shared by analysis and synthesis: periodic Hann, n_fft a multiple of hop.

    Frame k covers samples [k*hop - pad, k*hop + pad) with pad = n_fft / 2: centred on sample k*hop,
    exactly like `torch.stft(center=True, pad_mode="constant")`, so both give the same magnitudes.
    """

    def __init__(self, n_fft: int, hop: int) -> None:
        if n_fft % hop:
            raise ValueError(f"n_fft={n_fft} must be a multiple of hop={hop}")
        self.n_fft, self.hop = n_fft, hop
        self.pad = n_fft // 2
        self.overlap = n_fft // hop  # frames covering one sample
        self.window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64).float()
        # Sum of squared windows over the overlapping frames: constant for Hann at these hops.
        wss = (self.window.reshape(self.overlap, hop) ** 2).sum(0)
        self.norm = torch.tile(wss, (self.overlap,))

    def analyse(self, signal: torch.Tensor) -> torch.Tensor:
        # (S,) samples with S = (W - 1) * hop + n_fft -> (W, F) complex frames
        return torch.fft.rfft(signal.unfold(0, self.n_fft, self.hop) * self.window, dim=-1)

    def overlap_add(self, spectra: torch.Tensor) -> torch.Tensor:
        # (W, F) complex frames -> (S,) samples, S = (W - 1) * hop + n_fft, unnormalised at the edges
        frames = torch.fft.irfft(spectra, n=self.n_fft, dim=-1) * (self.window / self.norm)
        w = frames.shape[0]
        return F.fold(
            frames.T[None], output_size=(1, (w - 1) * self.hop + self.n_fft), kernel_size=(1, self.n_fft),
            stride=(1, self.hop),
        ).flatten()

    def magnitudes(self, samples: np.ndarray) -> torch.Tensor:
        """|STFT| of a whole sound in this framing (zero-padded so frame k owns slice k)."""
        x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
        frames = int(math.ceil(len(x) / self.hop))
        x = F.pad(x, (self.pad, frames * self.hop - len(x) + self.pad))
        return self.analyse(x).abs()


def spectral_convergence(samples: np.ndarray, mags: torch.Tensor, framing: Framing) -> float:
    """||  |STFT(x)| - M || / || M ||: how well a signal realises the wanted magnitudes (lower is better)."""
    got = framing.magnitudes(samples)[: mags.shape[0]]
    return float(torch.linalg.norm(got - mags) / torch.linalg.norm(mags).clamp_min(1e-12))


class StreamingGriffinLim:
    """Fast Griffin-Lim (Perraudin et al. 2013) over sliding windows of frames.

    Each block solves `block` new frames with `context` already-committed frames on its left held
    fixed (so the new frames are made consistent with what was already played) and `lookahead`
    frames on its right solved but not committed (so the right edge is not an edge). Samples are
    emitted as soon as every frame overlapping them is committed.
    """

    def __init__(
        self, framing: Framing, iterations: int = 16, momentum: float = 0.99, block: int = 31, lookahead: int = 4
    ) -> None:
        self.f = framing
        self.iterations, self.momentum = iterations, momentum
        self.block, self.lookahead = block, lookahead
        self.context = framing.overlap - 1

    def stream(self, mags: torch.Tensor, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """(T, F) magnitudes -> successive blocks of float32 samples, T * hop samples in all."""
        f, c, total = self.f, self.context, mags.shape[0]
        # Committed complex frames in "padded" indices: padded p = sound frame p - c; the first c are silence.
        committed = torch.zeros((c + total, mags.shape[1]), dtype=torch.complex64)
        phase = torch.from_numpy(rng.uniform(-math.pi, math.pi, mags.shape).astype(np.float32))
        # Overlap-add buffer: padded frame p starts at p*hop, so sound sample x lives at x + base.
        ola = torch.zeros((c + total - 1) * f.hop + f.n_fft)
        base = c * f.hop + f.pad
        emitted = 0
        for s in range(0, total, self.block):
            e = min(total, s + self.block)
            r = min(total, e + self.lookahead)
            solved = self._solve(committed[s : s + c], mags[s:r], phase[s:r])
            committed[c + s : c + e] = solved[: e - s]
            if r > e:  # the lookahead's phases start the next block: continuity, faster convergence
                phase[e:r] = torch.angle(solved[e - s :])
            start = (c + s) * f.hop
            ola[start : start + (e - s - 1) * f.hop + f.n_fft] += f.overlap_add(solved[: e - s])
            # Every frame up to e-1 is committed, so sound samples below e*hop - pad are final.
            ready = e * f.hop - f.pad if e < total else total * f.hop
            yield ola[base + emitted : base + ready].numpy().copy()
            emitted = ready

    def _solve(self, fixed: torch.Tensor, target: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """FGLA in librosa's form, with the `fixed` frames on the left clamped; returns the new frames."""
        c = fixed.shape[0]
        beta = self.momentum / (1.0 + self.momentum)
        angles = torch.polar(torch.ones_like(target), phase)
        rebuilt = torch.zeros_like(angles)
        for _ in range(self.iterations):
            previous = rebuilt
            signal = self.f.overlap_add(torch.cat([fixed, target * angles]))
            rebuilt = self.f.analyse(signal)[c:]
            angles = rebuilt - beta * previous
            angles = angles / (angles.abs() + 1e-12)
        return target * angles
