"""The bend sheet: one latent point of each net under every transform at a few strengths, on every layer, as one
picture a performer can read before reaching for a knob (`ciel-node bend-sheet`).

Image net: a block per layer, a row per transform, the unbent picture first and then the strengths. Sound net: the
same, with the decoded spectrogram of a short walk (low frequencies at the bottom) in place of the picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ciel_node.bends import NetLayout, transforms_for
from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.image import ImageRenderer
from ciel_node.params import number

# Strengths shown per transform (the first is the gentlest); toggles have one.
STRENGTHS: dict[str, tuple[object, ...]] = {
    "translate": ((0.25, 0.0), (0.5, 0.25), (-0.5, 0.5)), "scale": (0.5, 1.5, 3.0), "rotate": (30.0, 90.0, 180.0),
    "flip_h": (1,), "flip_v": (1,), "erode": (1, 2, 4), "dilate": (1, 2, 4), "multiply": (-1.0, 2.0, 4.0),
    "threshold": (0.25, 0.5, 0.75), "invert": (1,), "ablate": (0.5, 0.9, 1.0),
}
SPECTRUM_STRENGTHS: dict[str, tuple[object, ...]] = {
    "translate": (0.1, 0.3, -0.3), "scale": (0.5, 1.5, 2.0), "multiply": (0.25, 2.0, 8.0),
}
TILE, LABEL_W, GAP = 96, 92, 6


def _value(name: str, kind: str, strength: object) -> object:
    if kind == "spectrum" and name == "translate":
        return strength
    if name == "translate":
        return tuple(strength)  # type: ignore[arg-type]
    return strength


def strengths(name: str, kind: str) -> tuple[object, ...]:
    return (SPECTRUM_STRENGTHS if kind == "spectrum" else {}).get(name, STRENGTHS[name])


def _tiles(layout: NetLayout, render: object) -> list[list[list[tuple[str, np.ndarray]]]]:
    """Per layer, per transform: [(label, tile), ...], the unbent tile first."""
    from ciel_node.bends import Bends, LayerBend

    blocks = []
    plain = render(None)  # type: ignore[operator]
    for layer, kind in enumerate(layout.kinds, start=1):
        rows = []
        for t in transforms_for(kind):
            row = [("unbent", plain)]
            for s in strengths(t.name, kind):
                v = _value(t.name, kind, s)
                values = tuple(float(x) for x in (v if isinstance(v, tuple) else (v,)))
                bend = Bends(**{layout.net: ((layer, LayerBend(((t.name, values),))),)})  # type: ignore[arg-type]
                row.append((" ".join(number(x) for x in values), render(bend)))  # type: ignore[operator]
            rows.append(row)
        blocks.append(rows)
    return blocks


def _sheet(title: str, layout: NetLayout, blocks: list[list[list[tuple[str, np.ndarray]]]]) -> Image.Image:
    font = ImageFont.load_default()
    cols = 1 + max(len(row) - 1 for rows in blocks for row in rows)
    block_w = LABEL_W + cols * (TILE + GAP)
    rows_max = max(len(rows) for rows in blocks)
    head = 40
    sheet = Image.new("RGB", (len(blocks) * (block_w + 2 * GAP), head + rows_max * (TILE + 14 + GAP)), "black")
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP, 4), title, fill="white", font=font)
    for b, rows in enumerate(blocks):
        x0 = b * (block_w + 2 * GAP) + GAP
        kind = layout.kinds[b]
        draw.text((x0, 20), f"layer {b + 1}: {kind}, {layout.sizes[b]}", fill="white", font=font)
        for r, (row, t) in enumerate(zip(rows, transforms_for(kind))):
            y0 = head + r * (TILE + 14 + GAP)
            draw.text((x0, y0 + TILE // 2), t.name, fill="white", font=font)
            for c, (label, tile) in enumerate(row):
                x = x0 + LABEL_W + c * (TILE + GAP)
                sheet.paste(Image.fromarray(tile).resize((TILE, TILE), Image.Resampling.NEAREST), (x, y0))
                draw.text((x, y0 + TILE + 1), label, fill="grey", font=font)
    return sheet


def image_sheet(renderer: ImageRenderer, seed: int) -> Image.Image:
    z = walk.origin(seed, renderer.latent, walk.IMAGE_STREAM)
    blocks = _tiles(renderer.instrument.layout, lambda bends: renderer.pixels(z, bends))
    return _sheet(f"image net: seed {seed}, every transform on every layer (all features)",
                  renderer.instrument.layout, blocks)


def sound_sheet(renderer: AudioRenderer, seed: int, seconds: float = 2.0) -> Image.Image:
    z0 = walk.origin(seed, renderer.latent, walk.AUDIO_STREAM)
    rng = walk.piece_rng(seed, 0, walk.AUDIO_STREAM)
    trajectory = walk.audio_trajectory(z0, 0.5, seconds, renderer.frame_rate, rng)
    with torch.inference_mode():
        plain = renderer.instrument.decode(torch.from_numpy(trajectory.astype(np.float32)))
    lo, hi = float(plain.min()), float(plain.max())

    def spectrogram(bends: object) -> np.ndarray:
        with torch.inference_mode():
            log_mag = renderer.instrument.decode(torch.from_numpy(trajectory.astype(np.float32)), bends)  # type: ignore[arg-type]
        x = ((log_mag.T.flip(0).numpy() - lo) / max(hi - lo, 1e-6)).clip(0, 1)  # (F, T), low bins at the bottom
        return (np.stack([x**0.5, x, x**2], axis=-1) * 255).astype(np.uint8)  # a warm ramp

    blocks = _tiles(renderer.instrument.layout, spectrogram)
    return _sheet(f"sound net: seed {seed}, a {seconds:g} s walk, every transform on every layer (all features)",
                  renderer.instrument.layout, blocks)


def write_sheets(audio: AudioRenderer, image: ImageRenderer, seed: int, out: Path) -> list[Path]:
    """`out`.image.png and `out`.sound.png (for out = bends.png: bends.image.png, bends.sound.png)."""
    paths = [out.with_suffix(".image.png"), out.with_suffix(".sound.png")]
    out.parent.mkdir(parents=True, exist_ok=True)
    image_sheet(image, seed).save(paths[0])
    sound_sheet(audio, seed).save(paths[1])
    return paths
