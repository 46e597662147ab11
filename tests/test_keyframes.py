"""Keyframes (issue 15, item 2): each piece's picture moved through the piece by its sound, one strip of skies.

The page's side (the sky switching on the sound's clock) is tests/test_browser.py::test_keyframes_move_the_sky_on_the_
sounds_clock; here the node's: the points, the strip, the piece, the manifest and retention.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ciel_node.config import PACKAGE_ROOT
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.keyframes import MAX_OFFSET, keyframe_points, keyframe_times
from ciel_node.generate.piece import Composer
from ciel_node.generate.synaesthesia import CrossMap
from ciel_node.generate.walk import LivePoint
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.image_gan import Generator
from ciel_node.publish.media import MediaStore
from ciel_node.state import Controls

RATE = 16000
SHIPPED = (PACKAGE_ROOT / "checkpoints" / "audio.pt", PACKAGE_ROOT / "checkpoints" / "images.pt")


def _swell(rate: int) -> np.ndarray:
    """Two seconds of noise: quiet, then 20 dB louder."""
    x = np.random.default_rng(3).standard_normal(2 * rate) * 0.02
    x[rate:] *= 10.0
    return x.astype(np.float32)


def test_points_pulse_with_loudness_stay_near_the_piece_and_are_the_same_for_the_same_sound() -> None:
    crossmap = CrossMap.default(8, 32, "a", "b")
    rng = np.random.default_rng(0)
    home = rng.standard_normal(32)
    point = home + 5.0 * rng.standard_normal(32) / np.sqrt(32)
    sound = _swell(RATE)
    points = keyframe_points(sound, RATE, point, home, crossmap, 6, 1.0)
    assert points.shape == (6, 32)
    out = np.linalg.norm(points - home, axis=1)
    assert out[3:].min() > out[:3].max()  # the loud half further from home than the quiet half
    assert np.linalg.norm(points - point, axis=1).max() <= MAX_OFFSET + 1e-9  # the piece's own picture, moved
    halfway = keyframe_points(sound, RATE, point, home, crossmap, 6, 0.5)
    assert np.allclose(halfway - point, 0.5 * (points - point))  # synaesthesia scales the motion
    assert np.array_equal(keyframe_points(sound, RATE, point, home, crossmap, 6, 0.0), np.tile(point, (6, 1)))
    assert np.array_equal(keyframe_points(sound.copy(), RATE, point.copy(), home, crossmap, 6, 1.0), points)
    assert np.isfinite(keyframe_points(np.zeros(RATE, np.float32), RATE, home, home, crossmap, 3, 1.0)).all()
    assert keyframe_times(4.0, 4) == [0.0, 1.0, 2.0, 3.0]


def _composer() -> Composer:
    vae, _ = SpectralVAE.from_checkpoint(SHIPPED[0])
    gen, _ = Generator.from_checkpoint(SHIPPED[1])
    return Composer(AudioRenderer(vae), ImageRenderer(gen))


def test_a_piece_lists_its_keyframes_only_with_synaesthesia_and_they_never_change_its_picture() -> None:
    c = _composer()
    _, state = c.compose(c.start(5), Controls(seed=5, interval=1.0))
    played = LivePoint(seed=5, audio_z=tuple(np.zeros(c.audio.latent)))
    sound = _swell(c.audio.sample_rate)

    def piece(**controls: float):  # the live path: a piece around sound that already played
        return c.assemble(state, Controls(seed=5, interval=2.0, **controls), sound, played)[0]  # type: ignore[arg-type]

    off = piece(synaesthesia=0.0)
    assert (off.keyframes, off.keyframe_times) == (b"", ())  # 0: the node before synaesthesia
    none = piece(synaesthesia=1.0, keyframes=0)
    assert (none.keyframes, none.keyframe_times) == (b"", ())
    five = piece(synaesthesia=1.0, keyframes=5)
    assert five.keyframe_times == (0.0, 0.4, 0.8, 1.2, 1.6)  # the start of each fifth of the 2 s sound
    assert (five.image, five.sky) == (none.image, none.sky)  # the piece's own picture is the same
    strip = Image.open(io.BytesIO(five.keyframes))
    strip.load()
    w, h = strip.size
    assert (strip.format, strip.mode, h % 5, w) == ("WEBP", "RGBA", 0, 2 * h // 5)  # five 2:1 skies
    cells = np.asarray(strip.convert("RGB"), dtype=np.float64).reshape(5, h // 5, w, 3)
    assert np.abs(cells[4] - cells[0]).mean() > 5.0  # the swell moves the sky (8-bit levels)
    alpha = np.asarray(strip)[..., 3].reshape(5, h // 5, w)
    assert alpha[:, 0, 0].max() == 0 and alpha[:, h // 10, w // 2].min() == 255  # each an oval: clear corners
    assert piece(synaesthesia=1.0, keyframes=5).keyframes == five.keyframes  # the same sound: the same bytes


def test_the_strip_is_published_with_its_piece_and_leaves_with_it(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, keep_pieces=1)
    meta = {"created_at": 1.0, "duration_s": 2.0, "keyframe_times": [0.0, 1.0]}
    first = store.publish({"image": (b"i1", ".webp"), "sky": (b"s1", ".webp"), "audio": (b"a1", ".mp3"),
                           "keyframes": (b"k1", ".webp")}, meta)
    strip = tmp_path / "media" / first["keyframes"]
    assert strip.read_bytes() == b"k1" and first["keyframe_times"] == [0.0, 1.0]
    store.publish({"image": (b"i2", ".webp"), "sky": (b"s2", ".webp"), "audio": (b"a2", ".mp3")}, {"created_at": 2.0})
    assert not strip.exists()  # retention takes the strip with its piece
    reopened = MediaStore(tmp_path, keep_pieces=1)
    assert reopened.latest() is not None and "keyframes" not in reopened.latest()  # type: ignore[operator]


@pytest.mark.parametrize("times", ["0,1", [0, "1"], [0, float("inf")], list(range(65))])
def test_a_manifest_line_with_bad_keyframe_times_is_not_a_piece(tmp_path: Path, times: object) -> None:
    store = MediaStore(tmp_path)
    good = store.publish({"image": (b"i", ".webp"), "sky": (b"s", ".webp"), "audio": (b"a", ".mp3")},
                         {"created_at": 1.0})
    bad = {**good, "seq": good["seq"] + 1, "keyframe_times": times}
    with (tmp_path / "manifest.jsonl").open("a") as f:
        f.write(json.dumps(bad) + "\n")
    assert MediaStore(tmp_path).latest()["seq"] == good["seq"]  # type: ignore[index]
