"""The audio peers work: a stream played through the private PulseAudio comes back whole, in level and in time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import audiopeers
import numpy as np
import pytest
from audiopeers import RATE, PulseAudio, Recorder
from nodes import until_sync

pulse, recorder = audiopeers.pulse, audiopeers.recorder  # the fixtures (until conftest provides them)

pytestmark = pytest.mark.timeout(60)

# A child that plays a .npy signal through sounddevice (mono, float32, 10 ms blocks, 100 ms latency) and reports,
# for the block that holds sample `mark`, the callback's time.monotonic() and outputBufferDacTime - currentTime.
PLAYER = r"""
import json, sys, threading, time
import numpy as np
import sounddevice as sd
signal = np.load(sys.argv[1]).astype(np.float32)
mark = int(sys.argv[2])
pos, info, done = 0, {"statuses": 0}, threading.Event()
def callback(out, frames, t, status):
    global pos
    now = time.monotonic()
    if status:
        info["statuses"] += 1
    block = signal[pos:pos + frames]
    out[:len(block), 0] = block
    out[len(block):, 0] = 0
    if pos <= mark < pos + frames:
        info.update(mark_cb=now, mark_frame=mark - pos, dac_minus_current=t.outputBufferDacTime - t.currentTime)
    pos += frames
    if pos >= len(signal) + 4800:  # 100 ms of silence after it
        done.set()
with sd.OutputStream(device="pulse", samplerate=48000, channels=1, dtype="float32", blocksize=480, latency=0.1,
                     callback=callback) as stream:
    info["latency"] = stream.latency
    assert done.wait(20), "the signal never finished playing"
