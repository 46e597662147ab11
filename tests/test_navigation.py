"""Steering the walks: maps and homes, xy and directions, presets and their glides (through running nodes, with
liblo's oscsend), presets across a kill -9, and Wekinator's output message."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import TINY_AUDIO, TINY_IMAGE, require_tool
from nodes import free_port, media_bytes, next_piece, node_config, running_node, until, until_sync
from oscpeers import OscDump, oscsend

from ciel_node.config import PACKAGE_ROOT
from ciel_node.errors import CielError
from ciel_node.generate.place import NetMap, Places, image_map, pca_map, sound_map_of_own_sounds
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.image_gan import Generator, init_weights

SHIPPED = (PACKAGE_ROOT / "checkpoints" / "audio.pt", PACKAGE_ROOT / "checkpoints" / "images.pt")


# --- maps and homes -------------------------------------------------------------------------------------------
def test_a_map_puts_homes_on_its_plane_and_its_centre_is_the_prior_mean() -> None:
    rng = np.random.default_rng(0)
    points = rng.standard_normal((500, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1]) + 0.5
    m = pca_map("sound", "archive", points)
    assert m.count == 6 and m.sigma[0] > m.sigma[1] > m.sigma[2]  # the widest spread first
    assert m.home(m.centre, (0.0,) * 6) is None  # unsteered: the walk's own arithmetic
    a, b = m.home((0.0, 0.0), ()), m.home((1.0, 1.0), ())
    assert a is not None and b is not None and np.linalg.norm(b - a) > 4.0
    mid = m.home((0.5, 0.5), ())
    assert mid is not None and np.allclose(mid, (a + b) / 2)  # xy is linear: a straight line in xy is one in z
    one_sd = m.home(m.centre, (1.0,))
    assert one_sd is not None and np.isclose(np.linalg.norm(one_sd), m.sigma[0])  # a unit direction, sigma long
    assert NetMap.from_dict(m.as_dict(), "sound", 6) == m
    with pytest.raises(ValueError, match="latent of 6"):
        NetMap.from_dict(m.as_dict(), "sound", 7)


def test_the_image_map_is_ganspace_of_the_first_stage() -> None:
    torch.manual_seed(0)
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    m = image_map(gen.eval(), n=256)
    assert m.source == "ganspace" and len(m.directions[0]) == TINY_IMAGE.latent and m.count == 8
    # Principal directions in order: one standard deviation along the first moves the first stage's activations
    # most (averaged over latents), along the last least.
    z = torch.randn(64, TINY_IMAGE.latent, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        base = gen.net[:3](z[:, :, None, None]).flatten(1)
        moves = [float((gen.net[:3]((z + torch.tensor(d, dtype=torch.float32) * s)[:, :, None, None]).flatten(1)
                        - base).norm(dim=1).mean()) for d, s in zip(m.directions, m.sigma)]
    assert moves[0] == max(moves) and moves[0] > 1.15 * moves[-1], moves
    assert image_map(gen.eval(), n=256).directions == m.directions or np.allclose(
        image_map(gen.eval(), n=256).directions, m.directions)  # the same map each time


def test_places_steer_only_a_net_whose_parameters_the_controls_have() -> None:
    vae = SpectralVAE(TINY_AUDIO).eval()
    m = sound_map_of_own_sounds(vae, n=512)
    places = Places(sound=m)

    class Steered:
        xy_sound = (0.0, 1.0)
        direction_sound_1 = 2.0

    class Plain:
        drift = 0.1

    assert places.steers("sound", Steered()) and not places.steers("sound", Plain())
    assert not places.steers("image", Steered())  # no image map
    home = places.home("sound", Steered())
    assert home is not None and np.allclose(home, m.home((0.0, 1.0), (2.0,)))


# --- a running node, steered by oscsend --------------------------------------------------------------------------
def _spectrum(wav: bytes) -> np.ndarray:
    x, _ = sf.read(io.BytesIO(wav))
    frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::256] * np.hanning(1024)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0) + 1e-6)


async def test_xy_moves_the_sound_and_the_same_corner_sounds_the_same(tmp_path: Path) -> None:
    """Drift 0: two far corners of the sound map sound measurably different; the same corner twice, the same."""
    state = tmp_path / "state"
    async with running_node(node_config(state, SHIPPED, controls={"drift": 0.0, "seed": 5})) as r:
        seq = r.node.media.last_seq
        spectra = []
        for xy in ((0.0, 0.0), (1.0, 1.0), (0.0, 0.0)):
            await oscsend(r.osc_port, "/ciel/xy/sound", "ff", *xy)
            await until(lambda: r.controls.xy_sound == xy, 5, f"xy {xy}")  # noqa: B023 - awaited at once
            entry = await next_piece(r, seq)
            seq = int(entry["seq"])  # type: ignore[call-overload]
            assert entry["params"]["xy_sound"] == list(xy)  # type: ignore[index]
            spectra.append(_spectrum(media_bytes(state, entry, "wav")))
    far, same = np.abs(spectra[0] - spectra[1]).mean(), np.abs(spectra[0] - spectra[2]).mean()
    assert far > 5 * same, (far, same)


async def test_presets_glide_in_a_straight_line_and_land_exactly(tmp_path: Path,
                                                                 tiny_checkpoints: tuple[Path, Path]) -> None:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints), first_piece=False) as r, \
            OscDump() as dump:
        await oscsend(r.osc_port, "/ciel/subscribe", "i", dump.port)
        await oscsend(r.osc_port, "/ciel/xy/sound", "ff", 0.125, 0.25)
        await oscsend(r.osc_port, "/ciel/direction/image/2", "f", 1.5)
        await oscsend(r.osc_port, "/ciel/bend/image/1/rotate", "f", 45.0)
        await oscsend(r.osc_port, "/ciel/preset/store", "i", 7)
        await oscsend(r.osc_port, "/ciel/preset/name", "is", 7, "dusk  storm")
        await dump.expect(r'^/ciel/state/presets s "7 dusk storm"')
        stored = r.node.controls.controls
        await oscsend(r.osc_port, "/ciel/xy/sound", "ff", 0.875, 0.75)
        await oscsend(r.osc_port, "/ciel/direction/image/2", "f", -2.0)
        await oscsend(r.osc_port, "/ciel/bend/clear")
        await until(lambda: r.controls.xy_sound == (0.875, 0.75) and not r.controls.bends, 5, "moved away")
        path: list[tuple[float, tuple[float, float]]] = []
        r.node.controls.watch(lambda name, v: path.append((time.monotonic(), v)) if name == "xy_sound" else None)
        t0 = time.monotonic()
        await oscsend(r.osc_port, "/ciel/preset/recall", "if", 7, 0.5)
        await until(lambda: r.controls.xy_sound == stored.xy_sound, 5, "the glide's end")
        assert r.controls == stored  # exactly the stored place, directions and bends
        steps = np.array([v for _, v in path])
        assert len(steps) >= 10  # a glide, not a jump
        start, end = np.array([0.875, 0.75]), np.array(stored.xy_sound)
        u = (steps - start) @ (end - start) / np.dot(end - start, end - start)
        assert np.all(np.diff(u) > 0) and np.isclose(u[-1], 1.0)  # on its way, monotonically ...
        off_line = np.abs(steps - (start + u[:, None] * (end - start))).max()
        assert off_line < 1e-9  # ... along the straight line
        landed = path[-1][0] - t0
        assert 0.45 <= landed <= 0.5 + 0.3, landed  # after glide_s (the message's own flight aside)
        # A recall with no glide is at once; a glide the performer interrupts leaves their move alone.
        await oscsend(r.osc_port, "/ciel/xy/sound", "ff", 0.5, 0.5)
        await oscsend(r.osc_port, "/ciel/preset/recall", "if", 7, 5.0)
        await until(lambda: r.controls.xy_sound != (0.5, 0.5), 5, "the glide under way")
        await oscsend(r.osc_port, "/ciel/xy/sound", "ff", 0.0, 1.0)
        await asyncio.sleep(0.3)  # several of the glide's steps
        assert r.controls.xy_sound == (0.0, 1.0)
        await oscsend(r.osc_port, "/ciel/preset/recall", "i", 7)
        await until(lambda: r.controls == stored, 5, "a recall without a glide")


async def test_recall_at_drift_0_gives_the_pictures_of_the_stored_point(tmp_path: Path,
                                                                         tiny_checkpoints: tuple[Path, Path]) -> None:
    state = tmp_path / "state"
    async with running_node(node_config(state, tiny_checkpoints, controls={"drift": 0.0})) as r:
        await oscsend(r.osc_port, "/ciel/xy/image", "ff", 0.25, 0.75)
        await oscsend(r.osc_port, "/ciel/direction/image/1", "f", 2.0)
        await until(lambda: r.controls.direction_image_1 == 2.0, 5, "placed")
        await oscsend(r.osc_port, "/ciel/preset/store", "i", 0)
        await until(lambda: r.node.presets.slots.get(0), 5, "stored")
        here = await next_piece(r, r.node.media.last_seq)
        await oscsend(r.osc_port, "/ciel/xy/image", "ff", 1.0, 0.0)
        await oscsend(r.osc_port, "/ciel/direction/image/1", "f", -3.0)
        await until(lambda: r.controls.direction_image_1 == -3.0, 5, "moved")
        away = await next_piece(r, int(here["seq"]))  # type: ignore[call-overload]
        assert media_bytes(state, away, "image") != media_bytes(state, here, "image")
        await oscsend(r.osc_port, "/ciel/preset/recall", "i", 0)
        await until(lambda: r.controls.direction_image_1 == 2.0, 5, "recalled")
        back = await next_piece(r, int(away["seq"]))  # type: ignore[call-overload]
        assert media_bytes(state, back, "image") == media_bytes(state, here, "image")
        assert back["params"]["direction"] == {"image/1": 2.0}  # type: ignore[index]


@pytest.mark.parametrize(("address", "types", "args", "reason"), [
    ("/ciel/preset/recall", "i", [9], "slot 9 is empty"),
    ("/ciel/preset/store", "i", [150], "slot 150 does not exist"),
    ("/ciel/preset/name", "is", [4, "x"], "slot 4 is empty"),
    ("/ciel/preset/recall", "if", [1, "nan"], "finite"),
    ("/ciel/preset/store", "", [], "takes one number"),
    ("/ciel/xy/sound", "f", [0.5], "takes 2 numbers"),
    ("/ciel/direction/sound/9", "f", [1.0], "unknown address"),
    ("/wek/outputs", "ff", [0.1, 0.2], "takes 5 floats"),
    ("/wek/outputs", "fffsf", [0.1, 0.2, 0.3, "x", 0.5], "takes floats"),
])
async def test_bad_steering_gets_one_error_and_changes_nothing(
        tmp_path: Path, tiny_checkpoints: tuple[Path, Path], address: str, types: str, args: list[object],
        reason: str) -> None:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints), first_piece=False) as r, \
            OscDump() as dump:
        await oscsend(r.osc_port, "/ciel/subscribe", "i", dump.port)
        await oscsend(r.osc_port, "/ciel/preset/store", "i", 1)
        await dump.expect(r'^/ciel/state/presets s "1"')
        before, slots = r.controls, json.dumps(r.node.presets.slots)
        await oscsend(r.osc_port, address, types, *args)
        line = await dump.expect(r"^/ciel/error ")
        assert address in line and reason in line, line
        assert r.controls == before and json.dumps(r.node.presets.slots) == slots


async def test_wekinator_outputs_drive_the_maps_and_drift(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    """A sender built from Wekinator's documented output message: /wek/outputs with one float per output."""
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints), first_piece=False) as r:
        await oscsend(r.osc_port, "/wek/outputs", "fffff", 0.125, 0.25, 0.375, 0.5, 0.625)
        await until(lambda: r.controls.drift == 0.625, 5, "Wekinator's outputs applied")
        assert r.controls.xy_image == (0.125, 0.25) and r.controls.xy_sound == (0.375, 0.5)
    config = node_config(tmp_path / "s2", tiny_checkpoints, wekinator="direction_sound_2,xy_image.2")
    async with running_node(config, first_piece=False) as r:
        x = r.controls.xy_image[0]
        await oscsend(r.osc_port, "/wek/outputs", "ff", 9.0, 0.5)  # a direction clamped into -4..4
        await until(lambda: r.controls.direction_sound_2 == 4.0, 5, "a custom mapping")
        assert r.controls.xy_image == (x, 0.5)
    with pytest.raises(CielError, match="wekinator target 'xy_image.3'"):
        async with running_node(node_config(tmp_path / "s3", tiny_checkpoints, wekinator="xy_image.3"),
                                first_piece=False):
            pass


