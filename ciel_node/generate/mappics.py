"""Pictures of the two nets' maps, for a performer to read before steering (`crack` and `ciel-node map` write them).

Sound: the archive's frames as dots on the plane `/ciel/xy/sound x y` moves the home on, coloured by the file they
came from. Image: a grid of the pictures the net makes at homes across the plane `/ciel/xy/image x y` moves on.
Both in xy units (0..1 each, y up), the default home (where an unsteered walk stays) marked. Pillow and its built-in
font only: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.place import NetMap
from ciel_node.models.image_gan import Generator

# Distinct on white and from the black/grey of text, axes and grid (Tableau 10 and two more).
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (0, 0, 128), (128, 0, 0))
LEGEND = 12  # source files named in the legend; the rest are "+N more"
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)

# Sound picture: a square plot of the plane, the legend to its right.
SOUND_W, SOUND_H = 1000, 760
PLOT_X, PLOT_Y, PLOT = 80, 84, 600  # the plot's left, top and side in pixels: xy (0, 1) is its top-left corner
DOT = 2  # dot radius

# Image picture: GRID x GRID pictures at xy = k / (GRID - 1).
GRID, TILE, GAP = 6, 112, 4
GRID_X, GRID_Y = 80, 92
IMAGE_W = max(GRID_X + GRID * (TILE + GAP) + 40, 800)
IMAGE_H = GRID_Y + GRID * (TILE + GAP) + 60

INK, FAINT, GRIDLINE = (0, 0, 0), (90, 90, 90), (225, 225, 225)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3):]


def _home_mark(draw: ImageDraw.ImageDraw, x: float, y: float, colour: tuple[int, int, int] = INK) -> None:
    """A ringed cross: the default home."""
    draw.ellipse((x - 9, y - 9, x + 9, y + 9), outline=colour, width=2)
    draw.line((x - 14, y, x + 14, y), fill=colour, width=2)
    draw.line((x, y - 14, x, y + 14), fill=colour, width=2)


def plot_box() -> tuple[int, int, int, int]:
    """The sound picture's plot area (left, top, right, bottom), inclusive: where the dots are."""
    return PLOT_X, PLOT_Y, PLOT_X + PLOT, PLOT_Y + PLOT


def sound_picture(m: NetMap, name: str) -> Image.Image:
    """The sound plane with the material's points as dots, coloured by source file, in xy units."""
    sheet = Image.new("RGB", (SOUND_W, SOUND_H), "white")
    draw = ImageDraw.Draw(sheet)
    big, small = _font(18), _font(13)
    cx, cy = m.centre
    if m.source == "archive":
        what = f"the archive's own sound, {len(m.points):,} of its frames through the encoder"
    else:
        what = "the net's own sounds (the checkpoint has no map of its archive)"
    draw.text((16, 10), f"Sound map of {name}: {what}", fill=INK, font=big)
    draw.text((16, 38), f"/ciel/xy/sound x y (0..1 each) puts the sound walk's home on this plane; drift wanders "
                        f"around it. The ringed cross: the default home, x {cx:.2f} y {cy:.2f}.", fill=INK, font=small)
    draw.text((16, 56), "Axes: the first two principal directions of the material (/ciel/direction/sound/1 and /2 "
                        "nudge along them).", fill=FAINT, font=small)

    def px(x: float, y: float) -> tuple[float, float]:
        return PLOT_X + x * PLOT, PLOT_Y + (1.0 - y) * PLOT

    for t in TICKS:
        x0, y0 = px(t, t)
        draw.line((x0, PLOT_Y, x0, PLOT_Y + PLOT), fill=GRIDLINE)
        draw.line((PLOT_X, y0, PLOT_X + PLOT, y0), fill=GRIDLINE)
        draw.text((x0, PLOT_Y + PLOT + 6), f"{t:g}", fill=INK, font=small, anchor="mt")
        draw.text((PLOT_X - 8, y0), f"{t:g}", fill=INK, font=small, anchor="rm")
    draw.text((PLOT_X + PLOT / 2, PLOT_Y + PLOT + 24), "x", fill=INK, font=big, anchor="mt")
    draw.text((PLOT_X - 40, PLOT_Y + PLOT / 2), "y", fill=INK, font=big, anchor="rm")

    outside = 0
    order = np.random.default_rng(0).permutation(len(m.points))  # interleaved: no file is drawn over all others
    for i in order:
        c1, c2, source = m.points[i]
        x, y = m.xy((c1, c2))
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            outside += 1
            continue
        u, v = px(x, y)
        draw.ellipse((u - DOT, v - DOT, u + DOT, v + DOT), fill=PALETTE[source % len(PALETTE)])
    draw.rectangle((PLOT_X, PLOT_Y, PLOT_X + PLOT, PLOT_Y + PLOT), outline=INK)
    _home_mark(draw, *px(cx, cy))
    if outside:
        draw.text((PLOT_X, SOUND_H - 22), f"{outside} points beyond the plane's edge (its extreme 1 % each side) not "
                                          "shown", fill=FAINT, font=small)

    lx, ly = PLOT_X + PLOT + 30, PLOT_Y
    if m.sources:
        counts = np.bincount(np.asarray([p[2] for p in m.points], dtype=np.int64), minlength=len(m.sources))
        draw.text((lx, ly), f"{len(m.sources)} source files (dots per file)", fill=INK, font=small)
        for k, source_name in enumerate(m.sources[:LEGEND]):
            y = ly + 24 + 20 * k
            draw.rectangle((lx, y, lx + 12, y + 12), fill=PALETTE[k % len(PALETTE)])
            draw.text((lx + 20, y - 1), f"{_short(source_name, 30)} ({counts[k]})", fill=INK, font=small)
        if len(m.sources) > LEGEND:
            draw.text((lx, ly + 28 + 20 * LEGEND), f"+{len(m.sources) - LEGEND} more (the colours repeat)",
                      fill=INK, font=small)
    else:
        draw.rectangle((lx, ly + 2, lx + 12, ly + 14), fill=PALETTE[0])
        draw.text((lx + 20, ly), "the net's own sounds", fill=INK, font=small)
        draw.text((lx, ly + 24), "ciel-node map --archive DIR", fill=FAINT, font=small)
        draw.text((lx, ly + 42), "stores its archive's plane", fill=FAINT, font=small)
    return sheet


