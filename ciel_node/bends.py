"""Network bending, as vocabulary: which transforms each kind of layer takes, their neutral values, and the declared
parameters of a net's layers (`/ciel/bend/<net>/<layer>/<transform>`), parsed back into the bends in force.

The transforms themselves (torch, per layer) are generate/bend.py's; which layers a net has, and their feature
clusters, come from generate/instrument.py. This module imports only params.py: the OSC surface, the store and
the renderers in every process share it.

After Broad, Leymarie & Grierson, "Network Bending: Expressive Manipulation of Deep Generative Models"
(EvoMUSART 2021) and its extension to a spectrogram VAE (Entropy 24(1):28, 2022).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ciel_node.params import PREFIX, WRITE, ParamError, ParamSpec, Value, number, rewrite_block

GROUP = "bend"  # /ciel/bend/...; a piece's params["bend"]
NETS = ("image", "sound")
# What a layer is, for which transforms it takes: a picture-like stack of feature maps (the DCGAN's stages, the
# picture itself), a vector of hidden units (the VAE decoder's hidden layers), the output spectrum (log magnitude).
MAPS, UNITS, SPECTRUM = "maps", "units", "spectrum"
FEATURE_MODES = ("all", "random", "cluster")
FEATURES_DEFAULT = ("all", 0.5)  # `random` without a fraction bends half the features


@dataclass(frozen=True)
class Transform:
    """One transform: its OSC types, range, neutral value (off), and the kinds of layer that take it."""

    name: str
    types: str
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    neutral: tuple[float, ...]
    on: tuple[str, ...]
    description: str
    unit: str = ""

    def neutral_value(self) -> Value:
        return self.neutral[0] if len(self.neutral) == 1 else self.neutral


# In the order they apply when several bend one layer: where features are (the geometry), then what they are.
TRANSFORMS: tuple[Transform, ...] = (
    Transform("translate", "ff", (-1.0, -1.0), (1.0, 1.0), (0.0, 0.0), (MAPS,),
              "shift x, y by a fraction of the map (±1 moves it off entirely; zeros come in)"),
    Transform("translate", "f", (-1.0,), (1.0,), (0.0,), (SPECTRUM,),
              "shift the spectrum along frequency by a fraction of its bins (+ up)"),
    Transform("scale", "f", (0.25,), (4.0,), (1.0,), (MAPS, SPECTRUM),
              "zoom about the centre (a spectrum: stretch from 0 Hz); 1 = off"),
    Transform("rotate", "f", (-180.0,), (180.0,), (0.0,), (MAPS,), "rotate about the centre, in degrees",
              unit="deg"),
    Transform("flip_h", "i", (0,), (1,), (0,), (MAPS,), "mirror left-right"),
    Transform("flip_v", "i", (0,), (1,), (0,), (MAPS, SPECTRUM), "mirror top-bottom (a spectrum: low ↔ high)"),
    Transform("erode", "i", (0,), (8,), (0,), (MAPS, SPECTRUM),
              "morphological erosion (local minimum) of this radius, in pixels or bins"),
    Transform("dilate", "i", (0,), (8,), (0,), (MAPS, SPECTRUM),
              "morphological dilation (local maximum) of this radius, in pixels or bins"),
    Transform("multiply", "f", (-4.0,), (4.0,), (1.0,), (MAPS, UNITS),
              "scale the activations (negative values invert their sign)"),
    Transform("multiply", "f", (0.0,), (8.0,), (1.0,), (SPECTRUM,),
              "gain on the magnitudes (an EQ on the chosen bins)"),
    Transform("threshold", "f", (0.0,), (1.0,), (0.0,), (MAPS, UNITS, SPECTRUM),
              "binary: at or above this fraction of each map's (frame's) range → its maximum, below → its minimum"),
    Transform("invert", "i", (0,), (1,), (0,), (MAPS, UNITS, SPECTRUM),
              "mirror the values within each map's (frame's) range: loud ↔ quiet"),
    Transform("ablate", "f", (0.0,), (1.0,), (0.0,), (MAPS, UNITS, SPECTRUM),
              "fade the chosen features out (1 = zero; a spectrum: silence)"),
)
ORDER = tuple(dict.fromkeys(t.name for t in TRANSFORMS))  # application order, by name


def transforms_for(kind: str) -> list[Transform]:
    return [t for t in TRANSFORMS if kind in t.on]


@dataclass(frozen=True)
class NetLayout:
    """A net's bendable layers, from the latent side: the kind of each, how many features it has (channels, units
    or bins) and which feature cluster each feature belongs to (ids from 1). Small and picklable: the render and
    sound processes get it with their checkpoint paths, so they bend exactly as the node declared."""

    net: str
    kinds: tuple[str, ...]
    sizes: tuple[int, ...]
    clusters: tuple[tuple[int, ...], ...]  # per layer: the cluster id of each feature

    @property
    def layers(self) -> int:
        return len(self.kinds)

    def cluster_count(self, layer: int) -> int:
        """Clusters of layer `layer` (from 1)."""
        return max(self.clusters[layer - 1], default=0)


def name_of(net: str, layer: int, what: str) -> str:
    return f"bend_{net}_{layer}_{what}"


def declare(layouts: list[NetLayout]) -> list[ParamSpec]:
    """The declared parameters of these nets' bends: per layer, its transforms and its features; and the clears."""
    specs: list[ParamSpec] = []
    for layout in layouts:
        for layer, kind in enumerate(layout.kinds, start=1):
            where = f"{PREFIX}{GROUP}/{layout.net}/{layer}"
            what = {MAPS: "feature maps", UNITS: "hidden units", SPECTRUM: "output spectrum"}[kind]
            for t in transforms_for(kind):
                specs.append(ParamSpec(
                    name_of(layout.net, layer, t.name), t.types,
                    f"{layout.net} net, layer {layer} ({what}, {layout.sizes[layer - 1]}): {t.description}",
                    t.lo, t.hi, t.neutral, unit=t.unit, address=f"{where}/{t.name}", group=GROUP,
                ))
            k = layout.cluster_count(layer)
            specs.append(ParamSpec(
                name_of(layout.net, layer, "features"), "sf",
                f"which of layer {layer}'s {layout.sizes[layer - 1]} features its bends touch: all, random "
                f"<fraction 0..1> (the same ones every time), cluster <1..{k}> (features that act alike)",
                ("", 0.0), ("", float(k)), FEATURES_DEFAULT, clip="none", choices=FEATURE_MODES, optional=1,
                check=partial(_check_features, k), address=f"{where}/features", group=GROUP,
            ))
    clear = f"{PREFIX}{GROUP}/clear"
    specs.append(ParamSpec("bend_clear", "", "every bend back to neutral: the unbent nets", access=WRITE,
                           persist=False, manifest=False, resets="bend_", address=clear))
    for layout in layouts:
        specs.append(ParamSpec(f"bend_{layout.net}_clear", "", f"every {layout.net} bend back to neutral",
                               access=WRITE, persist=False, manifest=False, resets=f"bend_{layout.net}_",
                               address=f"{PREFIX}{GROUP}/{layout.net}/clear"))
    return specs


