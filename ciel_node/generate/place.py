"""Where a performer puts each walk's home: a net's map (principal directions, a 2-D plane over its material) and the
home that the declared place parameters (`/ciel/xy/<net>`, `/ciel/direction/<net>/<k>`) give on it.

Sound: the plane of the archive's own encoded frames (the VAE's encoder over the training archive: principal
components and their range), computed by `crack` and stored in the checkpoint; a checkpoint without one gets the
plane of the net's own sounds (the encoder over the decoder's outputs for prior samples), said once in the log.
Image: GANSpace (Härkönen et al., NeurIPS 2020): PCA of the generator's first-stage activations over sampled
latents, latent directions by regression; computed once per checkpoint and cached.

home = c1·D1 + c2·D2 (the plane, from xy) + Σk ok·σk·Dk (the directions, ok in standard deviations). The plane
runs through the prior's mean, and xy's default is where it is: a node nobody steers walks as it always did.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciel_node.generate.walk import HOME_MAX
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import load_checkpoint
from ciel_node.models.image_gan import Generator

log = logging.getLogger(__name__)

DIRECTIONS = 8  # principal directions a performer can nudge, per net (fewer for a smaller latent)
MAP_SEED = 20201030
PLANE_PERCENTILES = (1.0, 99.0)  # the plane covers the material but its outliers
MAX_POINTS = 2000  # of the archive's frames kept in the checkpoint, for the map's picture
MAP_VERSION = 1


@dataclass(frozen=True)
class NetMap:
    """A net's steering geometry. `directions[k]` is a latent vector (unit for the sound's PCA; GANSpace's regression
    for the image), `sigma[k]` one standard deviation of the material along it (in its coordinate), `lo`/`hi` the
    plane's range in the first two coordinates. `points`: (c1, c2, source) of some of the material, for pictures."""

    net: str
    source: str  # "archive", "own sounds" or "ganspace"
    directions: tuple[tuple[float, ...], ...]
    sigma: tuple[float, ...]
    lo: tuple[float, float]
    hi: tuple[float, float]
    points: tuple[tuple[float, float, int], ...] = ()
    sources: tuple[str, ...] = ()  # names of the points' sources (the archive's files)

    def __post_init__(self) -> None:
        k = len(self.directions)
        dims = {len(d) for d in self.directions}
        numbers = [x for d in self.directions for x in d] + list(self.sigma) + list(self.lo) + list(self.hi)
        if not 2 <= k <= DIRECTIONS or len(dims) != 1 or len(self.sigma) != k or not all(map(math.isfinite, numbers)):
            raise ValueError(f"a {self.net} map needs 2..{DIRECTIONS} finite directions of one size, a spread each")
        if not all(lo < 0.0 < hi for lo, hi in zip(self.lo, self.hi)) or any(s <= 0 for s in self.sigma):
            raise ValueError(f"a {self.net} map's plane must span its origin and its spreads be positive")

    @property
    def count(self) -> int:
        return len(self.directions)

    @property
    def centre(self) -> tuple[float, float]:
        """The xy where the plane crosses the prior's mean: the home of a walk nobody steered."""
        return (-self.lo[0] / (self.hi[0] - self.lo[0]), -self.lo[1] / (self.hi[1] - self.lo[1]))

    def plane(self, xy: tuple[float, float]) -> tuple[float, float]:
        """xy in 0..1 -> the first two coordinates."""
        return (self.lo[0] + xy[0] * (self.hi[0] - self.lo[0]), self.lo[1] + xy[1] * (self.hi[1] - self.lo[1]))

    def xy(self, c: tuple[float, float]) -> tuple[float, float]:
        """The first two coordinates -> xy (the inverse of plane(), not clipped)."""
        return ((c[0] - self.lo[0]) / (self.hi[0] - self.lo[0]), (c[1] - self.lo[1]) / (self.hi[1] - self.lo[1]))

    def home(self, xy: tuple[float, float], offsets: tuple[float, ...]) -> np.ndarray | None:
        """The home for xy and the direction offsets (standard deviations); None where it is the prior's mean
        (the walk's own arithmetic for an unsteered net). Each coordinate within ±HOME_MAX."""
        c = np.zeros(self.count)
        c[:2] = self.plane(xy)
        c[: len(offsets)] += np.asarray(offsets, dtype=np.float64) * np.asarray(self.sigma[: len(offsets)])
        c[np.abs(c) < 1e-12] = 0.0
        if not c.any():
            return None
        home = c @ np.asarray(self.directions, dtype=np.float64)
        return np.clip(home, -HOME_MAX, HOME_MAX)

    def as_dict(self) -> dict[str, Any]:
        return {"version": MAP_VERSION, "net": self.net, "source": self.source,
                "directions": [list(d) for d in self.directions], "sigma": list(self.sigma), "lo": list(self.lo),
                "hi": list(self.hi), "points": [list(p) for p in self.points], "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, raw: Any, net: str, dim: int) -> NetMap:
        """A stored map, checked (ValueError names what is wrong)."""
        if not isinstance(raw, dict) or raw.get("version") != MAP_VERSION or raw.get("net") != net:
            raise ValueError(f"not a version-{MAP_VERSION} {net} map")
        try:
            m = cls(net, str(raw["source"]), tuple(tuple(float(x) for x in d) for d in raw["directions"]),
                    tuple(float(s) for s in raw["sigma"]), tuple(float(x) for x in raw["lo"]),  # type: ignore[arg-type]
                    tuple(float(x) for x in raw["hi"]),  # type: ignore[arg-type]
                    tuple((float(p[0]), float(p[1]), int(p[2])) for p in raw.get("points", ())),
                    tuple(str(s) for s in raw.get("sources", ())))
        except (KeyError, TypeError, IndexError) as e:
            raise ValueError(f"a {net} map is missing or mistyped ({e})") from None
        if len(m.directions[0]) != dim:
            raise ValueError(f"a {net} map for a latent of {len(m.directions[0])}, this net's has {dim}")
        return m


def _plane_range(coords: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """The 1st-99th percentile of the first two coordinates, widened a little and always spanning 0."""
    lo, hi = np.percentile(coords[:, :2], PLANE_PERCENTILES, axis=0)
    pad = 0.05 * (hi - lo) + 1e-6
    lo, hi = np.minimum(lo - pad, -pad), np.maximum(hi + pad, pad)
    return (float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1]))


