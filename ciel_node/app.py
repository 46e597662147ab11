"""Composition root: builds the node and its surfaces (state, walk, renderers, engine, media, schedule), runs, stops."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ciel_node import bends, navigation
from ciel_node.atomic import write_atomic
from ciel_node.config import RunConfig
from ciel_node.controls.feedback import FeedbackHub
from ciel_node.controls.osc import OscSurface
from ciel_node.controls.osc_server import OscServer
from ciel_node.controls.oscquery import OscQueryServer
from ciel_node.errors import CielError
from ciel_node.generate.image import ImageFormat
from ciel_node.generate.place import Places
from ciel_node.generate.synaesthesia import LEARNED_MAP
from ciel_node.generate.walk import WalkState, WalkStore
from ciel_node.generate.worker import RenderSpec, RenderWorker
from ciel_node.params import PARAMS
from ciel_node.playback.engine import EngineSpec, SoundEngine
from ciel_node.presets import Presets
from ciel_node.publish.fanout import Fanout
from ciel_node.publish.media import MediaStore
from ciel_node.publish.web import WebSurface, serve
from ciel_node.schedule import Schedule
from ciel_node.ssh.keys import AuthorizedKeys
from ciel_node.ssh.server import SshServer
from ciel_node.ssh.tunnel import ReverseTunnel
from ciel_node.state import ControlStore
from ciel_node.swap import Changed, HotSwap, Net, load_net, sweep_snapshots

log = logging.getLogger("ciel_node")


class Node:
    """The generation node, built: checkpoints checked, controls and walk restored, a render process, the sound
    engine, the media store and the piece schedule. run() starts them in order and stops them in reverse."""

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
        # Both nets, checked and snapshotted for the child processes (swap.py), with their bendable layers and feature
        # clusters (once per checkpoint, cached in the state dir: declared as parameters, and handed to every process
        # that renders, so each bends exactly what was declared) and their maps (generate/place.py: the sound's from
        # its checkpoint, where crack puts the archive's; the image's GANSpace directions once per checkpoint; the xy
        # and direction parameters are declared from them).
        nets = {"audio": _load(config.audio_checkpoint, "audio", state_dir),
                "image": _load(config.image_checkpoint, "image", state_dir)}
        sweep_snapshots(state_dir, {net.snapshot for net in nets.values()})
        self.models = {kind: net.describe() for kind, net in nets.items()}  # those of the last piece (health)
        self.checkpoints = {kind: {"file": m["file"], "sha256": m["sha256"]} for kind, m in self.models.items()}
        self._nets_by_sha = {(kind, net.sha256): net for kind, net in nets.items()}
        vae, gan = nets["audio"].model, nets["image"].model
        self.layouts = [nets["image"].layout, nets["audio"].layout]
        self.maps = {"sound": nets["audio"].map, "image": nets["image"].map}
        what = {"sound": "the archive's sound" if self.maps["sound"].source == "archive" else "the net's own sounds",
                "image": "the image net's first two principal directions (GANSpace)"}
        registry = PARAMS.extended(bends.declare(self.layouts) + navigation.declare(
            {net: m.centre for net, m in self.maps.items()}, {net: m.count for net, m in self.maps.items()}, what))
        self.renderer = RenderWorker(self._render_spec(nets), process=config.render_process)
        # The live sound for the speakers, in its own process; none at all with --no-playback.
        self.engine = SoundEngine(self._engine_spec(nets)) if config.speakers else None
        # A replaced checkpoint file plays from a piece boundary on (swap.py).
        self.hot_swap = HotSwap(nets, state_dir, self._apply, self._loading)
        self.controls = ControlStore(state_dir / "controls.json", overrides=config.controls, registry=registry)
        self.presets = Presets(state_dir / "presets.json", self.controls)
        self.media = MediaStore(state_dir, config.keep_pieces, int(config.keep_mb * 1024 * 1024))
        self.walks = WalkStore(state_dir / "walk.json", self.controls.controls.seed, vae.config.latent,
                               gan.config.latent)
        self.schedule = Schedule(self.controls, self.renderer, self.engine, self.media, self.walks,
                                 self.hot_swap.busy)
        self.schedule.piece_listeners.append(self._made_by)
        # The control surfaces' counters (control_surfaces hands them over), for health().
        self.osc_counters = dict.fromkeys(
            ("received", "applied", "rejected", "malformed", "dropped", "feedback_sent", "feedback_dropped"), 0
        )
        self.ssh_counters: dict[str, int] = {}  # filled by the SSH server and the reverse tunnel
        self.tunnel_status: Callable[[], dict[str, Any]] | None = None
        if self.engine is not None:
            engine = self.engine
            self.controls.subscribe(lambda controls, _: engine.set_controls(controls))  # heard at its next block
            self.walks.subscribe(self._tell_engine)  # where the speakers begin; a moved home is heard at once

    async def run(self, stop: asyncio.Event) -> None:
        """Start the renderer and the engine, run the schedule until `stop`, then stop them in reverse."""
        log.info(
            "node up: seed %d, interval %g s, state in %s", self.controls.controls.seed,
            self.controls.controls.interval, self.config.state_dir,
        )
        if self.maps["sound"].source != "archive":
            log.info("%s has no map of its archive (made before maps, or not by crack): /ciel/xy/sound moves on the "
                     "plane of the net's own sounds; `ciel-node map --archive DIR` stores the archive's",
                     self.config.audio_checkpoint.name)
        self.renderer.warm_up()  # the child loads its models while the surfaces come up
        if self.engine is not None:
            self.engine.set_controls(self.controls.controls)
            self.engine.set_walk(self.walks.state)
            self.engine.start()
        saver = asyncio.create_task(_now_and_then(self, stop))
        watcher = asyncio.create_task(self.hot_swap.watch(stop))
        try:
            await self.schedule.run(stop)
        finally:
            saver.cancel()
            watcher.cancel()
            self.presets.close()
            self.renderer.close()
            if self.engine is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
            self.controls.flush()

    def report_speakers(self) -> None:
        """/ciel/status/speakers from the engine's last word (`disabled` without one)."""
        state = "disabled" if self.engine is None else str(self.engine.status.get("state"))
        if state in self.controls.registry["speakers"].choices:
            self.controls.report(speakers=state)

    def health(self) -> dict[str, Any]:
        """/api/health: each component's own numbers, side by side (the web surface adds its own)."""
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "models": {kind: dict(model) for kind, model in self.models.items()},  # what made the last piece
            "hot_swap": self.hot_swap.stats(),
            **self.media.stats(),  # last_seq, last_piece_age_s, media_bytes
            **self.schedule.stats(),  # next_at, counters
            "osc": dict(self.osc_counters),
            "ssh": dict(self.ssh_counters),
            "tunnel": self.tunnel_status() if self.tunnel_status else None,
            # audio_underruns, playback
            **(self.engine.stats() if self.engine is not None else SoundEngine.disabled_stats()),
        }

    # --- what the surfaces (and tests) reach through the node ---------------------------------
    def request_next(self) -> None:
        """Publish a new piece now (the /ciel/next of the control surfaces)."""
        self.schedule.request_next()

    @property
    def piece_listeners(self) -> list[Callable[[dict[str, Any]], None]]:
        return self.schedule.piece_listeners

    @property
    def next_at(self) -> float | None:
        return self.schedule.next_at

    @property
    def counters(self) -> dict[str, int]:
        return self.schedule.counters

    @property
    def walk(self) -> WalkState:
        """Where both walks are after the last published piece."""
        return self.walks.state

    # --- hot swap (swap.py) --------------------------------------------------------------------
    def _render_spec(self, nets: dict[str, Net]) -> RenderSpec:
        c = self.config
        places = Places(*(replace(nets[kind].map, points=(), sources=()) for kind in ("audio", "image")))
        return RenderSpec(nets["audio"].snapshot, nets["image"].snapshot, c.gl_iterations, c.max_sound_s, c.threads,
                          c.render_stall_s, audio_clusters=nets["audio"].layout.clusters,
                          image_clusters=nets["image"].layout.clusters, places=places,
                          image_format=ImageFormat(c.image_format, c.image_quality),
                          audio_sha256=nets["audio"].sha256, image_sha256=nets["image"].sha256,
                          crossmap=nets["image"].source.with_name(LEARNED_MAP))  # crack's, beside the checkpoint

    def _engine_spec(self, nets: dict[str, Net]) -> EngineSpec:
        c, spec = self.config, self._render_spec(nets)
        return EngineSpec(spec.audio_checkpoint, c.gl_iterations, c.max_sound_s, c.audio_device, lead_s=c.engine_lead_s,
                          period_s=c.engine_period_s, stall_s=c.engine_stall_s, clusters=spec.audio_clusters,
                          places=spec.places, sha256=spec.audio_sha256)

    def _apply(self, nets: dict[str, Net], replaced: dict[str, Net]) -> None:
        """A new checkpoint, checked: the renderer loads it after the render under way, the engine beside the sounding
        model (it switches at its next cut); snapshots no process can load any more are deleted."""
        for net in nets.values():
            self._nets_by_sha[(net.kind, net.sha256)] = net
        self.renderer.reload(self._render_spec(nets))
        if self.engine is not None and nets["audio"].sha256 != self.engine.spec.sha256:
            self.engine.load(self._engine_spec(nets))
        keep = {net.snapshot for net in (*nets.values(), *replaced.values())}  # the replaced: if a load fails
        if self.engine is not None:
            keep |= {spec.audio_checkpoint for spec in (self.engine.spec, self.engine.pending) if spec is not None}
        sweep_snapshots(self.config.state_dir, keep)

    def _loading(self) -> bool:
        return self.renderer.reloading or (self.engine is not None and self.engine.pending is not None)

    def _made_by(self, entry: dict[str, Any]) -> None:
        """Each published piece: the first one a new checkpoint made is one log line, and /api/health's models."""
        for kind, sha in entry.get("checkpoints", {}).items():
            net = self._nets_by_sha.get((kind, sha))
            if net is None or self.models[kind]["sha256"] == sha:
                continue
            self.models[kind] = net.describe()
            self.checkpoints[kind] = {"file": net.source.name, "sha256": sha}
            log.info("loaded %s checkpoint %s (sha256 %s): playing from piece %d", kind, net.source, sha,
                     entry["seq"])

    def _tell_engine(self, walk: WalkState) -> None:
        assert self.engine is not None
        try:
            self.engine.set_walk(walk)
        except Exception as e:  # noqa: BLE001 - the piece is out: a sound engine in trouble must not undo that
            log.warning("could not tell the sound engine where the walk is (%s)", e)


