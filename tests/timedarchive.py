"""A phone archive with capture times, made by the tests (and bench/learnmap.py): voice-memo-like .m4a sounds with
`creation_time` (ffmpeg) and JPEG pictures with EXIF DateTimeOriginal (Pillow), pair k a couple of minutes apart and
pairs hours apart, so each sound's nearest picture is its own.

The pairs are related as a VJ would relate them: a louder sound has a brighter sky, a higher one a warmer (dusk)
sky and a lower one a cooler (deep blue) one; the sound is a tone with a few harmonics and some breath noise. So a
map from the sound's description to the picture's latent can be learned, and a held-out pair checks it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RATE = 16000
START = dt.datetime(2024, 5, 1, 8, 0, 0, tzinfo=dt.UTC)
_EXIF_IFD, _DATE_TIME_ORIGINAL = 0x8769, 0x9003


@dataclass(frozen=True)
class TimedPair:
    sound: Path
    picture: Path
    pitch: float  # 0..1: the tone from 150 Hz to 1.2 kHz; the sky from deep blue to dusk
    loud: float  # 0..1: from -34 to -8 dBFS; the sky from dark to bright


def make_timed_archive(folder: Path, n: int, seed: int = 0, times: bool = True, size: int = 128) -> list[TimedPair]:
    """n pairs in `folder` (sounds/memo_k.m4a, photos/IMG_k.jpg); with times=False, no capture times at all."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is needed"
    (folder / "sounds").mkdir(parents=True, exist_ok=True)
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 0x7173])
    params = rng.random((n, 2))
    pairs = [TimedPair(folder / "sounds" / f"memo_{k:03d}.m4a", folder / "photos" / f"IMG_{k:03d}.jpg",
                       float(params[k, 0]), float(params[k, 1])) for k in range(n)]

    def one(k: int) -> None:
        p = pairs[k]
        when = START + dt.timedelta(hours=3 * k)
        _sound(ffmpeg, p.sound, p.pitch, p.loud, np.random.default_rng([seed, k]), when if times else None)
        _picture(p.picture, p.pitch, p.loud, size, when + dt.timedelta(minutes=2) if times else None)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(n)))
    return pairs


def _sound(ffmpeg: str, path: Path, pitch: float, loud: float, rng: np.random.Generator,
           when: dt.datetime | None) -> None:
    t = np.arange(int(1.5 * RATE)) / RATE
    f0 = 150.0 * 8.0**pitch
    tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    noise = 0.1 * rng.standard_normal(len(t))
    x = tone + noise
    x *= 10 ** ((-34 + 26 * loud) / 20) / np.sqrt(np.mean(x * x))
    x *= np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # no clicks at the ends
    meta = ["-metadata", f"creation_time={when.strftime('%Y-%m-%dT%H:%M:%S.000000Z')}"] if when else []
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-", *meta,
                    "-c:a", "aac", "-b:a", "64k", str(path)], input=x.astype("<f4").tobytes(), check=True,
                   timeout=60)


def _picture(path: Path, pitch: float, loud: float, size: int, when: dt.datetime | None) -> None:
    cool = np.array([[20, 40, 140], [90, 140, 220]], np.float64)  # (zenith, horizon): a deep blue sky
    warm = np.array([[90, 40, 110], [250, 150, 60]], np.float64)  # dusk
    zenith, horizon = ((1 - pitch) * cool + pitch * warm) * (0.25 + 0.9 * loud)
    rows = np.linspace(0.0, 1.0, size)[:, None, None]
    sky = zenith * (1 - rows) + horizon * rows  # (size, 1, 3)
    pixels = np.clip(np.broadcast_to(sky, (size, size, 3)), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    if when is not None:
        exif.get_ifd(_EXIF_IFD)[_DATE_TIME_ORIGINAL] = when.strftime("%Y:%m:%d %H:%M:%S")
    Image.fromarray(pixels).save(path, quality=92, exif=exif)
