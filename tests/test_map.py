"""Each net's map (the planes `/ciel/xy/<net>` move on): stored in a checkpoint by `ciel-node map --archive`, drawn
as pictures a performer reads (`ciel-node map`), kept through a dict. `crack`'s own map: tests/test_crack.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import make_checkpoints
from PIL import Image

from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.mappics import (
    IMAGE_H,
    IMAGE_W,
    PALETTE,
    PLOT,
    PLOT_X,
    PLOT_Y,
    SOUND_H,
    SOUND_W,
    TILE,
    grid_xy,
    image_picture,
    plot_box,
    sound_picture,
    tile_box,
)
from ciel_node.generate.place import NetMap, image_map, pca_map, sound_map, sound_map_of_frames
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import load_checkpoint
from ciel_node.models.image_gan import Generator

SR = 16000


def ciel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ciel_node", *args], capture_output=True, text=True, timeout=300)


def sound_archive(root: Path) -> list[str]:
    """Three audible files of different sound in two folders and a silent one: their names relative to root."""
    t = np.arange(2 * SR) / SR
    rng = np.random.default_rng(0)
    sounds = {
        "voice/tone.wav": 0.5 * np.sin(2 * np.pi * 440 * t),
        "voice/chirp.wav": 0.5 * np.sin(2 * np.pi * (200 + 1500 * t) * t),
        "noise/hiss.wav": 0.3 * rng.standard_normal(len(t)),
        "noise/silence.wav": np.zeros(len(t)),  # no audible frame: named, never a dot
    }
    for name, x in sounds.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, x.astype(np.float32), SR)
    return sorted(sounds)


def colours_in(picture: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    """The palette's colours present inside box (inclusive)."""
    left, top, right, bottom = box
    pixels = np.asarray(picture.convert("RGB"))[top:bottom + 1, left:right + 1].reshape(-1, 3)
    present = {tuple(int(v) for v in p) for p in np.unique(pixels, axis=0)}
    return present & set(PALETTE)


def test_a_map_survives_its_dict(tiny_checkpoints: tuple[Path, Path]) -> None:
    vae, _ = SpectralVAE.from_checkpoint(tiny_checkpoints[0])
    frames = torch.randn(300, vae.config.bins) - 3.0
    ids = np.repeat(np.arange(3), 100)
    m = sound_map_of_frames(vae, frames, ids, ("a.wav", "b/c.ogg", "d.amr"))
    assert len(m.points) == 300 and {p[2] for p in m.points} == {0, 1, 2}
    back = NetMap.from_dict(json.loads(json.dumps(m.as_dict())), "sound", vae.config.latent)  # as derived.py keeps it
    assert back == m and back.sources == ("a.wav", "b/c.ogg", "d.amr")
    with pytest.raises(ValueError, match="latent"):
        NetMap.from_dict(m.as_dict(), "sound", vae.config.latent + 1)


