"""`ciel-node crack`: train a net on a personal archive on the CPU until the clock stops it."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from ciel_node import __version__
from ciel_node.crack.archive import ArchiveReport, read_archive_pictures, read_archive_sounds
from ciel_node.crack.both import crack_both
from ciel_node.crack.progress import LossLog, Progress, clock_text, losses_text
from ciel_node.errors import CheckpointError, CielError
from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.derived import derived
from ciel_node.generate.image import encode_png
from ciel_node.generate.instrument import ImageInstrument, SoundInstrument, cached_clusters
from ciel_node.generate.mappics import image_picture, sound_picture
from ciel_node.generate.phase import Framing
from ciel_node.generate.piece import encode_wav
from ciel_node.generate.place import NetMap, image_map, sound_map_of_frames
from ciel_node.models.audio_vae import LOG_FLOOR, AudioVAEConfig, SpectralVAE, vae_loss
from ciel_node.models.checkpoint import load_checkpoint, save_checkpoint
from ciel_node.models.image_gan import Discriminator, Generator, ImageGANConfig, init_weights

log = logging.getLogger(__name__)

MAX_FRAMES = 400_000  # about 1.8 h of sound at hop 256: bounds memory on a long archive
# The image map kept beside a checkpoint (derived.py); the node asks for the same name and version.
IMAGE_MAP_NAME, IMAGE_MAP_VERSION = "map-image", 1


class Clock:
    """The time budget: training stops when it runs out, whatever the losses say."""

    def __init__(self, minutes: float, save_every_min: float) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + minutes * 60.0
        self.save_every = save_every_min * 60.0
        self.last_save = self.start

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def should_save(self) -> bool:
        if time.monotonic() - self.last_save >= self.save_every:
            self.last_save = time.monotonic()
            return True
        return False



def _provenance(
    report: ArchiveReport, previous: dict[str, Any], minutes: float, steps: int, losses: dict[str, float],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "archive": {
            "folder": report.root.name,
            "manifest_hash": report.manifest_hash,
            "files": len(report.files),
            "unreadable": len(report.unreadable),
            "left_out": {category: n for category, n in report.counts().items() if n},  # by reason
        },
        "minutes": round(previous.get("minutes", 0.0) + minutes, 3),
        "steps": steps,
        "final_losses": {k: round(v, 6) for k, v in losses.items()},
        "trained_with": f"ciel-node {__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }


def _resume_path(out: Path) -> Path:
    return out.with_name(out.stem + ".resume.pt")


def crack(args: argparse.Namespace) -> int:
    """`ciel-node crack`, its arguments settled by ciel_node.crack.args.settle (before torch is imported)."""
    if args.model == "both":
        return crack_both(args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    # SIGTERM (systemd, a closed laptop lid script) saves like Ctrl-C does. SIGINT is set too: started in the
    # background by a script (`crack ... &`), a process inherits SIGINT ignored, and Ctrl-C (or a kill -INT
    # from whoever started it) would do nothing for the whole training time.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    # The clock starts once the archive is read: reading is not training time.
    if args.model == "audio":
        return _crack_audio(args)
    return _crack_images(args)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --- sound ------------------------------------------------------------------------------------
def audio_frames(
    sounds: list[np.ndarray], config: AudioVAEConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, np.ndarray]:
    """The archive's audible log-magnitude frames (N, F) and, per frame, the index of the sound it came from."""
    framing = Framing(config.n_fft, config.hop)
    chunks, ids = [], []
    for i, s in enumerate(sounds):
        log_mag = torch.log(framing.magnitudes(s).clamp_min(math.exp(LOG_FLOOR)))  # (T, F)
        # Near-silent frames teach nothing but silence; phone archives are full of them.
        chunks.append(log_mag[log_mag.max(dim=1).values > LOG_FLOOR + 3.0])
        ids.append(np.full(len(chunks[-1]), i, dtype=np.int64))
    frames = torch.cat(chunks) if chunks else torch.empty(0, config.bins)
    source = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    if len(frames) > MAX_FRAMES:
        keep = rng.choice(len(frames), MAX_FRAMES, replace=False)
        frames, source = frames[torch.from_numpy(keep)], source[keep]
    return frames, source


