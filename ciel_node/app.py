"""Composition root: builds the node (models, state, renderers, media store), runs and stops it."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import torch

from ciel_node.atomic import write_atomic
from ciel_node.config import RunConfig
from ciel_node.controls.authorized_keys import AuthorizedKeys
from ciel_node.controls.osc import OscSurface
from ciel_node.controls.osc_server import OscServer
from ciel_node.controls.ssh import SshServer
from ciel_node.controls.tunnel import ReverseTunnel
from ciel_node.errors import CielError
from ciel_node.generate.piece import RenderedPiece, WalkState
from ciel_node.generate.worker import RenderSpec, RenderWorker
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import file_hash
from ciel_node.models.image_gan import Generator
from ciel_node.playback.engine import EngineSpec, SoundEngine
from ciel_node.publish.feedback import FeedbackHub
from ciel_node.publish.media import MediaStore
from ciel_node.publish.web import WebSurface, serve
from ciel_node.state import Controls, ControlStore

log = logging.getLogger("ciel_node")

ON_TIME_S = 0.25  # a piece out within this of its time counts as on time for the schedule
RETRY_S = 2.0  # after a failed publish (disk full...), try again this soon, or at the interval if shorter


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
                          config.max_sound_s, config.threads)
        self.renderer = RenderWorker(spec, process=config.render_process)
        # The live sound for the speakers, in its own process; none at all with --no-playback.
        self.engine = (
            SoundEngine(EngineSpec(config.audio_checkpoint, config.gl_iterations, config.max_sound_s,
                                   config.audio_device))
            if config.playback else None
        )
        self.controls = ControlStore(state_dir / "controls.json", overrides=config.controls)
        self.media = MediaStore(state_dir, config.keep_pieces, int(config.keep_mb * 1024 * 1024))
        self._walk_path = state_dir / "walk.json"
        self.walk = self._restore_walk(self.controls.controls.seed)
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
            self.engine.set_walk(self.walk.seed, self.walk.step, self.walk.audio_z)
            self.engine.start()
        publish_at = time.time()  # the first piece: at once
        # Render + store time of the last piece of each kind: the work starts that much early. A piece cut
        # from the live sound only needs its image and files; one rendered ahead needs its sound too.
        leads = {"cut": 0.0, "ahead": 0.0}
        saver = asyncio.create_task(self._save_controls_now_and_then(stop))
        try:
            while not stop.is_set():
                publish_at = self._publish_time(publish_at)
                self.next_at = publish_at
                lead = leads["cut" if self.engine is not None and self.engine.sounding else "ahead"]
                if not await self._sleep_until(publish_at - lead, stop):
                    continue  # woken: a control moved the schedule
                self._now_requested = False
                started = time.time()
                rendered = await self._render()
                render_s = time.time() - started
                if rendered is None:
                    publish_at = time.time() + min(RETRY_S, self.controls.controls.interval)
                    continue
                # Hold the piece until its time, so each sound starts as the previous one ends.
                on_time = time.time() <= publish_at
                while not stop.is_set() and not await self._sleep_until(publish_at, stop):
                    publish_at = self._publish_time(publish_at)
                    self.next_at = publish_at
                if stop.is_set():
                    break
                self._now_requested = False
                stored = time.time()
                if not await self._store_piece(*rendered, scheduled=publish_at if on_time else None):
                    publish_at = time.time() + min(RETRY_S, self.controls.controls.interval)
                    continue
                took = render_s + time.time() - stored  # the work, not the hold
                # A slowly falling maximum for cuts: the cut's time sets the piece's length, so keep it steady.
                fresh = 1.5 * took + 0.02
                leads[self._kind] = min(max(fresh, 0.99 * leads["cut"]) if self._kind == "cut" else fresh,
                                        self.controls.controls.interval)
                interval = self.controls.controls.interval
                if took > interval:
                    self.counters["late"] += 1
                    log.warning(
                        "piece %d took %.2f s: rendering takes longer than the %g s interval; "
                        "keeping the fastest cadence this machine can", self.media.last_seq, took, interval,
                    )
        finally:
            saver.cancel()
            self._io.shutdown(wait=True, cancel_futures=True)
            self.renderer.close()
            if self.engine is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
            self.controls.flush()

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

    async def _render(self) -> tuple[RenderedPiece, WalkState] | None:
        """The next piece: cut from the live sound while the speakers play it, else rendered ahead."""
        try:
            controls = self.controls.controls
            if self.engine is not None and self.engine.sounding:
                cut = await self.engine.cut()
                if cut is not None and len(cut[0]):
                    self._kind = "cut"
                    return await self.renderer.assemble(self.walk, controls, *cut)
            self._kind = "ahead"
            return await self.renderer.compose(self.walk, controls)
        except OSError as e:
            self._publish_failed(e)
            return None

    async def _store_piece(self, piece: RenderedPiece, walk: WalkState, scheduled: float | None) -> bool:
        assert self._loop is not None
        try:
            entry = await self._loop.run_in_executor(self._io, self._store, piece)
        except OSError as e:
            self._publish_failed(e)
            return False
        self.walk = walk
        self._save_walk()
        if self.engine is not None:  # where the speakers begin, when they next begin
            self.engine.set_walk(walk.seed, walk.step, walk.audio_z)
        self.counters["published"] += 1
        # A piece that was ready and held anchors the next one on when it was due, not on when its files
        # were written: the milliseconds a write takes would otherwise add up, piece after piece.
        now = time.time()
        self.last_published_at = scheduled if scheduled is not None and now - scheduled < ON_TIME_S else now
        for listener in self.piece_listeners:
            listener(entry)
        c = piece.controls
        log.info(
            "piece %d published: %.1f s of sound, rendered in %.2f s (seed %d, drift %g, ceiling %g dBFS)",
            entry["seq"], piece.duration_s, piece.render_s, c.seed, c.drift, c.volume_ceiling,
        )
        return True

    def _publish_failed(self, e: OSError) -> None:
        self.counters["publish_errors"] += 1
        log.error(
            "could not publish piece %d (%s); the last complete piece stays the latest, retrying",
            self.media.last_seq + 1, e,
        )

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

    # --- walk persistence -----------------------------------------------------------------
    def _restore_walk(self, seed: int) -> WalkState:
        try:
            raw = json.loads(self._walk_path.read_text())
            state = WalkState(int(raw["seed"]), int(raw["step"]), tuple(raw["audio_z"]), tuple(raw["image_z"]))
            fresh = self._origin(seed)
            same_shape = (len(state.audio_z), len(state.image_z)) == (len(fresh.audio_z), len(fresh.image_z))
            if state.seed == seed and same_shape:  # a changed seed or swapped model starts afresh
                return state
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("ignoring saved walk in %s (%s); starting from the seed's origin", self._walk_path, e)
        return self._origin(seed)

    def _origin(self, seed: int) -> WalkState:
        return WalkState.origin(seed, self.audio_latent, self.image_latent)

    def _save_walk(self) -> None:
        try:
            write_atomic(self._walk_path, json.dumps(self.walk.as_dict()).encode())
        except OSError as e:
            log.error("could not save the latent walk to %s (%s); it continues in memory", self._walk_path, e)

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
            "last_piece_age_s": None if not latest else round(time.time() - latest["created_at"], 3),
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
    hub = FeedbackHub(node.osc_counters)
    surface = OscSurface(node.controls, node.request_next, hub, node.osc_counters)
    server = OscServer(surface, hub, config.osc_networks)
    node.controls.subscribe(hub.on_controls)
    node.piece_listeners.append(hub.on_piece)
    osc_host = config.osc_endpoint[0]
    await server.start(*config.osc_endpoint)
    ssh: SshServer | None = None
    tunnel: ReverseTunnel | None = None
    try:
        if config.authorized_keys is not None:
            ssh = SshServer(*config.ssh_endpoint, config.authorized_keys, config.state_dir / "ssh_host_key",
                            osc_host, server.port, node.ssh_counters)
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
        await server.stop()
        hub.close()


@asynccontextmanager
async def audience_surface(node: Node, config: RunConfig) -> AsyncIterator[int]:
    """The page, the API and the media over HTTP; yields the bound port."""
    surface = WebSurface(node.media, node.health, lambda: node.next_at)
    node.piece_listeners.append(surface.on_piece)
    async with serve(surface, *config.web_endpoint) as port:
        yield port


def run(config: RunConfig) -> int:
    """Build the node and its surfaces, run until SIGINT/SIGTERM, stop in reverse order."""
    if config.authorized_keys is not None:
        AuthorizedKeys.load(config.authorized_keys)  # a bad file is one clear line before anything starts
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

