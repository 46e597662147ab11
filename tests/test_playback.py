"""Local playback through a real audio path: the node's engine -> PortAudio -> PulseAudio null sink -> parec.

Each test starts its own PulseAudio daemon (tests/audiopeers.py) and records what the node played.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr
from audiopeers import PulseAudio, Recorder, arrival, departure, pulse, recorder  # noqa: F401 - fixtures
from conftest import require_tool
from nodes import RunningNode, node_config, running_node, until, until_sync
from pythonosc.udp_client import SimpleUDPClient

from ciel_node.config import PACKAGE_ROOT
from ciel_node.generate.audio import db_to_gain
from ciel_node.playback.engine import ENGINE_NICE

SHIPPED = (PACKAGE_ROOT / "checkpoints" / "audio.pt", PACKAGE_ROOT / "checkpoints" / "images.pt")
BUDGET_S = 0.25  # control -> audible (the ceiling and the switch act in the device callback: well within it)
# A drift change is heard once the walk has moved far enough to change the spectrum: how long that takes depends
# on where the walk is (issue 18 measured p95 263-356 ms; fresh-clone runs here saw 561 and 911 ms, old code too).
# Issue 18 brings it under 50 ms; until then this bound catches what matters now: the change is heard while
# the piece plays (the interval is 30 s), not at the next piece.
DRIFT_BUDGET_S = 1.5
RATE = 48000

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, settings: dict[str, Any] | None = None, **controls: float) -> Any:
    return node_config(tmp_path / "state", SHIPPED, max_sound_s=30.0, speakers=True,
                       controls={"interval": 2.0, "volume_ceiling": -6.0, **controls}, **(settings or {}))


def _sounding(node: RunningNode) -> bool:
    st = node.node.health()["playback"]
    return st.get("state") == "open" and bool(st.get("sounding"))


def oversampled_peak(x: np.ndarray, factor: int = 4, taper_s: float = 0.005) -> float:
    """Peak of the band-limited signal on a 4x grid (FFT zero-padding; padded so the ends do not wrap).

    The ends are faded in and out over `taper_s` first: a recording stops mid-sound, and the step from its last
    sample to the padding rings like any step (Gibbs: 9 % of it), so a 0.5 sine cut at -0.48 measured 0.544, +0.7 dB
    over its own peak, which failed a fresh-clone run. The fade leaves the rest of the recording as it is."""
    x = x.astype(np.float64)
    k = min(int(taper_s * RATE), len(x) // 2)
    if k:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
        x[:k] *= ramp
        x[len(x) - k :] *= ramp[::-1]
    n = 2 * len(x)
    spec = np.fft.rfft(x, n)
    up = np.zeros(factor * n // 2 + 1, complex)
    up[: len(spec)] = spec
    return float(np.abs(np.fft.irfft(up, factor * n) * factor).max())


def _find(recording: np.ndarray, sound: np.ndarray) -> tuple[int, float]:
    """Where `sound` (48 kHz) sits in the recording, and the normalised correlation there. The best *normalised*
    correlation over every lag where the sound fits: the raw cross-correlation's peak can sit on a louder stretch of
    the recording than a quiet piece (it did: a piece found sample for sample where it should be lost to a lag 6 s
    away)."""
    m = len(sound)
    if len(recording) < m:
        return 0, 0.0
    n = len(recording) + m
    corr = np.fft.irfft(np.fft.rfft(recording, n) * np.conj(np.fft.rfft(sound, n)), n)[: len(recording) - m + 1]
    energy = np.concatenate([[0.0], np.cumsum(recording.astype(np.float64) ** 2)])
    norms = np.sqrt(np.maximum(energy[m:] - energy[:-m], 0.0)) * np.linalg.norm(sound)
    # Only where the recording is at least a hundredth as loud as the sound: near silence, the FFT's rounding over a
    # tiny norm is not a correlation.
    ncc = np.where(norms > 0.01 * np.linalg.norm(sound) ** 2, corr / np.maximum(norms, 1e-30), -1.0)
    lag = int(np.argmax(ncc))
    seg = recording[lag : lag + m]
    return lag, float(np.dot(seg, sound) / (np.linalg.norm(seg) * np.linalg.norm(sound) + 1e-12))


def _no_gap(rec: Recorder, x: np.ndarray, start: int, playback: dict[str, Any]) -> None:
    """Nothing silent longer than 20 ms in x (the recording from sample `start` on), except where this machine itself
    stopped for as long (audiopeers.Freezes: the host takes the VM's CPUs away for 30-95 ms now and then, and no
    buffer of 20 ms plays through that)."""
    unexplained, excused = rec.silent_gaps(x, start)
    for t0, length, stop in excused:
        print(f"silent {1000 * length:.1f} ms at {t0:.3f}: the machine stopped for {1000 * stop:.1f} ms then")
    assert not unexplained, (
        [(round(t0, 3), round(1000 * length, 1)) for t0, length in unexplained],
        [(round(a, 3), round(1000 * (b - a), 1)) for a, b in rec.freezes.stops], json.dumps(playback))


async def test_the_node_plays_the_pieces_gaplessly_under_the_ceiling(
    tmp_path: Path, pulse: PulseAudio, recorder: Recorder, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    pulse.use_here(monkeypatch)
    # Gapless joins and the ceiling are this test's subject; the 30 ms default lead's underruns on a busy
    # machine are issue 18's (an adaptive lead): here 100 ms of lead. Old and new code alike had 1-8 underruns
    # in 2 of 4 quiet runs each on this VM with 30 ms. And a 10 ms device period (engine_period_s), where the other
    # tests here have the default 5 ms: the ring, the slots and the ceiling at the callback work the same in either.
    async with running_node(_config(tmp_path, {"engine_lead_s": 0.1, "engine_period_s": 0.01})) as node:
        await until(lambda: _sounding(node), 30, "the engine sounding on the null sink")
        first = node.node.media.last_seq
        await until(lambda: node.node.media.last_seq >= first + 1, 30, "a piece after the speakers began")
        # Underruns are counted from here, the steady state: the start (a PulseAudio just launched by the
        # fixture, the stream opening, both processes' first renders) gave a fresh-clone run 1 underrun.
        before = node.node.health()["playback"]["underruns"]
        await until(lambda: node.node.media.last_seq >= first + 7, 40, "seven pieces after the speakers began")
        # From the second played piece on: the monitor misses the first ~10 ms of a new stream, which the
        # first played piece starts with.
        pieces = [p for p in reversed(node.node.media.recent(10)) if p.get("played")][1:]
        playback = node.node.health()["playback"]
        # The newest piece was cut from sound rendered up to a moment ago: it reaches the null sink, and the
        # recording, within the control-to-speaker latency. Read the recording once it covers that (a fresh-clone
        # run read it at once and found the newest piece's sound missing: corr 0.11).
        await asyncio.to_thread(recorder.wait_until, time.monotonic() + playback["latency_ms"] / 1000 + 0.1)
        recording = recorder.samples()
        engine_nice = os.getpriority(os.PRIO_PROCESS, playback["pid"])
    assert len(pieces) >= 3, pieces
    # Ahead of ordinary processes where allowed (CI runs as root): under two busy loops on 2 cores it had
    # 4-11 underruns in each of 4 runs at nice 0, none at -10.
    if os.geteuid() == 0:
        assert engine_nice == ENGINE_NICE, engine_nice
    assert playback["lead_base_ms"] == 100.0, playback  # the setting reached the engine (the lead adapts from it)
    # ...and the period the device: its output lag is three periods with PulseAudio's ALSA plugin (15 ms at 5 ms).
    assert playback["callback_ms"] == 10.0 and 25.0 <= playback["output_lag_ms"] <= 35.0, playback
    assert playback["underruns"] == before, json.dumps(playback)  # the device never asked for sound not there
    ceiling = db_to_gain(-6.0)
    assert np.abs(recording).max() <= ceiling
    assert oversampled_peak(recording) <= ceiling * db_to_gain(0.5)
    # Each played piece's published sound is in the recording, sample for sample, and each starts where
    # the one before it ended: what the web gets is what played, with no gap at the joins. Except where this machine
    # stopped (audiopeers.Freezes: its host took the CPUs for 20-95 ms) while a piece played: the stream's 20 ms buffer
    # ran out, the null sink put silence in, and the rest of the piece came later. Such a piece is not compared whole;
    # the piece after it must start where it would have ended, later by at most the stops' length (the silence they put
    # in). At least three pieces and two joins are checked (six pieces are played).
    expect: tuple[int, int] | None = None  # where the next piece may start: [from, to] in the recording
    checked, joins = 0, 0
    for p in pieces:
        pcm, sr = sf.read(io.BytesIO((node.node.media.media / p["wav"].rsplit("/", 1)[-1]).read_bytes()),
                          dtype="float32")
        sound = soxr.resample(pcm, sr, RATE)
        start = expect[0] if expect is not None else None
        lag, corr = _find(recording, sound)
        joined = expect is not None and expect[0] - 2 <= lag <= expect[1] + 2
        if corr > 0.99 and (expect is None or joined):
            checked, joins = checked + 1, joins + joined
            _no_gap(recorder, recording[lag : lag + len(sound)], lag, playback)
            expect = (lag + len(sound), lag + len(sound))
            continue
        # Not found whole where it should be: only a stop of the machine while it played explains that.
        at = start if start is not None else lag
        t0, t1 = recorder.time_of(at) - 0.05, recorder.time_of(at + len(sound)) + 0.05
        stopped = recorder.freezes.stopped_within(t0, t1)
        assert stopped > 0, (p["seq"], corr, lag, expect, json.dumps(playback))
        print(f"piece {p['seq']} not compared whole: the machine stopped for {1000 * stopped:.0f} ms while it played")
        if start is None:  # the first piece compared: the next one is found on its own
            expect = None
        else:
            expect = (start + len(sound), start + len(sound) + round(stopped * RATE))
    assert checked >= 3 and joins >= 2, (checked, joins, recorder.freezes.stops)


def _settled(recording: Recorder, t_send: float, window_s: float, over: float) -> float:
    """Seconds from t_send until the recording stays at or under `over` (for window_s after)."""
    recording.wait_until(t_send + window_s + 0.1)
    i0, i1 = recording.index_at(t_send), recording.index_at(t_send + window_s)
    x = recording.samples()[i0:i1]
    loud = np.flatnonzero(np.abs(x) > over)
    return 0.0 if not len(loud) else recording.time_of(i0 + loud[-1] + 1) - t_send


async def test_ceiling_and_playback_sent_by_osc_are_heard_within_the_budget(
    tmp_path: Path, pulse: PulseAudio, recorder: Recorder, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    pulse.use_here(monkeypatch)
    async with running_node(_config(tmp_path, interval=30.0)) as node:
        await until(lambda: _sounding(node), 30, "the engine sounding")
        osc = SimpleUDPClient("127.0.0.1", node.osc_port)
        await asyncio.sleep(1.0)
        t_send = time.monotonic()
        before = recorder.between(t_send - 0.5, t_send)
        assert np.abs(before).max() > db_to_gain(-20.0)  # loud before: the drop below can be seen
        osc.send_message("/ciel/volume_ceiling", -40.0)
        took = await asyncio.to_thread(_settled, recorder, t_send, 1.5, db_to_gain(-40.0))
        assert took <= BUDGET_S, f"the lowered ceiling held only {took * 1000:.0f} ms after the message"
        # Playback off: silence within the budget; on again: sound again.
        t_off = time.monotonic()
        osc.send_message("/ciel/playback", 0)
        took = await asyncio.to_thread(_settled, recorder, t_off, 1.0, 0.0)
        assert took <= BUDGET_S, f"playback 0 went quiet only after {took * 1000:.0f} ms"
        await until(lambda: node.node.health()["playback"]["state"] == "off", 5, "the device closed")
        osc.send_message("/ciel/playback", 1)
        await until(lambda: node.node.health()["playback"]["state"] == "open", 10, "the device open again")
        t_on = time.monotonic()
        await asyncio.to_thread(recorder.wait_until, t_on + 2.5)
        assert np.abs(recorder.between(t_on, t_on + 2.5)).max() > db_to_gain(-60.0)


async def test_restarting_pulseaudio_mid_run_playback_comes_back_and_publishing_never_stops(
    tmp_path: Path, pulse: PulseAudio, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    pulse.use_here(monkeypatch)
    with Recorder(pulse):
        async with running_node(_config(tmp_path, interval=1.0)) as node:
            await until(lambda: _sounding(node), 30, "the engine sounding")
            seq_before = node.node.media.last_seq
            await asyncio.to_thread(pulse.restart)
            again = Recorder(pulse)
            await asyncio.to_thread(again.start)  # off the loop: the node runs in it
            try:
                await until(lambda: node.node.health()["playback"].get("opened", 0) >= 2, 20,
                            "playback reopened after the restart")
                t = time.monotonic()
                await asyncio.to_thread(again.wait_until, t + 1.5)
                assert np.abs(again.between(t + 0.5, t + 1.5)).max() > db_to_gain(-60.0)
            finally:
                again.stop()
            health = node.node.health()
            assert health["playback"]["lost"] >= 1 and health["playback"]["state"] == "open"
            recent = [p for p in reversed(node.node.media.recent(50)) if p["seq"] > seq_before - 1]
    # Pieces went on at the interval through the outage: no gap in publishing.
    gaps = np.diff([p["created_at"] for p in recent])
    assert len(gaps) >= 3 and gaps.max() < 1.0 + 0.75, gaps


def test_without_any_audio_device_the_node_runs_headless_and_says_so_once(tmp_path: Path) -> None:
    require_tool("pactl")  # the playback stack is installed; there is just no server to reach
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(state), "--web", "127.0.0.1:0",
         "--oscquery", "127.0.0.1:0", "--osc", "127.0.0.1:0", "--interval", "1", "--max-sound-s", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        manifest = state / "manifest.jsonl"
        until_sync(lambda: manifest.exists() and len(manifest.read_text().splitlines()) >= 4, 60,
                   "the node published no pieces", proc=proc)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    said = [line for line in out.splitlines() if "no audio output device" in line]
    assert len(said) == 1, out
    assert "running headless" in said[0]




# A seed or a bend: issue 18's test bound is 100 ms, its goal (50 ms) the benchmark's. The terms here: the message and
# the making of the new sound (10-25 ms, 40 now and then), the slot kept and the one being handed over (10-20 ms), the
# device (30 ms from the callback to the output, by PortAudio's prediction), the upsampler and half the crossfade (5
# ms), and the detector, which dates a change by the end of the first 21 ms frame it dominates (10-21 ms): 60-145 ms,
# median 85 ms over 54 changes in 9 runs, of which one run's median was 102 ms. So the median is held to 120 ms and each
# change to 200 ms (without cut-in they wait behind the 80-112 ms queue and the phase stream's half window: 150-200 ms
# and more; and the engine's count says it cut in).
CUT_IN_MEDIAN_S, CUT_IN_EACH_S = 0.12, 0.2


async def test_seeds_bends_and_drift_cut_in_heard_at_once_without_a_gap(
    tmp_path: Path, pulse: PulseAudio, recorder: Recorder, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The engine drops what it had queued and makes it again under the new controls (issue 18, item 1): new seeds
    and sound bends (of the spectrum and of a hidden layer), each sent to a frozen point's steady sound, are heard
    within the budget; a drift change sets the frozen sound walking within its own budget; no gap, no underrun.
    (tests/test_cutin.py checks the samples of a cut-in: the old sound to the takeover, a linear crossfade, then the
    new sound exactly, and the device playing the published samples; the gapless test above checks pieces against
    a recording.)"""
    pulse.use_here(monkeypatch)
    heard: list[tuple[str, Any, float, float | None, dict[str, Any]]] = []
    async with running_node(_config(tmp_path, interval=4.0, drift=0.0)) as node:
        await until(lambda: _sounding(node), 30, "the engine sounding")
        osc = SimpleUDPClient("127.0.0.1", node.osc_port)
        spectrum = node.node.layouts[1].layers
        first_piece = node.node.media.last_seq + 1
        await until(lambda: node.node.media.last_seq >= first_piece, 30, "a piece cut from the sound played")
        before = node.node.health()["playback"]  # the steady state: a new stream's start is not counted
        t_start = time.monotonic()
        for address, value in (("/ciel/seed", 101), (f"/ciel/bend/sound/{spectrum}/translate", 0.3),
                               ("/ciel/seed", 103), (f"/ciel/bend/sound/{spectrum}/flip_v", 1), ("/ciel/seed", 105),
                               ("/ciel/bend/sound/1/multiply", -3.0), ("/ciel/drift", 1.0)):
            await asyncio.sleep(1.8)  # the steady sound before, as the reference
            cut_ins = node.node.health()["playback"]["cut_ins"]
            t_send = time.monotonic()
            osc.send_message(address, value)
            if address == "/ciel/drift":  # the sound walks off: how soon it leaves its range is the walk's speed
                took = await asyncio.to_thread(departure, recorder, t_send, DRIFT_BUDGET_S)
            else:
                took = await asyncio.to_thread(arrival, recorder, t_send, 0.8)
            playback = node.node.health()["playback"]
            assert playback["cut_ins"] == cut_ins + 1, f"{address} {value} did not cut in: {json.dumps(playback)}"
            heard.append((address, value, t_send, took, playback["cut_in_last"]))
            osc.send_message("/ciel/bend/clear", [])
        playback = node.node.health()["playback"]
        await asyncio.to_thread(recorder.wait_until, time.monotonic() + playback["latency_ms"] / 1000 + 0.1)
        recording = recorder.samples()
        i_start = recorder.index_at(t_start)
    for address, value, _, took, last in heard:
        print(f"{address} {value}: heard after {None if took is None else round(1000 * took)} ms; engine: {last}")
    # The engine's own account of each cut-in: when its new sound was half in at the device's output (PortAudio's
    # prediction for the slot that held it). The recording never finds a change before that (less the crossfade's
    # first half and a millisecond each for the prediction and the recorder's clock): the detector is not early, and
    # the engine's account is not late.
    assert all("heard_at" in last for *_, last in heard), heard
    for address, value, t_send, took, last in heard:
        assert took is None or took >= last["heard_at"] - t_send - 0.0045, (address, value, took, last)
    # ...and what health's cut_in_ms adds up is a bound of what the cut-ins took from the cut on (a median: a stop of
    # this VM's host, 20-60 ms now and then, delays a callback and so one cut-in's sound).
    bound = playback["cut_in_ms"] - playback["cut_in_make_ms"]  # its terms but the making, which cut_after_ms holds
    after_cut = [last["heard_after_ms"] - last["cut_after_ms"] for *_, last in heard]
    assert np.median(after_cut) <= bound + 2.0, (after_cut, bound, json.dumps(playback))
    drift = heard.pop()[3]
    assert drift is not None, f"drift 1 was not heard within {DRIFT_BUDGET_S} s of the message"
    # A miss (None) is a new sound within the spread of the old one: the detector cannot date it (tests/changes.py).
    assert all(t is not None for a, _, _, t, _ in heard if "bend" in a), heard
    assert sum(t is not None for a, _, _, t, _ in heard if "seed" in a) >= 2, heard
    times = [t for _, _, _, t, _ in heard if t is not None]
    assert np.median(times) <= CUT_IN_MEDIAN_S and max(times) <= CUT_IN_EACH_S, heard
    # No gap: the device never found the queue empty, and nothing silent in what played.
    assert playback["underruns"] == before["underruns"] and playback["cut_ins_missed"] == 0, json.dumps(playback)
    print("changes at", [round(last["asked_at"], 3) for *_, last in heard if last])
    _no_gap(recorder, recording[i_start:], i_start, playback)  # as in the gapless test
