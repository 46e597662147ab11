"""Where rendering runs: a separate process by default, so the control loop and the renderer never share a GIL."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciel_node import lifeline
from ciel_node.errors import CielError
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.image import ImageFormat, ImageRenderer
from ciel_node.generate.piece import Composer, RenderedPiece
from ciel_node.generate.place import Places
from ciel_node.generate.synaesthesia import LEARNED_MAP, CrossMap, learned_or_default
from ciel_node.generate.walk import LivePoint, WalkState
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import file_hash
from ciel_node.models.image_gan import Generator
from ciel_node.state import Controls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderSpec:
    """Everything a renderer needs to build its composer, picklable for a child process."""

    audio_checkpoint: Path
    image_checkpoint: Path
    gl_iterations: int
    max_sound_s: float
    threads: int
    stall_s: float = 60.0  # the watchdog's floor (RenderWorker.stall_bound)
    audio_clusters: tuple[tuple[int, ...], ...] | None = None  # the nets' feature clusters, as the node declared them
    image_clusters: tuple[tuple[int, ...], ...] | None = None
    places: Places | None = None  # both nets' maps: where the xy and direction parameters put the homes
    image_format: ImageFormat = ImageFormat()  # how the pictures are published
    audio_sha256: str = ""  # which checkpoints these are (file_hash): each piece's manifest names them
    image_sha256: str = ""
    crossmap: Path | None = None  # a learned synaesthesia map to try (None: synaesthesia.npz beside image_checkpoint)

    def composer(self) -> Composer:
        torch.set_num_threads(self.threads)
        vae, _ = SpectralVAE.from_checkpoint(self.audio_checkpoint)
        gan, _ = Generator.from_checkpoint(self.image_checkpoint)
        audio = AudioRenderer(vae, iterations=self.gl_iterations, clusters=self.audio_clusters)
        image = ImageRenderer(gan, clusters=self.image_clusters, fmt=self.image_format)
        crossmap = learned_or_default(
            self.crossmap or self.image_checkpoint.with_name(LEARNED_MAP),
            CrossMap.default(audio.latent, image.latent, self.audio_sha256, self.image_sha256),
            lambda: (self.audio_sha256 or file_hash(self.audio_checkpoint),
                     self.image_sha256 or file_hash(self.image_checkpoint)))
        return Composer(audio, image, self.max_sound_s, self.places, crossmap)


RENDER_NICE = 10  # added to the renderer's nice value: below the sound engine and the node's loop
STALL_FACTOR = 10.0  # a render this many times slower than the last one of its kind is a stalled process
START_S = 180.0  # the child's start-up (import torch, load both models) before the watchdog counts
CLOSE_S = 5.0  # at shutdown, how long a render under way may finish (it is never published: losing it costs nothing)
_loaded: _Loaded | None = None  # the child process's own, built by _init (and again by a hot swap's _reload)
Piece = tuple[RenderedPiece, WalkState]  # the piece, and the walk after it
Made = tuple[RenderedPiece, WalkState, dict[str, str]]  # ... and the checkpoints (sha256) that made it


class _Loaded:
    """A composer, and which checkpoints it was built from: each piece says what made it."""

    def __init__(self, spec: RenderSpec) -> None:
        self.composer = spec.composer()
        self.made_by = {"audio": spec.audio_sha256, "image": spec.image_sha256}
        if self.composer.crossmap.sha256:  # a map learned from the owner's archive shapes the pictures too
            self.made_by["synaesthesia"] = self.composer.crossmap.sha256

    def compose(self, walk: WalkState, controls: Controls) -> Made:
        return (*self.composer.compose(walk, controls), dict(self.made_by))

    def assemble(self, walk: WalkState, controls: Controls, samples: np.ndarray, played: LivePoint) -> Made:
        return (*self.composer.assemble(walk, controls, samples, played), dict(self.made_by))


def _lower_priority() -> None:
    """Pieces are made ahead, with seconds to spare; the sound engine has milliseconds. On a 2-core laptop the two
    compete, and a render must never make the speakers run dry (it did, in the playback tests). Linux keeps a
    nice value per thread: this lowers the calling thread only (in a child process, its main thread)."""
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + RENDER_NICE)
    except OSError:
        pass


class RenderStalled(CielError, TimeoutError):
    """The render process made no progress within the watchdog's bound; it was killed and a new one started.

    Also a TimeoutError (an OSError), so a caller that retries a failed render on OSError retries this too.
    """


def _init(spec: RenderSpec, parent_pid: int, kill_with_thread: bool) -> None:
    global _loaded
    lifeline.hold(parent_pid, kill_with_thread)  # never outlive the node, not even a kill -9 of it
    # Ctrl-C reaches the whole process group: the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority()
    _loaded = _Loaded(spec)


def _reload(spec: RenderSpec) -> None:
    """A hot swap, in the process's own queue: the renders after it use the new checkpoints, those before the old."""
    global _loaded
    _loaded = _Loaded(spec)


