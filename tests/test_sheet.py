"""`ciel-node bend-sheet`: the contact sheet of every bend on both nets, from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ciel_node.bends import transforms_for
from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.sheet import _tiles, strengths
from ciel_node.generate.walk import IMAGE_STREAM, origin
from ciel_node.models.image_gan import Generator


def test_the_sheet_shows_each_transform_at_its_strengths(tiny_checkpoints: tuple[Path, Path]) -> None:
    gan, _ = Generator.from_checkpoint(tiny_checkpoints[1])
    renderer = ImageRenderer(gan, size=64)
    z = origin(3, renderer.latent, IMAGE_STREAM)
    layout = renderer.instrument.layout
    blocks = _tiles(layout, lambda bends: renderer.pixels(z, bends))
    assert len(blocks) == layout.layers
    plain = renderer.pixels(z)
    for layer, rows in enumerate(blocks, start=1):
        names = [t.name for t in transforms_for(layout.kinds[layer - 1])]
        assert [len(row) for row in rows] == [1 + len(strengths(n, "maps")) for n in names]
        for name, row in zip(names, rows):
            assert row[0] == ("unbent", row[0][1]) and np.array_equal(row[0][1], plain)
            assert any(not np.array_equal(tile, plain) for _, tile in row[1:]), (layer, name)
    # On the picture itself (the last layer), flip_h is the mirror image of the unbent picture.
    flipped = dict(zip([t.name for t in transforms_for("maps")], blocks[-1]))["flip_h"][1][1]
    assert np.abs(flipped.astype(int) - plain[:, ::-1].astype(int)).max() <= 1


def test_bend_sheet_from_the_command_line(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    audio, images = tiny_checkpoints
    argv = [sys.executable, "-m", "ciel_node", "bend-sheet", "--audio-checkpoint", str(audio),
            "--image-checkpoint", str(images), "--out", str(tmp_path / "sheets" / "bends.png")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for kind in ("image", "sound"):
        path = tmp_path / "sheets" / f"bends.{kind}.png"
        assert str(path) in done.stdout
        with Image.open(path) as im:
            assert im.width > 500 and im.height > 300
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    done = subprocess.run([*argv[:-1], str(blocked / "bends.png")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "pass --out" in done.stderr, done.stderr
