"""Hot swap: the node watches its two checkpoint files and plays a replaced one from the next piece on.

`crack` writes a checkpoint atomically (a new file renamed over the old name), so a poll of the path's stat
(inode, mtime, size) every second sees either the old file or the whole new one. A changed file is loaded and
checked in full off the event loop, below the renders' priority (the container, the seal, the config, the weights,
the net built, its bend clusters and map derived) before anything switches. Then the render process loads it in its
own queue after the render under way (a piece boundary: torch is warm there, no second process competes for the CPU),
and the sound engine loads it in a thread beside the model that sounds and switches between two blocks at its next
cut (a piece boundary too): neither the speakers nor the schedule wait for the load. Each piece's manifest names the
checkpoints that made it (the render process and the engine say which with each piece); the first piece of a new one
is one log line. A file that is not a checkpoint, is damaged, is of the other kind, or
holds a net of another shape (which would change the declared parameters: bend layers, map directions) is refused
with one log line, and the running model plays on.

What the child processes load is a snapshot of the checked bytes in the state dir (`checkpoints/<kind>-<sha>.pt`),
never the watched path: a refused file left there cannot reach a render or sound process restarted after a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ciel_node.atomic import write_atomic
from ciel_node.bends import NetLayout
from ciel_node.errors import CheckpointError
from ciel_node.generate.derived import derived
from ciel_node.generate.instrument import ImageInstrument, SoundInstrument, cached_clusters
from ciel_node.generate.place import NetMap, image_map, sound_map
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import file_hash
from ciel_node.models.image_gan import Generator

log = logging.getLogger("ciel_node")

POLL_S = 1.0  # how often the checkpoint files are looked at
PREPARE_NICE = 19  # the thread that checks a replacement: below everything that makes pieces and sound
SNAPSHOTS = "checkpoints"  # in the state dir: the checked bytes the child processes load
KINDS = ("audio", "image")
Stat = tuple[int, int, int, int] | None  # (device, inode, mtime ns, size) of a path, None when it is not there


def stat_of(path: Path) -> Stat:
    """What changes when a file is replaced or rewritten: its inode (a rename), its mtime and size (in place)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class Changed(CheckpointError):
    """The file changed while it was being loaded: it is looked at again at the next poll."""


@dataclass
class Net:
    """One checkpoint, loaded and checked: the net, its sha256 (short, as pieces record it), the snapshot the
    child processes load, its bend layout (clusters) and its map."""

    kind: str  # "audio" or "image"
    source: Path  # the watched path
    stat: Stat  # the source's stat before it was read
    sha256: str
    snapshot: Path
    model: Any  # SpectralVAE | Generator
    provenance: dict[str, Any]
    layout: NetLayout
    map: NetMap

    @property
    def shape(self) -> dict[str, Any]:
        """The config: nets of one shape have the same bend layers and the same maps' dimensions."""
        return asdict(self.model.config)

    def describe(self) -> dict[str, Any]:
        """/api/health's `models` entry: which file, its hash, how it was trained."""
        return {"file": self.source.name, "sha256": self.sha256, "steps": self.provenance.get("steps"),
                "minutes": self.provenance.get("minutes")}


def load_net(kind: str, source: Path, state_dir: Path, like: Net | None = None) -> Net:
    """Load and check `source` (a CheckpointError names it and the fix), snapshot its bytes into the state dir and
    derive its bend clusters and map (cached there by hash, or found beside the source where `crack` put them).
    With `like`, a net of another shape is refused before anything is derived or kept."""
    stat = stat_of(source)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        data = b""  # from_checkpoint below says what to do
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {source} ({e.strerror}); make it readable") from None
    sha = hashlib.sha256(data).hexdigest()[:16]
    model: Any
    if kind == "audio":
        model, provenance = SpectralVAE.from_checkpoint(source)
    else:
        model, provenance = Generator.from_checkpoint(source)
    if file_hash(source) != sha or stat_of(source) != stat:
        raise Changed(f"{source} changed while it was loaded")
    if like is not None and sha != like.sha256 and asdict(model.config) != like.shape:
        differ = ", ".join(f"{k} {like.shape[k]} -> {v}" for k, v in asdict(model.config).items()
                           if like.shape.get(k) != v)
        raise CheckpointError(f"{source} now holds a net of another shape ({differ}): its bend layers and parameters "
                              "differ from the running one's; restart the node to load a net of another shape")
    snapshot = state_dir / SNAPSHOTS / f"{kind}-{sha}.pt"
    if not snapshot.is_file() or file_hash(snapshot) != sha:
        write_atomic(snapshot, data)
    for beside in source.parent.glob(f"*-{sha}.json"):  # crack's caches beside a new checkpoint: found by derived()
        if not (state_dir / beside.name).exists():
            try:
                shutil.copyfile(beside, state_dir / beside.name)
            except OSError:
                pass  # derived() builds it
    if kind == "audio":
        instrument: Any = SoundInstrument(model, cached_clusters("audio", snapshot, state_dir,
                                                                 lambda: SoundInstrument(model).clusters()))
        net_map = sound_map(model, snapshot)
    else:
        instrument = ImageInstrument(model, cached_clusters("image", snapshot, state_dir,
                                                            lambda: ImageInstrument(model).clusters()))
        net_map = derived("map-image", 1, snapshot, state_dir, lambda: image_map(model), NetMap.as_dict,
                          lambda raw: NetMap.from_dict(raw, "image", model.config.latent))
    return Net(kind, source, stat, sha, snapshot, model, provenance, instrument.layout, net_map)


