"""Phase reconstruction: streaming fast Griffin-Lim (with momentum), block by block, click-free joins."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ciel_node.generate import phase_kernels as kernels
from ciel_node.generate.fft import real_fft


class Framing:
    """STFT framing shared by analysis and synthesis: periodic Hann, n_fft a multiple of hop.

    Frame k covers samples [k*hop - pad, k*hop + pad) with pad = n_fft / 2: centred on sample k*hop,
    exactly like `torch.stft(center=True, pad_mode="constant")`, so both give the same magnitudes.
    """

    def __init__(self, n_fft: int, hop: int) -> None:
        if n_fft % hop or n_fft < 2 * hop:
            # One Hann frame per sample would leave the samples at its zero ends unrecoverable (0 / 0).
            raise ValueError(f"n_fft={n_fft} must be a multiple of hop={hop}, at least twice it (frames overlap)")
        self.n_fft, self.hop = n_fft, hop
        self.pad = n_fft // 2
        self.overlap = n_fft // hop  # frames covering one sample
        self.window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64).float()
        # Sum of squared windows over the overlapping frames: constant for Hann at these hops.
        wss = (self.window.reshape(self.overlap, hop) ** 2).sum(0)
        self.norm = torch.tile(wss, (self.overlap,))
        self.synthesis = self.window / self.norm  # the synthesis window, so overlap-add inverts analyse
        self.one_sum = self._sum_adds_in_order()  # how add_frames adds (same order either way)

    def analyse(self, signal: torch.Tensor) -> torch.Tensor:
        # (S,) samples with S = (W - 1) * hop + n_fft -> (W, F) complex frames
        return torch.fft.rfft(signal.unfold(0, self.n_fft, self.hop) * self.window, dim=-1)

    def overlap_add(self, spectra: torch.Tensor) -> torch.Tensor:
        # (W, F) complex frames -> (S,) samples, S = (W - 1) * hop + n_fft, unnormalised at the edges
        w, k = spectra.shape[0], self.overlap - 1
        buffer = self.frame_buffer(w)
        self.synthesise(spectra.flip(0), buffer[k : k + w])
        return self.add_frames(buffer)

    def synthesise(self, spectra: torch.Tensor, out: torch.Tensor) -> None:
        # (W, F) complex frames -> (W, n_fft) windowed sample frames, written into `out`
        real_fft(self.n_fft).inverse(spectra.contiguous(), out)  # torch.fft.irfft's floats, a kept plan (fft.py)
        out.mul_(self.synthesis)

    def frame_buffer(self, w: int) -> torch.Tensor:
        """Zeros for `w` frames to be overlap-added: (w + 2k, n_fft), k = overlap - 1; frame m goes in row
        k + w - 1 - m (last frame first), between k zero rows on either side (see add_frames)."""
        return torch.zeros((w + 2 * (self.overlap - 1), self.n_fft))

    def add_frames(self, buffer: torch.Tensor) -> torch.Tensor:
        """Frames laid out as frame_buffer says -> (S,) samples, S = (w - 1) * hop + n_fft.

        Hop-block j of the sound is the sum of slice i of frame j - i, i = 0 .. overlap - 1. With the
        frames last-first and zero-padded, those terms are one strided view with positive strides,
        added from zero in ascending i: F.fold's order, so the same floats, without fold's per-element
        indexing (several times faster at these sizes). Torch's single sum does that where it keeps
        the order (see _sum_adds_in_order), else one add per term.
        """
        k = self.overlap - 1
        blocks = buffer.shape[0] - k  # hop-blocks in the sound, last first
        terms = buffer.as_strided((self.overlap, blocks, self.hop), (self.n_fft + self.hop, self.n_fft, 1))
        if self.one_sum:
            out = terms.sum(0)
        else:  # the same order spelled out: from zero, one term after another
            out = torch.zeros((blocks, self.hop), dtype=buffer.dtype)
            for term in terms:
                out.add_(term)
        return out.flip(0).reshape(-1)

    def _sum_adds_in_order(self) -> bool:
        """Whether torch's sum over add_frames' terms adds them one after another from zero here.

        It does at the usual sizes; at small hops (16, 24) torch may reduce with several accumulators,
        which rounds differently. Checked once on random frames, where another order shows at once.
        """
        g = torch.Generator().manual_seed(0)
        k = self.overlap - 1
        buffer = self.frame_buffer(5)
        buffer[k : k + 5] = torch.randn((5, self.n_fft), generator=g)
        self.one_sum = True
        summed = self.add_frames(buffer)
        self.one_sum = False
        return bool(torch.equal(summed, self.add_frames(buffer)))

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


class PhaseStream:
    """Stateful fast Griffin-Lim for an endless stream: push frames in, get final samples out.

    Each push solves the new frames with the `context` last committed frames on their left held fixed
    (so they are made consistent with what was already played) and the given look-ahead frames on
    their right solved but not committed (so the right edge is not an edge; their phases seed the
    next push). Samples are returned as soon as every frame overlapping them is committed.

    A frame seen for the first time starts from `init` phases: "random" draws them from `rng`, in frame order (pieces,
    and the goldens); "advance" carries on from the frame before it (the last look-ahead's phase, else the last
    committed frame's), each bin turning by its own frequency over a hop, as a steady sinusoid would: the phase
    vocoder's guess, as RTISI-LA starts new frames from what came before (Zhu, Beauregard & Wyse 2007). The live sound
    uses it, and with it fewer iterations a push (generate/live.py has the figures).
    """

    def __init__(self, framing: Framing, iterations: int = 16, momentum: float = 0.99, init: str = "random") -> None:
        if init not in ("random", "advance"):
            raise ValueError(f"init={init!r}: 'random' or 'advance'")
        self.f = framing
        self.iterations, self.momentum, self.init = iterations, momentum, init
        # How far each bin's phase turns over a hop: 2 pi k hop / n_fft.
        bins = torch.arange(framing.n_fft // 2 + 1, dtype=torch.float64)
        self.turn = 2 * math.pi * bins * framing.hop / framing.n_fft
        self.context = framing.overlap - 1
        self.fixed: torch.Tensor | None = None  # the last `context` committed frames (silence at first)
        self.ahead_phase: torch.Tensor | None = None  # phases of the frames after the committed ones
        self.frames = 0  # committed so far
        self.acc = torch.zeros(0)  # overlap-add sums for sound samples [emitted, emitted + len)
        self.emitted = 0

    def push(self, mags: torch.Tensor, ahead: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
        """Commit `mags` (n, F) using `ahead` (k, F) as look-ahead; return the samples now final."""
        f, n = self.f, mags.shape[0]
        target = torch.cat([mags, ahead]) if len(ahead) else mags
        if self.fixed is None:
            self.fixed = torch.zeros((self.context, mags.shape[1]), dtype=torch.complex64)
        known = 0 if self.ahead_phase is None else min(len(self.ahead_phase), len(target))
        fresh = self._fresh(len(target) - known, known, mags.shape[1], rng)
        phase = torch.cat([self.ahead_phase[:known], fresh]) if self.ahead_phase is not None and known else fresh
        solved = self._solve(self.fixed, target, phase)
        self.fixed = torch.cat([self.fixed, solved[:n]])[-self.context :]
        self.ahead_phase = torch.angle(solved[n:]) if len(ahead) else None
        # Frame k covers sound samples [k*hop - pad, k*hop - pad + n_fft).
        start = self.frames * f.hop - f.pad - self.emitted
        end = start + (n - 1) * f.hop + f.n_fft
        if end > len(self.acc):
            self.acc = torch.cat([self.acc, torch.zeros(end - len(self.acc))])
        added = f.overlap_add(solved[:n])
        if start < 0:  # the very first frames reach before sample 0
            added, start = added[-start:], 0
        self.acc[start:end].add_(added)
        self.frames += n
        return self._emit(self.frames * f.hop - f.pad)

    def _fresh(self, m: int, known: int, bins: int, rng: np.random.Generator) -> torch.Tensor:
        """Starting phases for `m` frames seen for the first time, after `known` look-ahead frames (see init)."""
        if self.init == "random":
            return torch.from_numpy(rng.uniform(-math.pi, math.pi, (m, bins)).astype(np.float32))
        assert self.fixed is not None
        if known:
            last = self.ahead_phase[known - 1].double()  # type: ignore[index]
        else:  # the last committed frame's (zeros before any: silence, angle 0)
            last = torch.angle(self.fixed[-1]).double()
        turned = last + self.turn * torch.arange(1, m + 1, dtype=torch.float64)[:, None]
        return (torch.remainder(turned + math.pi, 2 * math.pi) - math.pi).float()

    def snapshot(self) -> tuple[Any, ...]:
        """Its state between pushes, for restore(): the stream goes on from here again, bit for bit."""
        return self.fixed, self.ahead_phase, self.frames, self.acc.clone(), self.emitted  # only acc changes in place

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        self.fixed, self.ahead_phase, self.frames, acc, self.emitted = snapshot
        self.acc = acc.clone()

    def flush(self, total: int) -> np.ndarray:
        """The samples up to `total` (the end of a finite sound), tails included."""
        return self._emit(total)

    def _emit(self, upto: int) -> np.ndarray:
        k = max(0, upto - self.emitted)
        out = self.acc[:k].numpy().copy()
        if len(out) < k:
            out = np.concatenate([out, np.zeros(k - len(out), np.float32)])
        self.acc = self.acc[k:]
        self.emitted += k
        return out

    def _solve(self, fixed: torch.Tensor, target: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """FGLA in librosa's form, with the `fixed` frames on the left clamped; returns the new frames.

        `target` (n, F) float32 magnitudes, `phase` their starting phases. An iteration is the inverse FFT (torch's
        MKL with a kept plan, fft.py), the overlap-add and analysis windowing (phase_kernels.overlap_analyse), the
        forward FFT of only the new frames, and the momentum step and projection onto the magnitudes
        (phase_kernels.project): the floats the torch-only form made (F.fold, `z / (|z| + 1e-12)`, torch.fft;
        tests/golden/phase.npz), in under a third of its time. Buffers are torch's (64-byte aligned, as torch.fft's).
        """
        f, c = self.f, fixed.shape[0]
        n, bins = target.shape
        beta = np.float32(self.momentum / (1.0 + self.momentum))
        fft = real_fft(f.n_fft)  # torch's MKL with its plans kept (generate/fft.py): the same floats as torch.fft
        magnitude = np.ascontiguousarray(target.numpy(), dtype=np.float32)
        angles = _floats(torch.polar(torch.ones_like(target), phase))
        spectra = torch.empty((n, bins), dtype=torch.complex64)  # magnitude x angles: the inverse FFT's input
        kernels.magnitude_times(magnitude, angles, _floats(spectra))
        frames = torch.empty((c + n, f.n_fft))  # the clamped frames (synthesised once), then the new ones
        if c:
            f.synthesise(fixed, frames[:c])
        blocks = np.empty((n + f.overlap - 1, f.hop), np.float32)
        analysed = torch.empty((n, f.n_fft))
        rebuilt = torch.empty((2, n, bins), dtype=torch.complex64)  # this iteration's and the last one's
        frames_np, analysed_np, spectra_np = frames.numpy(), analysed.numpy(), _floats(spectra)
        rebuilt_np = [_floats(rebuilt[0]), _floats(rebuilt[1])]
        synthesis, window = f.synthesis.numpy(), f.window.numpy()
        for i in range(self.iterations):
            fft.inverse(spectra, frames[c:])
            kernels.overlap_analyse(frames_np, c, synthesis, window, f.hop, blocks, analysed_np)
            fft.forward(analysed, rebuilt[i % 2])
            # (the last iteration's rebuilt is the momentum's; on the first it is not read)
            kernels.project(rebuilt_np[i % 2], rebuilt_np[(i + 1) % 2], beta, i > 0, magnitude, spectra_np)
        return spectra


def _floats(z: torch.Tensor) -> np.ndarray:
    """A complex64 (n, F) tensor's memory as (n, 2F) float32, real and imaginary interleaved: the kernels' view."""
    return torch.view_as_real(z).numpy().reshape(z.shape[0], -1)


class StreamingGriffinLim:
    """A finite sound through a PhaseStream, in blocks of `block` frames with `lookahead` frames."""

    def __init__(
        self, framing: Framing, iterations: int = 16, momentum: float = 0.99, block: int = 31, lookahead: int = 4
    ) -> None:
        self.f = framing
        self.iterations, self.momentum = iterations, momentum
        self.block, self.lookahead = block, lookahead

    def stream(self, mags: torch.Tensor, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """(T, F) magnitudes -> successive blocks of float32 samples, T * hop samples in all."""
        total = mags.shape[0]
        ps = PhaseStream(self.f, self.iterations, self.momentum)
        for s in range(0, total, self.block):
            e = min(total, s + self.block)
            out = ps.push(mags[s:e], mags[e : min(total, e + self.lookahead)], rng)
            if e == total:
                out = np.concatenate([out, ps.flush(total * self.f.hop)])
            yield out
