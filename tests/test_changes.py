"""The change detectors of the playback tests and benchmarks (tests/changes.py), on sounds whose change is known.

Coloured noise stands in for the nets' sound (a steady spectrum under random phases, as the phase reconstruction
makes it); the message is "sent" at sample SEND and the sound changes a known time after it. A detector must date
every change no earlier than it happened (a change can never be heard before it plays) and at most one frame and a
little later; a sound that did not change, only got louder, or only dropped out is a miss (None), never a time.
"""

from __future__ import annotations

import changes
import numpy as np
import pytest
from changes import FRAME, RATE, arrival, departure

SEND = 2 * RATE  # the message, 2 s into the sound
WINDOW_S = 1.0
LATE_S = FRAME / RATE + 0.010  # one frame, and what a change needs to dominate one
DETECTORS = (departure, arrival)


def noise(seconds: float, peaks: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """Stationary noise whose spectrum has a resonance at each of `peaks` (Hz) over a pink-ish floor."""
    n = round(seconds * RATE)
    f = np.fft.rfftfreq(n, 1 / RATE)
    envelope = 0.05 / np.sqrt(1 + f / 200) + sum(np.exp(-(((f - p) / (0.15 * p)) ** 2)) for p in peaks)
    spectrum = envelope * np.exp(2j * np.pi * rng.random(len(f)))
    x = np.fft.irfft(spectrum, n)
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


def changing(at_s: float, rng: np.random.Generator, before: tuple[float, ...] = (400, 2500),
             after: tuple[float, ...] = (900, 5000), fade_s: float = 0.003) -> np.ndarray:
    """3 s of one sound that becomes another `at_s` after SEND (a `fade_s` crossfade starting there)."""
    a, b = noise(3.2, before, rng), noise(3.2, after, rng)
    g = np.clip((np.arange(len(a)) - (SEND + at_s * RATE)) / (fade_s * RATE), 0, 1).astype(np.float32)
    return a * (1 - g) + b * g


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.__name__)
def test_a_known_change_is_dated_no_earlier_than_it_happened_and_within_a_frame(detector) -> None:
    rng = np.random.default_rng(1)
    for at_s in rng.uniform(0.0, 0.4, 12):
        got = detector(changing(at_s, rng), SEND, WINDOW_S)
        assert got is not None and at_s <= got <= at_s + LATE_S, (at_s, got)


def dropout(x: np.ndarray, start_s: float, length_s: float = 0.08) -> np.ndarray:
    """`x` with exact zeros from `start_s` after SEND for `length_s`: an underrun of the lead and a block or two."""
    x = x.copy()
    i = SEND + round(start_s * RATE)
    x[i : i + round(length_s * RATE)] = 0.0
    return x


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropouts_neither_raise_the_bar_nor_pass_for_a_change(detector, seed: int) -> None:
    """Underruns leave exact zeros in what played. In the reference they hid a drift change from the old detector (a
    CI failure: "the sound never changed"); right after the message they were dated as the change (25 ms after it,
    before any sound could reach the speakers), and in a sound that never changed they were a change."""
    rng = np.random.default_rng(seed)
    x = changing(0.2, rng, after=(600, 3200))
    for damaged in (dropout(x, -0.9), dropout(x, 0.005)):
        got = detector(damaged, SEND, WINDOW_S)
        assert got is not None and 0.2 <= got <= 0.2 + LATE_S, got
    assert detector(dropout(noise(3.2, (400, 2500), rng), 0.005), SEND, WINDOW_S) is None


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.__name__)
def test_clicks_and_loudness_alone_are_not_a_change(detector) -> None:
    """A click (a few ms of something else) is no change and does not raise the bar for one; a sound that only gets
    louder (the leveller, the ceiling) has not changed its shape."""
    rng = np.random.default_rng(3)
    steady = noise(3.2, (400, 2500), rng)
    for start_s in (0.01, 0.1, 0.3):
        i = SEND + round(start_s * RATE)
        steady[i : i + 96] = 0.5 * rng.standard_normal(96)
    assert detector(steady, SEND, WINDOW_S) is None
    louder = noise(3.2, (400, 2500), rng)
    louder[SEND + RATE // 10 :] *= 4
    assert detector(louder, SEND, WINDOW_S) is None
    x = changing(0.15, rng)
    for start_s in (-1.0, -0.4):
        i = SEND + round(start_s * RATE)
        x[i : i + 96] = 0.5 * rng.standard_normal(96)
    got = detector(x, SEND, WINDOW_S)
    assert got is not None and 0.15 <= got <= 0.15 + LATE_S, got


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.__name__)
def test_a_change_within_the_sounds_own_spread_is_a_miss(detector) -> None:
    rng = np.random.default_rng(4)
    assert detector(changing(0.1, rng, after=(400, 2500)), SEND, WINDOW_S) is None  # the same sound again
    assert detector(changing(0.1, rng, after=(404, 2510)), SEND, WINDOW_S) is None  # a resonance moved by 1 %


def test_a_gradual_change_is_dated_once_it_is_out_of_range_never_before_it_starts() -> None:
    """A drift: the sound glides from one spectrum to another over 0.8 s from 100 ms after the message."""
    rng = np.random.default_rng(5)
    got = departure(changing(0.1, rng, fade_s=0.8), SEND, WINDOW_S)
    assert got is not None and 0.1 <= got <= 0.9, got


def test_a_recording_too_short_for_the_window_is_an_error_not_a_miss() -> None:
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="does not cover"):
        departure(noise(2.5, (400,), rng), SEND, WINDOW_S)
    assert changes.PERSIST * changes.HOP / RATE == 0.05  # the 50 ms a change must last, as the docstring says