def grid_xy(row: int, col: int) -> tuple[float, float]:
    """The xy of the image picture's tile at (row, col): x grows to the right, y upwards (row 0 is y = 1)."""
    return col / (GRID - 1), 1.0 - row / (GRID - 1)


def tile_box(row: int, col: int) -> tuple[int, int, int, int]:
    """The image picture's tile at (row, col), as (left, top, right, bottom), right and bottom excluded."""
    x, y = GRID_X + col * (TILE + GAP), GRID_Y + row * (TILE + GAP)
    return x, y, x + TILE, y + TILE


def image_picture(generator: Generator, m: NetMap, name: str) -> Image.Image:
    """A GRID x GRID sheet of the pictures made at homes across the image plane, labelled in xy."""
    renderer = ImageRenderer(generator, size=TILE, sky_height=8)  # the sky is not shown: a tiny warp
    sheet = Image.new("RGB", (IMAGE_W, IMAGE_H), "white")
    draw = ImageDraw.Draw(sheet)
    big, small = _font(18), _font(13)
    cx, cy = m.centre
    draw.text((16, 10), f"Image map of {name}: the pictures at homes across its GANSpace plane", fill=INK, font=big)
    draw.text((16, 38), "/ciel/xy/image x y (0..1 each) puts the image walk's home at a tile; drift wanders around "
                        "it.", fill=INK, font=small)
    draw.text((16, 56), f"The ringed cross: the default home, x {cx:.2f} y {cy:.2f}.", fill=INK, font=small)
    draw.text((16, 72), "Axes: the generator's first two principal directions (/ciel/direction/image/1 and /2 nudge "
                        "along them).", fill=FAINT, font=small)
    for row in range(GRID):
        for col in range(GRID):
            xy = grid_xy(row, col)
            home = m.home(xy, ())
            z = np.zeros(generator.config.latent) if home is None else home
            left, top, _, _ = tile_box(row, col)
            sheet.paste(Image.fromarray(renderer.pixels(z)), (left, top))
    for k in range(GRID):
        x = tile_box(0, k)[0] + TILE / 2
        draw.text((x, GRID_Y + GRID * (TILE + GAP) + 2), f"{grid_xy(0, k)[0]:.1f}", fill=INK, font=small, anchor="mt")
        y = tile_box(k, 0)[1] + TILE / 2
        draw.text((GRID_X - 8, y), f"{grid_xy(k, 0)[1]:.1f}", fill=INK, font=small, anchor="rm")
    draw.text((GRID_X + GRID * (TILE + GAP) / 2, GRID_Y + GRID * (TILE + GAP) + 22), "x", fill=INK, font=big,
              anchor="mt")
    draw.text((GRID_X - 44, GRID_Y + GRID * (TILE + GAP) / 2), "y", fill=INK, font=big, anchor="rm")
    # The default home, placed between the tiles' centres as xy places it (white under black: seen on any picture).
    step = (GRID - 1) * (TILE + GAP)
    hx, hy = GRID_X + TILE / 2 + cx * step, GRID_Y + TILE / 2 + (1.0 - cy) * step
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        _home_mark(draw, hx + dx, hy + dy, (255, 255, 255))
    _home_mark(draw, hx, hy)
    return sheet
