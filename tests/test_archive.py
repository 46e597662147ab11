"""Reading a phone archive: real files made here with sox, ffmpeg and Pillow."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
import zlib
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
    assert report.unreadable == []
    assert [(u.path.name, u.reason, u.category) for u in report.left_out] == [
        ("silent_film.mp4", "no audio stream", "no stream")
    ]
    assert report.summary() == "9 files read; 1 without sound (silent_film.mp4)"


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
    assert report.summary() == f"3 files read; 2 unreadable; 1 other file, not images (listed in {out})"


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


# --- entries that are not files, and pictures too large to decode (issue 11) ---------------------


def _special_archive(root: Path) -> dict[str, str]:
    """Two pictures and every kind of entry a copied phone or home folder can hold; the reasons expected."""
    root.mkdir(parents=True, exist_ok=True)
    for k in range(2):
        Image.new("RGB", (64, 48), (200, 20 * k, 20)).save(root / f"p{k}.jpg")
    os.mkfifo(root / "pipe.jpg")  # opening it for reading would wait for a writer forever
    os.mkfifo(root / "fifo")
    (root / "loop.jpg").symlink_to("loop.jpg")
    (root / "ping.png").symlink_to("pong.png")
    (root / "pong.png").symlink_to("ping.png")
    (root / "null.jpg").symlink_to("/dev/null")
    (root / "zero.png").symlink_to("/dev/zero")  # read would never end
    (root / "gone.jpg").symlink_to("nowhere.jpg")
    (root / "again").symlink_to(".")  # a folder link: walking it would loop
    (root / "alias.jpg").symlink_to("p0.jpg")  # a link to a picture is a picture
    (root / "notes.txt").write_text("shopping list")
    return {
        "again": "a symlink to a folder (-> .); not followed, it could loop",
        "fifo": "a FIFO (named pipe), not a file; not opened",
        "gone.jpg": "a broken symlink (-> nowhere.jpg: nothing there)",
        "loop.jpg": "a symlink loop (-> loop.jpg); not followed",
        "null.jpg": "a symlink to a character device (-> /dev/null); not opened",
        "ping.png": "a symlink loop (-> pong.png); not followed",
        "pipe.jpg": "a FIFO (named pipe), not a file; not opened",
        "pong.png": "a symlink loop (-> ping.png); not followed",
        "zero.png": "a symlink to a character device (-> /dev/zero); not opened",
    }


def test_fifos_loops_and_device_links_are_listed_and_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    expected = _special_archive(root)
    result: list = []  # type: ignore[type-arg]
    reader = threading.Thread(target=lambda: result.append(read_archive_pictures(root, size=16)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # it opened a FIFO: give it a writer so the thread ends, then fail
        for fifo in ("pipe.jpg", "fifo"):
            with contextlib.suppress(OSError):
                os.close(os.open(root / fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading the archive blocked (a FIFO was opened)")
    pictures, report = result[0]
    # A link to a picture in the archive is its duplicate: the picture is read once, under its own name.
    assert [p.name for p in report.files] == ["p0.jpg", "p1.jpg"] and len(pictures) == 2
    assert [(u.path.name, u.reason) for u in report.left_out] == [
        ("alias.jpg", f"duplicate of p0.jpg (a symlink to it): the same {(root / 'p0.jpg').stat().st_size} bytes")
    ]
    assert {u.path.name: u.reason for u in report.skipped} == expected

    out = tmp_path / "mine.archive.txt"
    report.write(out)
    text = out.read_text()
    assert "not regular files: 9" in text and "other files, not images: 1 (.txt 1)\n  notes.txt\n" in text
    for name, reason in expected.items():
        assert f"  {name}: {reason}\n" in text
    # Every entry of the folder is accounted for: read, unreadable, skipped or counted as another kind.
    assert len(report.files) + len(report.left_out) + len(report.skipped) + 1 == len(os.listdir(root))
    assert report.summary() == (
        f"2 files read; 1 duplicate, 9 not regular files; 1 other file, not images (listed in {out})"
    )


def test_an_archive_of_nothing_but_special_entries_says_so(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "voice.wav")
    (tmp_path / "null.mp3").symlink_to("/dev/null")
    with pytest.raises(ArchiveError, match="no audio files .*2 entries that are not files were skipped"):
        read_archive_sounds(tmp_path)


def write_blank_png(path: Path, width: int, height: int) -> None:
    """A 1-bit grey PNG, written by hand: 13000x13000 is a 20 KB file, made in a fraction of a second."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


_PEAK = """
import json, resource, sys
from pathlib import Path
from ciel_node.crack.archive import read_archive_pictures
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pictures, report = read_archive_pictures(Path(sys.argv[1]), size=32)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"read": [p.name for p in report.files], "before_kb": before, "after_kb": after,
                  "unreadable": {u.path.name: u.reason for u in report.unreadable}}))
"""


def test_a_13000_square_png_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    # 169 MP: under Pillow's own bomb limit (179 MP), so Pillow decodes it, to about 1 GB at peak.
    write_blank_png(tmp_path / "bomb.png", 13000, 13000)
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    Image.new("RGB", (64, 64), "red").save(tmp_path / "ok.png")
    proc = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["read"] == ["ok.png"]
    assert seen["unreadable"] == {
        "bomb.png": "too large to decode: 13000x13000 = 169 MP, over the 40 MP a picture may have; downscale it"
    }
    grew_mb = (seen["after_kb"] - seen["before_kb"]) / 1024  # ru_maxrss is in KiB on Linux
    assert grew_mb < 100, f"reading the archive raised the peak RSS by {grew_mb:.0f} MB"


def test_the_pixel_bound_counts_a_jpeg_at_its_decoded_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ciel_node.crack import media

    monkeypatch.setattr(media, "MAX_PIXELS", 500_000)
    Image.new("RGB", (1600, 1200), (20, 200, 20)).save(tmp_path / "big.jpg", quality=90)
    Image.new("RGB", (1600, 1200), (20, 200, 20)).save(tmp_path / "big.png")
    # 1.9 MP each: the JPEG decodes at 1/4 scale (0.12 MP) and is read, the PNG would decode whole.
    pic = read_picture(tmp_path / "big.jpg", size=256)
    assert pic.size == (256, 256) and pic.getpixel((128, 128))[1] > 150
    with pytest.raises(ValueError, match="1600x1200 = 2 MP, over the 0.5 MP"):
        read_picture(tmp_path / "big.png", size=256)
    # Under the bound, a large picture is shrunk by a whole factor before the crop: same colours.
    monkeypatch.setattr(media, "MAX_PIXELS", 40_000_000)
    assert read_picture(tmp_path / "big.png", size=64).getpixel((32, 32)) == (20, 200, 20)
