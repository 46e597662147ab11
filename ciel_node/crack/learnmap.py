"""The synaesthesia map learned from the owner's own archive: sounds and pictures captured close in time (pairs.py).

Sound side: what the node reads of a piece's sound (synaesthesia.description) read from the archive's sound: the
sound VAE's encoder mean over its first and last second (where the sound began and ended) and its descriptors.
Image side: where the image net would draw the paired picture, found by inverting the generator (Adam on z from a
seeded standard normal, the pixel error at the net's size plus that of a 4x smaller copy, for colour and layout);
the target is the direction of that point from the image walk's home at default controls (the origin, walk.py).
A ridge regression from description to direction, its strength chosen by leave-one-out error, is the map.

`ciel-node crack map ARCHIVE --out FOLDER` learns it for the two checkpoints in FOLDER (after `crack DIR`, which runs
it) and keeps it there as synaesthesia.npz, naming both checkpoints; the node uses it for exactly those.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ciel_node.crack.archive import DECODE_VERSION, VIDEO_SUFFIXES, _reason, _sha256
from ciel_node.crack.decoded import DecodedCache
from ciel_node.crack.media import read_picture, read_sound, read_video_frames
from ciel_node.crack.pairs import WINDOW_S, Pairing, find_pairs
from ciel_node.errors import CielError
from ciel_node.generate.phase import Framing
from ciel_node.generate.synaesthesia import LEARNED_MAP, CrossMap, description
from ciel_node.models.audio_vae import LOG_FLOOR, SpectralVAE
from ciel_node.models.checkpoint import file_hash
from ciel_node.models.image_gan import Generator

SEGMENT_S = 1.0  # where a sound began and ended: the encoder's mean over its first and last second
# Adam steps of the inversion: on the shipped net the pixel error (MSE in [-1, 1]) is 0.081 after 50, 0.071 after
# 100, 0.064 after 200 and 0.061 after 300. At 150, learning from 200 pairs takes 87 s on two threads (111 s with
# a cold cache) and 177 s on one: inside the 3 minutes crack may add (bench/learnmap.py, 2 cores).
STEPS = 150
LEARNING_RATE = 0.05
CHUNK = 64  # pictures inverted at once: each picture's path is its own (per-picture losses, Adam per coordinate)
LOW = 4  # the smaller copy's factor: its error weighs the picture's colours and layout over its detail
PRIOR = 1e-3  # a pull toward the prior's shell, so a picture the net cannot draw does not send z off to infinity
CANDIDATES = 64  # seeded starting points, each picture starting from the one nearest it
MIN_PAIRS = 3  # fewer cannot say what varies with what
# Ridge strengths tried, times the number of pairs; leave-one-out squared error picks one (closed form, no refits).
RIDGE = tuple(10.0 ** (k / 2) for k in range(-6, 7))
PICTURE_SIZE = 256  # as crack images reads and caches them


@dataclass
class Learned:
    """What learning the map from an archive gave: the map (None: too few pairs) and the account."""

    pairing: Pairing
    crossmap: CrossMap | None = None
    used: int = 0  # pairs whose sound and picture both decoded
    unreadable: list[str] = field(default_factory=list)  # "file: reason" for files of a pair that did not decode
    ridge: float = 0.0
    loo_cosine: float = 0.0  # mean cosine of each pair's direction and the map's when fitted without that pair
    described: np.ndarray | None = None  # (pairs, description) what the map was fitted on (bench/learnmap.py)
    targets: np.ndarray | None = None  # (pairs, image latent) unit directions of the pairs' pictures
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went: read and describe, invert, fit


def sound_description(vae: SpectralVAE, samples: np.ndarray) -> np.ndarray:
    """The description the node computes for a piece, for a recorded sound: the encoder's mean where it began and
    where it ended (the first and last SEGMENT_S), then its descriptors."""
    c = vae.config
    framing = Framing(c.n_fft, c.hop)
    with torch.inference_mode():
        log_mag = torch.log(framing.magnitudes(samples).clamp_min(math.exp(LOG_FLOOR)))  # (T, F)
        mu, _ = vae.encode(log_mag)  # (T, L)
    n = max(1, round(SEGMENT_S * c.sample_rate / c.hop))
    began, ended = mu[:n].mean(0).double().numpy(), mu[-n:].mean(0).double().numpy()
    return description(samples, c.sample_rate, began, ended)


def invert(generator: Generator, pictures: np.ndarray, steps: int = STEPS, seed: int = 0,
           report: Callable[[int], None] | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 pictures -> (N, latent) float64: the points the generator draws them nearest at."""
    size, latent = generator.config.size, generator.config.latent
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    target = torch.stack([
        torch.from_numpy(np.asarray(Image.fromarray(p).resize((size, size), Image.Resampling.LANCZOS), np.float32))
        for p in pictures
    ]).permute(0, 3, 1, 2) / 127.5 - 1.0  # (N, 3, size, size) in [-1, 1], as crack trains on them
    # Every picture starts from the seeded candidate the net draws it nearest from: similar pictures start alike
    # and end alike (from starts of their own, the same sky ends at unrelated points: the loss has many minima).
    candidates = torch.from_numpy(np.random.default_rng([seed, 0x1417]).standard_normal((CANDIDATES, latent)))
    with torch.inference_mode():
        drawn_low = F.avg_pool2d(generator(candidates.float()), LOW).flatten(1)  # (K, 3 * (size / LOW)^2)
        errors = torch.cdist(F.avg_pool2d(target, LOW).flatten(1).double(), drawn_low.double())  # (N, K)
    start = candidates[errors.argmin(1)].numpy()
    found = np.empty((len(pictures), latent))
    for lo in range(0, len(pictures), CHUNK):
        t = target[lo : lo + CHUNK]
        t_low = F.avg_pool2d(t, LOW)
        z = torch.tensor(start[lo : lo + CHUNK], dtype=torch.float32, requires_grad=True)
        opt = torch.optim.Adam([z], lr=LEARNING_RATE)
        for _ in range(steps):
            drawn = generator(z)  # (n, 3, size, size)
            per_picture = ((drawn - t) ** 2).mean((1, 2, 3)) + ((F.avg_pool2d(drawn, LOW) - t_low) ** 2).mean((1, 2, 3))
            loss = (per_picture + PRIOR * (z**2).mean(1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        found[lo : lo + CHUNK] = z.detach().double().numpy()
        if report is not None:
            report(min(lo + CHUNK, len(pictures)))
    return found


def fit(described: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Ridge regression (n, p) descriptions -> (n, D) unit directions, on standardised descriptions with an
    intercept; the strength is the one of RIDGE * n with the least leave-one-out squared error. Returns the map in
    raw description units (weights (D, p), bias (D,)), the strength, and the leave-one-out mean cosine."""
    n = len(described)
    mean, std = described.mean(0), described.std(0)
    std = np.where(std > 1e-9, std, 1.0)  # a description number that never varies carries nothing: weight 0
    xs = (described - mean) / std
    y_mean = directions.mean(0)
    yc = directions - y_mean
    u, s, vt = np.linalg.svd(xs, full_matrices=False)
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for k in RIDGE:
        lam = k * n
        shrink = s / (s**2 + lam)
        coef = vt.T @ (shrink[:, None] * (u.T @ yc))  # (p, D)
        hat = 1.0 / n + np.sum(u**2 * (s**2 / (s**2 + lam)), axis=1)  # the hat matrix's diagonal, intercept in
        loo = (yc - xs @ coef) / (1.0 - hat)[:, None]  # each pair's error when fitted without it
        error = float(np.sum(loo**2))
        if best is None or error < best[0]:
            best = (error, lam, coef, loo)
    assert best is not None
    _, lam, coef, loo = best
    weights = (coef / std[:, None]).T  # (D, p)
    bias = y_mean - weights @ mean
    predicted = directions - loo
    cosine = np.sum(predicted * directions, 1) / np.maximum(np.linalg.norm(predicted, axis=1), 1e-12)
    return weights, bias, lam, float(cosine.mean())


def directions_of(points: np.ndarray, home: np.ndarray | None = None) -> np.ndarray:
    """Unit directions of image latent points from the home (None: the origin, the walk's home at default controls)."""
    offsets = points - (0.0 if home is None else home)
    return offsets / np.maximum(np.linalg.norm(offsets, axis=-1, keepdims=True), 1e-12)


def learn(root: Path, vae: SpectralVAE, generator: Generator, window_s: float = WINDOW_S, steps: int = STEPS,
          seed: int = 0, cache_dir: Path | None = None, say: Callable[[str], None] | None = None) -> Learned:
    """Find the archive's pairs, describe their sounds, invert their pictures and fit the map (None if too few)."""
    out = Learned(find_pairs(root, window_s))
    if len(out.pairing.pairs) < MIN_PAIRS:
        return out
    t0 = time.monotonic()
    cache = DecodedCache(cache_dir)
    sr = vae.config.sample_rate
    sounds: dict[Path, np.ndarray | None] = {}  # each sound's description (its samples are not kept: memos run long)
    stacks: dict[Path, np.ndarray | None] = {}
    for pair in out.pairing.pairs:
        if pair.sound not in sounds:
            samples = _decoded(pair.sound, f"sound-{sr}hz", np.float32, 1, cache, out.unreadable,
                               lambda p: read_sound(p, sr))
            sounds[pair.sound] = None if samples is None else sound_description(vae, samples)
        if pair.picture not in stacks:
            stacks[pair.picture] = _decoded(pair.picture, f"picture-{PICTURE_SIZE}px", np.uint8, 4, cache,
                                            out.unreadable, _picture_stack)
    good = [p for p in out.pairing.pairs if sounds[p.sound] is not None and stacks[p.picture] is not None]
    out.used = len(good)
    if len(good) < MIN_PAIRS:
        return out
    files = sorted({p.picture for p in good})
    frames = [stacks[f] for f in files]
    owner = np.concatenate([np.full(len(s), i) for i, s in enumerate(frames) if s is not None])  # frame -> file
    if say is not None:
        say(f"{len(good)} pairs; inverting the image net on {len(owner)} pictures of {len(files)} files "
            f"({steps} steps)")
    t1 = time.monotonic()
    points = invert(generator, np.concatenate([s for s in frames if s is not None]), steps, seed)
    t2 = time.monotonic()
    # A file's direction: the mean of its pictures' (a video's frames), made unit again.
    unit = directions_of(points)
    per_file = directions_of(np.stack([unit[owner == i].mean(0) for i in range(len(files))]))
    index = {f: i for i, f in enumerate(files)}
    described = np.stack([d for p in good if (d := sounds[p.sound]) is not None])
    targets = np.stack([per_file[index[p.picture]] for p in good])
    weights, bias, out.ridge, out.loo_cosine = fit(described, targets)
    out.crossmap = CrossMap(weights, f"learned from {len(good)} pairs", bias)
    out.described, out.targets = described, targets
    out.seconds = {"read and describe": t1 - t0, "invert": t2 - t1, "fit": time.monotonic() - t2}
    if say is not None:
        say(f"inverted in {t2 - t1:.0f} s; leave-one-out cosine {out.loo_cosine:.2f}")
    return out


def _picture_stack(path: Path) -> np.ndarray:
    """(N, 256, 256, 3) uint8: a still's one picture, a video's few frames (as crack images reads them)."""
    video = path.name.lower().endswith(VIDEO_SUFFIXES)
    pictures = read_video_frames(path, PICTURE_SIZE) if video else [read_picture(path, PICTURE_SIZE)]
    return np.stack([np.asarray(p, dtype=np.uint8) for p in pictures])


def _decoded(path: Path, key: str, dtype: type, ndim: int, cache: DecodedCache, unreadable: list[str],
             decode: Callable[[Path], np.ndarray]) -> np.ndarray | None:
    """A file decoded as crack decodes it, from crack's cache when it is there (the same key); None if it fails."""
    try:
        cache_key = f"{_sha256(path)}.{key}.v{DECODE_VERSION}"
        array = cache.get(cache_key, dtype, ndim)
        if array is None:
            array = decode(path)
            cache.put(cache_key, array)
        return array
    except Exception as exc:  # noqa: BLE001 - one broken file loses its pair, not the map
        unreadable.append(f"{path.name}: {_reason(path, exc)}")
        return None


# --- `ciel-node crack map` -------------------------------------------------------------------------
def crack_map(args: argparse.Namespace) -> int:
    """Learn the map for the checkpoints in args.out from the archive args.source; say what it did in one line."""
    folder: Path = args.out
    audio, images = folder / "audio.pt", folder / "images.pt"
    for path in (audio, images):
        if not path.is_file():
            raise CielError(f"crack map needs the two checkpoints in --out {folder} ({path.name} is not there); "
                            "make them with `ciel-node crack DIR --out FOLDER`")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vae, _ = SpectralVAE.from_checkpoint(audio)
    generator, _ = Generator.from_checkpoint(images)
    target = folder / LEARNED_MAP
    learned = learn(args.source, vae, generator, args.window * 60.0, args.steps, args.seed, args.cache,
                    lambda line: print(f"synaesthesia: {line}", file=sys.stderr, flush=True))
    pairing = learned.pairing
    account = folder / "synaesthesia.txt"
    lines = pairing.lines() + ([""] + ["files of a pair that could not be read:"]
                               + [f"  {u}" for u in learned.unreadable] if learned.unreadable else [])
    account.write_text("\n".join(lines) + "\n", encoding="utf-8")
    audio_sha, image_sha = file_hash(audio), file_hash(images)
    if learned.crossmap is None:
        if not pairing.pairs:
            why = f"no pictures and sounds captured close in time ({pairing.counts()})"
        else:
            usable = f", {learned.used} readable" if learned.used < len(pairing.pairs) else ""
            why = (f"only {len(pairing.pairs)} {'pair' if len(pairing.pairs) == 1 else 'pairs'}{usable} "
                   f"({pairing.window_text()}; {pairing.counts()}), {MIN_PAIRS} needed")
        print(f"synaesthesia: {why}: the node uses the default map{_stale(target, audio_sha, image_sha)}",
              file=sys.stderr, flush=True)
        return 0
    learned.crossmap.save(target, audio_sha, image_sha, learned.used,
                          {"ridge": learned.ridge, "loo_cosine": learned.loo_cosine, "window_s": pairing.window_s})
    print(f"synaesthesia: learned the map from {learned.used} pairs ({pairing.window_text()}) -> {target} "
          f"(pairs listed in {account})", file=sys.stderr, flush=True)
    return 0


def _stale(target: Path, audio_sha: str, image_sha: str) -> str:
    """A map left from earlier checkpoints would only earn the node a warning at every start: it goes."""
    if not target.is_file():
        return ""
    try:
        CrossMap.load(target, audio_sha, image_sha)
        return f" (the map already beside them, {target}, stays: it was learned for these checkpoints)"
    except (ValueError, OSError):
        target.unlink(missing_ok=True)
        return f" (removed {target}: it was learned for other checkpoints)"
