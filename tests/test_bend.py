"""Network bending: each transform on synthetic layers, the declared parameters, the feature clusters, and bends
sent with liblo's oscsend to a running node (the picture, the sound, the manifest, clear, restart, bad input)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import TINY_AUDIO, TINY_IMAGE, make_checkpoints
from nodes import media_bytes, next_piece, node_config, running_node, until
from oscpeers import OscDump, oscsend

from ciel_node.bends import MAPS, SPECTRUM, UNITS, Bends, LayerBend, declare, markdown
from ciel_node.generate.bend import bend_maps, bend_spectrum, bend_units, dilate
from ciel_node.generate.instrument import ImageInstrument, SoundInstrument, cached_clusters, kmeans
from ciel_node.models.audio_vae import LOG_FLOOR, SpectralVAE
from ciel_node.models.image_gan import Generator, init_weights
from ciel_node.params import ParamError

FLOOR = LOG_FLOOR


def one(name: str, *value: float, features: tuple[str, float] = ("all", 0.5)) -> LayerBend:
    return LayerBend(((name, tuple(float(v) for v in value)),), features)


def maps(c: int = 4, h: int = 8, w: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, c, h, w, generator=torch.Generator().manual_seed(seed))


# --- the transforms, on synthetic layers ------------------------------------------------------------------------
def test_quarter_turns_and_flips_undo_themselves_exactly() -> None:
    x = maps()
    y = x
    for _ in range(4):
        y = bend_maps(y, one("rotate", 90), None)
    assert torch.equal(y, x)
    assert not torch.equal(bend_maps(x, one("rotate", 90), None), x)
    for flip in ("flip_h", "flip_v"):
        once = bend_maps(x, one(flip, 1), None)
        assert not torch.equal(once, x) and torch.equal(bend_maps(once, one(flip, 1), None), x)
    # flip_h mirrors columns, flip_v rows
    assert torch.equal(bend_maps(x, one("flip_h", 1), None)[..., 0], x[..., -1])
    assert torch.equal(bend_maps(x, one("flip_v", 1), None)[..., 0, :], x[..., -1, :])


def test_a_quarter_turn_is_the_same_turn_as_the_resampled_ones_near_it() -> None:
    """Exact quarter turns (rot90) and resampled angles turn the same way: 90° ≈ 89.9°, counter-clockwise."""
    x = maps(1, 16, 16)
    exact = bend_maps(x, one("rotate", 90), None)
    near = bend_maps(x, one("rotate", 89.9), None)
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))  # the corners' bilinear taps reach outside
    assert torch.allclose(exact[inner], near[inner], atol=0.05)
    marker = torch.zeros(1, 1, 5, 5)
    marker[0, 0, 2, 4] = 1.0  # right of the centre
    assert bend_maps(marker, one("rotate", 90), None)[0, 0, 0, 2] == 1.0  # goes to the top: counter-clockwise


def test_translate_moves_the_maps_and_a_whole_map_leaves_nothing() -> None:
    x = maps()
    for whole in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1)):
        assert torch.count_nonzero(bend_maps(x, one("translate", *whole), None)) == 0
    half = bend_maps(x, one("translate", 0.5, 0), None)  # 4 px right: zeros in on the left
    assert torch.equal(half[..., 4:], x[..., :4]) and torch.count_nonzero(half[..., :4]) == 0
    down = bend_maps(x, one("translate", 0, 0.25), None)
    assert torch.equal(down[..., 2:, :], x[..., :6, :])
    moved = bend_maps(x, one("translate", 0.1, 0), None)  # 0.8 px: resampled, in between
    assert not torch.equal(moved, x) and moved.abs().sum() < x.abs().sum()


def test_scale_zooms_about_the_centre() -> None:
    x = torch.zeros(1, 1, 16, 16)
    x[..., 6:10, 6:10] = 1.0
    bigger = bend_maps(x, one("scale", 2.0), None)
    smaller = bend_maps(x, one("scale", 0.5), None)
    assert (bigger > 0.5).sum() > (x > 0.5).sum() > (smaller > 0.5).sum() > 0
    assert bigger[0, 0, 8, 8] == 1.0  # the centre stays


def test_morphology_threshold_invert_multiply_ablate() -> None:
    x = maps(seed=3)
    eroded, dilated = bend_maps(x, one("erode", 1), None), bend_maps(x, one("dilate", 1), None)
    assert (eroded <= x).all() and (dilated >= x).all() and (eroded < x).any() and (dilated > x).any()
    assert torch.equal(bend_maps(x, one("erode", 2), None), bend_maps(bend_maps(x, one("erode", 1), None),
                                                                        one("erode", 1), None))
    for r in range(0, 9):  # the shifted-maxima filter is max_pool's result, on maps and on a spectrum
        assert torch.equal(dilate(x, r, dims=(2, 3)), torch.nn.functional.max_pool2d(x, 2 * r + 1, 1, r))
        assert torch.equal(dilate(x[:, 0], r, dims=(2,)), torch.nn.functional.max_pool1d(x[:, 0], 2 * r + 1, 1, r))
    t = bend_maps(x, one("threshold", 0.5), None)
    for b in range(2):
        for c in range(4):
            values = set(t[b, c].unique().tolist())
            assert values == {x[b, c].min().item(), x[b, c].max().item()}  # two values: its min and its max
    inv = bend_maps(x, one("invert", 1), None)
    assert torch.allclose(bend_maps(inv, one("invert", 1), None), x, atol=1e-6)
    assert torch.allclose(inv.amax(dim=(2, 3)), x.amax(dim=(2, 3)))  # mirrored within its own range
    assert torch.equal(bend_maps(x, one("multiply", -2), None), -2 * x)
    assert torch.count_nonzero(bend_maps(x, one("ablate", 1), None)) == 0
    assert torch.allclose(bend_maps(x, one("ablate", 0.25), None), 0.75 * x)


def test_hidden_units_and_the_spectrum() -> None:
    h = torch.randn(3, 32, generator=torch.Generator().manual_seed(1))
    assert torch.equal(bend_units(h, one("multiply", 3), None), 3 * h)
    assert all(len(row.unique()) == 2 for row in bend_units(h, one("threshold", 0.3), None))
    assert torch.count_nonzero(bend_units(h, one("ablate", 1), None)) == 0
    s = torch.linspace(-8, 0, 64).repeat(2, 1)  # (B, F) log magnitude rising with frequency
    up = bend_spectrum(s, one("translate", 0.25), None, FLOOR)  # 16 bins up, silence comes in below
    assert torch.equal(up[:, 16:], s[:, :48]) and (up[:, :16] == FLOOR).all()
    assert (bend_spectrum(s, one("translate", -1), None, FLOOR) == FLOOR).all()
    assert torch.equal(bend_spectrum(s, one("flip_v", 1), None, FLOOR), s.flip(1))
    stretched = bend_spectrum(s, one("scale", 2.0), None, FLOOR)
    assert torch.allclose(stretched[:, 20], s[:, 10]) and torch.allclose(stretched[:, 21], (s[:, 10] + s[:, 11]) / 2)
    assert torch.allclose(bend_spectrum(s, one("multiply", 2), None, FLOOR), s + math.log(2))
    assert (bend_spectrum(s, one("multiply", 0), None, FLOOR) == FLOOR).all()
    assert (bend_spectrum(s, one("ablate", 1), None, FLOOR) == FLOOR).all()
    assert all(len(row.unique()) == 2 for row in bend_spectrum(s, one("threshold", 0.5), None, FLOOR))


def test_only_the_chosen_features_are_bent() -> None:
    x = maps(c=6)
    select = torch.tensor([True, False, True, False, False, False])
    y = bend_maps(x, one("multiply", 0), select)
    assert torch.count_nonzero(y[:, [0, 2]]) == 0 and torch.equal(y[:, [1, 3, 4, 5]], x[:, [1, 3, 4, 5]])


# --- the instruments: declared layers, neutral = unbent, features, clusters ---------------------------------------
@pytest.fixture(scope="module")
def nets() -> tuple[ImageInstrument, SoundInstrument]:
    torch.manual_seed(0)
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    vae = SpectralVAE(TINY_AUDIO)
    return ImageInstrument(gen.eval()), SoundInstrument(vae.eval())


def test_readme_transforms_table_is_the_generated_one() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    found = re.search(r"<!-- bends:begin.*?-->\n(.*?)<!-- bends:end -->", readme, re.S)
    assert found and found.group(1) == markdown(), "README's transforms table is stale: run `make docs`"


def test_layers_are_declared_from_the_nets(nets: tuple[ImageInstrument, SoundInstrument]) -> None:
    image, sound = nets
    assert image.layout.kinds == (MAPS,) * (TINY_IMAGE.stages + 1) and image.layout.sizes[-1] == 3
    assert sound.layout.kinds == (UNITS,) * len(TINY_AUDIO.hidden) + (SPECTRUM,)
    assert sound.layout.sizes[-1] == TINY_AUDIO.bins
    addresses = {s.address: s for s in declare([image.layout, sound.layout])}
    last = image.layout.layers
    assert f"/ciel/bend/image/{last}/rotate" in addresses and f"/ciel/bend/image/{last + 1}/rotate" not in addresses
    assert "/ciel/bend/sound/1/multiply" in addresses and "/ciel/bend/sound/1/rotate" not in addresses
    assert addresses["/ciel/bend/sound/2/translate"].types == "f"  # the spectrum moves along frequency only
    assert addresses["/ciel/bend/image/1/translate"].types == "ff"
    assert {"/ciel/bend/clear", "/ciel/bend/image/clear", "/ciel/bend/sound/clear"} <= set(addresses)
    features = addresses["/ciel/bend/image/1/features"]
    k = image.layout.cluster_count(1)
    assert features.coerce(("cluster", k)) == (("cluster", float(k)), False)
    assert features.coerce(["random"])[0] == ("random", 0.5)
    assert features.coerce("all")[0] == ("all", 0.5)
    with pytest.raises(ParamError, match=f"cluster {k + 1} does not exist.*1..{k}"):
        features.coerce(("cluster", k + 1))
    with pytest.raises(ParamError):
        features.coerce(("sideways", 1.0))


def test_every_transform_is_off_at_its_neutral_value_and_bends_otherwise(
        nets: tuple[ImageInstrument, SoundInstrument]) -> None:
    image, sound = nets
    z = torch.randn(2, image.latent, generator=torch.Generator().manual_seed(5))
    zs = torch.randn(4, sound.latent, generator=torch.Generator().manual_seed(6))
    plain_image, plain_sound = image.generator(z), sound.model.decode(zs)
    bent_values = {"translate": (0.5, 0.25), "scale": 2.0, "rotate": 30.0, "flip_h": 1, "flip_v": 1, "erode": 1,
                   "dilate": 1, "multiply": 3.0, "threshold": 0.5, "invert": 1, "ablate": 1.0}
    with torch.inference_mode():
        for spec in declare([image.layout, sound.layout]):
            if not spec.group or spec.name.endswith("_features"):
                continue
            net, what = spec.name.split("_")[1], spec.name.split("_", 3)[3]
            run = (lambda b: image(z, b)) if net == "image" else (lambda b: sound.decode(zs, b))
            plain = plain_image if net == "image" else plain_sound
            assert not Bends.parse({spec.name: spec.initial}), spec.name
            assert torch.equal(run(Bends.parse({spec.name: spec.initial})), plain), spec.name
            value = bent_values[what]
            value = value[0] if spec.types == "f" and isinstance(value, tuple) else value
            assert not torch.equal(run(Bends.parse({spec.name: spec.coerce(value)[0]})), plain), spec.name


def test_random_fractions_and_clusters_pick_fixed_features(nets: tuple[ImageInstrument, SoundInstrument]) -> None:
    image, _ = nets
    layer = 1
    c = image.layout.sizes[layer - 1]
    half, quarter = one("ablate", 1, features=("random", 0.5)), one("ablate", 1, features=("random", 0.25))
    m_half, m_quarter = image.select(layer, half), image.select(layer, quarter)
    assert m_half is not None and m_quarter is not None
    assert int(m_half.sum()) == round(c / 2) and bool((m_half | ~m_quarter).all())  # a larger fraction adds
    fresh = ImageInstrument(image.generator, image.layout.clusters)
    assert torch.equal(fresh.select(layer, half), m_half)  # the same features every time
    for k in range(1, image.layout.cluster_count(layer) + 1):
        mask = image.select(layer, one("ablate", 1, features=("cluster", k)))
        assert mask is not None and mask.any()
        assert mask.tolist() == [cid == k for cid in image.layout.clusters[layer - 1]]
        z = torch.randn(1, image.latent, generator=torch.Generator().manual_seed(k))
        with torch.inference_mode():
            acts = image.activations(z, Bends(image=((layer, one("ablate", 1, features=("cluster", k))),)))
            plain = image.activations(z)
        assert torch.count_nonzero(acts[0][:, mask]) == 0 and torch.equal(acts[0][:, ~mask], plain[0][:, ~mask])


def test_clusters_are_deterministic_and_cached_per_checkpoint(tmp_path: Path) -> None:
    audio, images = make_checkpoints(tmp_path / "ck")
    gan, _ = Generator.from_checkpoint(images)
    built = []

    def build() -> tuple[tuple[int, ...], ...]:
        built.append(1)
        return ImageInstrument(gan).clusters()

    first = cached_clusters("image", images, tmp_path / "state", build)
    again = cached_clusters("image", images, tmp_path / "state", build)
    assert first == again == ImageInstrument(gan).clusters() and len(built) == 1
    (cache,) = (tmp_path / "state").glob("bend-features-image-*.json")
    cache.write_text('{"version": 1, "sha256": ')  # torn
    assert cached_clusters("image", images, tmp_path / "state", build) == first and len(built) == 2
    assert json.loads(cache.read_text())["data"] == [list(c) for c in first]
    points = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [0.0, 0.1]])
    assert kmeans(points, 2) == (1, 1, 2, 2, 1)


# --- a running node, driven by liblo's oscsend -----------------------------------------------------------------
async def test_bends_by_oscsend_change_the_next_piece_are_recorded_cleared_and_kept(
        tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    state = tmp_path / "state"
    config = node_config(state, tiny_checkpoints, controls={"drift": 0.0})  # a frozen point: same picture each time
    async with running_node(config) as r, OscDump() as dump:
        await oscsend(r.osc_port, "/ciel/subscribe", "i", dump.port)
        plain = r.node.media.latest()
        assert plain is not None and plain["params"]["bend"] == {}
        await oscsend(r.osc_port, "/ciel/bend/image/2/rotate", "f", 90.0)
        await oscsend(r.osc_port, "/ciel/bend/image/1/features", "si", "cluster", 1)
        await oscsend(r.osc_port, "/ciel/bend/sound/2/translate", "f", 0.25)
        await dump.expect(r"^/ciel/state/bend_sound_2_translate f 0\.25")
        bent = await next_piece(r, plain["seq"])  # type: ignore[arg-type]
        assert bent["params"]["bend"] == {"image/2/rotate": 90.0, "image/1/features": ["cluster", 1.0],
                                          "sound/2/translate": 0.25}
        assert media_bytes(state, bent, "image") != media_bytes(state, plain, "image")
        assert _centroid(media_bytes(state, bent, "audio")) > _centroid(media_bytes(state, plain, "audio"))  # moved up
        await oscsend(r.osc_port, "/ciel/bend/image/clear")
        await until(lambda: r.controls.bend_image_2_rotate == 0.0, 5, "the image bends cleared")
        assert r.controls.bend_sound_2_translate == 0.25  # the sound's stay
        await oscsend(r.osc_port, "/ciel/bend/clear")
        await until(lambda: not r.controls.bends, 5, "every bend cleared")
        cleared = await next_piece(r, bent["seq"])  # type: ignore[arg-type]
        assert cleared["params"]["bend"] == {}
        assert media_bytes(state, cleared, "image") == media_bytes(state, plain, "image")  # back to the unbent bytes
        await oscsend(r.osc_port, "/ciel/bend/image/3/invert", "i", 1)
        await until(lambda: r.controls.bend_image_3_invert == 1, 5, "a bend before the restart")
    # A restart keeps the bends in force (controls.json), and so does the next piece.
    async with running_node(node_config(state, tiny_checkpoints)) as r:
        assert r.controls.bend_image_3_invert == 1
        assert r.node.media.latest()["params"]["bend"] == {"image/3/invert": 1}  # type: ignore[index]


async def test_the_same_bends_make_the_same_bytes(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    """Same checkpoints + seed + controls + bends ⇒ byte-identical media, in two nodes of their own."""
    bends = {"bend_image_1_translate": (0.3, -0.2), "bend_image_2_threshold": 0.4,
             "bend_image_2_features": ("random", 0.5), "bend_sound_1_multiply": -1.5,
             "bend_sound_2_scale": 1.5, "bend_sound_2_features": ("cluster", 1)}
    hashes = []
    for run in range(2):
        state = tmp_path / f"state{run}"
        state.mkdir()
        (state / "controls.json").write_text(json.dumps(bends))  # as a node saves them: the bends in force
        async with running_node(node_config(state, tiny_checkpoints, controls={"seed": 42})) as r:
            entry = r.node.media.latest()
            assert entry is not None and len(entry["params"]["bend"]) == len(bends)
            hashes.append([hashlib.sha256(media_bytes(tmp_path / f"state{run}", entry, k)).hexdigest()
                           for k in ("image", "audio")])
    assert hashes[0] == hashes[1]


@pytest.mark.parametrize(("address", "types", "args", "reason"), [
    ("/ciel/bend/image/99/rotate", "f", [10.0], "unknown address"),
    ("/ciel/bend/image/1/wobble", "f", [10.0], "unknown address"),
    ("/ciel/bend/sound/1/rotate", "f", [10.0], "unknown address"),  # hidden units have no geometry
    ("/ciel/bend/image/1/translate", "f", [0.5], "takes 2 numbers"),
    ("/ciel/bend/image/1/rotate", "ff", [1.0, 2.0], "takes one number"),
    ("/ciel/bend/image/1/rotate", "f", ["nan"], "finite"),
    ("/ciel/bend/image/1/features", "si", ["cluster", 99], "cluster 99 does not exist"),
    ("/ciel/bend/image/1/features", "s", ["everything"], "must be one of all, random, cluster"),
    ("/ciel/bend/clear", "i", [1], "takes no arguments"),
])
async def test_bad_bends_get_one_error_and_change_nothing(
        tmp_path: Path, tiny_checkpoints: tuple[Path, Path], address: str, types: str, args: list[object],
        reason: str) -> None:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints), first_piece=False) as r, \
            OscDump() as dump:
        await oscsend(r.osc_port, "/ciel/subscribe", "i", dump.port)
        await oscsend(r.osc_port, "/ciel/bend/image/2/multiply", "f", 2.0)
        await dump.expect(r"^/ciel/state/bend_image_2_multiply f 2\.0")
        before = r.controls
        await oscsend(r.osc_port, address, types, *args)
        line = await dump.expect(r"^/ciel/error ")
        assert address in line and reason in line, line
        if reason == "unknown address":  # the bends named by their shape, not a hundred addresses
            assert "bend/…" in line and len(line) < 300, line
        assert r.controls == before and dump.count(r"^/ciel/error ") == 1


def _centroid(wav: bytes) -> float:
    x, sr = sf.read(io.BytesIO(wav))
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float((spectrum * freqs).sum() / spectrum.sum())
