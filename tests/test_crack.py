"""`ciel-node crack` on a real (tiny, generated) archive: clock-stopped, resumable, loadable by the node."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import require_tool
from PIL import Image

from ciel_node import swap
from ciel_node.app import Node
from ciel_node.config import RunConfig
from ciel_node.crack.archive import find_files
from ciel_node.crack.found import SMALL, build_found_archive
from ciel_node.crack.train import IMAGE_MAP_NAME, IMAGE_MAP_VERSION
from ciel_node.generate.derived import derived
from ciel_node.generate.instrument import ImageInstrument, SoundInstrument
from ciel_node.generate.mappics import IMAGE_H, IMAGE_W, SOUND_H, SOUND_W
from ciel_node.generate.place import NetMap, sound_map
from ciel_node.generate.worker import RenderSpec
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.image_gan import Generator


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        require_tool(tool)
    return build_found_archive(tmp_path_factory.mktemp("found") / "archive", seed=1, **SMALL)


def crack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ciel_node", "crack", *args], capture_output=True, text=True,
                          timeout=300)


def test_crack_both_models_and_the_node_loads_them(archive: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # One command: both nets side by side into one folder, and the line that runs a node on them.
    p = crack(str(archive), "--minutes", "0.05", "--out", str(tmp_path), "--batch", "4")
    assert p.returncode == 0, p.stderr
    audio, images = tmp_path / "audio.pt", tmp_path / "images.pt"
    assert p.stdout == f"ciel-node run --audio-checkpoint {audio} --image-checkpoint {images}\n", p.stdout
    assert "audio: " in p.stderr and "other files, not audio (listed in" in p.stderr
    assert "audio: wrote" in p.stderr and "images: wrote" in p.stderr
    # Then the synaesthesia map (tests/test_learned_map.py): the found archive has no capture times, so no pairs.
    assert ("synaesthesia: no pictures and sounds captured close in time (5 sounds, 4 pictures, 0 with capture times): "
            "the node uses the default map\n") in p.stderr
    assert not (tmp_path / "synaesthesia.npz").exists()
    # Not a terminal: each net's progress is a line, not a bar's control characters.
    assert "\r" not in p.stderr and "\x1b" not in p.stderr

    _, prov = SpectralVAE.from_checkpoint(audio)
    assert prov["steps"] >= 1 and prov["archive"]["files"] == SMALL["voices"] + SMALL["noises"]
    assert len(prov["archive"]["manifest_hash"]) == 64 and set(prov["final_losses"]) == {"loss", "rec", "kl"}
    _, prov_i = Generator.from_checkpoint(images)
    assert prov_i["archive"]["files"] == SMALL["pictures"] and 0 < prov_i["minutes"] < 1

    wav, sr = sf.read(tmp_path / "audio.preview.wav")
    assert sr == 16000 and abs(len(wav) - 6 * sr) <= 256 and np.abs(wav).max() > 0
    sheet = Image.open(tmp_path / "images.preview.png")
    assert sheet.size == (4 * 128, 4 * 128)
    assert (tmp_path / "audio.archive.txt").is_file() and (tmp_path / "images.archive.txt").is_file()
    # The loss curves, drawn: not a blank picture.
    for net in ("audio", "images"):
        with Image.open(tmp_path / f"{net}.losses.png") as im:
            assert im.size == (720, 360) and len(im.convert("RGB").getcolors(720 * 360) or []) > 8  # distinct colours

    # The plane /ciel/xy/sound moves on is the archive's: its frames, each named by its file, inside the checkpoint.
    sound_plane = sound_map(SpectralVAE.from_checkpoint(audio)[0], audio)
    files = [p.relative_to(archive).as_posix() for p in find_files(archive, "audio")]
    assert sound_plane.source == "archive" and list(sound_plane.sources) == files
    assert {p[2] for p in sound_plane.points} == set(range(len(files)))  # every file has audible frames here
    inside = [0 <= x <= 1 and 0 <= y <= 1 for x, y in (sound_plane.xy(p[:2]) for p in sound_plane.points)]
    assert np.mean(inside) > 0.95
    # The image map beside its checkpoint, under the name and version the node asks for (so it is not built again).
    latent = Generator.from_checkpoint(images)[0].config.latent
    kept = derived(IMAGE_MAP_NAME, IMAGE_MAP_VERSION, images, tmp_path / "elsewhere", lambda: pytest.fail("rebuilt"),
                   NetMap.as_dict, lambda raw: NetMap.from_dict(raw, "image", latent))
    assert kept.source == "ganspace" and kept.count == min(8, latent)
    for name, size in (("audio.map.png", (SOUND_W, SOUND_H)), ("images.map.png", (IMAGE_W, IMAGE_H))):
        with Image.open(tmp_path / name) as im:
            assert im.size == size

    # The bend clusters of the new checkpoints are beside them, so the node finds them instead of building them.
    beside = sorted(p.name.split("-")[2] for p in tmp_path.glob("bend-features-*.json"))
    assert beside == ["audio", "image"]
    for builder in (SoundInstrument, ImageInstrument):
        monkeypatch.setattr(builder, "clusters", lambda self: pytest.fail("bend clusters built again"))
    monkeypatch.setattr(swap, "image_map", lambda model: pytest.fail("image map built again"))
    node = Node(RunConfig(state_dir=tmp_path / "state", audio_checkpoint=audio, image_checkpoint=images,
                          render_process=False))
    assert node.maps["sound"].source == "archive"
    assert node.layouts[0].clusters and node.layouts[1].layers == 3
    composer = RenderSpec(audio, images, 16, 120.0, 1).composer()
    piece, _ = composer.compose(node.walk, node.controls.controls)
    assert Image.open(io.BytesIO(piece.sky)).size == (512, 256)
    assert np.abs(piece.samples).max() > 0


def test_resume_continues_steps_and_minutes(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.pt"
    assert crack("audio", str(archive), "--minutes", "0.03", "--out", str(out)).returncode == 0
    _, first = SpectralVAE.from_checkpoint(out)
    assert (tmp_path / "a.resume.pt").is_file()
    p = crack("audio", str(archive), "--minutes", "0.03", "--out", str(out), "--resume")
    assert p.returncode == 0, p.stderr
    # The second crack on the folder decodes nothing: every file comes from the cache beside the checkpoint.
    files = SMALL["voices"] + SMALL["noises"]
    assert f"{files} files read ({files} from the cache)" in p.stderr, p.stderr
    _, second = SpectralVAE.from_checkpoint(out)
    assert second["steps"] > first["steps"] and second["minutes"] > first["minutes"]


def test_ctrl_c_saves(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "i.pt"
    # Started with SIGINT ignored, as a script's `crack ... &` (or this suite run in the background) starts it:
    # Ctrl-C must save all the same (a fresh-clone run in the background waited out the 120 s here).
    proc = subprocess.Popen(
        [sys.executable, "-m", "ciel_node", "crack", "images", str(archive), "--minutes", "30", "--out", str(out),
         "--batch", "4"], stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509 - before exec, no threads
    )
    assert proc.stderr is not None
    lines = [proc.stderr.readline(), proc.stderr.readline()]
    assert "files read" in lines[0] and "images: training" in lines[1], lines
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted: saving" in err
    _, prov = Generator.from_checkpoint(out)
    assert prov["steps"] >= 0 and prov["minutes"] < 1  # saved at once, not after the half hour


@pytest.mark.parametrize("model", ["audio", "images"])
def test_empty_or_unreadable_archive_is_one_clear_error(tmp_path: Path, model: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    p = crack(model, str(empty), "--minutes", "1", "--out", str(tmp_path / "x.pt"))
    assert p.returncode == 2
    assert p.stderr.startswith("ciel-node: error: ") and str(empty) in p.stderr
    assert not (tmp_path / "x.pt").exists()
    (empty / "broken.jpg").write_bytes(b"not a jpeg")
    (empty / "broken.wav").write_bytes(b"RIFF nonsense")
    p = crack(model, str(empty), "--minutes", "1", "--out", str(tmp_path / "x.pt"))
    assert p.returncode == 2 and "broken" in p.stderr


def test_bad_flags(tmp_path: Path, archive: Path) -> None:
    p = crack("audio", str(archive), "--minutes", "-1", "--out", str(tmp_path / "x.pt"))
    assert p.returncode == 2 and "--minutes -1" in p.stderr
    p = crack("audio", str(archive), "--minutes", "1", "--out", str(tmp_path / "x.pt"), "--resume")
    assert p.returncode == 2 and "--resume needs an existing checkpoint" in p.stderr
    p = crack("sound", str(archive), "--minutes", "1")
    assert p.returncode == 2 and "say `crack audio DIR`, `crack images DIR`, or `crack DIR`" in p.stderr
    p = crack(str(archive), "--minutes", "1", "--out", str(tmp_path / "x.pt"))
    assert p.returncode == 2 and "for both nets --out is a folder" in p.stderr


def test_crack_lists_fifos_loops_and_device_links_in_the_archive_report(tmp_path: Path) -> None:
    import os

    source = tmp_path / "phone"
    source.mkdir()
    for k in range(3):
        Image.new("RGB", (160, 120), (60 * k, 90, 200 - 60 * k)).save(source / f"IMG_{k}.jpg")
    os.mkfifo(source / "IMG_9.jpg")  # a reader that opened it would wait for a writer forever
    (source / "loop.png").symlink_to("loop.png")
    (source / "null.jpg").symlink_to("/dev/null")
    out = tmp_path / "mine.pt"
    p = crack("images", str(source), "--minutes", "0.01", "--out", str(out), "--batch", "2")
    assert p.returncode == 0, p.stderr
    assert f"3 files read; 3 not regular files (listed in {tmp_path / 'mine.archive.txt'})" in p.stderr
    report = (tmp_path / "mine.archive.txt").read_text()
    assert "  IMG_9.jpg: a FIFO (named pipe), not a file; not opened\n" in report
    assert "  loop.png: a symlink loop (-> loop.png); not followed\n" in report
    assert "  null.jpg: a symlink to a character device (-> /dev/null); not opened\n" in report
    Generator.from_checkpoint(out)