async def _now_and_then(node: Node, stop: asyncio.Event, every_s: float = 0.5) -> None:
    """controls.json every `every_s`, off the loop (a power cut loses half a second of knob moves at most), and
    the speakers' state as the readout /ciel/status/speakers."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        node.report_speakers()
        await asyncio.sleep(every_s)
        await loop.run_in_executor(None, node.controls.flush)


@asynccontextmanager
async def control_surfaces(node: Node, config: RunConfig) -> AsyncIterator[OscServer]:
    """OSC in and feedback out, then SSH (server, reverse tunnel) onto OSC's TCP port; stopped in reverse."""
    hub = FeedbackHub(node.osc_counters, playback=config.speakers, registry=node.controls.registry)
    try:
        surface = OscSurface(node.controls, node.request_next, hub, node.osc_counters, node.presets.commands(),
                             config.wekinator_targets)
    except ValueError as e:
        raise CielError(str(e)) from None
    server = OscServer(surface, hub, config.osc_networks)
    node.controls.subscribe(hub.on_controls)
    node.controls.watch(hub.on_readout)
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
    """The page, the API and the media over HTTP (and each piece to nchan with --publish-to); yields the bound port."""
    surface = WebSurface(node.media, node.health, lambda: node.next_at)
    node.piece_listeners.append(surface.on_piece)
    fanout = None
    if config.publish_to is not None:  # each piece once to nchan too, which pushes it to every listener there
        fanout = Fanout(config.publish_to, surface.latest_json)
        surface.relay = fanout.stats
        node.piece_listeners.append(fanout.on_piece)
    async with serve(surface, *config.web_endpoint) as port:
        if fanout is not None:
            fanout.start()
            log.info("publishing each piece to %s (nchan) as well", config.publish_to)
        try:
            yield port
        finally:
            if fanout is not None:
                await fanout.close()


LOCK_FILE = ".lock"  # in the state dir: held (flock) by the one node that uses it, with its pid inside


def _load(path: Path, kind: str, state_dir: Path) -> Net:
    """A checkpoint at start-up (a CheckpointError is one line and exit 2); a file replaced while it was read is read
    again."""
    for _ in range(2):
        try:
            return load_net(kind, path, state_dir)
        except Changed:
            pass
    return load_net(kind, path, state_dir)


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