def _compose(walk: WalkState, controls: Controls) -> Made:
    assert _loaded is not None
    return _loaded.compose(walk, controls)


def _assemble(walk: WalkState, controls: Controls, samples: np.ndarray, played: LivePoint) -> Made:
    assert _loaded is not None
    return _loaded.assemble(walk, controls, samples, played)



def _child(spec: RenderSpec) -> tuple[ProcessPoolExecutor, Future[int]]:
    """A render process on `spec`, started now; the future is its pid once it has loaded its models."""
    # The kernel's parent-death signal is tied to the thread that starts the child; ask for it only when
    # that thread is the main one, which lives as long as the node (the spawn pipe covers the rest).
    main = threading.current_thread() is threading.main_thread()
    # spawn, not fork: a forked copy of a process with torch's thread pools can deadlock.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                               initargs=(spec, os.getpid(), main))
    # Start the child now, from this thread (the one the death signal is tied to); the watchdog counts a
    # render's time from when it is ready (torch imported, models loaded).
    return pool, pool.submit(os.getpid)


class RenderWorker:
    """compose() off the event loop; in a child process (`process=True`) or a thread.

    The child process is watched: a render that takes far longer than it should (stall_bound) means a
    stopped or hung process. It is killed and replaced, and the call raises RenderStalled; a child that
    dies is replaced too. Either way the worker is ready for the next piece. A thread cannot be killed,
    so in a thread renders are not watched.
    """

    def __init__(self, spec: RenderSpec, process: bool = True) -> None:
        self.spec, self.process = spec, process
        self._thread_loaded = None if process else _Loaded(spec)
        self.made_by = {"audio": spec.audio_sha256, "image": spec.image_sha256}  # the last piece's checkpoints
        self._reloading: Future[None] | None = None
        self._last_s: dict[str, float] = {}  # the last successful render's time, per kind
        self._ready: Future[int] | None = None  # the child's pid, once it has loaded its models
        self._executor: Executor | None = None  # started by warm_up() or the first render, not before

    @property
    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = self._new_pool()
        return self._executor

    def _new_pool(self) -> Executor:
        if not self.process:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ciel-render", initializer=_lower_priority)
        pool, self._ready = _child(self.spec)
        return pool

    def reload(self, spec: RenderSpec) -> None:
        """A hot swap: the renderer loads `spec`'s checkpoints in its own queue, after the render under way (a piece
        boundary), while it is idle between pieces; the pieces asked for after this are rendered from them. The same
        process (or thread): torch is imported and warm, so loading takes a fraction of a second and no second process
        competes with the render for the CPU. A process started from now on (a restart) loads them too."""
        old, self.spec = self.spec, spec
        if self.process:
            fut = self._pool.submit(_reload, spec)
        else:
            fut = self._pool.submit(self._reload_here, spec)

        def done(f: Future[None]) -> None:
            # A process that died meanwhile is replaced by one started on self.spec: the new checkpoints.
            if (not f.cancelled() and f.exception() is not None and not isinstance(f.exception(), BrokenProcessPool)
                    and self.spec is spec):
                log.error("the renderer could not load the new checkpoints (%s); the running ones render on",
                          f.exception())
                self.spec = old
        fut.add_done_callback(done)
        self._reloading = fut

    def _reload_here(self, spec: RenderSpec) -> None:
        self._thread_loaded = _Loaded(spec)

    @property
    def reloading(self) -> bool:
        """A hot swap's load is queued or under way."""
        return self._reloading is not None and not self._reloading.done()

    def warm_up(self) -> None:
        """Start the child now (it imports torch and loads the models while the node starts)."""
        self._pool  # noqa: B018 - starts it

    def stall_bound(self, kind: str, sound_s: float) -> float:
        """How long a render may take before its process counts as stalled.

        10 x the last render of the same kind: renders of one kind cost about the same (same models, same
        length), and CPU contention slows them by a small factor, not ten. Twice the sound's length: the
        first render of a kind, or one after a longer interval, has no history, and rendering runs far faster
        than real time (~0.04 x on one core). Never under `spec.stall_s` (60 s): start-up jitter, a swapping
        machine, a first render's lazy imports must not trip it.
        """
        return max(self.spec.stall_s, STALL_FACTOR * self._last_s.get(kind, 0.0), 2.0 * sound_s)

    async def compose(self, walk: WalkState, controls: Controls) -> Piece:
        """A piece rendered ahead, sound and image."""
        if not self.process:
            return await self._in_thread(lambda: self._here().compose(walk, controls))
        return await self._run("compose", self._sound_s(controls), _compose, walk, controls)

    async def assemble(self, walk: WalkState, controls: Controls, samples: np.ndarray, played: LivePoint) -> Piece:
        """A piece around sound cut from the live sound (which `played` ended at): the image and the files."""
        if not self.process:
            return await self._in_thread(lambda: self._here().assemble(walk, controls, samples, played))
        return await self._run("assemble", self._sound_s(controls), _assemble, walk, controls, samples, played)

    def _here(self) -> _Loaded:
        assert self._thread_loaded is not None
        return self._thread_loaded

    def _sound_s(self, controls: Controls) -> float:
        return min(float(controls.interval), self.spec.max_sound_s)

    async def _in_thread(self, fn: Callable[[], Made]) -> Piece:
        # The composer is looked up when the render runs, after any reload queued before it (one thread, FIFO).
        piece, walk, self.made_by = await asyncio.get_running_loop().run_in_executor(self._pool, fn)
        return piece, walk

    async def _run(self, kind: str, sound_s: float, fn: Callable[..., Made], *args: Any) -> Piece:
        pool, ready = self._pool, self._ready
        assert ready is not None
        waited_for, bound, started = "start-up", START_S, time.monotonic()
        try:
            job = pool.submit(fn, *args)  # queued behind the start-up: it begins the moment that ends
            if not ready.done():
                await asyncio.wait_for(asyncio.wrap_future(ready), START_S)
            waited_for, bound, started = kind, self.stall_bound(kind, sound_s), time.monotonic()
            piece, walk, made_by = await asyncio.wait_for(asyncio.wrap_future(job), bound)
        except BrokenProcessPool:
            # The renderer died (out of memory, a signal): start a fresh one; the caller retries.
            log.error("the render process died; starting a new one")
            self._replace()
            raise OSError("render process died") from None
        except TimeoutError:
            last = self._last_s.get(kind)
            usual = "" if last is None or waited_for != kind else f"; the last one took {last:.2f} s"
            log.error("the render process (pid %s) made no progress on its %s for %.0f s (bound %.0f s%s): "
                      "killing it and starting a new one", self._pids(), waited_for,
                      time.monotonic() - started, bound, usual)
            self._replace()
            raise RenderStalled(f"the render process stalled on its {waited_for} for {bound:.0f} s and was "
                                "replaced; the next piece is tried again") from None
        self._last_s[kind] = time.monotonic() - started
        self.made_by = made_by
        return piece, walk

    def _pids(self) -> str:
        return ",".join(str(pid) for pid in getattr(self._pool, "_processes", {})) or "?"

    def _replace(self) -> None:
        """Kill the child (a stopped one too: SIGKILL needs no cooperation) and start a new one."""
        old = self._pool
        for proc in list(getattr(old, "_processes", {}).values()):  # the executor has no public kill (3.14 adds one)
            if proc.is_alive():
                proc.kill()
        old.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_pool()

    def close(self, timeout: float = CLOSE_S) -> None:
        """Let a render under way finish (up to `timeout`), then stop the child; a stopped or hung one is killed."""
        if self._executor is None:
            return
        procs = list(getattr(self._executor, "_processes", {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        end = time.monotonic() + timeout
        for proc in procs:
            # Its sentinel, not join(): the executor's own thread reaps it too, and only one waitpid() wins.
            if not multiprocessing.connection.wait([proc.sentinel], max(0.0, end - time.monotonic())):
                log.warning("the render process (pid %s) did not stop within %g s; killing it", proc.pid, timeout)
                proc.kill()
        if not procs:  # a thread: it cannot be killed, only waited for
            self._executor.shutdown(wait=True)