def _check_features(clusters: int, value: Any) -> tuple[str, float]:
    mode, x = value
    if mode == "all":
        return FEATURES_DEFAULT
    if mode == "random":
        return ("random", min(1.0, max(0.0, x)))
    if not float(x).is_integer() or not 1 <= x <= clusters:
        raise ParamError(f"cluster {number(x)} does not exist: this layer has clusters 1..{clusters}")
    return ("cluster", float(x))


@dataclass(frozen=True)
class LayerBend:
    """The bends in force on one layer: the non-neutral transforms in application order, and the features."""

    ops: tuple[tuple[str, tuple[float, ...]], ...]
    features: tuple[str, float] = FEATURES_DEFAULT


@dataclass(frozen=True)
class Bends:
    """Every bend in force, per net and layer (from 1); only bent layers are listed. Hashable: a cache key."""

    image: tuple[tuple[int, LayerBend], ...] = ()
    sound: tuple[tuple[int, LayerBend], ...] = ()

    def of(self, net: str) -> dict[int, LayerBend]:
        return dict(self.image if net == "image" else self.sound)

    def __bool__(self) -> bool:
        return bool(self.image or self.sound)

    @classmethod
    def parse(cls, values: dict[str, Value]) -> Bends:
        """From a controls snapshot's values (`bend_<net>_<layer>_<transform>` entries); others are ignored."""
        found: dict[tuple[str, int], dict[str, Any]] = {}
        for name, value in values.items():
            if not name.startswith("bend_"):
                continue
            _, net, number, what = name.split("_", 3)
            found.setdefault((net, int(number)), {})[what] = value
        per: dict[str, list[tuple[int, LayerBend]]] = {net: [] for net in NETS}
        for (net, layer), entries in sorted(found.items()):
            ops = tuple((t, _floats(entries[t])) for t in ORDER if t in entries and not _neutral(t, entries[t]))
            if ops:
                per[net].append((layer, LayerBend(ops, tuple(entries.get("features", FEATURES_DEFAULT)))))  # type: ignore[arg-type]
        return cls(tuple(per["image"]), tuple(per["sound"]))


_NEUTRAL = {(t.name, len(t.types)): t.neutral for t in TRANSFORMS}  # translate: ff on maps, f on a spectrum


def _floats(value: Value) -> tuple[float, ...]:
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else (float(value),)


def _neutral(name: str, value: Value) -> bool:
    got = _floats(value)
    return got == _NEUTRAL[(name, len(got))]


def markdown() -> str:
    """The README's table of transforms, generated: in the order they apply on one layer."""
    kinds = {MAPS: "image layers", UNITS: "sound hidden layers", SPECTRUM: "sound spectrum (last layer)"}
    rows = ["| transform | args | range | off | on | what it does |", "|---|---|---|---|---|---|"]
    for t in TRANSFORMS:
        span = " ".join(f"{number(lo)}..{number(hi)}" for lo, hi in zip(t.lo, t.hi))
        rows.append(f"| `{t.name}` | `{t.types}` | {span} | {' '.join(number(v) for v in t.neutral)} | "
                    f"{', '.join(kinds[k] for k in t.on)} | {t.description} |")
    return "\n".join(rows) + "\n"


def update_readme(path: Path) -> bool:
    """The README's transforms table (`<!-- bends:begin -->` ... `<!-- bends:end -->`); True if it changed."""
    return rewrite_block(path, "bends", markdown())


if __name__ == "__main__":  # python -m ciel_node.bends [--readme README.md]: the transforms table
    if sys.argv[1:2] == ["--readme"]:
        print("updated" if update_readme(Path(sys.argv[2])) else "up to date", sys.argv[2])
    else:
        print(markdown(), end="")