def pca_map(net: str, source: str, latents: np.ndarray, ids: np.ndarray | None = None,
            sources: tuple[str, ...] = ()) -> NetMap:
    """A map from latent points (N, L): principal directions of their spread; coordinates are projections onto
    them (the plane through the origin, the prior's mean). Signs fixed so each direction's largest entry is positive."""
    x = latents.astype(np.float64)
    k = min(DIRECTIONS, x.shape[1], max(2, x.shape[0] - 1))
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    d = vt[:k] * np.sign(vt[:k][np.arange(k), np.abs(vt[:k]).argmax(1)])[:, None]
    c = x @ d.T  # (N, k)
    sigma = np.maximum(c.std(0), 1e-6)
    lo, hi = _plane_range(c)
    rng = np.random.default_rng(MAP_SEED)
    keep = rng.choice(len(c), min(MAX_POINTS, len(c)), replace=False) if len(c) > MAX_POINTS else np.arange(len(c))
    ids = np.zeros(len(c), dtype=np.int64) if ids is None else ids
    points = tuple((float(c[i, 0]), float(c[i, 1]), int(ids[i])) for i in sorted(keep))
    return NetMap(net, source, tuple(tuple(map(float, v)) for v in d), tuple(map(float, sigma)), lo, hi, points,
                  sources)


def sound_map_of_frames(model: SpectralVAE, log_mag: torch.Tensor, ids: np.ndarray | None = None,
                        sources: tuple[str, ...] = ()) -> NetMap:
    """The archive's own plane: the encoder's means for its frames (N, F) log magnitude -> PCA."""
    with torch.inference_mode():
        mu = torch.cat([model.encode(chunk)[0] for chunk in log_mag.split(4096)]).numpy()
    return pca_map("sound", "archive", mu, ids, sources)


