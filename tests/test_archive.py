"""Reading a phone archive: real files made here with sox, ffmpeg and Pillow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool
from PIL import Image

from ciel_node.crack.archive import (
    PICTURE_SUFFIXES,
    SOUND_SUFFIXES,
    find_files,
    read_archive_pictures,
    read_archive_sounds,
    read_picture,
    read_sound,
)
from ciel_node.errors import ArchiveError

SECONDS = 4.5  # 3 s of sweep then 1.5 s of silence, so an AMR encoder emits DTX frames
AMR_FRAME_BYTES = [12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0]


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg(*args: str) -> None:
    run(require_tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", *args)


def amr_frame_types(path: Path) -> set[int]:
    data = path.read_bytes()
    assert data.startswith(b"#!AMR\n")
    types, i = set(), 6
    while i < len(data):
        kind = (data[i] >> 3) & 15
        types.add(kind)
        i += 1 + AMR_FRAME_BYTES[kind]
    return types


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding the same 4.5 s clip in every container a phone archive may hold."""
    folder = tmp_path_factory.mktemp("sounds")
    sox = require_tool("sox")
    src = folder / "clip.wav"
    run(sox, "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(src),
        "synth", "3", "sine", "200-1200", "tremolo", "4", "80", "gain", "-n", "-3", "pad", "0", "1.5")
    run(sox, "-R", str(src), str(folder / "clip.ogg"))
    run(sox, "-R", str(src), str(folder / "clip.flac"))
    run(sox, "-R", str(src), "-r", "8000", "-C", "7", "-t", "amr-nb", str(folder / "note.amr"))
    ffmpeg("-i", str(src), str(folder / "clip.mp3"))
    ffmpeg("-i", str(src), "-c:a", "aac", str(folder / "clip.m4a"))
    ffmpeg("-i", str(folder / "note.amr"), "-c:a", "copy", str(folder / "note.3gp"))
    video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"]
    ffmpeg(*video, "-i", str(src), "-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(folder / "film.mp4"))
    ffmpeg(*video, "-i", str(src), "-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(folder / "film.mov"))
    ffmpeg(*video, "-t", "1", "-c:v", "mpeg4", str(folder / "silent_film.mp4"))
    return folder


@pytest.mark.parametrize(
    "name",
    ["clip.wav", "clip.ogg", "clip.flac", "clip.mp3", "clip.m4a", "note.amr", "note.3gp", "film.mp4", "film.mov"],
)
def test_read_sound_decodes_every_container_to_16k_mono(sounds: Path, name: str) -> None:
    x = read_sound(sounds / name)
    assert x.dtype == np.float32
    assert x.ndim == 1
    assert abs(len(x) / 16000 - SECONDS) < 0.1 * SECONDS
    assert float(np.mean(x**2)) > 1e-4
    assert float(np.abs(x).max()) <= 1.0


def test_amr_with_dtx_frames_decodes_past_the_first_pause(sounds: Path) -> None:
    # FFmpeg's own amrnb decoder raises at the first SID/NO_DATA frame, truncating the note.
    assert amr_frame_types(sounds / "note.amr") & {8, 15}, "sox should have written DTX frames in the silence"
    x = read_sound(sounds / "note.amr", sample_rate=8000)
    assert abs(len(x) / 8000 - SECONDS) < 0.1 * SECONDS


def test_video_without_audio_is_listed_not_fatal(sounds: Path) -> None:
    clips, report = read_archive_sounds(sounds)
    assert len(clips) == len(report.files) == 9
    assert [(u.path.name, u.reason) for u in report.unreadable] == [("silent_film.mp4", "no audio stream")]


def write_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    for rel in ["b.JPG", "sub/a.png", "sub/deeper/c.jpeg", ".hidden.jpg", ".thumbnails/t.jpg", "notes.txt"]:
        (root / rel).write_bytes(b"x")


def test_find_files_recurses_ignores_case_and_hidden(tmp_path: Path) -> None:
    write_tree(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in find_files(tmp_path, "images")]
    assert names == ["b.JPG", "sub/a.png", "sub/deeper/c.jpeg"]
    assert find_files(tmp_path, "audio") == []
    assert ".amr" in SOUND_SUFFIXES
    assert ".webp" in PICTURE_SUFFIXES


def test_exif_orientation_is_applied_before_the_centre_crop(tmp_path: Path) -> None:
    # Stored 400x300 with a red block at the top middle; orientation 6 means "rotate 90 degrees clockwise".
    arr = np.zeros((300, 400, 3), np.uint8)
    arr[..., 2] = 200
    arr[0:80, 150:250] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(arr).save(tmp_path / "phone.jpg", quality=95, exif=exif)
    out = np.asarray(read_picture(tmp_path / "phone.jpg"), np.float32)
    assert out.shape == (256, 256, 3)
    red = out[..., 0] > 128
    ys, xs = np.nonzero(red)
    # Upright, the block sits at the right edge, half way down; unrotated it would be at the top.
    assert xs.mean() > 200
    assert 100 < ys.mean() < 156


@pytest.mark.parametrize("fmt", ["png", "webp", "bmp", "gif"])
def test_read_picture_formats_give_square_rgb(tmp_path: Path, fmt: str) -> None:
    base = Image.new("RGB", (320, 200), (200, 30, 30))
    path = tmp_path / f"pic.{fmt}"
    if fmt == "gif":  # animated: only the first (red) frame counts
        base.save(path, save_all=True, append_images=[Image.new("RGB", (320, 200), (30, 30, 200))], duration=100)
    else:
        base.save(path)
    pic = read_picture(path, size=64)
    assert pic.mode == "RGB"
    assert pic.size == (64, 64)
    r, _, b = np.asarray(pic)[32, 32].tolist()
    assert r > 150 > b


def test_transparent_png_becomes_rgb(tmp_path: Path) -> None:
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(tmp_path / "sticker.png")
    assert read_picture(tmp_path / "sticker.png", size=32).getpixel((5, 5)) == (255, 255, 255)


def make_pictures(root: Path) -> None:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(root / f"p{k}.jpg", quality=90)
    whole = (root / "p0.jpg").read_bytes()
    (root / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "letter.png").write_text("Dear diary, this is not a picture.")


def test_broken_files_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    make_pictures(tmp_path)
    (tmp_path / "voice.wav").write_text("just text behind a .wav suffix\n")
    pictures, report = read_archive_pictures(tmp_path, size=32)
    assert [p.name for p in report.files] == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert len(pictures) == 3
    assert all(p.size == (32, 32) for p in pictures)
    assert {u.path.name for u in report.unreadable} == {"broken.jpg", "letter.png"}
    assert all("\n" not in u.reason and u.reason for u in report.unreadable)
    with pytest.raises(ArchiveError, match=r"none of the 1 audio files .*\.wav"):
        read_archive_sounds(tmp_path)

    out = tmp_path / "out" / "report.txt"
    report.write(out)
    text = out.read_text()
    assert "files read: 3" in text
    assert "broken.jpg" in text
    assert "letter.png" in text
    assert report.summary() == f"3 files read, 2 unreadable (listed in {out})"


@pytest.mark.parametrize("kind", ["audio", "images"])
def test_empty_or_missing_folder_raises_archive_error(tmp_path: Path, kind: str) -> None:
    read = read_archive_sounds if kind == "audio" else read_archive_pictures
    with pytest.raises(ArchiveError, match=r"no .* files in .*accepted: .*\.(wav|jpg)"):
        read(tmp_path)
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(ArchiveError, match=str(tmp_path)):
        read(tmp_path)
    with pytest.raises(ArchiveError, match="does not exist"):
        read(tmp_path / "nowhere")


def test_manifest_hash_is_stable_and_tracks_content(tmp_path: Path) -> None:
    make_pictures(tmp_path)
    _, first = read_archive_pictures(tmp_path, size=16)
    _, again = read_archive_pictures(tmp_path, size=16)
    assert first.manifest_hash == again.manifest_hash
    assert len(first.manifest_hash) == 64

    Image.new("RGB", (400, 300), "green").save(tmp_path / "p1.jpg")
    _, changed = read_archive_pictures(tmp_path, size=16)
    assert changed.manifest_hash != first.manifest_hash

    # Unreadable files are not part of the manifest: changing one leaves the hash alone.
    (tmp_path / "letter.png").write_text("another letter")
    _, same = read_archive_pictures(tmp_path, size=16)
    assert same.manifest_hash == changed.manifest_hash
