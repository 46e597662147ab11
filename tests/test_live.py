"""The live sound, without a device: continuous blocks, controls that act at the next block, cuts."""

from __future__ import annotations

import numpy as np
import torch

from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, db_to_gain
from ciel_node.generate.live import LiveSound, LiveWalk
from ciel_node.generate.phase import Framing, PhaseStream, StreamingGriffinLim
from ciel_node.models.audio_vae import AudioVAEConfig, SpectralVAE
from ciel_node.playback.engine import _Window
from ciel_node.playback.speaker import resolve
from ciel_node.state import Controls

SR = 16000


def _live(seed: int = 0) -> LiveSound:
    torch.manual_seed(0)
    live = LiveSound(AudioRenderer(SpectralVAE(AudioVAEConfig()).eval()))
    live.begin(seed, 0, walk.origin(seed, live.r.latent, 1))
    return live


def _run(live: LiveSound, controls: Controls, seconds: float) -> np.ndarray:
    out, n = [], 0
    while n < seconds * SR:
        out.append(live.render(controls))
        n += len(out[-1])
    return np.concatenate(out)


def test_phase_stream_pushed_frame_by_frame_is_continuous() -> None:
    # The same magnitudes pushed 2 frames at a time: no block join is a click.
    framing = Framing(1024, 256)
    t = np.arange(3 * SR) / SR
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234 * t)).astype(np.float32)
    mags = framing.magnitudes(x)
    ps = PhaseStream(framing)
    rng = np.random.default_rng(0)
    blocks = [ps.push(mags[s : s + 2], mags[s + 2 : s + 6], rng) for s in range(0, len(mags) - 6, 2)]
    y = np.concatenate(blocks)
    joins = np.cumsum([len(b) for b in blocks])[:-1]
    d = np.abs(np.diff(y[SR // 2 :]))
    j = joins[joins > SR // 2] - SR // 2 - 1
    assert d[j].max() <= 1.2 * np.percentile(d, 99.9)


def test_streaming_griffin_lim_is_the_phase_stream() -> None:
    framing = Framing(256, 64)
    mags = torch.rand(50, 129)
    whole = np.concatenate(list(StreamingGriffinLim(framing, 4, block=7).stream(mags, np.random.default_rng(3))))
    ps, rng, parts = PhaseStream(framing, 4), np.random.default_rng(3), []
    for s in range(0, 50, 7):
        parts.append(ps.push(mags[s : s + 7], mags[s + 7 : s + 11], rng))
    parts.append(ps.flush(50 * 64))
    assert np.array_equal(whole, np.concatenate(parts))


def test_live_sound_is_under_the_ceiling_and_a_lowered_ceiling_acts_at_the_next_block() -> None:
    live = _live()
    loud = _run(live, Controls(volume_ceiling=-3.0), 1.0)
    assert np.abs(loud).max() <= db_to_gain(-3.0)
    assert np.abs(loud[SR // 2 :]).max() > db_to_gain(-9.0)  # levelled up to near the ceiling, not silent
    quiet = live.render(Controls(volume_ceiling=-30.0))
    assert np.abs(quiet).max() <= db_to_gain(-30.0)


def test_same_controls_same_sound() -> None:
    a, b = _live(4), _live(4)
    assert np.array_equal(_run(a, Controls(seed=4, drift=0.7), 0.5), _run(b, Controls(seed=4, drift=0.7), 0.5))


def test_a_drift_change_re_aims_the_walk_at_once() -> None:
    rng = np.random.default_rng(0)
    w = LiveWalk(np.zeros(8), frame_rate=62.5)
    frozen = w.frames(20, 0.0, rng)
    assert np.allclose(frozen, frozen[0])  # drift 0: a fixed point
    knot = walk.ou_step(frozen[-1], walk.AUDIO_RATE_PER_S, w.onset_s, _copy(rng))[0]  # what aim() will draw
    moving = w.frames(3, 1.0, rng)  # the very next frames move
    assert np.linalg.norm(moving[0] - frozen[-1]) > 1e-3
    assert np.allclose(moving[0] - frozen[-1], moving[1] - moving[0])  # a straight segment from where it was
    # ... that reaches its first knot, an exact OU step of onset_s, after onset_s (2 frames), not after knot_s
    assert w.onset_s == 2 / 62.5 < w.knot_s
    np.testing.assert_allclose(moving[1], knot)
    assert not np.allclose(moving[2] - moving[1], moving[1] - moving[0])  # and turns there


def _copy(rng: np.random.Generator) -> np.random.Generator:
    twin = np.random.default_rng()
    twin.bit_generator.state = rng.bit_generator.state
    return twin


def test_a_seed_change_jumps_to_that_seeds_origin_and_the_sound_goes_on() -> None:
    live = _live(1)
    _run(live, Controls(seed=1), 0.3)
    block = live.render(Controls(seed=2))
    assert live.seed == 2 and len(block) == live.block_samples  # no gap: a full block, on the same sound
    two, one = walk.origin(2, live.r.latent, 1), walk.origin(1, live.r.latent, 1)
    assert np.linalg.norm(live.committed_z - two) < 0.2 * np.linalg.norm(live.committed_z - one)


def test_a_cut_starts_the_next_pieces_own_noise() -> None:
    live = _live(3)
    _run(live, Controls(seed=3), 0.2)
    seed, step, z = live.cut()
    assert (seed, step) == (3, 1) and z.shape == (live.r.latent,)


def test_window_keeps_up_to_its_cap_and_fades_a_cut_copy() -> None:
    w = _Window(max_samples=1000)
    w.add(np.ones(600, np.float32))
    w.add(np.ones(600, np.float32))
    out = w.take(SR)
    assert len(out) == 1000 and out[0] == 1.0 and out[-1] == 0.0  # the published copy fades where it was cut
    w.add(np.ones(10, np.float32))
    assert np.array_equal(w.take(SR), np.ones(10, np.float32))  # a whole window is kept as played


def test_audio_device_names_resolve() -> None:
    devices = [
        {"index": 0, "name": "pulse", "default": False},
        {"index": 1, "name": "default", "default": True},
        {"index": 4, "name": "USB Audio CODEC: Audio (hw:2,0)", "default": False},
    ]
    assert resolve(None, devices)["index"] == 1  # type: ignore[index]
    assert resolve("4", devices)["index"] == 4  # type: ignore[index]
    assert resolve("usb audio", devices)["index"] == 4  # type: ignore[index]
    assert resolve("pulse", devices)["index"] == 0  # type: ignore[index]
    assert resolve("nothing like it", devices) is None
    assert resolve(None, []) is None


def test_a_moved_home_pulls_the_live_sound_there_at_once() -> None:
    live = _live(6)
    _run(live, Controls(seed=6, drift=1.0), 0.2)
    home = np.full(live.r.latent, 3.0)
    live.move_home(home)
    before = live.committed_z.copy()
    points = []
    for _ in range(int(1.5 * SR / live.block_samples)):  # three of the walk's time constants at drift 1
        live.render(Controls(seed=6, drift=1.0))
        points.append(live.committed_z.copy())
    assert not np.allclose(points[0] - before, 0)  # moving from the next block on
    tail = np.asarray(points[len(points) // 2 :]).mean(axis=0)
    assert np.linalg.norm(tail - home) < 0.5 * np.linalg.norm(before - home)  # most of the way there
    live.render(Controls(seed=7, drift=1.0))  # a new seed: its origin, around the same home
    assert live.seed == 7 and np.array_equal(live.walk.home, home)


def _convergence(framing: Framing, mags: torch.Tensor, y: np.ndarray) -> float:
    got, frames = framing.magnitudes(y), len(y) // framing.hop
    part = slice(4, frames - 4)
    return float(torch.linalg.norm(got[part] - mags[part]) / torch.linalg.norm(mags[part]))


def test_new_frames_start_from_the_phase_vocoders_guess_and_converge_better_than_from_random_phases() -> None:
    # Two steady tones: their phases turn by their frequency each hop, which is the guess. In the live sound's shape
    # (4 frames a push, 8 ahead), starting from it realises the magnitudes twice as well (0.039 against 0.086 here).
    framing = Framing(1024, 256)
    t = np.arange(3 * SR) / SR
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234 * t)).astype(np.float32)
    mags = framing.magnitudes(x)
    got = {}
    for init in ("random", "advance"):
        ps, rng = PhaseStream(framing, init=init), np.random.default_rng(0)
        got[init] = _convergence(framing, mags, np.concatenate(
            [ps.push(mags[s : s + 4], mags[s + 4 : s + 12], rng) for s in range(0, len(mags) - 12, 4)]))
    assert got["advance"] < 0.6 * got["random"], got


def test_the_guess_turns_each_bin_by_its_frequency_from_the_frame_before_and_draws_nothing() -> None:
    framing = Framing(256, 64)
    ps, rng = PhaseStream(framing, 4, init="advance"), np.random.default_rng(1)
    mags = torch.rand(12, 129) + 0.1
    ps.push(mags[:4], mags[4:7], rng)
    assert ps.ahead_phase is not None
    before = rng.bit_generator.state
    fresh = ps._fresh(2, 3, 129, rng)  # two new frames after the three looked ahead
    assert rng.bit_generator.state == before
    k = torch.arange(129, dtype=torch.float64)
    for i in (1, 2):
        want = ps.ahead_phase[2].double() + i * 2 * np.pi * k * 64 / 256
        assert torch.allclose(torch.polar(torch.ones(129), fresh[i - 1]).to(torch.complex128),
                              torch.polar(torch.ones(129, dtype=torch.float64), want), atol=1e-5)
    with np.testing.assert_raises(ValueError):
        PhaseStream(framing, init="zeros")


def test_each_frame_is_decoded_once_and_all_again_when_a_bend_or_the_drift_changes() -> None:
    live = _live(2)
    rows: list[int] = []
    decode = live.r.magnitudes
    live.r.magnitudes = lambda z, bends=None: (rows.append(len(z)), decode(z, bends))[1]  # type: ignore[method-assign]
    c = Controls(seed=2, drift=0.5)
    for _ in range(4):
        live.render(c)
    assert rows == [live.block + live.lookahead] + 3 * [live.block]  # then only the frames walked for the block
    bent = c.replace(bend_sound_1_multiply=-1.5)
    rows.clear()
    live.render(bent)  # the frames looked ahead were decoded unbent: all of them again
    live.render(bent)
    live.render(bent.replace(drift=0.9))  # a new drift walks the look-ahead again
    assert rows == [live.block + live.lookahead, live.block, live.block + live.lookahead]
    # ...and the look-ahead is what a decode under the bends gives (to the last bits a batch's size may move), not the
    # unbent frames
    assert live.decoded is not None and live.decoded[1] == bent.bends
    assert torch.allclose(live.decoded[0], decode(live.pending, bent.bends), rtol=1e-5, atol=0)
    assert not torch.allclose(live.decoded[0], decode(live.pending), rtol=1e-2, atol=0)


def test_a_swapped_model_decodes_the_frames_looked_ahead_again() -> None:
    live = _live(3)
    c = Controls(seed=3, drift=0.5)
    live.render(c)
    torch.manual_seed(1)
    other = AudioRenderer(SpectralVAE(AudioVAEConfig()).eval())  # same shape, other weights
    live.swap(other, live.places)
    live.render(c)
    assert live.decoded is not None
    assert torch.allclose(live.decoded[0], other.magnitudes(live.pending), rtol=1e-5, atol=0)
