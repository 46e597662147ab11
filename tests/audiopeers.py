"""Real audio peers for the tests: a private PulseAudio daemon with a null sink, and parec recording its monitor.

The path under test is the node's own: sounddevice -> PortAudio (ALSA host API) -> the ALSA `pulse` plugin
(libasound2-plugins) -> our daemon's `nullsink` -> `nullsink.monitor` -> parec -> `Recorder`. The null sink is
float32 at 48 kHz and every volume is 100 % (PulseAudio's default, nothing to set), so what a stream writes comes
back bit for bit: a mono stream is copied to both sink channels at unit gain and parec's mono downmix averages them
back. Nothing of this touches another PulseAudio daemon: ours has its own runtime dir, socket and cookie.

Pointing sounddevice at the private daemon. libpulse (loaded by the ALSA plugin) finds the server from the
environment, and PortAudio probes its device list only when it initialises (at `import sounddevice`, or
`sd._terminate(); sd._initialize()`); without a daemon the list is empty (`pulse` and `default` only appear while a
daemon answers) and it is never refreshed on its own:

* the node in a child process: `subprocess.Popen([...], env=pulse.env)`; `env` carries PULSE_SERVER=unix:<runtime>/
  pulse/native and PULSE_COOKIE (enough on their own, and no autospawn) plus XDG_RUNTIME_DIR and HOME;
* this process: `pulse.use_here(monkeypatch)` sets PULSE_SERVER and PULSE_COOKIE in os.environ and re-initialises
  PortAudio if sounddevice is already imported (close every stream first: Pa_Terminate closes them under you).

Quirks of the null sink (see /tmp/pa-report.md): with no other client it renders 2 s ahead, so a new stream stalls
1-2 s after its first few callbacks; a running Recorder keeps the sink's latency at ~10 ms and avoids that. The
monitor cannot rewind, so the first ~latency_ms of every new stream are missing from the recording. A daemon
restart kills every client stream (PortAudio calls finished_callback, stream.active turns False; start() on such a
stream after a stop() hangs for good: close it and open a new one) and parec.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import changes
import numpy as np
import pytest
from conftest import require_tool

RATE = 48000
SINK = "nullsink"
MONITOR = f"{SINK}.monitor"

NULL_PA = f"""\
load-module module-native-protocol-unix
load-module module-null-sink sink_name={SINK} format=float32le rate={RATE} channels=2
set-default-sink {SINK}
set-default-source {MONITOR}
"""


class PulseAudio:
    """A private PulseAudio daemon with a 48 kHz null sink, on its own XDG_RUNTIME_DIR under a tmp dir.

    It runs in the foreground as our child (no --daemonize), so its PID is ours and stop() kills only it; its log is
    `log`. restart() keeps the socket path, so clients configured with `env` reach the new daemon (new streams only).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runtime = root / "pulse-runtime"  # XDG_RUNTIME_DIR and HOME: socket, pid file, cookie
        self.socket = self.runtime / "pulse" / "native"
        self.script = root / "null.pa"
        self.log = root / "pulseaudio.log"
        self.server = f"unix:{self.socket}"
        self.cookie = self.runtime / ".config" / "pulse" / "cookie"  # the daemon writes it under its HOME
        # PULSE_COOKIE too: with only PULSE_SERVER, libpulse writes a cookie into the client's ~/.config/pulse.
        self.client_env = {"PULSE_SERVER": self.server, "PULSE_COOKIE": str(self.cookie)}
        self.env: dict[str, str] = {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime), "HOME": str(self.runtime),
                                    **self.client_env}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def pactl(self, *args: str, check: bool = True, timeout: float = 5.0) -> str:
        out = subprocess.run([require_tool("pactl"), *args], env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"pactl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def answers(self) -> bool:
        try:
            return subprocess.run([require_tool("pactl"), "info"], env=self.env, capture_output=True,
                                  timeout=2).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self, deadline_s: float = 10.0) -> None:
        exe = require_tool("pulseaudio")
        require_tool("pactl")
        assert self.proc is None, "already started"
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.runtime, 0o700)  # PulseAudio wants its runtime dir private
        self.script.write_text(NULL_PA)
        env = {k: v for k, v in self.env.items() if k not in self.client_env}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [exe, "-n", "-F", str(self.script), "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                 "--use-pid-file=yes", "--log-target=stderr"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        end = time.monotonic() + deadline_s
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise AssertionError(f"pulseaudio did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)

    def stop(self, deadline_s: float = 10.0) -> None:
        """Kill our daemon (SIGKILL, by its PID: clients see the connection drop, as after a crash)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(deadline_s)
        self.proc = None
        # The socket file stays behind; a client connecting now is refused (ECONNREFUSED), as with a dead daemon.

    def restart(self) -> None:
        self.stop()
        self.start()

    def use_here(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point this process's sounddevice at the daemon (and re-probe the devices if it is already loaded)."""
        for key, value in self.client_env.items():
            monkeypatch.setenv(key, value)
        reinit_sounddevice()

    def __enter__(self) -> PulseAudio:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def reinit_sounddevice() -> None:
    """Re-initialise PortAudio if sounddevice is loaded: ALSA config and the device list are read afresh.

    Every open stream must be closed first (Pa_Terminate would close them under our feet).
    """
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


# The stop watcher (Freezes): on each CPU, a loop of 2 ms sleeps in a process of its own (no GIL to share), pinned to
# that CPU, at a real-time priority above the engine's and PulseAudio's, so that only the kernel or the host can hold
# it up; it prints each late wake-up.
_WATCH = """
import os, sys, time
min_s, cpu = float(sys.argv[1]), int(sys.argv[2])
os.sched_setaffinity(0, {cpu})
try:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    print("rt", flush=True)
except OSError:
    print("normal", flush=True)
t = time.monotonic()
while True:
    time.sleep(0.002)
    now = time.monotonic()
    if now - t > min_s:
        print(t, now, flush=True)
    t = now
"""


class Freezes:
    """When this machine's CPUs stopped: a VM whose host takes its CPUs away (these VMs stop for 10-100 ms every
    minute or so). Nothing on a stopped CPU can play on through that: the null sink's clock (CLOCK_MONOTONIC) runs on,
    the sink renders the lost time, and what the stream had buffered (the device's output lag, 15 ms at 5 ms periods)
    covers only the start of it. PortAudio's own callback clock shows the same gap as the Python callback (measured),
    so no code of ours was late. The recording tests excuse a silence only where a stop as long happened
    (Recorder.silent_gaps).

    The host stops each virtual CPU on its own: measured on both at once, one stopped 26 ms while the other stopped
    70, and one 17 ms while the other (the device callback's, by the silence it made) stopped over 24. So there is a
    watcher on every CPU, pinned to it, and a stop counts by the CPU that stopped longest (stopped_within). Each is a
    process of its own at real-time FIFO priority 50 (above the engine's 4 and PulseAudio's 5), so a busy machine,
    the GIL or an engine hogging both cores never delays it: a wake-up `min_s` late is a stop. Without the right to
    real-time (not root), they run at normal priority and say so (`realtime` False): then a starved watcher would look
    like a stop, so under CI=true (root) they must be real-time."""

    def __init__(self, min_s: float = 0.008) -> None:
        self.min_s = min_s
        self.by_cpu: dict[int, list[tuple[float, float]]] = {}  # (from, to) in time.monotonic(), per CPU
        self.realtime = False
        self.procs: list[subprocess.Popen[str]] = []
        self._threads: list[threading.Thread] = []

    @property
    def stops(self) -> list[tuple[float, float]]:
        """Every CPU's stops, in time order."""
        return sorted(stop for stops in list(self.by_cpu.values()) for stop in list(stops))

    def _read(self, cpu: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            a, b = line.split()
            self.by_cpu[cpu].append((float(a), float(b)))

    def __enter__(self) -> Freezes:
        realtime = []
        for cpu in sorted(os.sched_getaffinity(0)):
            proc = subprocess.Popen([sys.executable, "-c", _WATCH, str(self.min_s), str(cpu)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
            assert proc.stdout is not None
            realtime.append(proc.stdout.readline().strip() == "rt")
            self.by_cpu[cpu] = []
            thread = threading.Thread(target=self._read, args=(cpu, proc), name=f"freeze-watch-{cpu}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.realtime = all(realtime)
        if os.environ.get("CI") == "true":
            assert self.realtime, "the stop watchers could not take real-time priority (CI runs as root)"
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(5)
        for thread in self._threads:
            thread.join(5)

    def stopped_within(self, t0: float, t1: float) -> float:
        """How long a CPU stopped, in seconds: the most any one CPU stopped in all in the stops overlapping [t0, t1]
        (whole). A stop can come as two on one CPU, its watcher waking once between them (18 and 32 ms, 7 ms apart: a
        37 ms silence); the CPUs' stops are not added to each other (a stop of the whole machine shows on each)."""
        return max((sum(b - a for a, b in stops if a < t1 and b > t0) for stops in list(self.by_cpu.values())),
                   default=0.0)


class Recorder:
    """parec of nullsink.monitor: raw float32 mono at 48 kHz, read by a thread that timestamps every chunk.

    time_of(i) is the time.monotonic() at which sample i plays by the null sink's clock: what PortAudio predicts
    for it (the writing callback's time.monotonic() + outputBufferDacTime - currentTime), to within ~1 ms. It comes
    from the lower envelope of chunk arrivals at the nominal rate (the null sink runs on CLOCK_MONOTONIC): a chunk
    ending at sample n that arrived at t says sample n was rendered at or before t, and the least delayed chunks pin
    the line to ~0.3 ms. The sink renders ahead, so that envelope runs early by the recorder's latency_ms, which is
    added back (measured: PortAudio's estimate minus the envelope was 5.0/10.0/19.9/49.7 ms for latency_ms
    5/10/20/50, with streams of 5-90 ms latency). Differences between time_of() values are exact to the sample.

    The first ~latency_ms of every new stream are missing (the monitor cannot follow the sink's rewind), and parec
    dies with the daemon: after PulseAudio.restart(), use a new Recorder.
    """

    def __init__(self, pulse: PulseAudio, rate: int = RATE, latency_ms: int = 10) -> None:
        self.pulse = pulse
        self.rate = rate
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._ends: list[int] = []  # cumulative sample count after each chunk
        self._arrivals: list[float] = []  # time.monotonic() when each chunk was read
        self._count = 0
        self._stderr = b""
        self.freezes = Freezes()  # when the machine stopped while recording (silent_gaps excuses what those made)

    def start(self, deadline_s: float = 10.0) -> None:
        exe = require_tool("parec")
        assert self.proc is None, "already started"
        self.proc = subprocess.Popen(
            [exe, "--raw", f"--device={MONITOR}", "--format=float32le", f"--rate={self.rate}", "--channels=1",
             f"--latency-msec={self.latency_ms}", "--client-name=audiopeers-recorder"],
            env=self.pulse.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._read, name="parec-reader", daemon=True)
        self._thread.start()
        self.freezes.__enter__()
        # Ready when samples flow: what plays before that would be lost.
        self.wait_for_samples(1, deadline_s)

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        rest = b""
        while True:
            data = os.read(fd, 1 << 16)
            now = time.monotonic()
            if not data:
                break
            data = rest + data
            usable = len(data) - len(data) % 4
            rest = data[usable:]
            if not usable:
                continue
            chunk = np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)
            with self._lock:
                self._chunks.append(chunk)
                self._count += len(chunk)
                self._ends.append(self._count)
                self._arrivals.append(now)
        if self.proc.stderr is not None:
            self._stderr = self.proc.stderr.read()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.freezes.__exit__()
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def samples(self) -> np.ndarray:
        """Everything recorded so far (float32, mono)."""
        with self._lock:
            if len(self._chunks) > 1:
                self._chunks = [np.concatenate(self._chunks)]
            return self._chunks[0].copy() if self._chunks else np.zeros(0, np.float32)

    def wait_for_samples(self, n: int, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        while len(self) < n:
            if time.monotonic() > end:
                raise AssertionError(f"parec recorded {len(self)} of {n} samples within {deadline_s} s; "
                                     f"alive={self.alive} stderr={self._stderr.decode(errors='replace')[-500:]}")
            if not self.alive and self._thread is not None and not self._thread.is_alive() and len(self) < n:
                raise AssertionError(f"parec exited ({self.proc.returncode if self.proc else None}) after "
                                     f"{len(self)} samples: {self._stderr.decode(errors='replace')[-500:]}")
            time.sleep(0.005)

    def wait_until(self, t: float, deadline_s: float = 10.0) -> None:
        """Wait until the sample that plays at monotonic time `t` has been recorded."""
        self.wait_for_samples(self.index_at(t) + 1, deadline_s)

    def _offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """Per chunk: its end (samples) and arrival minus the time those samples take at the nominal rate."""
        with self._lock:
            n = np.asarray(self._ends, dtype=np.float64)
            t = np.asarray(self._arrivals, dtype=np.float64)
        assert len(n), "nothing recorded yet"
        return n, t - n / self.rate

    def time_of(self, index: float) -> float:
        """time.monotonic() at which sample `index` plays (~1 ms; see the class docstring)."""
        # The null sink runs on CLOCK_MONOTONIC, so the nominal rate is exact; the least delayed chunk near `index`
        # (within 2 s, to follow any drift over a long recording) gives the offset.
        n, offsets = self._offsets()
        ref = min(max(float(index), n[0]), n[-1])
        envelope = offsets[np.abs(n - ref) <= 2 * self.rate].min() + index / self.rate
        return float(envelope + self.latency_ms / 1000)

    def between(self, t0: float, t1: float) -> np.ndarray:
        """The samples that played from monotonic time t0 to t1 (as far as recorded)."""
        return self.samples()[max(self.index_at(t0), 0):max(self.index_at(t1), 0)]

    def silent_gaps(self, x: np.ndarray, start: int, longest_s: float = 0.020, floor: float = 1e-5
                    ) -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
        """Silent runs (|x| < floor) longer than longest_s in x = the recording from sample `start` on, as
        (time.monotonic() it began, seconds): those no stop of a CPU explains, and those one does (with the stops'
        length). A CPU's stops explain a run they overlap (50 ms either side: the sink renders a stop's time at once
        after it) no longer than they are in all (5 ms slack), since the stream's buffer covers a stop's start."""
        quiet = np.concatenate([[False], np.abs(x) < floor, [False]])
        edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
        unexplained: list[tuple[float, float]] = []
        excused: list[tuple[float, float, float]] = []
        for a, b in zip(edges[::2], edges[1::2]):
            length = (b - a) / self.rate
            if length <= longest_s:
                continue
            t0, t1 = self.time_of(start + a), self.time_of(start + b)
            stop = self.freezes.stopped_within(t0 - 0.05, t1 + 0.05)
            if stop + 0.005 >= length:
                excused.append((t0, length, stop))
            else:
                unexplained.append((t0, length))
        return unexplained, excused

    def index_at(self, t: float) -> int:
        """The sample that plays at monotonic time `t` (may lie beyond what has been recorded)."""
        guess = round((t - self.time_of(0)) * self.rate)
        # One refinement for the local (drift-following) offset.
        return int(round(guess + (t - self.time_of(guess)) * self.rate))


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseAudio]:
    """A started private PulseAudio daemon (its env for children in `pulse.env`); killed after the test."""
    with PulseAudio(tmp_path / "pulse") as daemon:
        yield daemon


@pytest.fixture
def recorder(pulse: PulseAudio) -> Iterator[Recorder]:
    """parec on the null sink's monitor, already flowing."""
    with Recorder(pulse) as rec:
        yield rec


# --- when a recorded sound changed (tests/test_playback.py, bench/playback.py, bench/bend.py, bench/steer.py) -------
def _around(recording: Recorder, t_send: float, window_s: float) -> tuple[np.ndarray, int]:
    """The recording once it holds `window_s` after t_send (and a little more), and the sample at t_send."""
    recording.wait_until(t_send + window_s + 0.1)
    return recording.samples(), recording.index_at(t_send)


def departure(recording: Recorder, t_send: float, window_s: float = 1.0) -> float | None:
    """Seconds from t_send until the sound left the range of the sound before it (a drift, a new seed); None when
    it did not within window_s. See tests/changes.py (how, and why it is conservative)."""
    return changes.departure(*_around(recording, t_send, window_s), window_s, recording.rate)


def arrival(recording: Recorder, t_send: float, window_s: float = 1.0) -> float | None:
    """Seconds from t_send until the sound was nearer the sound it became than the sound before it (a bend, a
    preset); None when it did not within window_s. See tests/changes.py."""
    return changes.arrival(*_around(recording, t_send, window_s), window_s, recording.rate)
