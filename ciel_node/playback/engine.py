"""The sound engine: the live sound rendered a block ahead of the speakers, in its own process.

Its own process, so neither the node's control loop nor the piece renderer ever shares a GIL or a
CPU stall with the audio path. The node talks to it over a pipe: it sends controls (applied at the
next block, 64 ms of sound) and asks for a *cut*: the sound made since the last cut, which the
node publishes as the next piece, so the web gets exactly what played. While the engine is not
sounding (playback off, no device) it answers a cut with nothing and the node renders pieces ahead
as a headless node does.

Cut-in: a control that changes the sound (a seed, a drift, a bend, a home) does not wait behind the queue. The engine
keeps its state before each block, makes the sound again from a block a pre-roll before the play head, and replaces
what is queued past one slot, crossfaded (_Engine._cut_in); the published copy is what played.

Pacing: while playback is on and a device is open, the engine keeps `lead_s` of sound queued for
the device; when the device is lost it keeps pace with the wall clock instead, so pieces go on being
made and published at their times, and the speakers pick up the stream when the device is back.

Watched: the engine says how it is (a status) every 0.25 s; one that says nothing for `stall_s` is
stopped or hung, and is killed and replaced like one that died. It never outlives the node (lifeline).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import math
import multiprocessing
import os
import queue
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ciel_node import lifeline
from ciel_node.generate.place import Places
from ciel_node.generate.walk import LivePoint, WalkState
from ciel_node.playback.speaker import BLOCK_S, STARTED_AFTER, policy_name  # BLOCK_S: the default period
from ciel_node.state import Controls

log = logging.getLogger(__name__)

# Sound queued ahead of the device: with one 64 ms block being made, 80-144 ms of cover (to 208 ms while calm: BURST).
# The queue costs a control nothing: the ceiling and playback act in the device callback, and the controls that change
# the sound cut in (below).
LEAD_S = 0.08
# The lead adapts (class Lead): doubled when the device finds the queue empty, up to LEAD_MAX_S; halved back towards
# the configured lead after CALM_S without an underrun. RAISE_HOLD_S between raises: one stall empties the queue for
# several device callbacks in a row, and the raised lead needs a moment to fill; that is one raise, not three.
LEAD_MAX_S = 0.2
CALM_S = 30.0
RAISE_HOLD_S = 1.0
STATUS_EVERY_S = 0.25
# Silence from a running engine this long means it is stopped or hung: it sends a status every 0.25 s, and
# nothing on its loop blocks for more than 2 s (closing a dead stream); the speakers ran dry long before.
STALL_S = 10.0
START_S = 120.0  # its start-up (import torch, load the model) before the first word, on a loaded machine
FADE_S = 0.02
ENGINE_NICE = -10  # where the system allows it
# Real-time round-robin where the system allows it (root, CAP_SYS_NICE, an RLIMIT_RTPRIO such as an audio group's).
# Any real-time priority runs ahead of every ordinary process; among real-time threads, the audio server that drains
# us (PulseAudio's default 5) should run before its clients, as JACK's clients run below JACK: so 4.
RT_PRIORITY = 4
# RLIMIT_RTTIME: CPU time a real-time thread may use without once sleeping. The engine sleeps between blocks, and while
# a device plays its callback takes the GIL every period (5 ms): that puts the loop to sleep. Its longest legitimate run
# is a catch-up of LEAD_MAX_S / block = 7 blocks (~100 ms on this VM's 2 cores, ~200 ms on a laptop that barely keeps
# up). Past 200 ms (PulseAudio's and rtkit's bound too) it is a runaway: soft = hard, so the kernel ends it with SIGKILL
# at once (SIGXCPU's default would dump the core of a process holding torch, and a Python handler cannot run while the
# runaway is in C code); the node logs the exit and starts a new engine.
RT_CPU_US = 200_000


# The terms of health's latency_ms, each reported on its own. The device's: output_lag_ms, from the callback taking a
# slot to its output as PortAudio predicts it in each callback (stream.latency, device_latency_ms, is a period short of
# it with PulseAudio's ALSA plugin: a cut-in measured at the output took 57 ms where a bound built on it said 45).
LATENCY_TERMS = ("output_lag_ms", "resampler_ms", "lead_ms", "block_ms", "phase_ms", "limiter_ms")
# ...and of cut_in_ms, the bound for the controls that cut in (below): what is queued past the kept slot is dropped and
# made again at once, with a pre-roll, so neither the lead, a block, the phase half window nor the limiter waits; the
# making of the new sound does, and the kept slot after the one the callback is playing out (callback_ms: the callback
# takes the next slot up to a period after the cut). cut_in_heard_ms_p50/p95 are what they measured.
CUT_IN_TERMS = ("output_lag_ms", "resampler_ms", "cut_in_margin_ms", "callback_ms", "cut_in_make_ms", "crossfade_ms")

# Cut-in (_Engine._cut_in): a change of what the sound is (its seed, drift, bends, home) is not left to wait behind the
# sound already queued for the device. The engine makes the sound again under the new controls from its state before
# a block a pre-roll back (kept per block: the walk, the phase stream, the leveller, the limiter, the resampler), drops
# what is queued past CUT_IN_MARGIN slots (a device period each) after the play head, and writes the new sound there,
# crossfading from the old over CROSSFADE_S. A ceiling or playback change needs none of it: the device callback
# applies those.
SOUND_FIELDS = ("seed", "drift")
SOUND_PREFIXES = ("bend_sound_", "xy_sound", "direction_sound_")
CROSSFADE_S = 0.005
CUSHION_S = 0.064  # new sound made past the takeover before the queue is cut (_cut_in)
# Slots (a device period each) kept past the play head. One: the queue is cut (Speaker.rewind) in a few bytecodes,
# during which the callback can take at most the slot it is at, and the first new slot is written at once after, from
# sound made before the cut; the callback asks for it a period after it took the one before.
CUT_IN_MARGIN = 1
# A gesture cuts in once, at its start: a change that comes CUT_IN_HOLD_S or more after the sound's last change (a
# seed, a preset, a bend switched, the first move of a knob). The moves that follow within it (a sweep, a glide) are
# heard from the next block, as before. Cutting in on them too, ten times a second, took the engine from 27 % to 46 %
# of a core under a 1,000 msg/s drift sweep, and with two CPU burners beside it PortAudio reported 8-33 underflows in
# 2 minutes against 1 (each cut-in makes 2-4 blocks at once and leaves the device two slots and a block).
CUT_IN_HOLD_S = 0.25
# Two blocks at a wake while the sound is calm (_Engine._calm): a block made after the engine slept costs half as much
# again as one made straight after another (alone on this VM, 4.2 against 2.8 ms of CPU: the caches refill with the
# model, torch's and MKL's code, the phase stream's buffers). In the engine, where the device's threads wake every
# 10 ms beside it, the second of two is cheaper by less: 7.3 against 7.75 % of a core, median of 3 runs of 20 s each.
# It costs a control nothing: while calm, the next change to the sound starts a gesture and cuts in (dropping what
# is queued, however much), and the ceiling acts in the device callback. Within a gesture (changes less than
# CUT_IN_HOLD_S apart) the moves after the first are heard from the next block, so it makes one block at a time.
BURST = 2


@dataclass(frozen=True)
class EngineSpec:
    audio_checkpoint: Path
    gl_iterations: int
    max_sound_s: float
    device: str | None = None
    lead_s: float = LEAD_S
    period_s: float = BLOCK_S  # the device callback's (engine_period_s)
    block_frames: int | None = None  # frames per block: None is the live sound's own (generate/live.py BLOCK)
    stall_s: float = STALL_S
    clusters: tuple[tuple[int, ...], ...] | None = None  # the sound net's feature clusters, as the node declared them
    places: Places | None = None  # the maps: where the xy and direction parameters put the sound's home
    sha256: str = ""  # which checkpoint this is (file_hash): a cut says which one made its sound


Cut = tuple[np.ndarray, LivePoint, str]  # the samples, where the sound's walk was at the cut, the checkpoint's sha256


def changes_sound(old: Controls, new: Controls) -> bool:
    """Whether `new` changes what the live sound is, not only how loud or whether it plays. Asked for each of up to
    a thousand control messages a second: only the sound's own values are compared."""
    a, b = old.__getstate__(), new.__getstate__()
    if a.keys() != b.keys():  # other declared parameters (a swapped net): compare what either has
        return any(a.get(k) != b.get(k) for k in _sound_keys(tuple(a.keys() | b.keys())))
    return any(a[k] != b[k] for k in _sound_keys(tuple(a)))


