"""Weak pairs of an archive: each sound with the picture taken nearest to it in time (capture times from the files).

A phone writes when a picture was taken (EXIF DateTimeOriginal, with OffsetTimeOriginal on recent phones) and when a
video or a voice memo was recorded (`creation_time` in the container). A sound and a picture captured within a few
minutes of each other are likely of the same moment: a weak pair, from which the synaesthesia map is learned
(learnmap.py). Two pairs need no clock: a video with sound is its own pair (its sound, its frames), and an iPhone
Live Photo's motion (IMG_0001.MOV beside IMG_0001.HEIC) pairs its sound with its still.

Every file is accounted for: it has a capture time or not, it is paired or not; nothing is decoded here (the
headers only), so finding the pairs of a large archive takes seconds.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image

from ciel_node.crack.archive import (
    PICTURE_SUFFIXES,
    SOUND_SUFFIXES,
    VIDEO_SUFFIXES,
    _live_photo_motions,
    _relative,
    scan,
)
from ciel_node.crack.media import _heif_opener

WINDOW_S = 600.0  # a sound and a picture this close in time (10 min) are of the same moment, likely enough
_EXIF_IFD, _DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x8769, 0x9003, 0x9011
# Before this a capture time is a camera's unset clock (QuickTime's 1904, Unix's 1970, a 1980 FAT date), not a time.
_EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True)
class Probed:
    """One archive file as its header tells it: when it was captured (POSIX seconds, None: it does not say), and
    whether it holds sound and pictures."""

    path: Path
    time: float | None
    sound: bool
    picture: bool


@dataclass(frozen=True)
class Pair:
    """A sound file and the picture file (a still, or a video's frames) of the same moment, and why they pair."""

    sound: Path
    picture: Path
    apart_s: float  # between their capture times (0 for a video's own sound and frames)
    why: str  # "video" (its own sound and frames), "live photo" (the motion's sound and its still), "time"


@dataclass
class Pairing:
    """The pairs of an archive and the account of every file: how many sounds and pictures, how many with times."""

    root: Path
    pairs: list[Pair]
    sounds: int
    pictures: int
    timed: int  # files with a capture time (of the sounds and pictures)
    window_s: float
    untimed: list[Path] = field(default_factory=list)  # sounds and pictures without a capture time

    def counts(self) -> str:
        """"12 sounds, 40 pictures, 3 with capture times"."""
        return (f"{self.sounds} {'sound' if self.sounds == 1 else 'sounds'}, {self.pictures} "
                f"{'picture' if self.pictures == 1 else 'pictures'}, {self.timed} with capture times")

    def window_text(self) -> str:
        return f"picture and sound within {self.window_s / 60:g} min"

    def lines(self) -> list[str]:
        """The full account, for a text file beside the map: each pair, then each file without a capture time."""
        out = [f"archive: {self.root}", f"{self.counts()}; {len(self.pairs)} pairs ({self.window_text()})", "",
               "pairs (sound <- picture, minutes apart, why):"]
        out += [f"  {_relative(p.sound, self.root)} <- {_relative(p.picture, self.root)}  {p.apart_s / 60:.1f} min  "
                f"{p.why}" for p in self.pairs]
        if self.untimed:
            out += ["", "without a capture time (paired only when a video or a Live Photo is its own pair):"]
            out += [f"  {_relative(p, self.root)}" for p in self.untimed]
        return out


def find_pairs(root: Path, window_s: float = WINDOW_S) -> Pairing:
    """Probe every sound and picture under `root` (headers only) and pair each sound with its picture: its own frames
    (a video), its still (a Live Photo motion), else the picture captured nearest in time within `window_s` (ties:
    the first by path)."""
    root = Path(root)
    files = sorted(set(scan(root, "audio").files) | set(scan(root, "images").files))
    probed = {p: probe(p) for p in files}
    motions = _live_photo_motions(files)  # motion -> its still
    sounds = [f for f in probed.values() if f.sound]
    # A Live Photo's motion is not a picture of its own: its still is (as crack images reads it).
    pictures = [f for f in probed.values() if f.picture and f.path not in motions]
    timed_pictures = sorted((f.time, str(f.path), f.path) for f in pictures if f.time is not None)
    times = [t for t, _, _ in timed_pictures]
    pairs: list[Pair] = []
    for s in sounds:
        if s.picture and s.path not in motions:
            pairs.append(Pair(s.path, s.path, 0.0, "video"))
        elif s.path in motions:
            still = probed[motions[s.path]]
            apart = abs(s.time - still.time) if s.time is not None and still.time is not None else 0.0
            pairs.append(Pair(s.path, still.path, apart, "live photo"))
        elif s.time is not None and times:
            nearest = _nearest(s.time, times, timed_pictures, window_s)
            if nearest is not None:
                pairs.append(Pair(s.path, nearest[1], nearest[0], "time"))
    kept = {f.path: f for f in [*sounds, *pictures]}
    untimed = sorted(p for p, f in kept.items() if f.time is None)
    return Pairing(root, pairs, len(sounds), len(pictures), sum(f.time is not None for f in kept.values()), window_s,
                   untimed)


def _nearest(t: float, times: list[float], timed: list[tuple[float, str, Path]],
             window_s: float) -> tuple[float, Path] | None:
    """The picture nearest `t` within the window (ties: the first by path), with how far apart."""
    lo, hi = bisect.bisect_left(times, t - window_s), bisect.bisect_right(times, t + window_s)
    best = min(((abs(pt - t), name, path) for pt, name, path in timed[lo:hi]), default=None)
    return None if best is None else (best[0], best[2])


def probe(path: Path) -> Probed:
    """A file's capture time and whether it holds sound and pictures, from its header; a file that cannot be read
    is probed as its suffix says, without a time (reading it later says what is wrong with it)."""
    name = path.name.lower()
    if name.endswith(PICTURE_SUFFIXES):
        return Probed(path, picture_time(path), False, True)
    video = name.endswith(VIDEO_SUFFIXES)  # as crack images reads them: a .3gp's frames are not pictures there
    try:
        with av.open(str(path)) as media:
            when = _container_time([media.metadata, *(s.metadata for s in media.streams)])
            return Probed(path, when, bool(media.streams.audio), bool(media.streams.video) and video)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return Probed(path, None, name.endswith(SOUND_SUFFIXES), video)


def picture_time(path: Path) -> float | None:
    """When a still was taken: EXIF DateTimeOriginal, at its OffsetTimeOriginal if it has one, else read as UTC
    (a phone without the offset writes local time; pairing is then off by the time zone, and a sound's time is UTC)."""
    _heif_opener()
    try:
        with Image.open(path) as im:
            exif = im.getexif().get_ifd(_EXIF_IFD)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    text, offset = exif.get(_DATE_TIME_ORIGINAL), exif.get(_OFFSET_TIME_ORIGINAL)
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.strptime(text.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: dt.tzinfo = dt.UTC
    if isinstance(offset, str):
        try:
            zone = dt.datetime.strptime(offset.strip("\x00 ").strip(), "%z").tzinfo or zone
        except ValueError:
            pass
    return _plausible(when.replace(tzinfo=zone).timestamp())


def _container_time(metadata: Iterable[dict[str, str]]) -> float | None:
    """`creation_time` (ISO 8601, UTC) from the container's metadata or, failing that, a stream's."""
    for tags in metadata:
        text = tags.get("creation_time")
        if not text:
            continue
        try:
            when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        plausible = _plausible(when.timestamp())
        if plausible is not None:
            return plausible
    return None


def _plausible(t: float) -> float | None:
    return t if t >= _EARLIEST else None