def test_the_sound_picture_puts_each_point_at_its_xy_in_its_file_colour() -> None:
    rng = np.random.default_rng(1)
    sources = tuple(f"file_{k:02d}.wav" for k in range(15))  # more files than colours: the colours repeat
    latents = rng.standard_normal((600, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
    m = pca_map("sound", "archive", latents, np.arange(600) % 15, sources)
    picture = sound_picture(m, "mine.pt")
    assert picture.size == (SOUND_W, SOUND_H)
    assert colours_in(picture, plot_box()) == set(PALETTE)
    few = pca_map("sound", "archive", latents, np.arange(600) % 3, sources[:3])
    assert len(colours_in(sound_picture(few, "mine.pt"), plot_box())) == 3
    # One point alone on a plane: it is drawn where its xy is (y up), in its file's colour.
    lone = NetMap("sound", "archive", ((1.0, 0.0), (0.0, 1.0)), (1.0, 1.0), (-1.0, -1.0), (1.0, 3.0),
                  ((0.5, 2.0, 1),), ("a.wav", "b.wav"))
    x, y = lone.xy((0.5, 2.0))
    assert (x, y) == (0.75, 0.75)
    pixels = np.asarray(sound_picture(lone, "mine.pt"))
    assert tuple(pixels[round(PLOT_Y + (1 - y) * PLOT), round(PLOT_X + x * PLOT)]) == PALETTE[1]
    assert tuple(pixels[round(PLOT_Y + y * PLOT), round(PLOT_X + x * PLOT)]) != PALETTE[1]  # not upside down


def test_the_image_picture_is_the_net_at_homes_across_the_plane(tiny_checkpoints: tuple[Path, Path]) -> None:
    gan, _ = Generator.from_checkpoint(tiny_checkpoints[1])
    m = image_map(gan, n=256)
    picture = np.asarray(image_picture(gan, m, "images.pt"))
    assert picture.shape == (IMAGE_H, IMAGE_W, 3)
    renderer = ImageRenderer(gan, size=TILE)
    tiles = {}
    for row, col in ((0, 0), (0, 5), (5, 0), (5, 5), (2, 3)):
        left, top, right, bottom = tile_box(row, col)
        tiles[row, col] = picture[top:bottom, left:right]
        home = m.home(grid_xy(row, col), ())
        expected = renderer.pixels(np.zeros(gan.config.latent) if home is None else home)
        assert np.array_equal(tiles[row, col], expected), (row, col)
    assert grid_xy(0, 0) == (0.0, 1.0) and grid_xy(5, 5) == (1.0, 0.0)
    assert not np.array_equal(tiles[0, 0], tiles[5, 5])  # the corners are far apart on the plane


def test_map_archive_stores_the_plane_and_changes_nothing_else(tmp_path: Path) -> None:
    audio, images = make_checkpoints(tmp_path / "checkpoints")
    vae, prov = SpectralVAE.from_checkpoint(audio)
    vae.save(audio, prov, {"other": {"kept": [1, 2]}})  # an extra entry of someone else's: map must keep it
    before = load_checkpoint(audio, "audio_vae")
    assert sound_map(vae, audio).source == "own sounds"
    flags = ["--audio-checkpoint", str(audio), "--image-checkpoint", str(images), "--out", str(tmp_path / "m.png")]

    plain = ciel("map", *flags)  # no map in the checkpoint: the net's own sounds, said once
    assert plain.returncode == 0, plain.stderr
    assert "has no map of its archive" in plain.stderr and "--archive" in plain.stderr
    assert plain.stdout.split() == [str(tmp_path / "m.sound.png"), str(tmp_path / "m.image.png")]
    with Image.open(tmp_path / "m.sound.png") as im:
        assert im.size == (SOUND_W, SOUND_H) and colours_in(im, plot_box()) == {PALETTE[0]}
    with Image.open(tmp_path / "m.image.png") as im:
        assert im.size == (IMAGE_W, IMAGE_H)
    assert load_checkpoint(audio, "audio_vae").get("extra") == {"other": {"kept": [1, 2]}}  # drawing stores nothing

    names = sound_archive(tmp_path / "phone")
    done = ciel("map", "--archive", str(tmp_path / "phone"), *flags)
    assert done.returncode == 0, done.stderr
    assert "stored the plane" in done.stderr and "has no map" not in done.stderr
    after = load_checkpoint(audio, "audio_vae")
    assert after["config"] == before["config"] and after["provenance"] == before["provenance"]
    assert after["weights"].keys() == before["weights"].keys()
    assert all(torch.equal(after["weights"][k], before["weights"][k]) for k in before["weights"])
    assert after["extra"]["other"] == {"kept": [1, 2]}
    m = sound_map(SpectralVAE.from_checkpoint(audio)[0], audio)
    assert m.source == "archive" and m.sources == tuple(names)
    assert {p[2] for p in m.points} == {names.index(n) for n in names if "silence" not in n}
    inside = [0 <= x <= 1 and 0 <= y <= 1 for x, y in (m.xy((p[0], p[1])) for p in m.points)]
    assert np.mean(inside) > 0.95  # the plane covers the archive's frames
    with Image.open(tmp_path / "m.sound.png") as im:
        assert len(colours_in(im, plot_box())) == 3  # one colour per audible file


def test_map_bad_paths_are_one_line_and_exit_2(tmp_path: Path) -> None:
    audio, images = make_checkpoints(tmp_path / "checkpoints")
    stored = audio.read_bytes()
    (tmp_path / "file").write_text("not a folder")
    good = ["--audio-checkpoint", str(audio), "--image-checkpoint", str(images)]
    cases = {
        "nope.pt does not exist": ["--audio-checkpoint", str(tmp_path / "nope.pt"), *good[2:]],
        f"{tmp_path / 'no-archive'} does not exist": [*good, "--archive", str(tmp_path / "no-archive")],
        "pass --out in a writable folder": [*good, "--out", str(tmp_path / "file" / "m.png")],
    }
    runs = {says: subprocess.Popen([sys.executable, "-m", "ciel_node", "map", "--out", str(tmp_path / "m.png"), *argv],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for says, argv in cases.items()}  # side by side: each is mostly torch's import
    for says, proc in runs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (says, err)
        assert err.startswith("ciel-node: error: ") and err.count("\n") == 1 and says in err, err
    assert audio.read_bytes() == stored
    assert not list(tmp_path.glob("m.*.png"))
