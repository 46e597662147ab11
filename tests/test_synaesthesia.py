"""Synaesthesia (issue 15, item 1 with the default map): a piece's picture pulled toward the point its sound names."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool
from nodes import node_config, running_node, until
from PIL import Image

from ciel_node.config import PACKAGE_ROOT
from ciel_node.generate import piece as piece_module
from ciel_node.generate.audio import AudioRenderer
from ciel_node.generate.image import ImageRenderer
from ciel_node.generate.piece import Composer, RenderedPiece
from ciel_node.generate.synaesthesia import CrossMap, descriptors, pull
from ciel_node.generate.walk import LivePoint
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.image_gan import Generator
from ciel_node.state import Controls

RATE = 16000
# The shipped nets: the tiny test generator draws nearly the same picture for any point (0.3/255 apart).
SHIPPED = (PACKAGE_ROOT / "checkpoints" / "audio.pt", PACKAGE_ROOT / "checkpoints" / "images.pt")


def _composer(ckpts: tuple[Path, Path], crossmap: CrossMap | None = None) -> Composer:
    vae, _ = SpectralVAE.from_checkpoint(ckpts[0])
    gen, _ = Generator.from_checkpoint(ckpts[1])
    return Composer(AudioRenderer(vae), ImageRenderer(gen), crossmap=crossmap)


def _pixels(p: RenderedPiece) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(p.image)).convert("RGB"), dtype=np.float64)


def _sounds(rate: int) -> dict[str, np.ndarray]:
    """Two sounds as unlike as the nets make: a quiet low hum, and loud bright noise."""
    t = np.arange(2 * rate) / rate
    rng = np.random.default_rng(0)
    hum = 0.05 * np.sin(2 * np.pi * 110 * t)
    hiss = 0.5 * np.diff(rng.standard_normal(len(t) + 1))  # differenced: brighter than white
    return {"hum": hum.astype(np.float32), "hiss": hiss.astype(np.float32)}


def _assembled(c: Composer, samples: np.ndarray, amount: float, played_z: np.ndarray) -> RenderedPiece:
    """A piece around sound that already played (the live engine's path), from step 1 of seed 5."""
    _, state = c.compose(c.start(5), Controls(seed=5, interval=1.0))
    played = LivePoint(seed=5, audio_z=tuple(played_z))
    return c.assemble(state, Controls(seed=5, interval=1.0, synaesthesia=amount), samples, played)[0]


def test_at_zero_the_picture_is_the_image_walks_own_and_the_map_is_never_read(
    tiny_checkpoints: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synaesthesia 0 is the node before it, byte for byte: the map is not consulted (a map of NaNs changes
    nothing) and the sound is not even described."""
    plain = _composer(tiny_checkpoints)
    poisoned = _composer(tiny_checkpoints, CrossMap(np.full_like(plain.crossmap.weights, np.nan)))
    monkeypatch.setattr(piece_module, "description", lambda *a: pytest.fail("the sound was described at 0"))
    controls = Controls(seed=7, interval=1.0, drift=0.5)
    a, b = plain.start(7), poisoned.start(7)
    for _ in range(3):
        (pa, a), (pb, b) = plain.compose(a, controls), poisoned.compose(b, controls)
        assert (pa.image, pa.sky, pa.wav) == (pb.image, pb.sky, pb.wav)
        # and the picture is the image walk's own point, rendered as it is
        assert pa.image == plain.image.render(np.asarray(a.image_z))[0]


def test_at_one_unlike_sounds_give_unlike_pictures_and_the_same_sound_the_same() -> None:
    c = _composer(SHIPPED)
    sounds = _sounds(c.audio.sample_rate)
    z = np.zeros(c.audio.latent)
    at = {(name, amount): _assembled(c, s, amount, z) for name, s in sounds.items() for amount in (0.0, 0.5, 1.0)}
    # 0: the sound does not matter
    assert at["hum", 0.0].image == at["hiss", 0.0].image
    # 1: it does, visibly (mean difference of the 8-bit pixels), and so does halfway, less
    far = np.abs(_pixels(at["hum", 1.0]) - _pixels(at["hiss", 1.0])).mean()
    half = np.abs(_pixels(at["hum", 0.5]) - _pixels(at["hiss", 0.5])).mean()
    assert far > 10.0 and 0 < half, (far, half)  # two random points of the shipped net: ~70 apart
    # The same sound twice: the same picture, bit for bit; the walk's own point is untouched by the pull.
    again = _assembled(c, sounds["hiss"].copy(), 1.0, z)
    assert again.image == at["hiss", 1.0].image and again.sky == at["hiss", 1.0].sky
    # Where the sound's walk went matters too (the same samples, another latent end point).
    moved = _assembled(c, sounds["hiss"], 1.0, np.full(c.audio.latent, 2.0))
    assert moved.image != at["hiss", 1.0].image


def test_the_default_map_is_the_checkpoints_own_and_its_points_lie_where_the_prior_has_mass() -> None:
    a = CrossMap.default(8, 32, "aa", "bb")
    assert np.array_equal(a.weights, CrossMap.default(8, 32, "aa", "bb").weights)
    assert not np.array_equal(a.weights, CrossMap.default(8, 32, "aa", "bc").weights)
    rng = np.random.default_rng(1)
    home = rng.standard_normal(32)
    for _ in range(20):
        p = a.point(rng.standard_normal(a.weights.shape[1]), home)
        assert np.linalg.norm(p - home) == pytest.approx(np.sqrt(32))  # the N(home, I) prior's typical radius
    assert np.array_equal(a.point(np.zeros(a.weights.shape[1]), home), home)  # nothing to go on: home
    # The pull keeps a point's spread: halfway between two typical points is as far from home as they are.
    z, t = home + np.sqrt(32) * np.eye(32)[0], home + np.sqrt(32) * np.eye(32)[1]
    assert np.linalg.norm(pull(z, t, 0.5, home) - home) == pytest.approx(np.sqrt(32))
    assert np.array_equal(pull(z, t, 0.0, home), z)


def test_descriptors_say_loud_from_quiet_bright_from_dark_noise_from_tone() -> None:
    s = _sounds(RATE)
    hum, hiss = descriptors(s["hum"], RATE), descriptors(s["hiss"], RATE)
    loudness, centroid, flatness, _ = range(4)
    assert hiss[loudness] > hum[loudness] + 1.0  # 10 dB and more
    assert hiss[centroid] > hum[centroid] + 3.0  # octaves
    assert hiss[flatness] > hum[flatness]
    assert np.array_equal(descriptors(np.zeros(RATE, np.float32), RATE), np.zeros(4))  # silence: the middle
    assert np.isfinite(descriptors(np.zeros(10, np.float32), RATE)).all()  # shorter than a frame


async def test_sent_by_osc_it_is_saved_and_each_piece_records_it(tmp_path: Path,
                                                                 tiny_checkpoints: tuple[Path, Path]) -> None:
    oscsend = require_tool("oscsend")
    state = tmp_path / "state"
    async with running_node(node_config(state, tiny_checkpoints, oscquery="off")) as r:
        assert r.node.media.latest()["params"]["synaesthesia"] == 0.0
        subprocess.run([oscsend, "127.0.0.1", str(r.osc_port), "/ciel/synaesthesia", "f", "0.75"], check=True,
                       timeout=10)
        await until(lambda: r.node.controls.controls.synaesthesia == 0.75, 10, "synaesthesia applied")
        r.node.request_next()
        await until(lambda: r.node.media.latest()["params"]["synaesthesia"] == 0.75, 30, "a piece that records it")
        await until(lambda: json.loads((state / "controls.json").read_text()).get("synaesthesia") == 0.75, 10,
                    "synaesthesia saved")
