"""Composition root: builds the node (models, state, renderers, media store), runs and stops it."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import torch

from ciel_node.atomic import write_atomic
from ciel_node.config import RunConfig
from ciel_node.controls.feedback import FeedbackHub
from ciel_node.controls.osc import OscSurface
from ciel_node.controls.osc_server import OscServer
from ciel_node.controls.oscquery import OscQueryServer
from ciel_node.errors import CielError
from ciel_node.generate.piece import RenderedPiece
from ciel_node.generate.walk import WalkState, WalkStore
from ciel_node.generate.worker import RenderSpec, RenderWorker
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import file_hash
from ciel_node.models.image_gan import Generator
from ciel_node.playback.engine import EngineSpec, SoundEngine
from ciel_node.publish.media import MediaStore
from ciel_node.publish.web import WebSurface, serve
from ciel_node.ssh.keys import AuthorizedKeys
from ciel_node.ssh.server import SshServer
from ciel_node.ssh.tunnel import ReverseTunnel
from ciel_node.state import Controls, ControlStore

log = logging.getLogger("ciel_node")

ON_TIME_S = 0.25  # a piece out within this of its time counts as on time for the schedule
RETRY_S = 2.0  # after a failed piece (disk full, a render that raised...), try again this soon, then back off
RETRY_MAX_S = 60.0  # ... doubling up to the interval, and never waiting longer than this
REMIND_S = 60.0  # while pieces keep failing, one reminder line this often (not one line per attempt)


class FailureStreak:
    """Consecutive failed attempts at a piece: when to try again, and a few log lines instead of one per attempt.

    The first failure of a streak is one line (with its traceback, once, unless it is an OSError, whose message
    says it all: "No space left on device"), a new kind of error is one more, a long streak gets a reminder
    every REMIND_S, and the piece that works again says how long it took.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.since = 0.0
        self._reminded = 0.0
        self._kinds: set[str] = set()

    def failed(self, seq: int, e: BaseException, interval: float) -> float:
        """Count a failed attempt at piece `seq`; returns how long to wait before the next one."""
        now = time.time()
        if self.attempts == 0:
            self.since = self._reminded = now
        self.attempts += 1
        delay = min(RETRY_S * 2 ** min(self.attempts - 1, 16), max(RETRY_S, min(interval, RETRY_MAX_S)))
        kind = type(e).__name__
        if kind not in self._kinds:
            self._kinds.add(kind)
            log.error(
                "could not publish piece %d (%s: %s); the last complete piece stays the latest, retrying in %g s "
                "and backing off up to %g s", seq, kind, e, delay, max(RETRY_S, min(interval, RETRY_MAX_S)),
                exc_info=None if isinstance(e, OSError) else e,
            )
        elif now - self._reminded >= REMIND_S:
            self._reminded = now
            log.error("still no piece %d: %d failed attempts in %.0f s (last: %s: %s); retrying every %g s",
                      seq, self.attempts, now - self.since, kind, e, delay)
        return delay

    def succeeded(self, seq: int) -> None:
        if self.attempts:
            log.warning("piece %d published after %d failed attempt(s) in %.0f s", seq, self.attempts,
                        time.time() - self.since)
        self.attempts = 0
        self._kinds.clear()


