"""The speaker's integer-ratio upsampler (ciel_node/playback/upsample.py): exact lengths, a fixed 3 ms delay, a
clean passband, images of the input's spectrum far down, and streaming in any blocks the same as all at once."""

from __future__ import annotations

import numpy as np
import soxr

from ciel_node.playback.upsample import IntegerUpsampler, resampler

SOURCE, RATE = 16000, 48000


def _sine(hz: float, seconds: float = 1.0, rate: int = SOURCE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def _db_at(y: np.ndarray, hz: float, rate: int = RATE) -> float:
    """Level (dB re full scale sine) of the component at `hz`, from a Hann-windowed spectrum."""
    w = np.hanning(len(y))
    spec = np.abs(np.fft.rfft(y * w)) / (w.sum() / 2)
    k = int(round(hz * len(y) / rate))
    return float(20 * np.log10(spec[max(0, k - 2) : k + 3].max() + 1e-12))


def test_each_block_comes_out_three_times_as_long_at_once_and_late_by_a_fixed_3_ms() -> None:
    up = IntegerUpsampler(3)
    for n in (0, 1, 7, 512, 0, 160):  # an empty block (the engine writes them) is an empty block
        assert len(up.resample_chunk(np.zeros(n, np.float32))) == 3 * n
    assert up.delay() == 145 and 1000 * up.delay() / RATE < 3.1  # soxr HQ held back 6-37 ms here
    impulse = np.zeros(200, np.float32)
    impulse[50] = 1.0
    y = IntegerUpsampler(3).resample_chunk(impulse)
    assert int(np.argmax(y)) == 3 * 50 + 145  # the peak sits `delay` after the input's


def test_the_passband_is_flat_and_the_images_are_gone() -> None:
    for hz in (100, 1000, 4000, 7000):
        y = IntegerUpsampler(3).resample_chunk(_sine(hz))[RATE // 10 :]  # past the filter's start
        assert abs(_db_at(y, hz) - 20 * np.log10(0.5)) < 0.1, hz  # within 0.1 dB up to 7 kHz
        for image in (SOURCE - hz, SOURCE + hz):  # where zero-stuffing puts copies (below 24 kHz)
            assert _db_at(y, image) < 20 * np.log10(0.5) - 70, (hz, image, _db_at(y, image))


def test_streaming_in_any_blocks_is_the_same_as_all_at_once() -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 9000).astype(np.float32)
    whole = IntegerUpsampler(3).resample_chunk(x)
    up, parts, i = IntegerUpsampler(3), [], 0
    for n in (1, 511, 32, 4000, 17, 4439):
        parts.append(up.resample_chunk(x[i : i + n]))
        i += n
    assert np.allclose(np.concatenate(parts), whole, atol=1e-7, rtol=0)


def test_it_matches_libsoxr_where_both_apply_and_other_ratios_keep_libsoxr() -> None:
    x = _sine(440, 0.5)
    ours = IntegerUpsampler(3).resample_chunk(x)[145:]  # aligned: our fixed delay, soxr's one-shot has none
    theirs = soxr.resample(x, SOURCE, RATE, quality="HQ")[: len(ours)]
    middle = slice(RATE // 20, len(ours) - RATE // 20)
    assert np.max(np.abs(ours[middle] - theirs[middle])) < 2e-3
    assert isinstance(resampler(SOURCE, RATE), IntegerUpsampler)
    assert not isinstance(resampler(SOURCE, 44100), IntegerUpsampler)
    assert not isinstance(resampler(SOURCE, SOURCE), IntegerUpsampler)