def sound_map_of_own_sounds(model: SpectralVAE, n: int = 4096) -> NetMap:
    """Without the archive: the encoder over the decoder's outputs for prior samples (the net's own sounds)."""
    g = torch.Generator().manual_seed(MAP_SEED)
    with torch.inference_mode():
        frames = model.decode(torch.randn(n, model.config.latent, generator=g))
    m = sound_map_of_frames(model, frames)
    return NetMap("sound", "own sounds", m.directions, m.sigma, m.lo, m.hi, m.points)


def sound_map(model: SpectralVAE, checkpoint: Path) -> NetMap:
    """The map stored in the checkpoint by `crack`, else the net's own sounds' (source "own sounds")."""
    extra = load_checkpoint(checkpoint, "audio_vae").get("extra") or {}
    if "map" in extra:
        try:
            return NetMap.from_dict(extra["map"], "sound", model.config.latent)
        except ValueError as e:
            log.warning("the sound map in %s is unusable (%s); using the plane of the net's own sounds", checkpoint, e)
    return sound_map_of_own_sounds(model)  # the node says so once it is up (app.py), not before a start error


def image_map(generator: Generator, n: int = 2048) -> NetMap:
    """GANSpace for a DCGAN: PCA of the first stage's activations over n sampled latents; each component's latent
    direction by least squares (the latent that moves the activations along it); coordinates in PCA units."""
    g = torch.Generator().manual_seed(MAP_SEED)
    latent = generator.config.latent
    z = torch.randn(n, latent, generator=g)
    with torch.inference_mode():
        first = generator.net[:3](z[:, :, None, None]).flatten(1).double()  # (n, C*4*4): conv, norm, ReLU
    y = first - first.mean(0)
    k = min(DIRECTIONS, latent, n - 1)
    # The samples' coordinates on the top k components, from whichever is smaller: the features' covariance or the
    # samples' Gram matrix (a 2048 x 4096 SVD took 10 s here; either of these 1 s at most). Eigenvalues ascend.
    if y.shape[1] <= y.shape[0]:
        _, vectors = torch.linalg.eigh(y.T @ y)
        x = y @ vectors[:, -k:].flip(1)  # (n, k)
    else:
        values, vectors = torch.linalg.eigh(y @ y.T)
        x = vectors[:, -k:].flip(1) * values[-k:].flip(0).clamp(min=0).sqrt()  # (n, k)
    u = torch.linalg.lstsq(x, z.double()).solution  # (k, latent): x @ u ≈ z
    u = u * torch.sign(u[torch.arange(k), u.abs().argmax(1)])[:, None]
    coords = (z.double() @ torch.linalg.pinv(u)).numpy()  # each latent's coordinates along the directions
    sigma = np.maximum(coords.std(0), 1e-6)
    lo, hi = _plane_range(coords)
    return NetMap("image", "ganspace", tuple(tuple(map(float, d)) for d in u.numpy()), tuple(map(float, sigma)),
                  lo, hi)


@dataclass(frozen=True)
class Places:
    """Both nets' maps, and the homes a controls snapshot puts the walks at (from its xy and direction values).
    A net without a map, or controls without its parameters, is not steered (its home stays the prior's mean)."""

    sound: NetMap | None = None
    image: NetMap | None = None

    def steers(self, net: str, controls: Any) -> bool:
        """Whether these controls place `net`'s home (a map, and its parameters in the snapshot)."""
        return (self.sound if net == "sound" else self.image) is not None and hasattr(controls, f"xy_{net}")

    def home(self, net: str, controls: Any) -> np.ndarray | None:
        """The home `controls` put `net` at (None: the prior's mean); only for a net it steers()."""
        m = self.sound if net == "sound" else self.image
        xy = getattr(controls, f"xy_{net}", None) if m is not None else None
        if m is None or xy is None:
            return None
        offsets = tuple(getattr(controls, f"direction_{net}_{k}", 0.0) for k in range(1, m.count + 1))
        return m.home(tuple(xy), offsets)  # type: ignore[arg-type]