@functools.lru_cache(maxsize=8)
def _sound_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k for k in keys if k in SOUND_FIELDS or k.startswith(SOUND_PREFIXES))


@dataclass
class _Block:
    """One block the engine made, with its state before it: what a cut-in goes back to."""

    start: int  # samples rendered before it
    sound: Any  # LiveSound.snapshot()
    limiter: Any
    speaker: Any  # Speaker.mark(), or None (no stream that can rewind)
    window: tuple[int, int, int]
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # as written: limited, crossfaded


class _Fade:
    """A cut-in's sound: the old sound as it was written up to `keep`, then a crossfade to the new over `length`."""

    def __init__(self, start: int, old: np.ndarray, keep: int, length: int) -> None:
        self.start, self.old, self.keep = start, old, keep
        self.length = max(0, min(length, len(old) - keep))
        self.end = start + keep + self.length  # from here on, the new sound alone

    def mix(self, at: int, new: np.ndarray) -> np.ndarray:
        """The samples to write for the new sound's samples [at, at + len(new))."""
        i = np.arange(at - self.start, at - self.start + len(new))
        w = np.clip((i - self.keep + 1) / (self.length + 1), 0.0, 1.0).astype(np.float32)  # 0 old .. 1 new
        old = np.zeros(len(new), np.float32)
        inside = i < len(self.old)
        old[inside] = self.old[i[inside]]
        return (old * (1.0 - w) + new * w).astype(np.float32)