def _background() -> None:
    """Checking a replacement is background work: this thread runs below the renders (nice +10) and the sound, so
    the pieces under way stay on time (Linux keeps a nice value per thread; raising it needs no privilege)."""
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), PREPARE_NICE))
    except OSError:
        pass


def sweep_snapshots(state_dir: Path, keep: set[Path]) -> None:
    """Delete the snapshots no process can load any more (a restarted child loads one of `keep`)."""
    for path in (state_dir / SNAPSHOTS).glob("*.pt"):
        if path not in keep:
            path.unlink(missing_ok=True)


def candidate(running: Net, state_dir: Path) -> Net | None:
    """The replacement of `running`'s file, loaded and checked; None when it is the same bytes (or changed again
    while loading: the next poll sees it). Raises CheckpointError for one to refuse."""
    _background()
    try:
        net = load_net(running.kind, running.source, state_dir, like=running)
    except Changed:
        return None
    if net.sha256 == running.sha256:
        return None
    if net.map.count != running.map.count:
        net.snapshot.unlink(missing_ok=True)
        raise CheckpointError(f"{running.source} now has a map with {net.map.count} directions, not "
                              f"{running.map.count}: the declared parameters differ; restart the node to load it")
    return net


@dataclass
class HotSwap:
    """Watches both checkpoint files (poll() every POLL_S from the node's loop), checks a replacement off the loop
    and hands the nets to `apply` (the node's renderer and engine load it, each switching at a piece boundary)."""

    nets: dict[str, Net]  # the newest checked nets (what the pieces are made by once the renderers have switched)
    state_dir: Path
    apply: Callable[[dict[str, Net], dict[str, Net]], None]  # (new nets, the nets they replace)
    loading: Callable[[], bool]  # whether the renderers are still loading what apply() gave them
    counters: dict[str, int] = field(default_factory=lambda: {"swaps": 0, "refused": 0})
    last_refused: str | None = None
    _seen: dict[str, Stat] = field(default_factory=dict)
    _preparing: dict[str, asyncio.Future[Net | None]] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    _checker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "ciel-swap-check"))

    def __post_init__(self) -> None:
        self._seen = {kind: net.stat for kind, net in self.nets.items()}

    async def watch(self, stop: asyncio.Event) -> None:
        """poll() every POLL_S until `stop`."""
        try:
            while not stop.is_set():
                self.poll()
                try:
                    await asyncio.wait_for(stop.wait(), POLL_S)
                except TimeoutError:
                    pass
        finally:
            for fut in self._preparing.values():
                fut.cancel()
            self._checker.shutdown(wait=False, cancel_futures=True)

    def poll(self) -> None:
        """Start checking each file that changed; apply what passed, log what did not."""
        loop = asyncio.get_running_loop()
        for kind, net in self.nets.items():
            st = stat_of(net.source)
            if st == self._seen[kind] or kind in self._preparing:
                continue
            self._seen[kind] = st
            if st is None:
                if kind not in self._gone:
                    self._gone.add(kind)
                    log.warning("%s checkpoint %s is gone; %s (sha256 %s) plays on", kind, net.source,
                                net.source.name, net.sha256)
                continue
            self._gone.discard(kind)
            self._preparing[kind] = loop.run_in_executor(self._checker, candidate, net, self.state_dir)
        for kind, fut in list(self._preparing.items()):
            if not fut.done():
                continue
            del self._preparing[kind]
            try:
                ready = fut.result()
            except Exception as e:  # noqa: BLE001 - a refused file: one line, the running model plays on
                self.counters["refused"] += 1
                self.last_refused = str(e) if isinstance(e, CheckpointError) else f"{type(e).__name__}: {e}"
                log.error("refused the new %s checkpoint: %s; %s (sha256 %s) plays on", kind, self.last_refused,
                          self.nets[kind].source.name, self.nets[kind].sha256)
                continue
            if ready is not None:
                old, self.nets = self.nets, {**self.nets, kind: ready}
                self.counters["swaps"] += 1
                self.apply(self.nets, old)

    def busy(self) -> bool:
        """A replacement is being checked or loaded (the schedule starts pieces a little earlier)."""
        return bool(self._preparing) or self.loading()

    def stats(self) -> dict[str, Any]:
        """/api/health's `hot_swap`: what is watched and what is under way."""
        return {
            "watching": {kind: str(net.source) for kind, net in self.nets.items()},
            "preparing": sorted(self._preparing), "loading": self.loading(),
            **self.counters, "last_refused": self.last_refused,
        }
