"""Archive read throughput (issue 16): a ~200-file phone folder made here, read cold and from the decoded cache.

The folder, built once (reused with --dir): 60 WhatsApp voice notes (.opus, 5-40 s), 30 iPhone memos (.m4a AAC,
10-60 s), 20 old-Android notes (.amr, 5-30 s), 30 12-MP JPEG photos (EXIF orientation), 40 1600x1200 JPEGs
(as messengers send them), 10 PNG screenshots (1170x2532), 10 1080p H.264 videos with sound (10 s), and 5 iPhone
Live Photos (a 12-MP HEIC still + a 3 s 1440x1080 HEVC .MOV with sound).

Printed per modality: a cold read without a cache, a cold read filling one, and a read from it: files/s, seconds
of sound decoded per second (sound), pictures per second (pictures); and the sha256 pass alone (every read hashes
every file: the floor of a cached read). The files were just written or read, so they are in the page cache.

python bench/archive.py [--dir DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.crack.archive import _sha256, read_archive_pictures, read_archive_sounds, scan  # noqa: E402

SR = 16000
LINES = [
    ("en", "hi, it's me, call me back when you get this, I'm at the station"),
    ("de", "ich bin gleich da, wir sehen uns vor dem Kino um acht"),
    ("fr", "n'oublie pas le pain et le fromage, et rappelle ta mère"),
    ("es", "ya llegué a casa, mañana te cuento todo lo que pasó"),
    ("it", "ti mando le foto stasera, erano bellissime"),
    ("pt", "estou no trânsito, chego em vinte minutos"),
]


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg(*args: str) -> None:
    run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args)


def build(root: Path) -> None:
    """The phone folder; each file's content differs (no duplicates), so every one is decoded."""
    rng = np.random.default_rng(16)
    work = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    try:
        speech = []
        for i, (lang, text) in enumerate(LINES):
            raw, out = work / f"raw{i}.wav", work / f"speech{i}.wav"
            run("espeak-ng", "-v", lang, "-w", str(raw), text)
            run("sox", str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(out), "pad", "0", "0.7")
            speech.append(out)

        def note(seconds: float, k: int) -> Path:
            """A voice note of about `seconds`: utterances one after another over room noise, each one different."""
            picks = [str(speech[j]) for j in rng.integers(0, len(speech), max(1, int(seconds / 3)))]
            joined, out = work / f"joined{k}.wav", work / f"note{k}.wav"
            run("sox", *picks, str(joined))
            run("sox", "-m", str(joined), "-t", "wav", f"|sox -n -r {SR} -c 1 -b 16 -t wav - synth {seconds} pinknoise "
                f"vol {rng.uniform(0.01, 0.05):.4f}", str(out), "trim", "0", f"{seconds:.2f}",
                "gain", f"{rng.uniform(-6, 0):.2f}")
            return out

        voice = root / "WhatsApp" / "Media" / "WhatsApp Voice Notes"
        memos, calls = root / "Voice Memos", root / "Recordings"
        camera, shots = root / "DCIM" / "Camera", root / "Screenshots"
        sent = root / "WhatsApp" / "Media" / "WhatsApp Images"
        for folder in (voice, memos, calls, camera, sent, shots):
            folder.mkdir(parents=True, exist_ok=True)
        for k in range(60):
            ffmpeg("-i", str(note(rng.uniform(5, 40), k)), "-ar", "48000", "-c:a", "libopus", "-b:a", "16k",
                   str(voice / f"PTT-2024{k:04d}-WA0001.opus"))
        for k in range(30):
            ffmpeg("-i", str(note(rng.uniform(10, 60), 100 + k)), "-ar", "44100", "-ac", "2", "-c:a", "aac",
                   "-b:a", "64k", str(memos / f"New Recording {k + 1}.m4a"))
        for k in range(20):
            run("sox", str(note(rng.uniform(5, 30), 200 + k)), "-r", "8000", "-t", "amr-nb",
                str(calls / f"rec{k:03d}.amr"))

        def photo(width: int, height: int) -> Image.Image:
            coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
            smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), np.int16)
            grain = rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
            return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))

        exif = Image.Exif()
        for k in range(30):
            exif[0x0112] = (1, 6, 8, 3)[k % 4]
            photo(4032, 3024).save(camera / f"IMG_2019{k:04d}.jpg", quality=90, exif=exif)
        for k in range(40):
            photo(1600, 1200).save(sent / f"IMG-2021{k:04d}-WA0000.jpg", quality=80)
        for k in range(10):
            photo(1170, 2532).save(shots / f"Screenshot_{k:03d}.png", compress_level=1)
        for k in range(10):
            ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration=10,hue=h={k * 30}",
                   "-i", str(note(10, 300 + k)), "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60",
                   "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(camera / f"VID_2020{k:04d}.mp4"))
        import pillow_heif

        pillow_heif.register_heif_opener()
        for k in range(5):
            coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # smooth: x265 takes a minute over grain
            Image.fromarray(coarse).resize((4032, 3024), Image.Resampling.BICUBIC).save(
                camera / f"IMG_{4000 + k}.HEIC", quality=70)
            ffmpeg("-f", "lavfi", "-i", f"testsrc=size=1440x1080:rate=30:duration=3,hue=h={k * 50}",
                   "-i", str(note(3, 400 + k)), "-shortest", "-c:v", "libx265", "-preset", "ultrafast",
                   "-x265-params", "log-level=error", "-tag:v", "hvc1", "-pix_fmt", "yuv420p", "-c:a", "aac",
                   str(camera / f"IMG_{4000 + k}.MOV"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (root / ".built").write_text("bench/archive.py\n")


def timed(read: Any) -> tuple[float, Any, Any]:
    start = time.perf_counter()
    items, report = read()
    return time.perf_counter() - start, items, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, help="the phone folder: built there once, reused after")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="archive-read-"))
    root = args.dir or scratch / "phone"
    if not (root / ".built").exists():
        start = time.perf_counter()
        build(root)
        print(f"built {root} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    files = [p for kind in ("audio", "images") for p in scan(root, kind).files]
    unique = sorted(set(files))
    megabytes = sum(p.stat().st_size for p in unique) / 1e6
    out: dict[str, Any] = {"files": len(unique), "megabytes": round(megabytes, 1)}
    start = time.perf_counter()
    for path in unique:
        _sha256(path)
    hashing = time.perf_counter() - start
    out["sha256 pass"] = {"seconds": round(hashing, 2), "MB/s": round(megabytes / hashing)}
    print(f"{len(unique)} files, {megabytes:.0f} MB; sha256 of all: {hashing:.2f} s ({megabytes / hashing:.0f} MB/s)")
    cache = scratch / "cache"
    try:
        for kind, reader in (("sound", read_archive_sounds), ("pictures", read_archive_pictures)):
            rows = {}
            for label, cache_dir in (("cold", None), ("cold, filling the cache", cache), ("cached", cache)):
                seconds, items, report = timed(lambda r=reader, c=cache_dir: r(root, cache_dir=c))
                n = len(report.files)
                row = {"seconds": round(seconds, 2), "files": n, "files/s": round(n / seconds, 1),
                       "from cache": report.cached}
                if kind == "sound":
                    audio = sum(len(x) for x in items) / SR
                    row["sound seconds/s"] = round(audio / seconds)
                    extra = f", {audio:.0f} s of sound: {audio / seconds:.0f} s of sound/s"
                else:
                    row["pictures/s"] = round(len(items) / seconds, 1)
                    extra = f", {len(items)} pictures: {len(items) / seconds:.1f}/s"
                rows[label] = row
                print(f"{kind:8s} {label:24s} {n} files in {seconds:6.2f} s: {n / seconds:6.1f} files/s{extra}"
                      f" ({report.cached} from the cache)")
            print(f"         {report.summary()}")
            out[kind] = rows
        out["cache megabytes"] = round(sum(p.stat().st_size for p in cache.glob("*.npy")) / 1e6, 1)
        print(f"cache: {out['cache megabytes']} MB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
