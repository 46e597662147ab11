"""The parts of the engine's cut-in (issue 18, item 1), without a device: every stage's state can be taken at a block
boundary and put back, so the sound is made again from there bit for bit; the speaker drops what is queued past its
margin and resumes from a block's mark without touching what the device may still take; the crossfade goes from the
sound as written to the new one without a step."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ciel_node.config import PACKAGE_ROOT
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.live import LiveSound
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.playback.engine import _Fade, changes_sound
from ciel_node.playback.limiter import TruePeakLimiter
from ciel_node.playback.speaker import Speaker
from ciel_node.state import Controls

SOURCE_RATE = 16000
NO_FLAGS = SimpleNamespace(output_underflow=False)
LAG_S = 0.02  # the device's output latency as PortAudio gives it to the callback, in the engine tests below
DAC_TIME = SimpleNamespace(currentTime=1000.0, outputBufferDacTime=1000.0 + LAG_S)


@pytest.fixture(scope="module")
def renderer() -> AudioRenderer:
    vae, _ = SpectralVAE.from_checkpoint(PACKAGE_ROOT / "checkpoints" / "audio.pt")
    return AudioRenderer(vae, iterations=8)


def _blocks(sound: LiveSound, limiter: TruePeakLimiter, controls: Controls, n: int) -> list[np.ndarray]:
    return [limiter.process(sound.render(controls), controls.volume_ceiling) for _ in range(n)]


def test_the_live_sound_and_the_limiter_go_on_from_a_snapshot_bit_for_bit(renderer: AudioRenderer) -> None:
    sound, limiter = LiveSound(renderer), TruePeakLimiter(renderer.sample_rate)
    c = Controls(drift=0.7, volume_ceiling=-6.0)
    _blocks(sound, limiter, c, 5)
    snap = sound.snapshot(), limiter.snapshot()
    straight = _blocks(sound, limiter, c, 6)
    # Rendered on under other controls (a seed, then a drift), then put back: the same sound again.
    _blocks(sound, limiter, c.replace(seed=9), 2)
    _blocks(sound, limiter, c.replace(drift=0.1), 3)
    sound.restore(snap[0])
    limiter.restore(snap[1])
    again = _blocks(sound, limiter, c, 6)
    assert all(np.array_equal(a, b) for a, b in zip(straight, again))
    # ...and the snapshot is not spent: put back twice, and a new seed from it differs from the straight sound.
    sound.restore(snap[0])
    limiter.restore(snap[1])
    other = _blocks(sound, limiter, c.replace(seed=9), 6)
    assert not np.array_equal(np.concatenate(other), np.concatenate(straight))


def _speaker() -> Speaker:
    spk = Speaker(None, SOURCE_RATE, 0.03, lambda _level, _msg: None, period_s=0.01)  # 480-sample slots at 48 kHz
    spk._prepare(48000)
    spk.state = "open"  # as after a stream started; the test plays the callback's part
    return spk


def _play(spk: Speaker, slots: int | None = None) -> np.ndarray:
    out = []
    while spk.read < spk.written and (slots is None or len(out) < slots):
        buf = np.full((spk.block, 1), np.nan, np.float32)
        spk._callback(buf, spk.block, None, NO_FLAGS)
        out.append(buf[:, 0].copy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@pytest.mark.parametrize("played", [0, 3, 7, 14])  # 14: the mark is the first slot dropped
def test_a_rewound_speaker_plays_what_it_kept_then_the_sound_written_from_the_mark(played: int) -> None:
    rng = np.random.default_rng(played)
    old = [rng.uniform(-0.5, 0.5, 512).astype(np.float32) for _ in range(6)]
    new = [rng.uniform(-0.5, 0.5, 512).astype(np.float32) for _ in range(6)]

    def stream(blocks: list[np.ndarray]) -> np.ndarray:
        ref = _speaker()
        for b in blocks:
            ref.write(b, 1.0)
        return _play(ref)

    spk, marks = _speaker(), []
    for b in old:
        marks.append(spk.mark())
        spk.write(b, 1.0)
    head = _play(spk, played)
    margin = 2
    # The block to go back to: the last whose start is at or before the first slot that may be dropped.
    first = max(i for i, m in enumerate(marks) if m.produced <= (spk.read + margin) * spk.block)
    kept_slots = spk.read + margin
    keep = spk.rewind(marks[first], margin)
    assert keep is not None and spk.written == kept_slots  # the callback's next `margin` slots are left alone
    # Written again from the mark: the old sound up to `keep`, then other sound.
    again = [np.concatenate([old[first][:keep], new[first][keep:]]), *new[first + 1 :]]
    for b in again:
        spk.write(b, 1.0)
    played_out = np.concatenate([head, _play(spk)])
    # Bit for bit what a speaker fed that sound straight through would have played; and up to the kept slots, the
    # old sound, so nothing the device may already have taken changed.
    assert np.array_equal(played_out, stream([*old[:first], *again]))
    old_out = stream(old)
    assert np.array_equal(played_out[: kept_slots * spk.block], old_out[: kept_slots * spk.block])
    assert not np.array_equal(played_out[kept_slots * spk.block :], old_out[kept_slots * spk.block :])


def test_a_speaker_with_nothing_queued_past_its_margin_is_not_rewound() -> None:
    spk = _speaker()
    mark = spk.mark()
    spk.write(np.ones(512, np.float32) * 0.1, 1.0)  # 1536 device samples: 3 slots and a part
    _play(spk, 2)
    assert mark is not None and spk.rewind(mark, 2) is None and spk.written == 3
    assert len(_play(spk)) == spk.block  # the queued slot plays as it was


def test_a_mark_of_an_earlier_stream_or_a_resampler_without_state_cannot_rewind() -> None:
    spk = _speaker()
    mark = spk.mark()
    spk.write(np.zeros(2048, np.float32), 1.0)
    spk._prepare(48000)
    spk.opened += 1
    spk.state = "open"
    spk.write(np.zeros(2048, np.float32), 1.0)
    assert mark is not None and spk.rewind(mark, 2) is None
    at_441 = Speaker(None, SOURCE_RATE, 0.03, lambda _level, _msg: None)
    at_441._prepare(44100)  # libsoxr: its state cannot be copied
    at_441.state = "open"
    assert at_441.mark() is None
    assert at_441.slots * at_441.block > 0


def test_the_speaker_tells_when_a_sample_was_output_while_its_slot_is_in_the_ring() -> None:
    spk = _speaker()
    spk.write(np.zeros(SOURCE_RATE // 4, np.float32), 1.0)  # 25 slots
    sample = 2 * spk.block + 100
    assert spk.played(spk.opened, sample) is None  # not taken yet
    t0 = time.monotonic()
    for _ in range(3):
        spk._callback(np.zeros((spk.block, 1), np.float32), spk.block, DAC_TIME, NO_FLAGS)
    played = spk.played(spk.opened, sample)
    assert played is not None
    taken, at = played
    assert t0 <= taken <= time.monotonic() and at == pytest.approx(taken + LAG_S + 100 / 48000, abs=1e-9)
    assert spk.played(spk.opened + 1, sample) is None  # another stream's numbering
    for _ in range(spk.slots):
        spk.write(np.zeros(spk.block // 3, np.float32), 1.0)  # a slot more
        spk._callback(np.zeros((spk.block, 1), np.float32), spk.block, DAC_TIME, NO_FLAGS)
    assert spk.underruns == 0
    assert spk.played(spk.opened, sample) is None  # the ring has lapped it: its entry holds a later slot
    assert spk.played(spk.opened, (spk.slots + 2) * spk.block) is not None


def test_the_crossfade_keeps_the_old_sound_then_moves_to_the_new_without_a_step() -> None:
    old = np.full(1024, 0.5, np.float32)
    fade = _Fade(start=1000, old=old, keep=300, length=80)
    new = np.full(512, -0.5, np.float32)
    y = np.concatenate([fade.mix(1000, new), fade.mix(1512, new)])  # in two blocks, as the engine renders them
    assert np.array_equal(y[:300], old[:300])
    assert np.all(y[380:] == -0.5) and fade.end == 1000 + 380
    assert np.max(np.abs(np.diff(y))) <= 1.0 / 80 + 1e-6  # a ramp over 80 samples: no step


def test_only_what_changes_the_sound_cuts_in() -> None:
    c = Controls()
    assert changes_sound(c, c.replace(seed=3)) and changes_sound(c, c.replace(drift=0.9))
    assert not changes_sound(c, c.replace(volume_ceiling=-20.0)) and not changes_sound(c, c.replace(playback=0))
    assert not changes_sound(c, c.replace(interval=10.0)) and not changes_sound(c, c.replace(synaesthesia=0.5))


# --- the engine itself, in this process: the callback's part played by the test -------------------------------------
class _Run:
    """An _Engine sounding on a speaker the test plays: `play(slots)` is the device taking that many slots."""

    def __init__(self) -> None:
        import multiprocessing

        from ciel_node.playback.engine import EngineSpec, _Engine

        self.conn, other = multiprocessing.Pipe()
        self.other = other
        spec = EngineSpec(PACKAGE_ROOT / "checkpoints" / "audio.pt", gl_iterations=8, max_sound_s=30.0, lead_s=0.08)
        self.e = _Engine(self.conn, spec)
        sp = self.e.speaker
        sp._prepare(48000)
        sp.state, sp.opened = "open", 1
        self.e.controls = Controls(drift=0.3, volume_ceiling=-6.0)
        self.e.pacing = True
        self.played: list[np.ndarray] = []
        self.taken: dict[int, tuple[float, float]] = {}  # slot -> time.monotonic() before and after its callback

    def play(self, slots: int) -> None:
        """The device taking `slots` slots, each output LAG_S after its callback; the engine's loop between them."""
        sp = self.e.speaker
        for _ in range(slots):
            self.e._render_due()
            buf = np.zeros((sp.block, 1), np.float32)
            slot, t0 = sp.read, time.monotonic()
            sp._callback(buf, sp.block, DAC_TIME, NO_FLAGS)
            self.taken[slot] = (t0, time.monotonic())
            self.played.append(buf[:, 0].copy())
            if self.e.cut_in_sounding is not None:
                self.e._heard()

    def published(self) -> np.ndarray:
        return np.concatenate(self.e.window.parts)

    def close(self) -> None:
        import gc

        gc.callbacks.remove(self.e._timed_gc)
        gc.unfreeze()
        self.e._outbox.put(None)
        self.conn.close()
        self.other.close()


