"""When a recorded sound changed: the detectors the playback tests and benchmarks share, on plain arrays.

Validated in tests/test_changes.py against synthetic sounds whose change times are known. Both detectors look at
21 ms frames of log-spectrum every 5 ms, with each frame's mean level taken out (a change of shape, not of
loudness: the leveller moves the gain for a second or more after any change), and both are conservative:

* a frame is dated by its *last* sample, so no change is ever reported before it could have been heard; the report
  is late by at most one frame (FRAME / RATE = 21 ms) plus what the change needs to dominate a frame;
* a change must last PERSIST frames (50 ms) in a row: one odd frame (the phase reconstruction's noise, a click)
  neither counts as a change nor raises the bar for one;
* a frame that holds a dropout (digital silence: an underrun of the player, a hiccup of the recorder) is left out:
  in the reference it would raise the bar (a change then went unseen: a CI flake), after the message it would be
  taken for the change (reported 5 ms after the message, faster than any sound can reach the speakers);
* a miss is `None`, never a time: a change smaller than the sound's own spread before it cannot be timed, and the
  benchmarks count misses next to their figures.

`departure` is for a sound that keeps moving after the message (a drift, a new seed): the first time it leaves the
range of the sound before it. `arrival` is for a sound that becomes another steady sound (a bend, a preset): the
first time it is nearer the sound it became than the sound before it.
"""

from __future__ import annotations

import numpy as np

RATE = 48000
FRAME, HOP = 1024, 240  # 21 ms frames every 5 ms at 48 kHz
PERSIST = 10  # frames in a row (50 ms) a change must last to count
REFERENCE_S = 1.4  # the sound before the message that a change is measured against
GUARD_S = 0.05  # frames ending this close before the message are left out of the reference
DROPOUT = 24  # exact zeros in a row (0.5 ms) that no sound of the nets holds: a gap in what played
MARGIN = 1.25  # a departure goes this far beyond the largest distance the sound before it held for PERSIST frames


def _shapes(x: np.ndarray) -> np.ndarray:
    """Per frame, the log-spectrum of the bins that carry the sound, its mean level taken out."""
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), FRAME)[::HOP] * np.hanning(FRAME)
    spectra = np.abs(np.fft.rfft(frames, axis=1))
    loud = spectra.mean(axis=0) >= np.median(spectra.mean(axis=0))
    logmag = np.log(spectra[:, loud] + 1e-6)
    return logmag - logmag.mean(axis=1, keepdims=True)


def _dropouts(x: np.ndarray) -> np.ndarray:
    """Per frame: does it hold DROPOUT or more exact zeros in a row?"""
    zero = np.concatenate([[0], (x == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(zero))
    starts, stops = edges[::2], edges[1::2]
    gap = np.zeros(len(x) + 1, np.int32)
    for a, b in zip(starts[stops - starts >= DROPOUT], stops[stops - starts >= DROPOUT]):
        gap[a] += 1
        gap[b] -= 1
    covered = np.cumsum(gap[:-1]) > 0
    n = (len(x) - FRAME) // HOP + 1
    inside = np.concatenate([[0], np.cumsum(covered)])
    first = np.arange(n) * HOP
    return (inside[first + FRAME] - inside[first]) > 0


def _rms(d: np.ndarray) -> np.ndarray:
    return np.sqrt((d**2).mean(axis=-1))


def _held(flags_or_values: np.ndarray) -> np.ndarray:
    """For each run of PERSIST frames starting at k: the smallest value in it (for booleans: all of it)."""
    return np.lib.stride_tricks.sliding_window_view(flags_or_values, PERSIST).min(axis=1)


def _frames(x: np.ndarray, send: int, window_s: float, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shapes around sample `send` without the frames that hold a dropout, each frame's end in seconds after
    `send`, and which frames are the reference."""
    start = send - round((REFERENCE_S + GUARD_S) * rate) - FRAME
    stop = send + round(window_s * rate)
    if start < 0 or stop > len(x):
        raise ValueError(f"the recording ({len(x)} samples) does not cover {start}..{stop} around sample {send}")
    shapes = _shapes(x[start:stop])
    ends = (start + np.arange(len(shapes)) * HOP + FRAME - send) / rate
    kept = ~_dropouts(x[start:stop])
    return shapes[kept], ends[kept], ends[kept] <= -GUARD_S


def departure(x: np.ndarray, send: int, window_s: float, rate: int = RATE) -> float | None:
    """Seconds from sample `send` until the sound leaves the range of the sound before it, for PERSIST frames.

    The range: distances of the reference frames to their median shape; the bar is MARGIN times the largest
    distance they held for PERSIST frames in a row. None when the sound never goes past it within `window_s`."""
    shapes, ends, before = _frames(x, send, window_s, rate)
    if before.sum() < 2 * PERSIST or (~before).sum() < PERSIST:
        return None  # mostly dropouts: nothing to measure against, or nothing after
    distance = _rms(shapes - np.median(shapes[before], axis=0))
    held = _held(distance)
    bar = MARGIN * held[: before.sum() - PERSIST + 1].max()
    # A run counts from its first frame; runs starting before the message cannot carry what the message did.
    after = np.flatnonzero((held > bar) & (ends[: len(held)] > 0))
    return float(ends[after[0]]) if len(after) else None


def arrival(x: np.ndarray, send: int, window_s: float, rate: int = RATE, settled_s: float = 0.5) -> float | None:
    """Seconds from sample `send` until the sound is nearer the sound it became (the last `settled_s` of the
    window, long after any change within the budget) than the sound before it, for PERSIST frames in a row.
    None when the sound it became is within the spread of the sound before, or it never gets nearer."""
    shapes, ends, before = _frames(x, send, window_s, rate)
    became = ends > window_s - settled_s
    if before.sum() < 2 * PERSIST or became.sum() < PERSIST:
        return None
    old, new = np.median(shapes[before], axis=0), np.median(shapes[became], axis=0)
    if _rms(new - old) <= np.median(_rms(shapes[before] - old)):
        return None
    nearer = _rms(shapes - new) < _rms(shapes - old)
    after = np.flatnonzero(_held(nearer & (ends > 0)))
    return float(ends[after[0]]) if len(after) else None