def archive_sound_map(model: SpectralVAE, frames: torch.Tensor, ids: np.ndarray, report: ArchiveReport) -> NetMap:
    """The plane of the archive's own frames through the encoder, each point named by its file (relative path)."""
    sources = tuple(p.relative_to(report.root).as_posix() if p.is_relative_to(report.root) else p.as_posix()
                    for p in report.files)  # report.files is aligned with the sounds read, so with ids
    return sound_map_of_frames(model.eval(), frames, ids, sources)


def store_archive_map(model: SpectralVAE, checkpoint: Path, root: Path) -> NetMap:
    """`ciel-node map --archive`: the plane of an archive's frames, read exactly as crack reads them, stored in an
    existing sound checkpoint (once: for one cracked before maps, as the shipped one)."""
    sounds, report = read_archive_sounds(root)
    print(report.summary(), file=sys.stderr)
    trained_on = load_checkpoint(checkpoint, "audio_vae")["provenance"].get("archive")
    if isinstance(trained_on, dict) and trained_on.get("manifest_hash") not in (None, report.manifest_hash):
        print(f"note: {root} is not the archive {checkpoint.name} was cracked on (its manifest hash differs); the map "
              "shows this archive's sound through the net", file=sys.stderr)
    frames, ids = audio_frames(sounds, model.config, np.random.default_rng(0))
    if len(frames) < 2:
        raise CielError(f"{root} has no audible sound to map ({report.summary()}); pass the archive the net learnt")
    plane = archive_sound_map(model, frames, ids, report)
    store_extra(checkpoint, "audio_vae", "map", plane.as_dict())
    print(f"stored the plane of {len(frames)} frames of {len(report.files)} files in {checkpoint}", file=sys.stderr)
    return plane


def store_extra(path: Path, kind: str, key: str, value: Any) -> None:
    """Put `value` under extra[key] in the checkpoint at `path`, atomically; config, weights, provenance and any
    other extra entries unchanged."""
    payload = load_checkpoint(path, kind)
    extra = dict(payload.get("extra") or {})
    extra[key] = value
    save_checkpoint(path, kind, payload["config"], payload["weights"], payload["provenance"], extra)


def image_map_of(generator: Generator, checkpoint: Path, cache_dir: Path) -> NetMap:
    """The GANSpace map of this checkpoint, kept as `map-image-<hash>.json` (beside it for crack, in the state dir
    for the node: the same name and version, so the node finds crack's)."""
    return derived(IMAGE_MAP_NAME, IMAGE_MAP_VERSION, checkpoint, cache_dir, lambda: image_map(generator),
                   NetMap.as_dict, lambda raw: NetMap.from_dict(raw, "image", generator.config.latent))


