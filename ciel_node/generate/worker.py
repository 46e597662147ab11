"""Where rendering runs: a separate process by default, so the control loop and the renderer never share a GIL."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.piece import Composer, RenderedPiece, WalkState
from ciel_node.models.audio_vae import SpectralVAE
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

    def composer(self) -> Composer:
        torch.set_num_threads(self.threads)
        vae, _ = SpectralVAE.from_checkpoint(self.audio_checkpoint)
        gan, _ = Generator.from_checkpoint(self.image_checkpoint)
        return Composer(AudioRenderer(vae, iterations=self.gl_iterations), ImageRenderer(gan), self.max_sound_s)


RENDER_NICE = 10  # added to the renderer's nice value: below the sound engine and the node's loop
_composer: Composer | None = None  # the child process's own, built once by _init


def _lower_priority() -> None:
    """Pieces are made ahead, with seconds to spare; the sound engine has milliseconds. On a 2-core laptop the two
    compete, and a render must never make the speakers run dry (it did, in the playback tests). Linux keeps a
    nice value per thread: this lowers the calling thread only (in a child process, its main thread)."""
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + RENDER_NICE)
    except OSError:
        pass


def _init(spec: RenderSpec) -> None:
    global _composer
    # Ctrl-C reaches the whole process group: the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority()
    _composer = spec.composer()


def _compose(walk: WalkState, controls: Controls) -> tuple[RenderedPiece, WalkState]:
    assert _composer is not None
    return _composer.compose(walk, controls)


def _assemble(
    walk: WalkState, controls: Controls, samples: np.ndarray, audio: tuple[int, np.ndarray]
) -> tuple[RenderedPiece, WalkState]:
    assert _composer is not None
    return _composer.assemble(walk, controls, samples, audio)


Piece = tuple[RenderedPiece, WalkState]


class RenderWorker:
    """compose() off the event loop; in a child process (`process=True`) or a thread."""

    def __init__(self, spec: RenderSpec, process: bool = True) -> None:
        self.spec, self.process = spec, process
        self._thread_composer = None if process else spec.composer()
        self._pool: Executor = self._new_pool()

    def _new_pool(self) -> Executor:
        if not self.process:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ciel-render", initializer=_lower_priority)
        # spawn, not fork: a forked copy of a process with torch's thread pools can deadlock.
        return ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_init, initargs=(self.spec,)
        )

    def warm_up(self) -> None:
        """Start the child now (it imports torch and loads the models while the node starts)."""
        if self.process:
            self._pool.submit(int, 0)

    async def compose(self, walk: WalkState, controls: Controls) -> tuple[RenderedPiece, WalkState]:
        """A piece rendered ahead, sound and image."""
        if self._thread_composer is not None:
            return await self._run(self._thread_composer.compose, walk, controls)
        return await self._run(_compose, walk, controls)

    async def assemble(
        self, walk: WalkState, controls: Controls, samples: np.ndarray, audio: tuple[int, np.ndarray]
    ) -> tuple[RenderedPiece, WalkState]:
        """A piece around sound cut from the live sound: the image and the files."""
        if self._thread_composer is not None:
            return await self._run(self._thread_composer.assemble, walk, controls, samples, audio)
        return await self._run(_assemble, walk, controls, samples, audio)

    async def _run(self, fn: Callable[..., Piece], *args: Any) -> Piece:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool:
            # The renderer died (out of memory, a signal): start a fresh one; the caller retries.
            log.error("the render process died; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self.warm_up()
            raise OSError("render process died") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