class Node:
    """The generation node: one asyncio loop schedules; a render process renders; a thread writes files."""

    def __init__(self, config: RunConfig) -> None:
        torch.set_num_threads(config.threads)
        self.config = config
        self.started = time.time()
        state_dir = config.state_dir
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(state_dir / ".probe", b"")
            (state_dir / ".probe").unlink()
        except OSError as e:
            raise CielError(
                f"cannot write to the state dir {state_dir} ({e.strerror}); pass --state-dir with a writable folder"
            ) from None
        vae, self.audio_provenance = SpectralVAE.from_checkpoint(config.audio_checkpoint)
        gan, self.image_provenance = Generator.from_checkpoint(config.image_checkpoint)
        self.checkpoints = {
            "audio": {"file": config.audio_checkpoint.name, "sha256": file_hash(config.audio_checkpoint)},
            "image": {"file": config.image_checkpoint.name, "sha256": file_hash(config.image_checkpoint)},
        }
        self.audio_latent, self.image_latent = vae.config.latent, gan.config.latent
        spec = RenderSpec(config.audio_checkpoint, config.image_checkpoint, config.gl_iterations,
                          config.max_sound_s, config.threads, config.render_stall_s)
        self.renderer = RenderWorker(spec, process=config.render_process)
        # The live sound for the speakers, in its own process; none at all with --no-playback.
        self.engine = (
            SoundEngine(EngineSpec(config.audio_checkpoint, config.gl_iterations, config.max_sound_s,
                                   config.audio_device, stall_s=config.engine_stall_s))
            if config.speakers else None
        )
        self.controls = ControlStore(state_dir / "controls.json", overrides=config.controls)
        self.media = MediaStore(state_dir, config.keep_pieces, int(config.keep_mb * 1024 * 1024))
        self.walks = WalkStore(state_dir / "walk.json", self.controls.controls.seed, self.audio_latent,
                               self.image_latent)
        self.counters = {"published": 0, "publish_errors": 0, "late": 0}
        self.osc_counters = dict.fromkeys(
            ("received", "applied", "rejected", "malformed", "dropped", "feedback_sent", "feedback_dropped"), 0
        )
        self.ssh_counters: dict[str, int] = {}  # filled by the SSH server and the reverse tunnel
        self.tunnel_status: Callable[[], dict[str, Any]] | None = None
        self.piece_listeners: list[Callable[[dict[str, Any]], None]] = []  # called in the loop
        self.next_at: float | None = None  # wall-clock time the next piece is due
        self.last_published_at: float | None = None
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ciel-io")  # file writes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._now_requested = False
        self._kind = "ahead"  # how the last piece was made: "ahead" (rendered whole) or "cut" (from the live sound)
        self._failures = FailureStreak()
        self._retry_at: float | None = None  # after a failed piece: when to try again
        self._slow_logged = 0.0
        self._listener_errors: set[str] = set()
        self.controls.subscribe(self._on_controls)

    # --- control hooks (any thread) -------------------------------------------------------
    def request_next(self) -> None:
        """Publish a new piece now (the /ciel/next of the control surfaces)."""
        self._now_requested = True
        self._poke()

    def _on_controls(self, controls: Controls, changed: dict[str, Any]) -> None:
        if self.engine is not None:
            self.engine.set_controls(controls)  # heard at the engine's next block
        if "interval" in changed:  # a shorter interval acts now, not after the old one
            self._poke()

    def _poke(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- the loop -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        log.info(
            "node up: seed %d, interval %g s, state in %s", self.controls.controls.seed,
            self.controls.controls.interval, self.config.state_dir,
        )
        self.renderer.warm_up()  # the child loads its models while the surfaces come up
        if self.engine is not None:
            self.engine.set_controls(self.controls.controls)
            self.engine.set_walk(self.walk)
            self.walks.subscribe(self._tell_engine)
            self.engine.start()
        publish_at = time.time()  # the first piece: at once
        # Render + store time of the last piece of each kind: the work starts that much early. A piece cut
        # from the live sound only needs its image and files; one rendered ahead needs its sound too.
        leads = {"cut": 0.0, "ahead": 0.0}
        saver = asyncio.create_task(self._save_controls_now_and_then(stop))
        try:
            while not stop.is_set():
                try:
                    publish_at = await self._next_piece(publish_at, leads, stop)
                except Exception as e:  # noqa: BLE001 - whatever a render, a write or a listener raises, the node goes on
                    self._piece_failed(e)
        finally:
            saver.cancel()
            self._io.shutdown(wait=True, cancel_futures=True)
            self.renderer.close()
            if self.engine is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
            self.controls.flush()

    async def _next_piece(self, publish_at: float, leads: dict[str, float], stop: asyncio.Event) -> float:
        """Wait for the next piece's time (less its lead), render it, hold it until due, publish it.

        Returns the time it was due (the schedule's anchor); raises whatever rendering or storing raised.
        """
        publish_at = self._publish_time(publish_at)
        self.next_at = publish_at
        # A retry starts at its time: with a lead it would start at once on a machine whose renders take
        # the whole interval, and a full disk would be retried back to back again.
        retry = self._retry_at is not None
        lead = 0.0 if retry else leads["cut" if self.engine is not None and self.engine.sounding else "ahead"]
        # The soonest this piece can be out as the schedule stands now: a shorter interval may set a time that
        # has passed already, and a piece is not late for a time nobody could have met.
        earliest = time.time() + lead
        if not await self._sleep_until(publish_at - lead, stop):
            return publish_at  # woken: a control moved the schedule
        # On the regular schedule (not the first piece, not asked for, not a retry) lateness is the node's fault.
        scheduled = not self._now_requested and not retry and self.last_published_at is not None
        self._now_requested = False
        started = time.time()
        # A stop does not wait for the render (a stopped render process would hold it until the watchdog's
        # bound): the piece is dropped, nothing of it was published.
        render, stopping = asyncio.ensure_future(self._render()), asyncio.ensure_future(stop.wait())
        await asyncio.wait((render, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not render.done():
            render.cancel()
            return publish_at
        rendered = render.result()
        render_s = time.time() - started
        # Hold the piece until its time, so each sound starts as the previous one ends.
        on_time = time.time() <= publish_at
        while not stop.is_set() and not await self._sleep_until(publish_at, stop):
            publish_at = self._publish_time(publish_at)
            self.next_at = publish_at
            earliest = time.time()  # the piece is ready: it can go out now
        if stop.is_set():
            return publish_at
        self._now_requested = False
        stored = time.time()
        # The piece is visible from the write thread before this loop runs again: say when the next one is due.
        self.next_at = max(publish_at, stored) + self.controls.controls.interval
        await self._store_piece(*rendered, due=publish_at, on_time=on_time, scheduled=scheduled, earliest=earliest)
        took = render_s + time.time() - stored  # the work, not the hold
        # A slowly falling maximum for cuts: the cut's time sets the piece's length, so keep it steady.
        fresh = 1.5 * took + 0.02
        interval = self.controls.controls.interval
        leads[self._kind] = min(max(fresh, 0.99 * leads["cut"]) if self._kind == "cut" else fresh, interval)
        # Only on the regular schedule: the first piece's time includes the render process's start-up.
        if scheduled and took > interval and time.time() - self._slow_logged >= REMIND_S:
            self._slow_logged = time.time()
            log.warning(
                "piece %d took %.2f s: rendering takes longer than the %g s interval; "
                "keeping the fastest cadence this machine can", self.media.last_seq, took, interval,
            )
        return publish_at

    async def _save_controls_now_and_then(self, stop: asyncio.Event, every_s: float = 0.5) -> None:
        assert self._loop is not None
        while not stop.is_set():
            await asyncio.sleep(every_s)
            await self._loop.run_in_executor(None, self.controls.flush)

    def _publish_time(self, scheduled: float) -> float:
        """When the next piece goes out: now if asked for, else one interval after the last one.

        Re-read on every wake-up, so an interval change re-anchors on the last publish at once.
        """
        if self._now_requested:
            return time.time()
        if self._retry_at is not None:  # after a failure, not an interval after the last piece (long past)
            return self._retry_at
        if self.last_published_at is None:
            return scheduled
        return self.last_published_at + self.controls.controls.interval

    async def _sleep_until(self, due: float, stop: asyncio.Event) -> bool:
        """True when `due` is reached; False when woken early by a control or by stop."""
        assert self._wake is not None
        delay = due - time.time()
        if delay <= 0:
            return True
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        done, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        return not done

    async def _render(self) -> tuple[RenderedPiece, WalkState]:
        """The next piece: cut from the live sound while the speakers play it, else rendered ahead."""
        controls = self.controls.controls
        if self.engine is not None and self.engine.sounding:
            cut = await self.engine.cut()
            if cut is not None and len(cut[0]):
                self._kind = "cut"
                return await self.renderer.assemble(self.walk, controls, *cut)
        self._kind = "ahead"
        return await self.renderer.compose(self.walk, controls)

    async def _store_piece(self, piece: RenderedPiece, walk: WalkState, due: float, on_time: bool,
                           scheduled: bool, earliest: float = 0.0) -> None:
        """Write the piece's files and commit it, then move the walk on and tell the listeners."""
        assert self._loop is not None
        entry = await self._loop.run_in_executor(self._io, self._store, piece)
        published = time.time()
        self._failures.succeeded(entry["seq"])
        self._retry_at = None
        self.walks.advance(walk, entry["seq"])  # saved, and the speakers begin there when they next begin
        self.counters["published"] += 1
        if scheduled and published - max(due, earliest) > ON_TIME_S:
            self.counters["late"] += 1  # out later than its time: a stalled loop, a slow disk, a slow render
        # A piece that was ready and held anchors the next one on when it was due, not on when its files
        # were written: the milliseconds a write takes would otherwise add up, piece after piece.
        self.last_published_at = due if on_time and published - due < ON_TIME_S else published
        for listener in self.piece_listeners:
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a surface's bug must not stop the pieces
                name = getattr(listener, "__qualname__", repr(listener))
                if name not in self._listener_errors:
                    self._listener_errors.add(name)
                    log.exception("%s failed on piece %d (logged once; the node goes on)", name, entry["seq"])
        c = piece.controls
        log.info(
            "piece %d published: %.1f s of sound, rendered in %.2f s (seed %d, drift %g, ceiling %g dBFS)",
            entry["seq"], piece.duration_s, piece.render_s, c.seed, c.drift, c.volume_ceiling,
        )

    def _piece_failed(self, e: Exception) -> None:
        """Nothing was published: the last piece stays the latest; try again after a backoff."""
        self.counters["publish_errors"] += 1
        delay = self._failures.failed(self.media.last_seq + 1, e, self.controls.controls.interval)
        self._retry_at = time.time() + delay

    def _store(self, piece: RenderedPiece) -> dict[str, Any]:
        c = piece.controls
        meta = {
            "created_at": time.time(),
            "duration_s": round(piece.duration_s, 6),
            "step": piece.step,
            "params": {"seed": c.seed, "drift": c.drift, "interval": c.interval, "volume_ceiling": c.volume_ceiling},
            "checkpoints": {k: v["sha256"] for k, v in self.checkpoints.items()},
            "render_s": round(piece.render_s, 4),
            "played": self._kind == "cut",  # its sound is what the speakers played (else rendered ahead)
        }
        files = {
            "image": (piece.image_png, ".png"), "sky": (piece.sky_png, ".png"),
            "audio": (piece.mp3, ".mp3"), "wav": (piece.wav, ".wav"),
        }
        return self.media.publish(files, meta)

    @property
    def walk(self) -> WalkState:
        """Where both walks are after the last published piece."""
        return self.walks.state

    def _tell_engine(self, walk: WalkState) -> None:
        assert self.engine is not None
        try:
            self.engine.set_walk(walk)
        except Exception as e:  # noqa: BLE001 - the piece is out: a sound engine in trouble must not undo that
            log.warning("could not tell the sound engine where the walk is (%s)", e)

    def health(self) -> dict[str, Any]:
        latest = self.media.latest()
        models = {
            kind: {**self.checkpoints[kind], "steps": prov.get("steps"), "minutes": prov.get("minutes")}
            for kind, prov in (("audio", self.audio_provenance), ("image", self.image_provenance))
        }
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "models": models,
            "last_seq": self.media.last_seq,
            "last_piece_age_s": None if not latest or "created_at" not in latest
            else round(time.time() - latest["created_at"], 3),
            "next_at": self.next_at,
            "counters": dict(self.counters),
            "osc": dict(self.osc_counters),
            "ssh": dict(self.ssh_counters),
            "tunnel": self.tunnel_status() if self.tunnel_status else None,
            "media_bytes": self.media.total_bytes,
            "audio_underruns": None if self.engine is None else self.engine.status.get("underruns"),
            "playback": {"state": "disabled"} if self.engine is None else dict(self.engine.status),
        }


@asynccontextmanager
async def control_surfaces(node: Node, config: RunConfig) -> AsyncIterator[OscServer]:
    """OSC in and feedback out, then SSH (server, reverse tunnel) onto OSC's TCP port; stopped in reverse."""
    hub = FeedbackHub(node.osc_counters, playback=config.speakers)
    surface = OscSurface(node.controls, node.request_next, hub, node.osc_counters)
    server = OscServer(surface, hub, config.osc_networks)
    node.controls.subscribe(hub.on_controls)
    node.piece_listeners.append(hub.on_piece)
    osc_host = config.osc_endpoint[0]
    await server.start(*config.osc_endpoint)
    oscquery: OscQueryServer | None = None
    ssh: SshServer | None = None
    tunnel: ReverseTunnel | None = None
    try:
        if config.oscquery_endpoint is not None:  # after OSC: its HOST_INFO names the OSC port
            oscquery = OscQueryServer(node.controls, osc_host, server.port, hub.reported)
            await oscquery.start(*config.oscquery_endpoint)
        if config.authorized_keys is not None:
            ssh = SshServer(*config.ssh_endpoint, config.authorized_keys, config.state_dir / "ssh_host_key",
                            osc_host, server.port, node.ssh_counters,
                            oscquery_port=oscquery.port if oscquery else None,
                            oscquery_host=oscquery.host if oscquery else "127.0.0.1")
            await ssh.start()
        if config.reverse_tunnel is not None:
            tunnel = ReverseTunnel(config.reverse_tunnel, config.reverse_tunnel_key, config.known_hosts, server.port,
                                   config.reverse_tunnel_port, node.ssh_counters, osc_host=osc_host)
            await tunnel.start()
            node.tunnel_status = tunnel.status
        yield server
    finally:
        if tunnel is not None:
            await tunnel.stop()
        if ssh is not None:
            await ssh.stop()
        if oscquery is not None:
            await oscquery.stop()
        await server.stop()
        hub.close()


@asynccontextmanager
async def audience_surface(node: Node, config: RunConfig) -> AsyncIterator[int]:
    """The page, the API and the media over HTTP; yields the bound port."""
    surface = WebSurface(node.media, node.health, lambda: node.next_at)
    node.piece_listeners.append(surface.on_piece)
    async with serve(surface, *config.web_endpoint) as port:
        yield port


LOCK_FILE = ".lock"  # in the state dir: held (flock) by the one node that uses it, with its pid inside


def lock_state_dir(state_dir: Path) -> int | None:
    """Take the state dir for this process, for as long as it lives (the kernel lets go at any exit, kill -9 too).

    Two nodes on one state dir give the same seq to different pieces, each rewrites the manifest without the
    other's lines, and a start sweeps the files of the pieces that vanished: a second node (a manual
    `ciel-node run` beside the service) is one clear line before it reads or deletes anything. Returns the
    descriptor to keep open, or None if the folder cannot be written (Node says so, in its own words).
    """
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise CielError(f"the state dir {state_dir} is in use by another ciel-node (pid {holder}); stop that one, "
                        "or pass another --state-dir") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def run(config: RunConfig) -> int:
    """Build the node and its surfaces, run until SIGINT/SIGTERM, stop in reverse order."""
    if config.authorized_keys is not None:
        AuthorizedKeys.load(config.authorized_keys)  # a bad file is one clear line before anything starts
    _lock = lock_state_dir(config.state_dir)  # noqa: F841 - held open until the process ends
    node = Node(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with control_surfaces(node, config), audience_surface(node, config):
            await node.run(stop)

    asyncio.run(main())
    log.info("node stopped")
    return 0