def _crack_audio(args: argparse.Namespace) -> int:
    sounds, report = read_archive_sounds(args.source, cache_dir=args.cache)
    report.write(_beside(args.out, ".archive.txt"))
    print(f"audio: {report.summary()}", file=sys.stderr)
    config = AudioVAEConfig()
    previous: dict[str, Any] = {}
    model = SpectralVAE(config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = 0
    frames, ids = audio_frames(sounds, config, np.random.default_rng(args.seed))
    if len(frames) < 2:
        raise CielError(f"{args.source} has no audible sound to learn from ({report.summary()})")
    if args.resume:
        model, previous = SpectralVAE.from_checkpoint(args.out)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        step = int(previous.get("steps", 0))
        _load_resume(args.out, "audio_vae", opt, None)
    else:
        model.bin_mean.copy_(frames.mean(0))
        model.bin_std.copy_(frames.std(0).clamp_min(1e-3))
    batch = args.batch or 256
    gen = torch.Generator().manual_seed(args.seed + step)
    clock = Clock(args.minutes, args.save_every)

    def save(step: int, losses: dict[str, float]) -> None:
        prov = _provenance(report, previous, clock.elapsed() / 60.0, step, losses,
                           {"frames": len(frames), "batch": batch, "beta": 1.0})
        model.save(args.out, prov)
        save_checkpoint(_resume_path(args.out), "audio_vae.resume", {}, {}, {}, {"opt": opt.state_dict()})

    def one_step(step: int) -> dict[str, float]:
        x = frames[torch.randint(len(frames), (batch,), generator=gen)]
        beta = min(1.0, (step + 1) / 2000.0)  # KL warm-up, so the decoder learns something first
        recon, mu, logvar = model(x)
        loss, rec, kl = vae_loss(recon, x, mu, logvar, model, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "rec": rec.item(), "kl": kl.item()}

    model.train()
    _train(clock, one_step, save, step, f"{len(frames)} frames, batch {batch}", args, "audio")
    model.eval()
    _audio_preview(model, _beside(args.out, ".preview.wav"), args.seed)
    # The plane of the archive's frames, in the checkpoint (before anything keyed by its hash is written beside it).
    sound_plane = archive_sound_map(model, frames, ids, report)
    store_extra(args.out, "audio_vae", "map", sound_plane.as_dict())
    sound_picture(sound_plane, args.out.name).save(_beside(args.out, ".map.png"))
    # The bend clusters of the new checkpoint, beside it: a node that loads it starts without computing them.
    cached_clusters("audio", args.out, args.out.parent, lambda: SoundInstrument(model).clusters())
    _made("audio", args.out, ".preview.wav", ".losses.png", ".map.png", ".archive.txt")
    return 0


def _audio_preview(model: SpectralVAE, path: Path, seed: int) -> None:
    renderer = AudioRenderer(model)
    rng = walk.piece_rng(seed, 0, 1)
    trajectory = walk.audio_trajectory(walk.origin(seed, model.config.latent, 1), 0.5, 6.0, renderer.frame_rate, rng)
    path.write_bytes(encode_wav(renderer.render(trajectory, -6.0, rng), renderer.sample_rate))


# --- images -----------------------------------------------------------------------------------
def _crack_images(args: argparse.Namespace) -> int:
    pictures, report = read_archive_pictures(args.source, cache_dir=args.cache)
    report.write(_beside(args.out, ".archive.txt"))
    print(f"images: {report.summary()}", file=sys.stderr)
    config = ImageGANConfig()
    previous: dict[str, Any] = {}
    gen_net, disc = Generator(config), Discriminator(config)
    gen_net.apply(init_weights)
    disc.apply(init_weights)
    step = 0
    if args.resume:
        gen_net, previous = Generator.from_checkpoint(args.out)
        step = int(previous.get("steps", 0))
    # PyTorch-GAN's DCGAN template: Adam lr 2e-4, betas (0.5, 0.999), batch 64, BCE.
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if args.resume:
        _load_resume(args.out, "image_gan", opt_g, (disc, opt_d))
    data = torch.stack([
        torch.from_numpy(np.asarray(p.resize((config.size, config.size), Image.Resampling.LANCZOS), dtype=np.float32))
        for p in pictures
    ]).permute(0, 3, 1, 2) / 127.5 - 1.0  # (N, 3, size, size) in [-1, 1]
    batch = args.batch or 64
    bce = nn.BCEWithLogitsLoss()
    rng = torch.Generator().manual_seed(args.seed + step)
    clock = Clock(args.minutes, args.save_every)

    def save(step: int, losses: dict[str, float]) -> None:
        prov = _provenance(report, previous, clock.elapsed() / 60.0, step, losses,
                           {"pictures": len(data), "batch": batch})
        gen_net.save(args.out, prov)
        save_checkpoint(
            _resume_path(args.out), "image_gan.resume", asdict(config), disc.state_dict(), {},
            {"opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()},
        )

    def one_step(step: int) -> dict[str, float]:
        real = data[torch.randint(len(data), (batch,), generator=rng)]
        flip = torch.rand(batch, generator=rng) < 0.5
        real = torch.where(flip[:, None, None, None], real.flip(-1), real)
        fake = gen_net(torch.randn(batch, config.latent, generator=rng))
        ones, zeros = torch.ones(batch), torch.zeros(batch)
        loss_d = 0.5 * (bce(disc(real), ones) + bce(disc(fake.detach()), zeros))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = bce(disc(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"d": loss_d.item(), "g": loss_g.item()}

    gen_net.train()
    disc.train()
    _train(clock, one_step, save, step, f"{len(data)} pictures, batch {batch}", args, "images")
    gen_net.eval()
    _contact_sheet(gen_net, _beside(args.out, ".preview.png"), args.seed)
    cached_clusters("image", args.out, args.out.parent, lambda: ImageInstrument(gen_net).clusters())
    image_plane = image_map_of(gen_net, args.out, args.out.parent)
    image_picture(gen_net, image_plane, args.out.name).save(_beside(args.out, ".map.png"))
    _made("images", args.out, ".preview.png", ".losses.png", ".map.png", ".archive.txt")
    return 0


def _contact_sheet(gen_net: Generator, path: Path, seed: int, n: int = 4) -> None:
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((n * n, gen_net.config.latent)).astype(np.float32))
    with torch.inference_mode():
        imgs = ((gen_net(z).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (n*n, 3, s, s)
    s = gen_net.config.size
    grid = imgs.reshape(n, n, 3, s, s).permute(0, 3, 1, 4, 2).reshape(n * s, n * s, 3)
    path.write_bytes(encode_png(grid.numpy()))


# --- shared -----------------------------------------------------------------------------------
def _load_resume(
    out: Path, kind: str, opt: torch.optim.Optimizer, disc: tuple[nn.Module, torch.optim.Optimizer] | None
) -> None:
    path = _resume_path(out)
    if not path.exists():
        log.warning("no %s beside the checkpoint: resuming the weights with fresh optimiser state", path.name)
        return
    try:
        payload = load_checkpoint(path, f"{kind}.resume")
    except CheckpointError as e:  # damaged, or from before seals: the weights go on, the optimiser starts afresh
        log.warning("%s: fresh optimiser state", e)
        return
    extra = payload.get("extra", {})
    try:
        if disc is None:
            opt.load_state_dict(extra["opt"])
        else:
            opt.load_state_dict(extra["opt_g"])
            disc[0].load_state_dict(payload["weights"])
            disc[1].load_state_dict(extra["opt_d"])
    except (KeyError, ValueError, RuntimeError) as e:
        log.warning("resume state in %s does not fit (%s): fresh optimiser state", path, e)


def _train(
    clock: Clock,
    one_step: Callable[[int], dict[str, float]],
    save: Callable[[int, dict[str, float]], None],
    step: int,
    what: str,
    args: argparse.Namespace,
    net: str,
) -> None:
    """Step until the clock runs out (at least once), show it, save now and then and on Ctrl-C; draw the losses."""
    steps0, losses = step, {}
    progress = Progress(net, args.progress, clock.left())
    curves = LossLog()
    try:
        progress.begin(step, what)
        while step == steps0 or clock.left() > 0:
            losses = one_step(step)
            step += 1
            curves.add(step, losses)
            progress.update(step, losses)
            if clock.should_save():
                save(step, losses)
    except KeyboardInterrupt:
        # A second Ctrl-C (or the parent's SIGINT after the terminal's) must not cut the save short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        progress.note("interrupted: saving")
    finally:
        progress.close()
    save(step, losses)
    rate = (step - steps0) / max(clock.elapsed(), 1e-9)
    progress.note(f"wrote {args.out}: {step} steps ({rate:.2f} steps/s this run), final losses {losses_text(losses)}")
    curves.picture(f"{args.out.name}: losses, steps {steps0}..{step}, {clock_text(clock.elapsed())} of training").save(
        _beside(args.out, ".losses.png"))


def _beside(out: Path, suffix: str) -> Path:
    """A file kept beside the checkpoint: mine.pt -> mine.preview.wav."""
    return out.with_name(out.stem + suffix)


def _made(net: str, out: Path, *suffixes: str) -> None:
    """The end of a crack: what it left, so a person knows what to open."""
    kept = ", ".join(_beside(out, s).name for s in suffixes if _beside(out, s).exists())
    print(f"{net}: made {out} and, beside it: {kept}", file=sys.stderr, flush=True)