print(json.dumps(info))
"""


def play(pulse: PulseAudio, signal: np.ndarray, folder: Path, mark: int = 0) -> dict[str, float]:
    """Play `signal` from a child process through the private daemon; returns the child's report."""
    path = folder / "signal.npy"
    np.save(path, signal.astype(np.float32))
    out = subprocess.run([sys.executable, "-c", PLAYER, str(path), str(mark)], env=pulse.env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr[-2000:]
    info: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["statuses"] == 0, f"the player's stream underflowed ({info}): the machine is too busy to judge"
    return info


def sine(freq: float, amplitude: float, seconds: float) -> np.ndarray:
    n = np.arange(int(seconds * RATE))
    return (amplitude * np.sin(2 * np.pi * freq * n / RATE)).astype(np.float32)


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def test_sine_comes_back_at_its_frequency_and_level(pulse: PulseAudio, recorder: Recorder, tmp_path: Path) -> None:
    tone = sine(1000.0, 0.5, 1.0)
    lead = int(0.2 * RATE)  # the first ~10 ms of a stream never reach the monitor: start after them
    signal = np.concatenate([np.zeros(lead, np.float32), tone])
    info = play(pulse, signal, tmp_path, mark=lead)
    start_t = info["mark_cb"] + info["dac_minus_current"]
    recorder.wait_until(start_t + 1.2)

    got = recorder.samples()
    # The tone starts with sin(0) = 0: its first sample is the one before the first non-zero one.
    first = int(np.flatnonzero(got[recorder.index_at(start_t - 0.1):])[0]) + recorder.index_at(start_t - 0.1) - 1
    back = got[first:first + len(tone)]
    assert len(back) == len(tone)
    spectrum = np.abs(np.fft.rfft(back * np.hanning(len(back))))
    peak_hz = np.argmax(spectrum) * RATE / len(back)
    level, written = db(back), db(tone)
    err = float(np.max(np.abs(back - tone)))
    print(f"\npeak {peak_hz:.1f} Hz, level {level:.4f} dBFS (written {written:.4f}), max sample error {err:.3g}")
    assert abs(peak_hz - 1000.0) <= 1.0
    assert abs(level - written) < 0.1, "the path adds gain"
    assert err <= 1e-6, "float32 in, float32 out: the samples come back as written"
    assert np.all(got[first - lead // 2:first] == 0) and np.all(got[first + len(tone):first + len(tone) + 2400] == 0)


def test_time_of_places_a_click_where_portaudio_said_it_would_play(pulse: PulseAudio, recorder: Recorder,
                                                                     tmp_path: Path) -> None:
    signal = np.zeros(int(0.6 * RATE), np.float32)
    at = 30 * 480  # 0.3 s in, the first sample of a block
    signal[at] = 0.9
    info = play(pulse, signal, tmp_path, mark=at)
    written = info["mark_cb"]  # time.monotonic() in the callback that wrote the click
    predicted = written + info["dac_minus_current"] + info["mark_frame"] / RATE  # PortAudio's DAC time for it
    recorder.wait_until(predicted + 0.2)

    got = recorder.samples()
    hits = np.flatnonzero(got > 0.5)
    assert len(hits) == 1 and got[hits[0]] == np.float32(0.9)
    played = recorder.time_of(int(hits[0]))
    print(f"\nstream latency {info['latency'] * 1000:.1f} ms; click played {(played - written) * 1000:.1f} ms "
          f"after its callback, {(played - predicted) * 1000:+.1f} ms from PortAudio's outputBufferDacTime")
    assert 0 < played - written < 0.25
    assert abs(played - predicted) < 0.02
    assert recorder.index_at(played) == hits[0]
    assert abs(recorder.time_of(hits[0] + RATE) - played - 1.0) < 1e-3


def test_restart_brings_up_a_fresh_daemon_that_plays(pulse: PulseAudio, recorder: Recorder, tmp_path: Path) -> None:
    old = pulse.pid
    pulse.restart()
    assert pulse.pid != old and pulse.answers()
    assert "nullsink" in pulse.pactl("list", "short", "sinks")
    until_sync(lambda: not recorder.alive, 5, "parec outlived the daemon")  # parec dies with the daemon it recorded

    with Recorder(pulse) as fresh:
        tone = sine(440.0, 0.25, 0.3)
        info = play(pulse, np.concatenate([np.zeros(4800, np.float32), tone]), tmp_path, mark=4800)
        start_t = info["mark_cb"] + info["dac_minus_current"]
        fresh.wait_until(start_t + 0.4)
        back = fresh.between(start_t + 0.05, start_t + 0.25)
        print(f"\nafter restart: {db(back):.3f} dBFS back, {db(tone):.3f} written")
        assert abs(db(back) - db(tone)) < 0.1


def test_use_here_points_this_process_at_the_daemon(pulse: PulseAudio, recorder: Recorder,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sd = pytest.importorskip("sounddevice")
    try:
        pulse.use_here(monkeypatch)
        assert {"pulse", "default"} <= {d["name"] for d in sd.query_devices()}
        with sd.OutputStream(device="pulse", samplerate=RATE, channels=1, dtype="float32", blocksize=480,
                             latency=0.1, callback=lambda out, *_: out.fill(0.25)):
            t = time.monotonic()
            recorder.wait_until(t + 0.5)
        assert np.all(recorder.between(t + 0.2, t + 0.5) == np.float32(0.25))
    finally:
        monkeypatch.undo()
        audiopeers.reinit_sounddevice()  # back to whatever the environment names


def test_the_stop_watchers_are_real_time_one_per_cpu_and_see_a_stop_of_theirs() -> None:
    # A stop of a CPU holds its watcher up as SIGSTOP does: its next wake-up is late by about as long. One CPU's stop
    # counts whole; a stop of every CPU at once (the whole machine) counts once, not once per CPU.
    import os
    import signal

    with audiopeers.Freezes() as freezes:
        assert freezes.realtime or os.environ.get("CI") != "true"
        cpus = sorted(os.sched_getaffinity(0))
        assert sorted(freezes.by_cpu) == cpus and len(freezes.procs) == len(cpus)
        time.sleep(0.2)
        for stopped in ([freezes.procs[-1]], freezes.procs):  # the last CPU's watcher alone, then all of them
            quiet = {cpu: len(stops) for cpu, stops in freezes.by_cpu.items()}
            t0 = time.monotonic()
            for proc in stopped:
                os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.08)
            for proc in stopped:
                os.kill(proc.pid, signal.SIGCONT)
            late = [cpus[freezes.procs.index(proc)] for proc in stopped]
            until_sync(lambda late=late, quiet=quiet: all(len(freezes.by_cpu[c]) > quiet[c] for c in late), 5,
                       "the stopped watchers' late wake-ups")
            lengths = []
            for cpu in late:
                a, b = freezes.by_cpu[cpu][-1]
                assert a <= t0 + 0.01 and b - a >= 0.075, (cpu, a - t0, b - a)
                lengths.append(b - a)
            within = freezes.stopped_within(t0, t0 + 0.05)
            assert within >= 0.075, within
            if len(lengths) > 1:  # all of them stopped: one stop's length, not their sum
                assert within < sum(lengths) - 0.05, (within, lengths)
            assert freezes.stopped_within(b + 1, b + 2) == 0.0


def test_a_silent_gap_is_excused_only_by_a_stop_of_a_cpu_as_long_as_it() -> None:
    rec = Recorder.__new__(Recorder)  # the arithmetic alone: a recording at 48 kHz that began at t = 100 s
    rec.rate, rec.freezes = RATE, audiopeers.Freezes()
    rec.time_of = lambda index: 100.0 + index / RATE  # type: ignore[method-assign]
    x = np.full(10 * RATE, 0.1, np.float32)
    for at_s, ms in ((2, 15), (4, 45), (6, 45), (8, 45)):  # one too short to count, three of 45 ms
        x[at_s * RATE : at_s * RATE + ms * RATE // 1000] = 0.0
    x[9 * RATE : 9 * RATE + 40 * RATE // 1000] = 0.0  # 40 ms at 9 s
    # At 4 s CPU 0 stopped 60 ms; at 6 s 30 ms, but CPU 1 50 ms; at 8 s each 25 ms (at once: not 50); at 9 s CPU 0
    # twice, 20 and 25 ms, 7 ms apart (one stop, seen as two).
    rec.freezes.by_cpu = {
        0: [(103.99, 104.05), (105.99, 106.02), (107.99, 108.015), (108.99, 109.01), (109.017, 109.042)],
        1: [(105.995, 106.045), (108.0, 108.025)],
    }
    unexplained, excused = rec.silent_gaps(x, 0)
    assert [(round(t - 100, 3), round(length, 3)) for t, length in unexplained] == [(8.0, 0.045)]
    assert [(round(t - 100, 3), round(n, 3), round(stop, 3)) for t, n, stop in excused] == [
        (4.0, 0.045, 0.06), (6.0, 0.045, 0.05), (9.0, 0.04, 0.045)]