def test_presets_survive_a_restart_and_a_kill_9(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    state, osc = tmp_path / "state", free_port()
    argv = [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(state), "--no-playback",
            "--osc", f"127.0.0.1:{osc}", "--web", "127.0.0.1:0", "--oscquery", "127.0.0.1:0",
            "--audio-checkpoint", str(tiny_checkpoints[0]), "--image-checkpoint", str(tiny_checkpoints[1]),
            "--max-sound-s", "1"]  # no 120 s first piece competing with the test for the CPU

    oscsend_bin = require_tool("oscsend")

    def send(*args: object) -> None:
        subprocess.run([oscsend_bin, "127.0.0.1", str(osc), *map(str, args)], check=True, timeout=10)

    def presets() -> dict[str, object]:
        try:
            return json.loads((state / "presets.json").read_text())["slots"]  # type: ignore[no-any-return]
        except (FileNotFoundError, ValueError):
            return {}

    for round_ in range(2):
        log = open(tmp_path / f"node{round_}.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        try:
            until_sync(lambda: b"node up" in (tmp_path / f"node{round_}.log").read_bytes(), 60, "the node up",  # noqa: B023
                       proc=proc)
            if round_ == 0:
                send("/ciel/xy/sound", "ff", 0.25, 0.5)
                send("/ciel/preset/store", "i", 3)
                send("/ciel/preset/name", "is", 3, "storm")
                until_sync(lambda: presets().get("3", {}).get("name") == "storm", 30, "preset 3 saved",  # type: ignore[union-attr]
                           proc=proc)
            else:
                assert presets()["3"]["name"] == "storm"  # type: ignore[index]
                send("/ciel/xy/sound", "ff", 0.75, 0.75)
                send("/ciel/preset/recall", "i", 3)
                until_sync(lambda: json.loads((state / "controls.json").read_text()).get("xy_sound") == [0.25, 0.5],
                           30, "the recalled place saved", proc=proc)
        finally:
            proc.send_signal(signal.SIGKILL)  # a power cut: no clean stop
            proc.wait(timeout=30)
            log.close()