def test_a_cut_in_plays_the_old_sound_to_the_takeover_then_the_new_as_if_it_had_been_asked_for_a_block_early() -> None:
    """The engine's cut-in end to end, in samples: what plays and what is published is the old sound up to the
    takeover (one slot past the play head), a 5 ms crossfade, then exactly the sound a straight run makes when the
    control changes at the block the cut-in went back to; no step in the crossfade beyond the two sounds' own; and
    the speaker plays the published samples, resampled, and nothing else."""
    new = {"seed": 7}
    a, b, c = _Run(), _Run(), _Run()
    try:
        a.play(60)
        b.play(60)
        assert np.array_equal(np.concatenate(a.played), np.concatenate(b.played))  # the runs are deterministic
        b.e._handle(("controls", b.e.controls.replace(**new)))
        assert b.e.cut_in_wanted
        b.e._cut_in()
        last = b.e.cut_in_last
        assert b.e.cut_ins == 1 and last["dropped_ms"] > 40, last  # the lead's queue, dropped
        # The new sound began before the takeover by the phase stream's half window and the limiter's delay, at least:
        # no frame or delayed sample of the old sound is in it where it takes over.
        assert last["keep"] >= b.e.sound.phase.f.pad + b.e.limiter.latency, last
        a.play(60)
        b.play(60)
        # When the new sound was half in at the device's output: the crossfade's middle, found here from the published
        # sound and the upsampler's delay, was in a slot the callback took between two times; it was output LAG_S
        # after, and later by its place in the slot.
        from ciel_node.playback.upsample import IntegerUpsampler

        fade = int(0.005 * 16000)
        middle = 3 * (last["from"] + last["keep"] + fade // 2) + round(IntegerUpsampler(3).delay())
        block = b.e.speaker.block
        t0, t1 = b.taken[middle // block]
        offset = (middle % block) / 48000
        assert t0 + LAG_S + offset - 1e-4 <= last["heard_at"] <= t1 + LAG_S + offset + 1e-4, (last, t0, t1, offset)
        assert last["heard_after_ms"] == pytest.approx(1000 * (last["heard_at"] - last["asked_at"]), abs=0.2)
        assert b.e.cut_in_heard_ms == [pytest.approx(last["heard_after_ms"], abs=0.1)]
        assert last["output_after_taken_ms"] == pytest.approx(1000 * (LAG_S + offset), abs=0.2)
        # The straight run: the control changes when the block the cut-in went back to is made.
        while c.e.rendered < last["from"]:
            c.e._render_block()
        c.e.controls = c.e.controls.replace(**new)
        while c.e.rendered < a.e.rendered:
            c.e._render_block()
        old, new_sound, got = a.published(), c.published(), b.published()
        takeover = last["from"] + last["keep"]
        assert np.array_equal(got[:takeover], old[:takeover])
        assert not np.array_equal(old[takeover + fade : len(got)], new_sound[takeover + fade : len(got)])
        assert np.array_equal(got[takeover + fade :], new_sound[takeover + fade : len(got)])
        # The crossfade: a linear ramp from one to the other, so no step beyond theirs and the ramp's.
        w = (np.arange(fade) + 1) / (fade + 1)
        span = slice(takeover, takeover + fade)
        assert np.allclose(got[span], old[span] * (1 - w) + new_sound[span] * w, atol=1e-6, rtol=0)
        # The device got exactly the published sound, resampled: the kept slots, then the rewritten ones.
        played = np.concatenate(b.played)
        expected = IntegerUpsampler(3).resample_chunk(got)[: len(played)]
        ceiling = 10 ** (-6.0 / 20)
        assert np.allclose(played, np.clip(expected, -ceiling, ceiling), atol=1e-6, rtol=0)
        assert b.e.speaker.underruns == 0
        # A gesture cuts in once, at its start: the moves that follow it closely (a sweep) are heard from the next
        # block; a change after a pause is a new gesture. (The test's time runs faster than the wall clock: the pauses
        # are set back by hand.)
        b.e.last_sound_change -= 1.0
        for k in range(5):
            b.e._handle(("controls", b.e.controls.replace(drift=0.35 + 0.1 * k)))
            assert b.e.cut_in_wanted == (k == 0)
            if b.e.cut_in_wanted:  # as the engine's loop does
                b.e._cut_in()
            b.play(3)
        assert b.e.cut_ins == 2
        b.e.last_sound_change -= 1.0  # (a second's pause)
        b.e._handle(("controls", b.e.controls.replace(seed=8)))
        assert b.e.cut_in_wanted
    finally:
        for r in (a, b, c):
            r.close()


def test_while_calm_the_engine_makes_two_blocks_a_wake_and_within_a_gesture_one(monkeypatch: Any) -> None:
    """BURST: a block made straight after another costs less than one after a sleep, so while the sound is calm the
    engine fills the queue a block past the lead at each wake; within a gesture (where the moves after the first wait
    for the next block) and on a speaker that cannot cut in, it makes one block a wake, as before."""
    from ciel_node.playback import engine

    monkeypatch.setattr(engine, "CUT_IN_HOLD_S", 3600.0)  # the test's own time never ends a gesture
    r = _Run()
    try:
        e, sp = r.e, r.e.speaker
        block_s = e.block_s

        def wakes(n: int) -> list[tuple[int, float]]:
            """n wakes of the engine's loop, each when the device has taken the queue down below the lead: (blocks
            made, queued after)."""
            out = []
            for _ in range(n):
                while sp.queued_s() >= e.lead.s:
                    buf = np.zeros((sp.block, 1), np.float32)
                    sp._callback(buf, sp.block, None, NO_FLAGS)
                before = e.rendered
                e._render_due()
                out.append((round((e.rendered - before) / e.sound.block_samples), sp.queued_s()))
            return out

        e.last_sound_change = time.monotonic() - 7200.0  # calm
        assert e._calm()
        calm = wakes(6)
        assert [n for n, _ in calm] == [engine.BURST] * 6, calm
        assert all(e.lead.s + block_s <= q < e.lead.s + 2 * block_s + 1e-9 for _, q in calm), calm
        e._handle(("controls", e.controls.replace(drift=0.6)))  # a gesture starts: it cuts in
        assert e.cut_in_wanted and not e._calm()
        e._cut_in()
        e._handle(("controls", e.controls.replace(drift=0.7)))  # ...and goes on: the next block hears it
        assert not e.cut_in_wanted
        moving = wakes(6)
        assert [n for n, _ in moving] == [1] * 6, moving
        assert all(q < e.lead.s + block_s + 1e-9 for _, q in moving), moving
        assert sp.underruns == 0
        e.last_sound_change -= 7200.0  # calm again, but on a device at a rate only libsoxr resamples to: no cut-in
        sp._prepare(44100)
        sp.state = "open"
        assert not sp.can_rewind and not e._calm()
        assert [n for n, _ in wakes(4)][1:] == [1] * 3
    finally:
        r.close()
