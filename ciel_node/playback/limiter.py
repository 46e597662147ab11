"""The output limiter: the last stage before the speakers and before publishing, so the ceiling is a guarantee."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PHASES = 4  # true peak is taken on a 4x oversampled grid, as in ITU-R BS.1770
# Per phase, and the interpolator reaches HALF samples ahead. Near Nyquist a point between samples depends on samples
# far away: with 32 taps the edges of a 0.45 fs tone and the loudest peaks of full-band noise read up to 1 dB low,
# beyond the margin; 128 taps keep them within it.
TAPS = 128
HALF = TAPS // 2
KAISER_BETA = 5.0  # interpolation error <= 0.015 dB up to 0.47 fs; a larger beta droops more near Nyquist
GAIN_FLOOR = 1e-15  # -300 dB: keeps the log-domain release finite when the input is absurd (the clip still holds)


def _interpolator() -> np.ndarray:
    """(TAPS, PHASES - 1) windowed-sinc matrix: the TAPS samples x[n-HALF+1 .. n+HALF] -> x(n + j/PHASES), j >= 1."""
    offsets = np.arange(-HALF + 1, HALF + 1, dtype=np.float64)[:, None] - np.arange(1, PHASES)[None, :] / PHASES
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (offsets / HALF) ** 2, 0.0, None))) / np.i0(KAISER_BETA)
    kernel = np.sinc(offsets) * window
    return kernel / kernel.sum(axis=0)  # exact at DC, so a constant signal measures as itself


def _window_min(a: np.ndarray, width: int) -> np.ndarray:
    """min(a[i : i + width]) for each of the len(a) - width + 1 full windows, in O(len(a)) (van Herk / Gil-Werman)."""
    count = len(a) - width + 1
    if width == 1:
        return a.copy()
    chunks = -(-len(a) // width)
    padded = np.full(chunks * width, np.inf)
    padded[: len(a)] = a
    blocks = padded.reshape(chunks, width)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[:count], prefix[width - 1 : width - 1 + count])


def _float32_below(value: float) -> float:
    """The largest float32 <= value, so a float32 sample clipped to it cannot round past the ceiling."""
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(0.0))
    return float(f)


class TruePeakLimiter:
    """Look-ahead true-peak limiter: no output sample exceeds the ceiling, and no peak between samples does by more
    than what the interpolator misses (on a 4x oversampled grid: tones up to 0.47 fs stay under the ceiling, loud
    Gaussian noise within 0.15 dB, the worst case seen, full-scale uniform white noise, within 0.5 dB).

    Each sample's true peak p (the largest of |x[n]| and three interpolated points up to the next sample) sets the
    gain it needs, r = min(1, ceiling / p), with `margin_db` of headroom. The gain envelope takes the minimum of r
    over the next L = `lookahead_s` samples, releases at `release_db_per_s`, and is smoothed by a moving average
    over L + 1 samples; every value in that average is already <= r of the sample it is applied to, so the gain never
    exceeds what any sample needs, and it never steps: it ramps over at least L samples. A hard clip at the ceiling
    after the gain is the last word, so the sample ceiling holds whatever comes in.

    The ceiling passed with a block is in force for every sample output from then on, including those still in the
    delay line, and the input is expected to be made for it (the leveller before it aims at that ceiling). Lowered,
    it acts at once: the samples in the delay line are scaled by new / old ceiling, so the level of the sound
    relative to the ceiling carries on. (A gain computer that kept each sample's own ceiling would see the loud
    samples before a lowered ceiling, or the loud ones after a raised one next to quiet ones, as peaks, and duck
    the sound by the whole change, to come back at the release rate: 1.7 s for 34 dB.) A raised ceiling lets the
    gain relax at the release rate where the input really is over it. The state carries across calls, so the
    output does not depend on how the signal is cut into blocks (to float rounding).

    Limit of the inter-sample guarantee: a point between samples depends on samples arbitrarily far away when the
    signal has energy right at Nyquist; a full-scale Nyquist tone that starts from silence peaks between samples by
    about ln(its length) / pi, which no finite look-ahead sees. Up to 0.47 fs the interpolator is exact to 0.015 dB.
    """

    latency: int  # samples of delay: the look-ahead plus the interpolator's reach ahead (HALF)
    lookahead: int

    def __init__(
        self, sample_rate: int, lookahead_s: float = 0.004, release_db_per_s: float = 20.0, margin_db: float = 0.3
    ) -> None:
        if sample_rate <= 0 or lookahead_s < 0 or release_db_per_s <= 0 or margin_db < 0:
            raise ValueError("sample_rate and release_db_per_s must be > 0, lookahead_s and margin_db >= 0")
        self.sample_rate = sample_rate
        self.lookahead = round(lookahead_s * sample_rate)
        self.latency = self.lookahead + HALF
        self._kernel = _interpolator().T[:, ::-1].copy()  # rows for np.convolve, which flips its kernel
        self._margin = 10.0 ** (-margin_db / 20.0)
        self._step = release_db_per_s / sample_rate * math.log(10.0) / 20.0  # release per sample, natural-log gain
        # Input samples, enough for the delay line and the interpolator's reach into the past, and the ceiling now.
        self._hist = max(self.latency, TAPS - 1)
        self._x = np.zeros(self._hist)
        self._ceiling: float | None = None
        self._needed = np.ones(self.lookahead)  # r of the samples whose look-ahead window is not complete yet
        self._held = np.ones(self.lookahead)  # the last L released gains, for the moving average
        self._log_gain = 0.0

    def snapshot(self) -> tuple[Any, ...]:
        """Its state between blocks, for restore(): the output goes on from here again, bit for bit."""
        return self._x.copy(), self._ceiling, self._needed, self._held, self._log_gain  # only _x changes in place

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        x, self._ceiling, self._needed, self._held, self._log_gain = snapshot
        self._x = x.copy()

    def process(self, block: np.ndarray, ceiling_db: float) -> np.ndarray:
        """float32 mono block in (any length >= 0, may contain NaN/inf -> treated as 0), the same number of
        float32 samples out, delayed by `latency` samples (the first call's first `latency` outputs are silence)."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"mono block expected, got shape {x.shape}")
        if not math.isfinite(ceiling_db):
            raise ValueError(f"ceiling_db must be finite, got {ceiling_db}")
        n = len(x)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        x = np.where(np.isfinite(x), x, 0.0)
        ceiling = _float32_below(10.0 ** (ceiling_db / 20.0))
        if self._ceiling is not None and ceiling < self._ceiling:
            self._x *= ceiling / self._ceiling  # what waits in the delay line comes down with the ceiling, at once
        self._ceiling = ceiling
        ext_x = np.concatenate((self._x, x))
        self._x = ext_x[n:]
        h, lat, la = self._hist, self.latency, self.lookahead

        # True peak of the n samples whose interpolation window just became complete: global index start - HALF + i.
        ctx = ext_x[h - TAPS + 1 :]
        peak = np.abs(ctx[HALF - 1 : HALF - 1 + n])
        for taps in self._kernel:
            np.maximum(peak, np.abs(np.convolve(ctx, taps, "valid")), out=peak)
        target = ceiling * self._margin
        needed = np.divide(target, peak, out=np.ones(n), where=peak > target)

        ext_r = np.concatenate((self._needed, np.maximum(needed, GAIN_FLOOR)))
        self._needed = ext_r[n:]
        log_min = np.log(_window_min(ext_r, la + 1))

        # Release: gain[i] = min(log_min[i], gain[i-1] + step), unrolled as a cumulative minimum of a tilted sequence.
        ramp = np.arange(n) * self._step
        log_gain = np.minimum(np.minimum.accumulate(log_min - ramp) + ramp, self._log_gain + ramp + self._step)
        self._log_gain = float(log_gain[-1])

        ext_g = np.concatenate((self._held, np.exp(log_gain)))
        self._held = ext_g[n:]
        sums = np.cumsum(np.concatenate(((0.0,), ext_g)))
        gain = (sums[la + 1 :] - sums[:n]) / (la + 1)

        y = (ext_x[h - lat : h - lat + n] * gain).astype(np.float32)
        return np.clip(y, -ceiling, ceiling, out=y)
