"""The speaker's ring, without a device: what the callback hands out when the ceiling comes down mid-stream."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ciel_node.playback.speaker import Speaker

SOURCE_RATE = 16000
NO_FLAGS = SimpleNamespace(output_underflow=False)


def _speaker() -> Speaker:
    spk = Speaker(None, SOURCE_RATE, 0.03, lambda _level, _msg: None)
    spk._prepare(48000)
    spk.state = "open"  # as after a stream started; the test plays the callback's part
    return spk


def _drain(spk: Speaker) -> np.ndarray:
    out = []
    while spk.read < spk.written:
        buf = np.full((spk.block, 2), np.nan, np.float32)
        spk._callback(buf, spk.block, None, NO_FLAGS)
        assert np.array_equal(buf[:, 0], buf[:, 1])  # mono copied to every channel
        out.append(buf[:, 0])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@pytest.mark.parametrize("block", [500, 333, 160])  # source blocks that leave a part-filled slot, or none
def test_a_lowered_ceiling_holds_for_everything_not_yet_handed_to_the_device(block: int) -> None:
    spk = _speaker()
    rng = np.random.default_rng(block)
    loud, low = 0.5, 0.01
    for _ in range(6):
        spk.write(rng.uniform(-loud, loud, block).astype(np.float32), loud)
    played_before = _drain(spk)[: spk.block]  # one slot already played at the old ceiling
    assert np.abs(played_before).max() > 10 * low
    # Queued slots and the part-filled one were all written under the old ceiling; then it drops.
    for _ in range(4):
        spk.write(rng.uniform(-loud, loud, block).astype(np.float32), loud)
    assert len(spk._staging) or block == 160
    spk.ceiling = low
    for _ in range(6):
        spk.write(rng.uniform(-low, low, block).astype(np.float32), low)
    after = _drain(spk)
    assert len(after) > 0
    assert np.abs(after).max() <= low, (
        f"{np.count_nonzero(np.abs(after) > low)} samples over the lowered ceiling, up to {np.abs(after).max():.3f}"
    )


def test_a_raised_ceiling_leaves_queued_sound_as_it_was_written() -> None:
    spk = _speaker()
    x = np.full(480, 0.2, np.float32)
    for _ in range(10):
        spk.write(x, 0.25)
    spk.ceiling = 1.0
    out = _drain(spk)
    steady = out[len(out) // 2 :]  # past the resampler's start-up
    assert np.allclose(steady, 0.2, atol=1e-3)


def test_an_empty_ring_plays_silence_and_counts_an_underrun_once_playing() -> None:
    spk = _speaker()
    buf = np.ones((spk.block, 1), np.float32)
    spk._callback(buf, spk.block, None, NO_FLAGS)
    assert not buf.any() and spk.underruns == 0  # the stream starting before the first slot
    spk.write(np.zeros(SOURCE_RATE // 10, np.float32), 1.0)
    _drain(spk)
    spk._callback(buf, spk.block, None, NO_FLAGS)
    assert not buf.any() and spk.underruns == 1
    assert spk.written <= spk.slots