class Lead:
    """The sound kept queued ahead of the device: raised when the device finds the queue empty, lowered when calm.

    Deterministic rules, applied on each look at the speaker's underrun count (update): more underruns than last time
    double the lead (up to `cap`; at most once per RAISE_HOLD_S); CALM_S with no new underrun and no change halve it
    (down to `base`, the configured lead). The cost of a raise is latency, which health's latency_ms shows."""

    def __init__(self, base: float, cap: float = LEAD_MAX_S, now: float = 0.0) -> None:
        self.base, self.cap = base, max(base, cap)
        self.s = base
        self.seen = 0  # underruns counted so far
        self.changed_at = -math.inf
        self.calm_since = now

    def update(self, underruns: int, now: float, starting: bool = False) -> str | None:
        """Look at the underrun count; a one-line description of the change if the lead changed. `starting`: the
        stream is starting, and the device fills its own buffer in a burst the lead is not for: not counted."""
        if starting:
            self.seen = underruns
            return None
        if underruns > self.seen:
            new, self.seen, self.calm_since = underruns - self.seen, underruns, now
            if self.s < self.cap and now - self.changed_at >= RAISE_HOLD_S:
                old, self.s, self.changed_at = self.s, min(self.cap, 2 * self.s), now
                return (f"sound engine: {new} underrun(s); lead raised from {1000 * old:.0f} to {1000 * self.s:.0f} ms "
                        f"(back down after {CALM_S:g} s without)")
            return None
        if self.s > self.base and now - max(self.calm_since, self.changed_at) >= CALM_S:
            old, self.s, self.changed_at = self.s, max(self.base, self.s / 2), now
            return (f"sound engine: no underrun for {CALM_S:g} s; lead lowered from {1000 * old:.0f} to "
                    f"{1000 * self.s:.0f} ms")
        return None


def _realtime(tids: list[int]) -> tuple[dict[str, Any], str]:
    """Put the threads `tids` under SCHED_RR at RT_PRIORITY, bounded by RLIMIT_RTTIME; else leave them at their nice.

    Returns the scheduling they have (for health) and the one log line saying it."""
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        if not hasattr(os, "sched_setscheduler"):
            raise OSError("no sched_setscheduler on this system")
        _, hard = resource.getrlimit(resource.RLIMIT_RTTIME)
        bound = RT_CPU_US if hard == resource.RLIM_INFINITY else min(RT_CPU_US, hard)
        resource.setrlimit(resource.RLIMIT_RTTIME, (bound, bound))  # first: never real-time without the bound
        for tid in tids:
            os.sched_setscheduler(tid, os.SCHED_RR, os.sched_param(RT_PRIORITY))
    except OSError as e:  # an ordinary user without an RLIMIT_RTPRIO: today's nice, the adaptive lead does the rest
        why = e.strerror or str(e)
        return ({"policy": "SCHED_OTHER", "nice": nice, "refused": why},
                f"sound engine: nice {nice} (real-time scheduling refused: {why})")
    return ({"policy": "SCHED_RR", "priority": RT_PRIORITY, "nice": nice, "rttime_ms": bound / 1000},
            f"sound engine: real-time (SCHED_RR {RT_PRIORITY}, at most {bound / 1000:g} ms of CPU without a pause)")


