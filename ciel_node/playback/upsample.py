"""From the nets' rate to the device's: an exact integer-ratio upsampler with a fixed, small delay.

The sound engine's sound is at the audio net's rate (16 kHz shipped); sound servers and most interfaces run at
48 kHz, three times that. libsoxr (which the speaker used for every ratio) holds back between 6 and 37 ms at its
HQ setting for 16 -> 48 kHz, in internal blocks: a variable term of every control's latency. An integer ratio
needs none of that: a polyphase FIR (a Kaiser-windowed sinc, one sub-filter per output phase) turns each input
block into exactly `ratio` times as many samples at once, late only by the filter's group delay (3 ms for 16 ->
48 kHz). Other ratios (a 44.1 kHz device) keep libsoxr.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import soxr

# 291 taps at 16 -> 48 kHz (odd: a whole number of samples late): flat to 7 kHz, images ~100 dB down (tests)
TAPS_PER_PHASE = 97
KAISER_BETA = 8.6  # ~86 dB of stopband
EDGE = 0.95  # the cutoff (-6 dB) as a fraction of the input's Nyquist frequency: 7.6 kHz at 16 kHz


class Resampler(Protocol):
    def resample_chunk(self, x: np.ndarray) -> np.ndarray: ...

    def delay(self) -> float: ...


class IntegerUpsampler:
    """`ratio` output samples for each input sample, streamed block by block; float32 in and out."""

    def __init__(self, ratio: int, taps_per_phase: int = TAPS_PER_PHASE) -> None:
        if ratio < 2:
            raise ValueError(f"an upsampler needs a ratio of at least 2 (got {ratio})")
        self.ratio = ratio
        n = ratio * taps_per_phase
        t = (np.arange(n) - (n - 1) / 2) / ratio  # in input samples
        h = EDGE * np.sinc(EDGE * t) * np.kaiser(n, KAISER_BETA)
        h *= ratio / h.sum()  # unity gain at 0 Hz once the zeros between input samples are filled
        # Output sample ratio*m + p is sum_k h[ratio*k + p] * x[m - k]: sub-filter p, reversed for np.correlate.
        self.phases = [h[p::ratio][::-1].copy() for p in range(ratio)]
        self.history = np.zeros(taps_per_phase - 1)
        self._delay = (n - 1) / 2  # output samples: the filter is symmetric

    def resample_chunk(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if not len(x):  # (np.correlate would swap its arguments for an input shorter than the filter)
            return np.zeros(0, np.float32)
        xp = np.concatenate([self.history, x])
        out = np.empty((len(x), self.ratio))
        for p, sub in enumerate(self.phases):
            out[:, p] = np.correlate(xp, sub, mode="valid")
        self.history = xp[len(xp) - len(self.history) :]
        return out.reshape(-1).astype(np.float32)

    def delay(self) -> float:
        """How late the output is, in output samples (fixed)."""
        return self._delay

    def snapshot(self) -> np.ndarray:
        """Its whole state (the last inputs): restore() it to resample from here again, as the engine's cut-in does."""
        return self.history.copy()

    def restore(self, snapshot: np.ndarray) -> None:
        self.history = snapshot.copy()


def resampler(source_rate: int, rate: int) -> Resampler | Any:
    """The resampler for a stream at `rate` fed at `source_rate`: exact and fixed-delay for an integer ratio,
    libsoxr (HQ) otherwise (and a pass-through copy at the same rate)."""
    if rate > source_rate and rate % source_rate == 0:
        return IntegerUpsampler(rate // source_rate)
    return soxr.ResampleStream(source_rate, rate, 1, dtype="float32", quality="HQ")
