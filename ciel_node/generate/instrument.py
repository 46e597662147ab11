"""The nets as instruments: each model wrapped once with its bendable layers, their feature clusters, and a forward
pass that takes the bends in force. The image renderer, the piece composer and the sound engine all use these.

Layers are numbered from 1 at the latent side. The DCGAN's layer k is the output of its k-th transposed
convolution stage (after batch norm and ReLU; the last is the picture, after tanh); the VAE decoder's are its hidden
layers (after LeakyReLU) and then its output spectrum (log magnitude, de-normalised).
Unbent, both run exactly the model's own operations, so an unbent piece is byte-identical to one made without them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciel_node.bends import MAPS, SPECTRUM, UNITS, Bends, LayerBend, NetLayout
from ciel_node.generate.bend import bend_maps, bend_spectrum, bend_units
from ciel_node.generate.derived import derived
from ciel_node.models.audio_vae import LOG_FLOOR, SpectralVAE
from ciel_node.models.image_gan import Generator

log = logging.getLogger(__name__)

CLUSTER_SEED = 20210419  # every random choice here is fixed: same checkpoint ⇒ same clusters, same masks
CLUSTER_SAMPLES = 32  # latent points whose activations define each feature's pattern
FEATURES_VERSION = 2  # of the cached clusters' file (2: in derived.py's envelope)


def _stages(seq: nn.Sequential, ends: tuple[type[nn.Module], ...]) -> list[nn.Sequential]:
    """Cut a Sequential after every module of the `ends` types (the activations) and at its end."""
    stages, current = [], []
    for module in seq:
        current.append(module)
        if isinstance(module, ends):
            stages.append(nn.Sequential(*current))
            current = []
    if current:
        stages.append(nn.Sequential(*current))
    return stages


class _Instrument:
    net: str
    kinds: tuple[str, ...]
    sizes: tuple[int, ...]

    def __init__(self, clusters: tuple[tuple[int, ...], ...] | None) -> None:
        self._clusters = clusters
        self._masks: dict[tuple[int, tuple[str, float]], torch.Tensor | None] = {}

    @property
    def layout(self) -> NetLayout:
        """The layers and their feature clusters (computed at first use when they were not handed in)."""
        if self._clusters is None:
            self._clusters = self.clusters()
        return NetLayout(self.net, self.kinds, self.sizes, self._clusters)

    def clusters(self) -> tuple[tuple[int, ...], ...]:
        raise NotImplementedError

    def select(self, layer: int, bend: LayerBend) -> torch.Tensor | None:
        """The features a layer's bends touch: None for all, else a bool mask (fixed per layer and choice)."""
        key = (layer, bend.features)
        if key not in self._masks:
            mode, x = bend.features
            size = self.sizes[layer - 1]
            if mode == "all":
                mask = None
            elif mode == "random":  # the same permutation every time: a larger fraction adds features
                g = torch.Generator().manual_seed(CLUSTER_SEED + 1000 * (self.net == "sound") + layer)
                mask = torch.zeros(size, dtype=torch.bool)
                mask[torch.randperm(size, generator=g)[: round(x * size)]] = True
            else:
                mask = torch.tensor(self.layout.clusters[layer - 1]) == int(x)
            self._masks[key] = mask
        return self._masks[key]


class ImageInstrument(_Instrument):
    """The DCGAN generator, layer by layer, bendable."""

    net = "image"

    def __init__(self, generator: Generator, clusters: tuple[tuple[int, ...], ...] | None = None) -> None:
        super().__init__(clusters)
        self.generator = generator
        self.latent = generator.config.latent
        self.stages = _stages(generator.net, (nn.ReLU, nn.Tanh))
        self.sizes = tuple(int(s[0].out_channels) for s in self.stages)  # type: ignore[arg-type]
        self.kinds = tuple(MAPS for _ in self.sizes)

    def clusters(self) -> tuple[tuple[int, ...], ...]:
        return image_clusters(self)

    def activations(self, z: torch.Tensor, bends: Bends | None = None) -> list[torch.Tensor]:
        """(B, latent) -> every layer's output, bent: [(B, C1, 4, 4), ..., (B, 3, size, size)]."""
        per = bends.of("image") if bends else {}
        x, out = z[:, :, None, None], []
        for layer, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if layer in per:
                x = bend_maps(x, per[layer], self.select(layer, per[layer]))
            out.append(x)
        return out

    def __call__(self, z: torch.Tensor, bends: Bends | None = None) -> torch.Tensor:
        """(B, latent) -> (B, 3, size, size) in [-1, 1] (bent pictures may leave that range: the renderer clamps)."""
        if not bends or not bends.image:
            return self.generator(z)
        return self.activations(z, bends)[-1]