def _below_realtime() -> None:
    """The calling thread back to ordinary scheduling (its nice kept): for work that runs for seconds on end."""
    try:
        if os.sched_getscheduler(0) in (os.SCHED_RR, os.SCHED_FIFO):
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        pass


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

    def mark(self) -> tuple[int, int, int]:
        return len(self.parts), self.n, self.dropped

    def restore(self, mark: tuple[int, int, int]) -> None:
        """Back to `mark`: the sound added since is not published (a cut-in makes it again)."""
        parts, self.n, self.dropped = mark
        del self.parts[parts:]

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
        self.sound = LiveSound(self._renderer(spec), places=spec.places,
                               **({} if spec.block_frames is None else {"block": spec.block_frames}))
        self._loaded: tuple[Any, EngineSpec] | None = None  # a hot swap's renderer, loaded beside the sounding one
        self.sr = self.sound.sample_rate
        self.new_limiter = lambda: TruePeakLimiter(self.sr)
        self.limiter = self.new_limiter()
        self.speaker = Speaker(spec.device, self.sr, spec.lead_s, self._say, spec.period_s)
        self.lead = Lead(spec.lead_s, now=time.monotonic())
        self.scheduling: dict[str, Any] = {"policy": policy_name(os.sched_getscheduler(0)),
                                           "nice": os.getpriority(os.PRIO_PROCESS, 0)}
        self.controls = Controls()
        self.walk: WalkState | None = None  # the node's walk: where to begin sounding from, around which home
        self.pacing = False
        self.window = _Window(int(spec.max_sound_s * self.sr))
        self.clock = (time.monotonic(), 0)  # wall-clock pacing while no device plays: (t, samples) anchor
        self.rendered = 0
        self.block_s = self.sound.block_samples / self.sr
        self.render_ms: list[float] = []
        self.blocks: list[_Block] = []  # made since the last cut and not yet all played: where a cut-in can go back to
        self.fade: _Fade | None = None  # a cut-in's crossfade, while it lasts
        self.cut_in_wanted = False
        self.cut_ins = 0
        self.last_sound_change = -math.inf
        self.cut_in_dropped_ms: list[float] = []  # queued sound each cut-in dropped (health: how much it saved)
        self.cut_in_ms: list[float] = []  # each cut-in's time to make the new sound and cut (the device plays on)
        self.cut_in_asked = 0.0  # when the last control that changes the sound was read
        self.cut_in_last: dict[str, Any] = {}
        # The last cut-in's new sound, until it is heard: (stream, device sample) of its crossfade's middle (_heard).
        self.cut_in_sounding: tuple[int, int] | None = None
        self.cut_in_cut_at = 0.0  # when the last cut-in cut the queue
        self.cut_in_heard_ms: list[float] = []  # from reading each control to its new sound at the device's output
        self.cut_ins_missed = 0  # the queue ran down while the new sound was made: it acted from the next block
        # How far before the play head a cut-in's new sound starts: the phase stream's half window and the limiter's
        # delay, so that where the new sound takes over, no frame or delayed sample of the old is in it.
        self.preroll = self.sound.phase.f.pad + self.limiter.latency
        self.stopping = False
        self._last_status = 0.0
        self._last_state = self.speaker.state
        self.gc_ms = 0.0  # the longest full collection seen (health): each holds the GIL, so the device callback waits
        self._gc_t0 = 0.0
        gc.callbacks.append(self._timed_gc)
        gc.freeze()  # what torch and the model made: never scanned again (see _timed_gc)

    def _timed_gc(self, phase: str, info: dict[str, int]) -> None:
        """Times the collector's full passes. Python's cyclic collector scans every object a full pass, tens of
        milliseconds in a process holding torch and a model (71 ms measured), with the GIL held: the device callback
        cannot run, PulseAudio plays silence, and no underrun is counted. Objects that live for the process (torch, the
        model) are frozen out of its scans after each load (gc.freeze), so a full pass sees only what came since."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_t0 = time.perf_counter()
        else:
            self.gc_ms = max(self.gc_ms, 1000 * (time.perf_counter() - self._gc_t0))

    @staticmethod
    def _renderer(spec: EngineSpec) -> Any:
        from ciel_node.generate.audio import AudioRenderer
        from ciel_node.models.audio_vae import SpectralVAE

        vae, _ = SpectralVAE.from_checkpoint(spec.audio_checkpoint)
        return AudioRenderer(vae, iterations=spec.gl_iterations, clusters=spec.clusters)

    def _load(self, spec: EngineSpec) -> None:
        """A hot swap's model, loaded in a thread beside the loop: the loop goes on rendering blocks (torch and the
        file reads let go of the GIL, and the GIL changes hands every millisecond here); it switches at a cut.
        Not real-time: unpickling a model runs for seconds without a pause (the RLIMIT_RTTIME bound would end the
        engine) and would take a core from everything below; at the engine's nice it still runs ahead of the node."""
        _below_realtime()
        try:
            self._loaded = (self._renderer(spec), spec)
            gc.freeze()  # the new model out of the collector's scans, as the first (_timed_gc)
        except Exception as e:  # noqa: BLE001 - the node checked it; whatever happens, the sounding model plays on
            self._say(logging.ERROR, f"the sound engine could not load {spec.audio_checkpoint} ({e}); "
                                     "the sounding model plays on")

    def _switch(self) -> None:
        """Between two blocks: the loaded model sounds from the next block on. Same shape: the walk, the phase
        reconstruction and the leveller carry on, so the sound changes without a gap."""
        assert self._loaded is not None
        renderer, spec = self._loaded
        self._loaded = None
        self.sound.swap(renderer, spec.places or self.sound.places)
        self.sha256 = spec.sha256
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
        # Real-time from here on, not from the start: importing torch and loading the model run for seconds
        # without a pause. Which threads: this loop (it renders) and the one that sends to the node, so that no
        # thread that takes the GIL in the steady state sits below the loop (a preempted GIL holder would stall it:
        # a priority inversion). Threads started from here inherit the policy (glibc's default PTHREAD_INHERIT_SCHED):
        # the device opener, and through it PortAudio's callback thread and the ALSA pulse plugin's thread (the
        # speaker reads the callback's policy back for health). The hot-swap loader steps down (_load).
        self.scheduling, line = _realtime([threading.get_native_id(), self._pumping.native_id or 0])
        self._say(logging.INFO, line)
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
            if self.pacing and self.speaker.state == "open":
                starting = self.speaker.callbacks <= STARTED_AFTER
                if change := self.lead.update(self.speaker.underruns, time.monotonic(), starting):
                    self._say(logging.INFO, change)  # one line per change; the node's log filter bounds repeats
            if self.cut_in_sounding is not None:
                self._heard()
            if self.pacing and self.cut_in_wanted:
                self._cut_in()
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
            return min(0.05, max(0.002, self.speaker.queued_s() - self.lead.s))
        ahead = (self.rendered - self.clock[1]) / self.sr - (time.monotonic() - self.clock[0])
        return min(0.05, max(0.002, ahead - self.lead.s + self.block_s))

    def _begin(self) -> None:
        assert self.walk is not None
        self._say(logging.DEBUG, f"sounding from rendered {self.rendered / self.sr:.3f} s")
        self.sound.resume(self.walk)
        self.limiter = self.new_limiter()
        self.blocks.clear()
        self.fade, self.cut_in_wanted = None, False
        self.pacing = True
        self.clock = (time.monotonic(), self.rendered)

    def _render_due(self) -> None:
        sp = self.speaker
        if sp.state == "open":
            if sp.queued_s() >= self.lead.s:
                return
            # Down to the lead: filled to it (one block), or while calm past it by BURST - 1 blocks (BURST blocks).
            fill = self.lead.s + ((BURST - 1) * self.block_s if self._calm() else 0.0)
            while sp.queued_s() < fill:
                self._render_block()
            return
        while (self.rendered - self.clock[1]) / self.sr - (time.monotonic() - self.clock[0]) <= self.lead.s:
            self._render_block()

    def _calm(self) -> bool:
        """No change to the sound for CUT_IN_HOLD_S, and a speaker that can cut in: the next change will (BURST)."""
        return time.monotonic() - self.last_sound_change >= CUT_IN_HOLD_S and self.speaker.can_rewind

    def _render_block(self) -> None:
        t0 = time.perf_counter()
        block = self._block()
        self._write(block, self._make(self.controls))
        self.render_ms.append(1000 * (time.perf_counter() - t0))
        if len(self.render_ms) > 2000:
            del self.render_ms[:1000]

    def _block(self) -> _Block:
        """A block about to be made, with the state it is made from."""
        return _Block(self.rendered, self.sound.snapshot(), self.limiter.snapshot(), self.speaker.mark(),
                      self.window.mark())

    def _make(self, c: Controls) -> np.ndarray:
        return self.limiter.process(self.sound.render(c), c.volume_ceiling)

    def _write(self, block: _Block, y: np.ndarray) -> None:
        """The block's sound to the published window and the speaker (through a cut-in's crossfade, while it lasts)."""
        c = self.controls
        if self.fade is not None:
            y = self.fade.mix(self.rendered, y)
            if self.rendered + len(y) >= self.fade.end:
                self.fade = None
        self.window.add(y)
        if c.playback:
            self.speaker.write(y, self.db_to_gain(c.volume_ceiling))
        self.rendered += len(y)
        block.samples = y
        self.blocks.append(block)
        self._forget_played()

    def _forget_played(self) -> None:
        """Drop the blocks a cut-in no longer goes back to: the next one began a pre-roll before the play head."""
        sp = self.speaker
        if sp.state != "open":
            self.blocks[:-1] = []
            return
        reach = sp.read * sp.block - self.preroll * (sp.rate // self.sr)
        while len(self.blocks) > 1 and (self.blocks[1].speaker is None or self.blocks[1].speaker.produced <= reach):
            del self.blocks[0]

    def _cut_in(self) -> None:
        """Drop what is queued past the margin and make it again under the controls now (see CUT_IN_HOLD_S).

        The new sound is made first, from the last block that begins a pre-roll before the first slot it may drop,
        while the device plays on from the queue: so the margin needs to cover no rendering, and at the point
        where the new sound takes over it is already wholly new (the phase stream's frames overlapping it and the
        limiter's delay line were all made under the new controls). Then the queue is cut and the new sound written
        behind the kept margin, crossfaded from the old. If the queue ran out meanwhile, nothing is cut: the state
        goes back to where it was and the new controls act from the next block as before."""
        self.cut_in_wanted = False
        sp = self.speaker
        marks = [b for b in self.blocks if b.speaker is not None]
        if sp.state != "open" or not marks:
            return
        t0 = time.perf_counter()
        ratio = sp.rate // self.sr
        # The new sound starts at the last block that starts a pre-roll before the first slot that may be dropped
        # (the play head only moves on while the new sound is made: the pre-roll is at least this).
        head = (sp.read + CUT_IN_MARGIN) * sp.block
        first = marks[max([i for i, b in enumerate(marks) if b.speaker.produced <= head - self.preroll * ratio],
                          default=0)]
        # Made before the queue is cut: through the crossfade, a slot and a cushion past the first slot it may drop
        # now (the play head moves on meanwhile). The rest is made as usual once the queue is cut (_render_due, at
        # once), while the device plays the cushion: with a slot alone, a slow cut-in (39 ms to make the new sound)
        # then a slow block (43 ms; this VM's host takes its CPU away for 30-45 ms now and then) left the device
        # without sound. So the cushion is 64 ms (a block; with the kept slot, about the lead), or the slowest
        # block lately and half as much again; it costs about 12 ms of a cut-in's latency. If the queue runs down while
        # it is made, nothing is cut (cut_ins_missed) and the controls act from the next block.
        slowest = max(self.render_ms[-64:], default=0.0) / 1000
        cushion = math.ceil(max(CUSHION_S, 1.5 * slowest) / self.block_s) * self.sound.block_samples
        later = sp.block + cushion * ratio
        upto = first.start + (head + later - first.speaker.produced) // ratio + int(CROSSFADE_S * self.sr)
        now = self.sound.snapshot(), self.limiter.snapshot()
        self.sound.restore(first.sound)
        self.limiter.restore(first.limiter)
        made, at = [], first.start
        while at < min(upto, self.rendered):
            made.append(self._block())
            y = self._make(self.controls)
            made[-1].samples, at = y, at + len(y)
        queued = sp.queued_s()
        keep = sp.rewind(first.speaker, CUT_IN_MARGIN)
        self.cut_in_cut_at = time.monotonic()
        if keep is None:  # the queue ran down to the margin while the new sound was made: it acts from the next block
            self.cut_ins_missed += 1
            self.sound.restore(now[0])
            self.limiter.restore(now[1])
            return
        self.cut_in_dropped_ms.append(1000 * (queued - sp.queued_s()))
        # The last cut-in: when the engine read the control (time.monotonic(), this machine's clock), from it to the
        # cut, the new sound made before it (ms, blocks), how far before the takeover it began, what it dropped.
        self.cut_in_last = {"asked_at": round(self.cut_in_asked, 4),
                            "cut_after_ms": round(1000 * (time.monotonic() - self.cut_in_asked), 1),
                            "made_ms": round(1000 * (time.perf_counter() - t0), 1), "blocks": len(made),
                            "preroll_ms": round(1000 * keep / self.sr, 1), "from": first.start, "keep": keep,
                            "dropped_ms": round(self.cut_in_dropped_ms[-1], 1)}
        i = self.blocks.index(first)
        old = np.concatenate([b.samples for b in self.blocks[i:]])
        del self.blocks[i:]
        self.window.restore(first.window)
        self.rendered = first.start
        self.fade = _Fade(first.start, old, keep, int(CROSSFADE_S * self.sr))
        # Where the new sound is half in: the crossfade's middle, in device samples, late by the upsampler's delay.
        self.cut_in_sounding = (first.speaker.stream, first.speaker.produced
                                + ratio * (keep + self.fade.length // 2) + round(sp.resampler_delay()))
        for block in made:
            block.start, block.speaker, block.window = self.rendered, sp.mark(), self.window.mark()
            self._write(block, block.samples)
        self.cut_ins += 1
        self.cut_in_ms.append(1000 * (time.perf_counter() - t0))
        del self.cut_in_ms[:-200], self.cut_in_dropped_ms[:-200]

    def _heard(self) -> None:
        """Once the last cut-in's new sound has reached the device's output: when (Speaker.played), in cut_in_last
        and in health's cut_in_heard_ms, beside the bound cut_in_ms (measured, where that is the sum of its terms)."""
        assert self.cut_in_sounding is not None
        stream, produced = self.cut_in_sounding
        if stream != self.speaker.opened:  # the stream closed before it played
            self.cut_in_sounding = None
            return
        played = self.speaker.played(stream, produced)
        if played is None:
            return
        taken, at = played
        self.cut_in_sounding = None
        self.cut_in_last["heard_at"] = round(at, 4)
        self.cut_in_last["heard_after_ms"] = round(1000 * (at - self.cut_in_asked), 1)
        # ...of which: from the cut to the callback taking the slot, and from there to the output.
        self.cut_in_last["taken_after_cut_ms"] = round(1000 * (taken - self.cut_in_cut_at), 1)
        self.cut_in_last["output_after_taken_ms"] = round(1000 * (at - taken), 1)
        self.cut_in_heard_ms.append(1000 * (at - self.cut_in_asked))
        del self.cut_in_heard_ms[:-200]

    def _handle(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "controls":
            if changes_sound(self.controls, msg[1]):
                now = time.monotonic()
                if now - self.last_sound_change >= CUT_IN_HOLD_S:  # a gesture's start (see CUT_IN_HOLD_S)
                    self.cut_in_wanted, self.cut_in_asked = True, now
                self.last_sound_change = now
            self.controls = msg[1]
            self.speaker.ceiling = self.db_to_gain(min(0.0, self.controls.volume_ceiling))
        elif kind == "walk":
            walk = WalkState.from_dict(msg[1])
            self.walk = walk  # where to begin sounding from; while it sounds, the controls carry its home
        elif kind == "cut":
            self._cut(msg[1])
        elif kind == "load":
            threading.Thread(target=self._load, args=(msg[1],), name="ciel-engine-load", daemon=True).start()
        elif kind == "stall":  # tests: the loop held up (a page fault, a GC pause), the device plays on from the queue
            time.sleep(min(1.0, float(msg[1])))
        elif kind == "stop":
            self.stopping = True

    def _cut(self, rid: int) -> None:
        if not self.pacing:
            self._send(("cut", rid, None))
            return
        samples = self.window.take(self.sr)
        self.blocks.clear()  # published: a cut-in does not go back past it (a crossfade under way goes on)
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
            "scheduling": self.scheduling,
            "lead_ms": round(1000 * self.lead.s, 1),  # now: raised after underruns, back to the base when calm
            "lead_base_ms": round(1000 * self.lead.base, 1),  # the configured lead (engine_lead_s)
            "block_ms": round(1000 * self.block_s, 1),
            # The first frame a control changes is centred half a window (n_fft / 2) into the block it starts: the
            # phase stream emits samples only up to the last committed frame's centre minus pad (PhaseStream.push),
            # and the look-ahead frames add nothing (a seed or drift change drops them, a moved home shifts them).
            "phase_ms": round(1000 * self.sound.phase.f.pad / self.sr, 1),
            "limiter_ms": round(1000 * self.limiter.latency / self.sr, 1),  # its look-ahead and interpolator reach
            "render_ms_p50": round(ms[len(ms) // 2], 2) if ms else None,
            "render_ms_max": round(ms[-1], 2) if ms else None,
            "cut_ins": self.cut_ins,
            "cut_in_margin_ms": round(1000 * self.speaker.period_s * CUT_IN_MARGIN, 1),
            "cut_in_make_ms": round(float(np.percentile(self.cut_in_ms, 95)), 1) if self.cut_in_ms else 0.0,
            "crossfade_ms": round(1000 * CROSSFADE_S / 2, 1),  # the new sound is half in halfway through it
            # What the cut-ins took, measured: from reading the control to the new sound half in at the device's output
            # (PortAudio's prediction for the slot that holds it). Add the message's way in (OSC, the node, the pipe).
            "cut_in_heard_ms_p50": (round(float(np.median(self.cut_in_heard_ms)), 1) if self.cut_in_heard_ms
                                    else None),
            "cut_in_heard_ms_p95": (round(float(np.percentile(self.cut_in_heard_ms, 95)), 1) if self.cut_in_heard_ms
                                    else None),
            "cut_ins_missed": self.cut_ins_missed,
            "cut_in_last": self.cut_in_last,
            "gc_ms_max": round(self.gc_ms, 1),
            "cut_in_dropped_ms_p50": (round(float(np.median(self.cut_in_dropped_ms)), 1) if self.cut_in_dropped_ms
                                      else None),
            "cpu_s": round(time.process_time(), 3),
            "rendered_s": round(self.rendered / self.sr, 3),
            "pid": os.getpid(),  # which process is the engine (it is replaced if it dies or stalls)
            "checkpoint": self.sha256,  # the sounding model's sha256
        }
        # The control-to-speaker bound: a control waits for the next block (block), which is made, put behind the
        # queue (lead) and what the resampler holds back, and played after the device's latency; its change is
        # centred phase_ms into the block and delayed by the limiter.
        status["latency_ms"] = round(sum(status[k] for k in LATENCY_TERMS), 1)
        # A seed, drift, bend or home change cuts in (_cut_in): the queue past the margin is made again at once. Where
        # the speaker cannot rewind (no stream, or a device at a rate libsoxr resamples to) it waits as above.
        can = self.speaker.mark() is not None
        status["cut_in_ms"] = round(sum(status[k] for k in CUT_IN_TERMS), 1) if can else status["latency_ms"]
        self._send(("status", status))


def _raise_priority() -> None:
    """The sound has milliseconds to spare, everything else on the machine has seconds: where allowed (root,
    CAP_SYS_NICE, a unit's LimitNICE), run ahead of ordinary processes, as audio servers do. Set first, so every
    thread has it (Linux keeps a nice per thread; new ones inherit it): the start-up, the threads that stay ordinary,
    and all of them where real-time scheduling is refused (_realtime, from the loop)."""
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

    def stall(self, seconds: float) -> None:
        """For tests: the engine's loop makes nothing for `seconds` (at most 1) from when it reads this, as a loop held
        up by a page fault or a pause would; the device's callback goes on playing from the queue."""
        with self._lock:
            self._outbox.append(("stall", seconds))
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
