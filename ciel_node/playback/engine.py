"""The sound engine: the live sound rendered a block ahead of the speakers, in its own process.

Its own process, so neither the node's control loop nor the piece renderer ever shares a GIL or a
CPU stall with the audio path. The node talks to it over a pipe: it sends controls (applied at the
next block, about 32 ms of sound) and asks for a *cut*: the sound made since the last cut, which the
node publishes as the next piece, so the web gets exactly what played. While the engine is not
sounding (playback off, no device) it answers a cut with nothing and the node renders pieces ahead
as a headless node does.

Pacing: while playback is on and a device is open, the engine keeps `lead_s` of sound queued for
the device; when the device is lost it keeps pace with the wall clock instead, so pieces go on being
made and published at their times, and the speakers pick up the stream when the device is back.

Watched: the engine says how it is (a status) every 0.25 s; one that says nothing for `stall_s` is
stopped or hung, and is killed and replaced like one that died. It never outlives the node (lifeline).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ciel_node import lifeline
from ciel_node.generate.place import Places
from ciel_node.generate.walk import LivePoint, WalkState
from ciel_node.state import Controls

log = logging.getLogger(__name__)

LEAD_S = 0.03  # sound queued ahead of the device: with one 32 ms block being made, ~60 ms of cover
STATUS_EVERY_S = 0.25
# Silence from a running engine this long means it is stopped or hung: it sends a status every 0.25 s, and
# nothing on its loop blocks for more than 2 s (closing a dead stream); the speakers ran dry long before.
STALL_S = 10.0
START_S = 120.0  # its start-up (import torch, load the model) before the first word, on a loaded machine
FADE_S = 0.02
ENGINE_NICE = -10  # where the system allows it


@dataclass(frozen=True)
class EngineSpec:
    audio_checkpoint: Path
    gl_iterations: int
    max_sound_s: float
    device: str | None = None
    lead_s: float = LEAD_S
    block_frames: int = 2
    stall_s: float = STALL_S
    clusters: tuple[tuple[int, ...], ...] | None = None  # the sound net's feature clusters, as the node declared them
    places: Places | None = None  # the maps: where the xy and direction parameters put the sound's home
    sha256: str = ""  # which checkpoint this is (file_hash): a cut says which one made its sound


Cut = tuple[np.ndarray, LivePoint, str]  # the samples, where the sound's walk was at the cut, the checkpoint's sha256


class _Window:
    """The sound since the last cut, up to max_s of it (longer intervals publish their first max_s)."""

    def __init__(self, max_samples: int) -> None:
        self.max = max_samples
        self.parts: list[np.ndarray] = []
        self.n = 0
        self.dropped = 0

    def add(self, y: np.ndarray) -> None:
        keep = min(len(y), self.max - self.n)
        if keep > 0:
            self.parts.append(y[:keep])
            self.n += keep
        self.dropped += len(y) - max(0, keep)

    def take(self, sample_rate: int) -> np.ndarray:
        out = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        if self.dropped and len(out):  # cut off mid-sound: fade the published copy, not the played one
            k = min(len(out), int(FADE_S * sample_rate))
            out[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
        self.parts, self.n, self.dropped = [], 0, 0
        return out


class _Engine:
    """Runs in the engine process: the loop that renders, feeds the speaker and answers the node."""

    def __init__(self, conn: Connection, spec: EngineSpec) -> None:
        import torch

        from ciel_node.generate.audio import db_to_gain
        from ciel_node.generate.live import LiveSound
        from ciel_node.playback.limiter import TruePeakLimiter
        from ciel_node.playback.speaker import Speaker

        torch.set_num_threads(1)
        self.conn, self.spec = conn, spec
        # Everything for the node goes through a queue and a thread of its own: a cut is ~128 KB a 2 s piece,
        # twice what a pipe holds, and a node slow to read it must not stop the sound (it did: underruns).
        self._outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._pumping = threading.Thread(target=self._pump, name="ciel-engine-send", daemon=True)
        self._pumping.start()
        self.db_to_gain = db_to_gain
        self.sha256 = spec.sha256
        self.sound = LiveSound(self._renderer(spec), block=spec.block_frames, places=spec.places)
        self._loaded: tuple[Any, EngineSpec] | None = None  # a hot swap's renderer, loaded beside the sounding one
        self.sr = self.sound.sample_rate
        self.new_limiter = lambda: TruePeakLimiter(self.sr)
        self.limiter = self.new_limiter()
        self.speaker = Speaker(spec.device, self.sr, spec.lead_s, self._say)
        self.controls = Controls()
        self.walk: WalkState | None = None  # the node's walk: where to begin sounding from, around which home
        self.pacing = False
        self.window = _Window(int(spec.max_sound_s * self.sr))
        self.clock = (time.monotonic(), 0)  # wall-clock pacing while no device plays: (t, samples) anchor
        self.rendered = 0
        self.block_s = self.sound.block_samples / self.sr
        self.render_ms: list[float] = []
        self.stopping = False
        self._last_status = 0.0
        self._last_state = self.speaker.state

    @staticmethod
    def _renderer(spec: EngineSpec) -> Any:
        from ciel_node.generate.audio import AudioRenderer
        from ciel_node.models.audio_vae import SpectralVAE

        vae, _ = SpectralVAE.from_checkpoint(spec.audio_checkpoint)
        return AudioRenderer(vae, iterations=spec.gl_iterations, clusters=spec.clusters)

    def _load(self, spec: EngineSpec) -> None:
        """A hot swap's model, loaded in a thread beside the loop: the loop goes on rendering blocks (torch and the
        file reads let go of the GIL, and the GIL changes hands every millisecond here); it switches at a cut."""
        try:
            self._loaded = (self._renderer(spec), spec)
        except Exception as e:  # noqa: BLE001 - the node checked it; whatever happens, the sounding model plays on
            self._say(logging.ERROR, f"the sound engine could not load {spec.audio_checkpoint} ({e}); "
                                     "the sounding model plays on")

    def _switch(self) -> None:
        """Between two blocks: the loaded model sounds from the next block on. Same shape: the walk, the phase
        reconstruction and the leveller carry on, so the sound changes without a gap."""
        assert self._loaded is not None
        renderer, spec = self._loaded
        self._loaded = None
        self.sound.r, self.sound.places, self.sha256 = renderer, spec.places or self.sound.places, spec.sha256
        self._send(("swapped", spec.sha256))

    def _send(self, msg: tuple[Any, ...]) -> None:
        self._outbox.put(msg)  # from any thread: the loop, the device-opening thread's logs

    def _pump(self) -> None:
        while (msg := self._outbox.get()) is not None:
            try:
                self.conn.send(msg)
            except OSError:  # the node is gone; the loop finds out on its side of the pipe
                return

    def _say(self, level: int, message: str) -> None:
        self._send(("log", level, message))

    def run(self) -> None:
        while not self.stopping:
            if self.conn.poll(self._wait()):
                while not self.stopping and self.conn.poll(0):
                    self._handle(self.conn.recv())
            if self.stopping:
                break
            want = bool(self.controls.playback)
            self.speaker.want(want)
            if self.speaker.state != self._last_state:  # the device came or went: re-anchor the wall clock
                self.clock = (time.monotonic(), self.rendered)
                self._last_state = self.speaker.state
            if not self.pacing and want and self.speaker.state == "open" and self.walk is not None:
                self._begin()
            if self._loaded is not None and not self.pacing:  # nothing sounds: switch now, not at a cut
                self._switch()
            if self.pacing:
                self._render_due()
            if time.monotonic() - self._last_status >= STATUS_EVERY_S:
                self._send_status()
        self.speaker.close()
        self._outbox.put(None)  # what was said before stopping still reaches the node
        self._pumping.join(1.0)

    def _wait(self) -> float:
        if not self.pacing:
            return STATUS_EVERY_S
        if self.speaker.state == "open":
            return min(0.05, max(0.002, self.speaker.queued_s() - self.spec.lead_s))
        ahead = (self.rendered - self.clock[1]) / self.sr - (time.monotonic() - self.clock[0])
        return min(0.05, max(0.002, ahead - self.spec.lead_s + self.block_s))

    def _begin(self) -> None:
        assert self.walk is not None
        self._say(logging.DEBUG, f"sounding from rendered {self.rendered / self.sr:.3f} s")
        self.sound.resume(self.walk)
        self.limiter = self.new_limiter()
        self.pacing = True
        self.clock = (time.monotonic(), self.rendered)

    def _render_due(self) -> None:
        while True:
            if self.speaker.state == "open":
                if self.speaker.queued_s() >= self.spec.lead_s:  # keeps lead_s to lead_s + one block queued
                    return
            elif (self.rendered - self.clock[1]) / self.sr - (time.monotonic() - self.clock[0]) > self.spec.lead_s:
                return
            t0 = time.perf_counter()
            c = self.controls
            y = self.limiter.process(self.sound.render(c), c.volume_ceiling)
            self.window.add(y)
            if c.playback:
                self.speaker.write(y, self.db_to_gain(c.volume_ceiling))
            self.rendered += len(y)
            self.render_ms.append(1000 * (time.perf_counter() - t0))
            if len(self.render_ms) > 2000:
                del self.render_ms[:1000]

    def _handle(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "controls":
            self.controls = msg[1]
            self.speaker.ceiling = self.db_to_gain(min(0.0, self.controls.volume_ceiling))
        elif kind == "walk":
            walk = WalkState.from_dict(msg[1])
            self.walk = walk  # where to begin sounding from; while it sounds, the controls carry its home
        elif kind == "cut":
            self._cut(msg[1])
        elif kind == "load":
            threading.Thread(target=self._load, args=(msg[1],), name="ciel-engine-load", daemon=True).start()
        elif kind == "stop":
            self.stopping = True

    def _cut(self, rid: int) -> None:
        if not self.pacing:
            self._send(("cut", rid, None))
            return
        samples = self.window.take(self.sr)
        self._say(logging.DEBUG, f"cut {rid}: {len(samples) / self.sr:.3f} s, rendered {self.rendered / self.sr:.3f} s")
        seed, _, z = self.sound.cut()
        self._send(("cut", rid, (samples, LivePoint(seed, tuple(z)), self.sha256)))
        if self._loaded is not None:  # a piece boundary: a hot swap's model sounds from here on
            self._switch()
        if not (self.controls.playback and self.speaker.state in ("open", "lost")):
            self.pacing = False  # from the next piece on, the node renders ahead again

    def _send_status(self) -> None:
        self._last_status = time.monotonic()
        ms = sorted(self.render_ms[-500:])
        status = {
            **self.speaker.status(),
            "sounding": self.pacing,
            "lead_ms": round(1000 * self.spec.lead_s, 1),
            "block_ms": round(1000 * self.block_s, 1),
            "render_ms_p50": round(ms[len(ms) // 2], 2) if ms else None,
            "render_ms_max": round(ms[-1], 2) if ms else None,
            "cpu_s": round(time.process_time(), 3),
            "rendered_s": round(self.rendered / self.sr, 3),
            "pid": os.getpid(),  # which process is the engine (it is replaced if it dies or stalls)
            "checkpoint": self.sha256,  # the sounding model's sha256
        }
        status["latency_ms"] = round(status["device_latency_ms"] + status["lead_ms"] + status["block_ms"], 1)
        self._send(("status", status))


def _raise_priority() -> None:
    """The sound has milliseconds to spare, everything else on the machine has seconds: where allowed (root,
    CAP_SYS_NICE, a unit's LimitNICE), run ahead of ordinary processes, as audio servers do. Not real-time
    scheduling: a stuck engine at nice -10 still leaves the machine usable."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(os.getpriority(os.PRIO_PROCESS, 0), ENGINE_NICE))
    except OSError:
        pass  # an ordinary user: the renderer still runs below the sound (nice +10)


def _engine_main(conn: Connection, spec: EngineSpec, parent_pid: int) -> None:
    # Started by the node's supervising thread, which lives as long as this process should: the kernel's
    # parent-death signal (tied to that thread) ends even a stopped engine when the node dies.
    lifeline.hold(parent_pid, kill_with_thread=True)
    for sig in (signal.SIGINT, signal.SIGTERM):  # the node decides when the engine stops (and it ends with it)
        signal.signal(sig, signal.SIG_IGN)
    sys.setswitchinterval(0.001)  # the device callback never waits long for the GIL
    _raise_priority()
    try:
        _Engine(conn, spec).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


def _settle(fut: asyncio.Future[Cut | None], value: Cut | None) -> None:
    if not fut.done():
        fut.set_result(value)


class SoundEngine:
    """The node's handle on the engine process: controls out, cuts and status back, replaced if it dies or stalls."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.status: dict[str, Any] = {"state": "starting", "sounding": False, "underruns": 0}
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")  # spawn: a forked torch process can deadlock
        self._proc: Any = None
        self._conn: Connection | None = None
        self._outbox: list[tuple[Any, ...]] = []
        self._controls: Controls | None = None
        self._walk: tuple[Any, ...] | None = None
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards the outbox and the pending cuts, never held across I/O
        self._cuts: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Cut | None]]] = {}
        self._rid = 0
        self._closing = False
        self._closed = threading.Event()
        self._spawning = threading.Lock()
        self._underruns_before = 0  # from engines that died
        self._pending: EngineSpec | None = None  # a hot swap's spec, sent, until the engine says it sounds

    @property
    def pending(self) -> EngineSpec | None:
        """A hot swap's spec sent to the engine and not sounding yet."""
        return self._pending

    @property
    def sounding(self) -> bool:
        return bool(self.status.get("sounding"))

    def stats(self) -> dict[str, Any]:
        """The engine's numbers for /api/health: its status as it last said it, underruns over all its lives."""
        return {"audio_underruns": self.status.get("underruns"), "playback": dict(self.status)}

    @staticmethod
    def disabled_stats() -> dict[str, Any]:
        """stats() of a node without speakers (--no-playback)."""
        return {"audio_underruns": None, "playback": {"state": "disabled"}}

    def start(self) -> None:
        threading.Thread(target=self._supervise, name="ciel-engine-watch", daemon=True).start()
        threading.Thread(target=self._sender, name="ciel-engine-send", daemon=True).start()

    def _spawn(self) -> Connection:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_engine_main, args=(child, self.spec, os.getpid()), name="ciel-sound",
                                 daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self._wake.set()  # the new engine gets the latest controls and walk
        return parent

    def load(self, spec: EngineSpec) -> None:
        """A hot swap: the engine loads `spec`'s checkpoint beside the sounding one and switches at its next cut
        (at once while it does not sound). An engine started after this (a restart) starts on it."""
        with self._lock:
            self._pending = spec
            self._outbox.append(("load", spec))
        self._wake.set()

    def set_controls(self, controls: Controls) -> None:
        self._controls = controls  # only the latest matters: a knob sweep is coalesced
        self._wake.set()

    def set_walk(self, walk: WalkState) -> None:
        """Where the speakers begin when they next begin; a moved sound home is heard at the next block."""
        self._walk = ("walk", walk.as_dict())
        self._wake.set()

    async def cut(self, timeout: float = 5.0) -> Cut | None:
        """The sound made since the last cut, or None when the engine is not sounding (or not answering)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Cut | None] = loop.create_future()
        with self._lock:
            self._rid += 1
            self._cuts[self._rid] = (loop, fut)
            self._outbox.append(("cut", self._rid))
        self._wake.set()
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None

    def _sender(self) -> None:
        sent_controls: Controls | None = None
        sent_walk: tuple[Any, ...] | None = None
        conn: Connection | None = None
        while not self._closing:
            self._wake.wait(0.5)
            self._wake.clear()
            if conn is not self._conn:  # a new engine: send it everything again
                conn, sent_controls, sent_walk = self._conn, None, None
            with self._lock:
                out, self._outbox = self._outbox, []
            controls, walk = self._controls, self._walk
            try:
                assert conn is not None
                if controls is not None and controls != sent_controls:
                    conn.send(("controls", controls))
                    sent_controls = controls
                if walk is not None and walk is not sent_walk:
                    conn.send(walk)
                    sent_walk = walk
                for msg in out:
                    conn.send(msg)
            except (OSError, AssertionError):
                continue  # the engine is gone; the reader restarts it

    def _supervise(self) -> None:
        """Start the engine, listen to it, replace it when it dies or stalls; until close().

        This one thread starts every engine and lives as long as they should (the parent-death signal
        is tied to it)."""
        while True:
            with self._spawning:  # close() sees either no engine yet, or this one
                if self._closing:
                    break
                conn = self._spawn()
            stalled = self._listen(conn)
            if self._closing:
                break
            if stalled:
                log.error("the sound engine (pid %s) said nothing for %g s (stopped or hung); killing it and "
                          "starting a new one", self._proc.pid, stalled)
                self._proc.kill()
            else:  # a crash in the audio stack, the OOM killer: publishing goes on, a new one starts
                self._proc.join(1.0)
                log.error("the sound engine stopped (exit code %s); starting a new one", self._proc.exitcode)
            self._proc.join(5.0)
            with self._lock:  # a swap the dead engine had not made yet: the new one starts on it
                if self._pending is not None:
                    self.spec, self._pending = self._pending, None
            self._underruns_before = int(self.status.get("underruns") or 0)
            self.status = {**self.status, "state": "restarting", "sounding": False}
            with self._lock:
                cuts, self._cuts = self._cuts, {}
            for loop, fut in cuts.values():
                loop.call_soon_threadsafe(_settle, fut, None)
            if self._closed.wait(1.0):
                break
            self.restarts += 1

    def _listen(self, conn: Connection) -> float:
        """Handle what the engine says until it ends (0.0) or says nothing for its bound (that bound)."""
        bound = START_S  # until its first word: it is importing torch and loading the model
        while True:
            try:
                if not conn.poll(bound):
                    return 0.0 if self._closing else bound
                msg = conn.recv()
            except (EOFError, OSError):
                return 0.0
            kind = msg[0]
            if kind == "status":  # it is up and running its loop: from now on it speaks every 0.25 s
                bound = self.spec.stall_s
                msg[1]["underruns"] += self._underruns_before
                msg[1]["restarts"] = self.restarts
                self.status = msg[1]
            elif kind == "log":
                log.log(msg[1], msg[2])
            elif kind == "swapped":
                with self._lock:
                    if self._pending is not None and self._pending.sha256 == msg[1]:
                        self.spec, self._pending = self._pending, None
            elif kind == "cut":
                with self._lock:
                    waiter = self._cuts.pop(msg[1], None)
                if waiter is not None:
                    waiter[0].call_soon_threadsafe(_settle, waiter[1], msg[2])

    def close(self, timeout: float = 5.0) -> None:
        with self._spawning:
            self._closing = True
            self._closed.set()
        if self._proc is None:
            return
        try:
            assert self._conn is not None
            self._conn.send(("stop",))
        except (OSError, AssertionError):
            pass
        self._wake.set()
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout)