class SoundInstrument(_Instrument):
    """The VAE's decoder, layer by layer, bendable; the last layer is the spectrum."""

    net = "sound"

    def __init__(self, model: SpectralVAE, clusters: tuple[tuple[int, ...], ...] | None = None) -> None:
        super().__init__(clusters)
        self.model = model
        self.latent = model.config.latent
        self.stages = _stages(model.decoder, (nn.LeakyReLU,))
        self.sizes = tuple(int(s[0].out_features) for s in self.stages)  # type: ignore[arg-type]
        self.kinds = tuple([UNITS] * (len(self.sizes) - 1) + [SPECTRUM])

    def clusters(self) -> tuple[tuple[int, ...], ...]:
        return sound_clusters(self)

    def hidden(self, z: torch.Tensor, bends: Bends | None = None, upto: int | None = None) -> torch.Tensor:
        """(B, latent) -> the output of hidden layer `upto` (default: the last), bent."""
        per = bends.of("sound") if bends else {}
        x = z
        for layer, stage in enumerate(self.stages[: (upto or len(self.stages) - 1)], start=1):
            x = stage(x)
            if layer in per:
                x = bend_units(x, per[layer], self.select(layer, per[layer]))
        return x

    def finish(self, h: torch.Tensor, bends: Bends | None = None, start: int | None = None) -> torch.Tensor:
        """The layers from `start` + 1 on (default: the spectrum only) -> (B, F) log magnitude, bent."""
        per = bends.of("sound") if bends else {}
        start = len(self.stages) - 1 if start is None else start
        for layer, stage in enumerate(self.stages[start:], start=start + 1):
            h = stage(h)
            if layer < len(self.stages) and layer in per:
                h = bend_units(h, per[layer], self.select(layer, per[layer]))
        m = self.model
        y = h * m.bin_std + m.bin_mean
        last = len(self.stages)
        if last in per:
            y = bend_spectrum(y, per[last], self.select(last, per[last]), LOG_FLOOR)
        return y

    def decode(self, z: torch.Tensor, bends: Bends | None = None) -> torch.Tensor:
        """(B, latent) -> (B, F) natural-log magnitudes."""
        if not bends or not bends.sound:
            return self.model.decode(z)
        return self.finish(self.hidden(z, bends), bends)


# --- feature clusters -------------------------------------------------------------------------------------------
def kmeans(points: torch.Tensor, k: int, iterations: int = 50) -> tuple[int, ...]:
    """(N, D) -> a cluster id (1..k) per point: k-means++ seeding, Lloyd's iterations, all with a fixed seed.
    Clusters are numbered by their first member, so the numbering does not depend on the seeding's order."""
    n = points.shape[0]
    k = max(1, min(k, n))
    g = torch.Generator().manual_seed(CLUSTER_SEED)
    centres = points[torch.randint(n, (1,), generator=g)]
    for _ in range(1, k):
        d = torch.cdist(points, centres).amin(dim=1) ** 2
        total = float(d.sum())
        pick = torch.multinomial(d / total, 1, generator=g) if total > 0 else torch.randint(n, (1,), generator=g)
        centres = torch.cat([centres, points[pick]])
    labels = torch.zeros(n, dtype=torch.long)
    for _ in range(iterations):
        labels = torch.cdist(points, centres).argmin(dim=1)
        new = torch.stack([points[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
        if torch.equal(new, centres):
            break
        centres = new
    order: dict[int, int] = {}
    for lab in labels.tolist():
        order.setdefault(lab, len(order) + 1)
    return tuple(order[lab] for lab in labels.tolist())


def cluster_count(features: int) -> int:
    """How many clusters a layer gets: a handful a performer can step through (8 at most; 3 for an RGB picture)."""
    return features if features <= 4 else min(8, max(2, features // 8))


def _normalised(x: torch.Tensor) -> torch.Tensor:
    x = x - x.mean(dim=1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp(min=1e-8)


def image_clusters(inst: ImageInstrument) -> tuple[tuple[int, ...], ...]:
    """Per layer, features (channels) with alike spatial activation patterns over a fixed set of latent points, as
    in Broad et al.: each channel's maps for the sampled points (pooled to at most 16 x 16), flattened, k-means."""
    g = torch.Generator().manual_seed(CLUSTER_SEED)
    z = torch.randn(CLUSTER_SAMPLES, inst.latent, generator=g)
    with torch.inference_mode():
        acts = inst.activations(z)
    out = []
    for a in acts:  # (N, C, H, W)
        if a.shape[-1] > 16:
            a = torch.nn.functional.adaptive_avg_pool2d(a, 16)
        pattern = a.transpose(0, 1).reshape(a.shape[1], -1)  # (C, N*h*w)
        out.append(kmeans(_normalised(pattern.float()), cluster_count(a.shape[1])))
    return tuple(out)


def sound_clusters(inst: SoundInstrument) -> tuple[tuple[int, ...], ...]:
    """Hidden units by their effect on the output spectrum (the change when each is silenced, over a fixed set of
    latent points); the spectrum's bins by how they move together over those points."""
    g = torch.Generator().manual_seed(CLUSTER_SEED)
    z = torch.randn(CLUSTER_SAMPLES, inst.latent, generator=g)
    out = []
    with torch.inference_mode():
        for layer in range(1, len(inst.stages)):
            h = inst.hidden(z, upto=layer)  # (N, U)
            base = inst.finish(h, start=layer)  # (N, F)
            effects = []
            for j in range(h.shape[1]):
                silenced = h.clone()
                silenced[:, j] = 0
                effects.append((inst.finish(silenced, start=layer) - base).mean(0))
            out.append(kmeans(_normalised(torch.stack(effects)), cluster_count(h.shape[1])))
        spectrum = inst.decode(z).T  # (F, N)
        out.append(kmeans(_normalised(spectrum), cluster_count(spectrum.shape[0])))
    return tuple(out)


def cached_clusters(kind: str, checkpoint: Path, cache_dir: Path, build: Any) -> tuple[tuple[int, ...], ...]:
    """The clusters for this checkpoint (`bend-features-<kind>-<hash>.json`), beside it, in `cache_dir`, or built."""
    return derived(f"bend-features-{kind}", FEATURES_VERSION, checkpoint, cache_dir, build,
                   lambda c: [list(layer) for layer in c],
                   lambda data: tuple(tuple(int(v) for v in layer) for layer in data))
