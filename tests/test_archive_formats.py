"""A phone archive of every format phones write, and every way a file can fail (issue 16): each file under it is
read or listed with its reason, and a second read comes from the cache, identical, with no decoder run."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import require_tool
from PIL import Image, features

from ciel_node.crack import archive
from ciel_node.crack.archive import read_archive_pictures, read_archive_sounds

SR = 16000


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg(*args: str) -> None:
    run(require_tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", *args)


def need_encoder(name: str) -> None:
    listed = subprocess.run([require_tool("ffmpeg"), "-hide_banner", "-encoders"], capture_output=True, text=True)
    if f" {name} " not in listed.stdout:
        if os.environ.get("CI") == "true":
            pytest.fail(f"ffmpeg here has no {name} encoder; CI must have it")
        pytest.skip(f"ffmpeg here has no {name} encoder")


def write_amr_wb(wav: Path, out: Path) -> None:
    """AMR-WB (.awb) through VisualOn's encoder (Debian's libvo-amrwbenc0): neither sox nor ffmpeg here encodes it."""
    name = ctypes.util.find_library("vo-amrwbenc")
    if name is None:
        message = "libvo-amrwbenc is not installed (apt-get install libvo-amrwbenc0)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)
    lib = ctypes.CDLL(name)
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    samples, rate = sf.read(wav, dtype="int16")
    assert rate == SR
    samples = np.concatenate([samples, np.zeros(-len(samples) % 320, np.int16)])  # 20 ms frames
    state, frame = lib.E_IF_init(), (ctypes.c_ubyte * 64)()
    data = bytearray(b"#!AMR-WB\n")
    for i in range(0, len(samples), 320):
        chunk = np.ascontiguousarray(samples[i : i + 320])
        n = lib.E_IF_encode(state, 8, chunk.ctypes.data, frame, 1)  # mode 8: 23.85 kbit/s, DTX on
        data += bytes(frame[:n])
    lib.E_IF_exit(state)
    out.write_bytes(bytes(data))


def picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (48, 40), **save: object) -> None:
    im = Image.new("RGB", size, colour)
    im.paste((255, 255, 255), (4, 4, 12, 12))  # something besides the colour, so no two formats share bytes
    im.save(path, **save)


# name -> what reading it for sound / for pictures must say: "read", or the category it is left out under.
SOUND = {
    "clip.wav": "read", "clip.flac": "read", "song.mp3": "read", "rain.ogg": "read", "voice_opus.ogg": "read",
    "WhatsApp/voice.opus": "read", "WhatsApp/voice_copy.opus": "duplicate",
    "note.amr": "read", "note.awb": "read", "note.3gp": "read", "note.3g2": "read",
    "memo_aac.m4a": "read", "memo_alac.M4A": "read", "memo.aac": "read", "memo.caf": "read",
    "film_h264.mp4": "read", "film_hevc.mov": "read", "IMG_0001.MOV": "read", "IMG_0003.mov": "read",
    "silent.mp4": "no stream", "truncated.mp4": "unreadable", "empty.m4a": "empty", "blip.wav": "too short",
    "pipe.opus": "not a regular file", "loop.mov": "not a regular file",
}
PICTURES = {
    "photo.jpg": "read", "shot.png": "read", "sticker.webp": "read", "anim.gif": "read", "old.bmp": "read",
    "IMG_0001.HEIC": "read", "burst.heif": "read", "pic.avif": "read",
    "film_h264.mp4": "read", "film_hevc.mov": "read", "silent.mp4": "read",
    "IMG_0001.MOV": "Live Photo motion", "IMG_0003.heic": "unreadable", "IMG_0003.mov": "read",
    "shot_copy.png": "duplicate", "letter.jpg": "unreadable", "empty.png": "empty", "icon.png": "too short",
    "truncated.mp4": "unreadable", "pipe.opus": "not a regular file", "loop.mov": "not a regular file",
}
OTHER = ["notes.txt"]  # neither kind
HIDDEN = [".thumbnails"]


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small file of every format (1 s sounds, 48x40 pictures, 1 s 64x48 videos), and the broken ones."""
    root = tmp_path_factory.mktemp("phone")
    work = tmp_path_factory.mktemp("work")
    sox = require_tool("sox")
    need_encoder("libx265")
    run(require_tool("espeak-ng"), "-w", str(work / "speech.wav"), "hello from my phone")
    speech, noise, tone = work / "speech16k.wav", work / "noise.wav", work / "tone.wav"
    run(sox, str(work / "speech.wav"), "-r", str(SR), "-c", "1", "-b", "16", str(speech), "trim", "0", "1.0")
    run(sox, "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(noise), "synth", "1.0", "pinknoise", "vol", "0.3")
    run(sox, "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(tone), "synth", "1.0", "sine", "300-900")

    shutil.copyfile(speech, root / "clip.wav")
    run(sox, "-R", str(tone), str(root / "clip.flac"))
    ffmpeg("-i", str(noise), str(root / "song.mp3"))
    ffmpeg("-i", str(noise), "-c:a", "libvorbis", str(root / "rain.ogg"))
    ffmpeg("-i", str(tone), "-c:a", "libopus", "-f", "ogg", str(root / "voice_opus.ogg"))  # Ogg/Opus named .ogg
    (root / "WhatsApp").mkdir()
    ffmpeg("-i", str(speech), "-c:a", "libopus", str(root / "WhatsApp" / "voice.opus"))
    shutil.copyfile(root / "WhatsApp" / "voice.opus", root / "WhatsApp" / "voice_copy.opus")
    run(sox, "-R", str(speech), "-r", "8000", "-t", "amr-nb", str(root / "note.amr"))
    write_amr_wb(tone, root / "note.awb")
    ffmpeg("-i", str(root / "note.amr"), "-c:a", "copy", str(root / "note.3gp"))
    ffmpeg("-i", str(root / "note.amr"), "-c:a", "copy", str(root / "note.3g2"))
    ffmpeg("-i", str(speech), "-c:a", "aac", str(root / "memo_aac.m4a"))
    ffmpeg("-i", str(tone), "-c:a", "alac", str(root / "memo_alac.M4A"))  # upper-case suffix, as phones write
    ffmpeg("-i", str(noise), "-c:a", "aac", str(root / "memo.aac"))
    ffmpeg("-i", str(speech), "-c:a", "alac", str(root / "memo.caf"))
    run(sox, "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(root / "blip.wav"), "synth", "0.05", "sine", "440")

    def film(name: str, source: str, sound: Path, codec: str) -> None:
        extra = ["-x265-params", "log-level=error", "-tag:v", "hvc1"] if codec == "libx265" else []
        ffmpeg("-f", "lavfi", "-i", f"{source}=size=64x48:rate=10", "-i", str(sound), "-shortest", "-c:v", codec,
               *extra, "-pix_fmt", "yuv420p", "-c:a", "aac", str(root / name))

    film("film_h264.mp4", "testsrc", speech, "libx264")
    film("film_hevc.mov", "testsrc2", tone, "libx265")
    film("IMG_0001.MOV", "smptebars", noise, "libx264")  # a Live Photo's motion: its still is IMG_0001.HEIC
    film("IMG_0003.mov", "rgbtestsrc", tone, "libx264")  # a Live Photo whose still is broken: its frames are used
    # A portrait video without sound: stored 64x32 (red band on top), shown rotated (display matrix).
    band = Image.new("RGB", (64, 32), (0, 0, 220))
    band.paste((220, 0, 0), (0, 0, 64, 16))
    band.save(work / "band.png")
    ffmpeg("-loop", "1", "-i", str(work / "band.png"), "-t", "1", "-r", "10", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", str(work / "flat.mp4"))
    ffmpeg("-i", str(work / "flat.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(root / "silent.mp4"))
    whole = (root / "film_h264.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) * 6 // 10])  # the index (moov) is at the end: cut off

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise"
    picture(root / "photo.jpg", (200, 40, 40), exif=exif)
    picture(root / "shot.png", (40, 200, 40))
    shutil.copyfile(root / "shot.png", root / "shot_copy.png")
    picture(root / "sticker.webp", (40, 40, 200))
    first, second = Image.new("RGB", (48, 40), (200, 200, 40)), Image.new("RGB", (48, 40), (40, 40, 40))
    first.save(root / "anim.gif", save_all=True, append_images=[second], duration=100)
    picture(root / "old.bmp", (120, 60, 30))
    import pillow_heif

    pillow_heif.register_heif_opener()
    picture(root / "IMG_0001.HEIC", (30, 120, 160), format="HEIF")
    picture(root / "burst.heif", (160, 30, 120), format="HEIF")
    assert features.check("avif"), "this Pillow writes and reads AVIF: the fixture has one"
    picture(root / "pic.avif", (90, 160, 90))
    picture(root / "icon.png", (10, 10, 10), size=(8, 8))
    (root / "letter.jpg").write_text("Dear diary, this is not a picture.\n")
    (root / "IMG_0003.heic").write_text("a still that never synced\n")
    (root / "empty.m4a").write_bytes(b"")
    (root / "empty.png").write_bytes(b"")
    os.mkfifo(root / "pipe.opus")  # opening it for reading would wait for a writer forever
    (root / "loop.mov").symlink_to("loop.mov")
    (root / "notes.txt").write_text("shopping list\n")
    (root / ".thumbnails").mkdir()
    picture(root / ".thumbnails" / "t.jpg", (1, 2, 3))
    return root


def every_entry(root: Path) -> set[str]:
    """Every file and link under root, by relative path; a hidden folder counts once (it is not searched)."""
    entries = set()
    for folder, dirs, names in os.walk(root):
        entries |= {(Path(folder) / d).relative_to(root).as_posix() for d in dirs if d.startswith(".")}
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        entries |= {(Path(folder) / n).relative_to(root).as_posix() for n in names}
    return entries


def outcomes(report: archive.ArchiveReport) -> dict[str, str]:
    rel = lambda p: p.relative_to(report.root).as_posix()  # noqa: E731
    seen = {rel(p): "read" for p in report.files}
    for u in report.left_out + report.skipped:
        assert rel(u.path) not in seen, f"{u.path} accounted twice"
        seen[rel(u.path)] = u.category
    return seen


def test_every_file_is_read_as_sound_or_listed_with_its_reason(phone: Path, tmp_path: Path) -> None:
    assert every_entry(phone) == set(SOUND) | set(PICTURES) | {*OTHER, *HIDDEN}
    sounds, report = read_archive_sounds(phone)
    assert outcomes(report) == SOUND
    assert len(sounds) == len(report.files) == len(report.origins)
    for path, x in zip(report.files, sounds, strict=True):
        assert x.dtype == np.float32 and x.ndim == 1, path
        assert 0.9 <= len(x) / SR <= 1.15, (path, len(x) / SR)
        assert float(np.mean(x**2)) > 1e-4, path
    reasons = {u.path.name: u.reason for u in report.left_out + report.skipped}
    size = (phone / "WhatsApp" / "voice.opus").stat().st_size
    assert reasons["voice_copy.opus"] == f"duplicate of WhatsApp/voice.opus: the same {size} bytes"
    assert reasons["empty.m4a"] == "empty (0 bytes)"
    assert reasons["silent.mp4"] == "no audio stream"
    assert reasons["blip.wav"].startswith("too short: 0.050 s of sound, under the 0.1 s")
    assert reasons["truncated.mp4"].startswith("not a valid MP4 stream (av.error.InvalidDataError")
    assert reasons["pipe.opus"] == "a FIFO (named pipe), not a file; not opened"
    assert reasons["loop.mov"] == "a symlink loop (-> loop.mov); not followed"
    other = {p.relative_to(phone).as_posix() for p in report.other}
    assert other == (set(PICTURES) - set(SOUND)) | set(OTHER)
    assert [p.name for p in report.hidden] == [".thumbnails"]

    out = tmp_path / "phone.archive.txt"
    report.write(out)
    assert report.summary() == (
        f"{len(report.files)} files read; 1 unreadable, 1 empty, 1 too short, 1 without sound, 1 duplicate, "
        f"2 not regular files; {len(other)} other files, not audio, 1 hidden (listed in {out})"
    )
    text = out.read_text()
    for u in report.left_out + report.skipped:
        assert f"\n  {u.path.relative_to(phone).as_posix()}: {u.reason}\n" in text
    for name in [*(n for n, what in SOUND.items() if what == "read"), *other, ".thumbnails"]:
        assert f"\n  {name}\n" in text, name


def test_every_file_is_read_as_pictures_or_listed_with_its_reason(phone: Path, tmp_path: Path) -> None:
    pictures, report = read_archive_pictures(phone, size=32)
    assert outcomes(report) == PICTURES
    frames = {p.name: report.origins.count(p) for p in report.files}
    assert frames == {"photo.jpg": 1, "shot.png": 1, "sticker.webp": 1, "anim.gif": 1, "old.bmp": 1,
                      "IMG_0001.HEIC": 1, "burst.heif": 1, "pic.avif": 1,
                      "film_h264.mp4": 3, "film_hevc.mov": 3, "silent.mp4": 3, "IMG_0003.mov": 3}
    assert len(pictures) == len(report.origins) == 20
    assert all(p.size == (32, 32) and p.mode == "RGB" for p in pictures)
    by_file = dict(zip(report.origins, pictures, strict=False))  # a still's one picture
    for name, colour in [("IMG_0001.HEIC", (30, 120, 160)), ("burst.heif", (160, 30, 120)),
                         ("pic.avif", (90, 160, 90)), ("sticker.webp", (40, 40, 200))]:
        got = by_file[phone / name].getpixel((24, 24))
        assert max(abs(a - b) for a, b in zip(got, colour, strict=True)) < 24, (name, got)
    # Three different moments of a video, not one frame thrice.
    film = [np.asarray(p) for o, p in zip(report.origins, pictures, strict=True) if o.name == "film_h264.mp4"]
    assert not np.array_equal(film[0], film[1]) and not np.array_equal(film[1], film[2])
    # The portrait video stands as the phone shows it, as ffmpeg's own autorotation shows it: the band on the left.
    ffmpeg("-i", str(phone / "silent.mp4"), "-frames:v", "1", str(tmp_path / "shown.png"))
    shown = Image.open(tmp_path / "shown.png")
    assert shown.size == (32, 64) and shown.getpixel((4, 32))[0] > 150 > shown.getpixel((28, 32))[0]
    portrait = next(p for o, p in zip(report.origins, pictures, strict=True) if o.name == "silent.mp4")
    assert portrait.getpixel((4, 16))[0] > 150 > portrait.getpixel((28, 16))[0]

    reasons = {u.path.name: u.reason for u in report.left_out}
    assert reasons["IMG_0001.MOV"] == "Live Photo motion of IMG_0001.HEIC; its still is read instead"
    assert reasons["icon.png"] == "too small: 8x8 px, under the 16 px a picture needs"
    assert reasons["letter.jpg"].startswith("not a picture Pillow can read (PIL.UnidentifiedImageError")
    assert reasons["shot_copy.png"].startswith("duplicate of shot.png: the same")
    out = tmp_path / "pictures.archive.txt"
    report.write(out)
    assert report.summary().startswith(
        "12 files read; 3 unreadable, 1 empty, 1 too small, 1 duplicate, 1 Live Photo motion, 2 not regular files; "
    )
    text = out.read_text()
    assert "\n  silent.mp4 (3 frames)\n" in text and "\n  IMG_0001.HEIC\n" in text


def test_a_second_read_comes_from_the_cache_identical_with_no_decoder_run(
    phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    sounds, cold = read_archive_sounds(phone, cache_dir=cache)
    pictures, cold_p = read_archive_pictures(phone, size=32, cache_dir=cache)
    assert cold.cached == cold_p.cached == 0
    assert len(list(cache.glob("*.npy"))) == len(cold.files) + len(cold_p.files)

    def no_decoder(*_: object, **__: object) -> None:
        raise AssertionError("a decoder ran on a cached file")

    with monkeypatch.context() as patch:
        for name in ("read_sound", "read_picture", "read_video_frames"):
            patch.setattr(archive, name, no_decoder)
        again, warm = read_archive_sounds(phone, cache_dir=cache)
        again_p, warm_p = read_archive_pictures(phone, size=32, cache_dir=cache)
    assert warm.cached == len(warm.files) == len(cold.files)
    assert warm_p.cached == len(warm_p.files) == len(cold_p.files)
    assert warm.summary().startswith(f"{len(cold.files)} files read ({len(cold.files)} from the cache); ")
    assert [u.path for u in warm.left_out] == [u.path for u in cold.left_out]
    assert warm.manifest_hash == cold.manifest_hash and warm_p.origins == cold_p.origins
    for x, y in zip(sounds, again, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    for a, b in zip(pictures, again_p, strict=True):
        assert a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))

    # Another sample rate is another entry; a damaged entry is decoded again and rewritten, never fatal.
    _, other_rate = read_archive_sounds(phone, sample_rate=8000, cache_dir=cache)
    assert other_rate.cached == 0
    entries = sorted(cache.glob("*.sound-16000hz.*.npy"))
    flipped, torn, foreign = entries[:3]
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    torn.write_bytes(torn.read_bytes()[:100])
    np.save(foreign, np.zeros(3, np.float32))  # a plain .npy, without our checksum
    fresh, mended = read_archive_sounds(phone, cache_dir=cache)
    assert mended.cached == len(cold.files) - 3
    assert all(np.array_equal(x, y) for x, y in zip(sounds, fresh, strict=True))
    _, healed = read_archive_sounds(phone, cache_dir=cache)
    assert healed.cached == len(cold.files)

    # A cache folder that cannot be written (here a file stands in its place): read as without a cache.
    (tmp_path / "blocked").write_text("not a folder")
    _, blocked = read_archive_sounds(phone, cache_dir=tmp_path / "blocked")
    assert blocked.cached == 0 and len(blocked.files) == len(cold.files)


_DENIED = """
import json, sys
from pathlib import Path
from ciel_node.crack.archive import read_archive_sounds
from ciel_node.errors import ArchiveError
_, report = read_archive_sounds(Path(sys.argv[1]))
try:
    read_archive_sounds(Path(sys.argv[1]) / "locked")
except ArchiveError as e:
    locked = str(e)
print(json.dumps({"read": [p.name for p in report.files], "summary": report.summary(), "locked": locked,
                  "left_out": [[u.path.name, u.category, u.reason] for u in report.left_out + report.skipped]}))
"""


def test_files_and_folders_without_read_permission_are_listed(tmp_path: Path) -> None:
    sox = require_tool("sox")
    for name, kind in [("ok.wav", "sine"), ("secret.wav", "square"), ("locked/inside.wav", "sine")]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        run(sox, "-n", "-r", str(SR), "-c", "1", str(tmp_path / name), "synth", "0.5", kind, "440")
    (tmp_path / "secret.wav").chmod(0)
    (tmp_path / "locked").chmod(0)
    cmd = [sys.executable, "-c", _DENIED, str(tmp_path)]
    if os.geteuid() == 0:
        # Root reads every file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): read without those two, as a user would.
        drop = "-dac_override,-dac_read_search"
        cmd = [require_tool("setpriv"), "--bounding-set", drop, "--inh-caps", drop, *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        (tmp_path / "secret.wav").chmod(0o644)
        (tmp_path / "locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["read"] == ["ok.wav"]
    assert seen["left_out"] == [
        ["secret.wav", "permission denied",
         "cannot be opened (Permission denied); make it readable (chmod a+r) to use it"],
        ["locked", "permission denied", "a folder that cannot be listed (Permission denied); nothing in it was read"],
    ]
    assert seen["summary"] == "1 file read; 2 permission denied (secret.wav, locked)"
    assert seen["locked"] == (f"archive folder {tmp_path / 'locked'} cannot be listed (Permission denied); make it "
                              "readable (chmod a+rx) or pass another")
