"""Steering the walks, as vocabulary: each net's place on its map (`/ciel/xy/<net> x y`) and its principal
directions (`/ciel/direction/<net>/<k> sd`), declared at start-up from the nets' maps; what a preset keeps; the
default mapping of Wekinator's outputs.

The maps themselves (directions, spreads, planes) and the homes these parameters give are generate/place.py's.
"""

from __future__ import annotations

from ciel_node.params import PREFIX, ParamSpec

NETS = ("sound", "image")
DIRECTION_SD = 4.0  # a direction knob's reach, in standard deviations of the net's material along it
GROUP = "direction"  # a piece's params["direction"]: the directions not at 0
# What a preset keeps and a recall glides (with the bends): every parameter whose name starts with one of these.
PRESET_KEEPS = ("xy_", "direction_", "bend_")
# Wekinator's outputs 1-5, in order: image x, image y, sound x, sound y, drift (issue 14's documented default).
WEKINATOR_DEFAULT = ("xy_image.1", "xy_image.2", "xy_sound.1", "xy_sound.2", "drift")


def xy_name(net: str) -> str:
    return f"xy_{net}"


def direction_name(net: str, k: int) -> str:
    return f"direction_{net}_{k}"


def declare(centres: dict[str, tuple[float, float]], counts: dict[str, int],
            sources: dict[str, str]) -> list[ParamSpec]:
    """Per net: its xy (default: where its map's plane crosses the prior's mean, so an unsteered node walks as it
    always did) and its `counts[net]` direction knobs."""
    specs = []
    for net in NETS:
        specs.append(ParamSpec(
            xy_name(net), "ff", f"the {net} walk's home on the 2-D map of {sources[net]} (0..1 each; `ciel-node map` "
            "draws it); drift wanders around it", (0.0, 0.0), (1.0, 1.0), centres[net], address=f"{PREFIX}xy/{net}",
        ))
    for net in NETS:
        for k in range(1, counts[net] + 1):
            specs.append(ParamSpec(
                direction_name(net, k), "f", f"the {net} walk's home moved along the {net} net's principal direction "
                f"{k}, in standard deviations of its material", -DIRECTION_SD, DIRECTION_SD, 0.0, unit="sd",
                address=f"{PREFIX}{GROUP}/{net}/{k}", group=GROUP,
            ))
    return specs
