"""Read a person's phone archive folder: sounds and pictures, with every unreadable file reported."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from PIL import Image, ImageOps

from ciel_node.errors import ArchiveError

SOUND_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".amr", ".3gp", ".mp4", ".mov")
PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")

_SUFFIXES = {"audio": SOUND_SUFFIXES, "images": PICTURE_SUFFIXES}

# Pixels a picture may have once decoded (a JPEG counts at the 1/8 scale it is decoded at): 40 MP
# is a 48-MP phone's PNG screenshot's worth; a 13000x13000 PNG of a few KB would take 0.5-1.3 GB.
MAX_PIXELS = 40_000_000

# FFmpeg's native AMR decoders stop with "not yet implemented" at the first DTX comfort-noise
# frame, which phones emit in every pause; the opencore decoders handle them.
_AMR_DECODERS = {"amrnb": "libopencore_amrnb", "amrwb": "libopencore_amrwb"}

T = TypeVar("T")


class _Unusable(ValueError):
    """The file decoded but holds nothing usable; its message is already the one-line reason."""


@dataclass(frozen=True)
class Unreadable:
    path: Path
    reason: str


@dataclass
class Scan:
    """Every entry under an archive folder, accounted for: candidates, skipped entries, the rest counted."""

    files: list[Path] = field(default_factory=list)
    # Not regular files (FIFOs, devices, sockets, links that loop, dangle or lead to folders): never opened.
    skipped: list[Unreadable] = field(default_factory=list)
    # Regular files of another kind, by suffix, and hidden entries (thumbnail caches, .trash).
    other: Counter[str] = field(default_factory=Counter)
    hidden: int = 0

    def ignored(self, kind: str) -> list[str]:
        """Lines saying what was left out on purpose, so the report accounts for every entry."""
        lines = []
        if self.other:
            tally = ", ".join(f"{suffix or '(none)'} {n}" for suffix, n in sorted(self.other.items()))
            lines.append(f"other files, not {kind}: {sum(self.other.values())} ({tally})")
        if self.hidden:
            lines.append(f"hidden files and folders, not searched: {self.hidden}")
        return lines


@dataclass
class ArchiveReport:
    root: Path
    files: list[Path]
    unreadable: list[Unreadable]
    manifest_hash: str
    skipped: list[Unreadable] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # Remembered so summary() can point the user at the full list.
    written_to: Path | None = field(default=None, init=False)

    def write(self, path: Path) -> None:
        lines = [
            f"archive: {self.root}",
            f"files read: {len(self.files)}",
            f"unreadable: {len(self.unreadable)}",
            f"skipped: {len(self.skipped)}",
            f"manifest sha256: {self.manifest_hash}",
        ]
        if self.unreadable:
            lines += ["", "unreadable files (skipped):"]
            lines += [f"  {_relative(u.path, self.root)}: {u.reason}" for u in self.unreadable]
        if self.skipped:
            lines += ["", "entries that are not regular files (skipped, never opened):"]
            lines += [f"  {_relative(u.path, self.root)}: {u.reason}" for u in self.skipped]
        if self.ignored:
            lines += ["", *self.ignored]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.written_to = path

    def summary(self) -> str:
        head = f"{len(self.files)} files read, {len(self.unreadable)} unreadable"
        if self.skipped:
            head += f", {len(self.skipped)} skipped"
        left_out = self.unreadable + self.skipped
        if not left_out:
            return head
        if self.written_to is not None:
            return f"{head} (listed in {self.written_to})"
        names = ", ".join(_relative(u.path, self.root) for u in left_out[:3])
        more = ", ..." if len(left_out) > 3 else ""
        return f"{head} ({names}{more})"


def find_files(root: Path, kind: str) -> list[Path]:
    return scan(root, kind).files


def scan(root: Path, kind: str) -> Scan:
    """Walk the archive without opening anything: a FIFO would block a reader forever, a device
    link could stream without end, a link to a folder could loop; those are listed, not read."""
    if kind not in _SUFFIXES:
        raise ValueError(f"kind must be 'audio' or 'images', not {kind!r}")
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ArchiveError(f"archive folder {root} {what}; pass the folder that holds your {kind} files")
    suffixes = _SUFFIXES[kind]
    result = Scan()
    for folder, dirs, names in os.walk(root):
        # Hidden folders are thumbnails caches, .trash and sync metadata, not the person's media.
        result.hidden += sum(1 for d in dirs if d.startswith("."))
        walked = []
        for d in dirs:
            if d.startswith("."):
                continue
            if os.path.islink(os.path.join(folder, d)):  # os.walk lists it but does not go in
                result.skipped.append(Unreadable(Path(folder) / d, _link_reason(Path(folder) / d)))
            else:
                walked.append(d)
        dirs[:] = walked
        for name in names:
            path = Path(folder) / name
            if name.startswith("."):
                result.hidden += 1
                continue
            why = _not_a_file(path)
            if why is not None:
                result.skipped.append(Unreadable(path, why))
            elif name.lower().endswith(suffixes):
                result.files.append(path)
            else:
                result.other[path.suffix.lower()] += 1
    result.files.sort()
    result.skipped.sort(key=lambda u: u.path)
    return result


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _not_a_file(path: Path) -> str | None:
    """None for a regular file (or a link to one), else why the entry is skipped; never opens it."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as e:
        return f"cannot be examined ({e.strerror})"
    if stat.S_ISLNK(mode):
        try:
            target_mode = os.stat(path).st_mode
        except OSError:
            return _link_reason(path)
        if stat.S_ISREG(target_mode):
            return None
        return _link_reason(path)
    if stat.S_ISREG(mode):
        return None
    return f"{_kind(mode)}, not a file; not opened"


def _link_reason(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError as e:
        return f"a symlink that cannot be read ({e.strerror})"
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"a symlink loop (-> {target}); not followed"
        if e.errno == errno.ENOENT:
            return f"a broken symlink (-> {target}: nothing there)"
        return f"a symlink that cannot be followed (-> {target}: {e.strerror})"
    if stat.S_ISDIR(mode):
        return f"a symlink to a folder (-> {target}); not followed, it could loop"
    return f"a symlink to {_kind(mode)} (-> {target}); not opened"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), f"a special file (mode {stat.S_IFMT(mode):o})")


def read_sound(path: Path, sample_rate: int = 16000) -> np.ndarray:
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise _Unusable("no audio stream")
        stream = container.streams.audio[0]
        name = stream.codec_context.name
        decoder = stream.codec_context
        if name in _AMR_DECODERS:
            decoder = cast(AudioCodecContext, av.codec.CodecContext.create(_AMR_DECODERS[name], "r"))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for packet in container.demux(stream):
            for frame in decoder.decode(packet):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise _Unusable("decoded to zero samples")
    finite = np.isfinite(samples)
    if not finite.any():
        raise _Unusable("decoded to NaN/inf only")
    samples[~finite] = 0.0
    return np.clip(samples, -1.0, 1.0)


def read_picture(path: Path, size: int = 256) -> Image.Image:
    with Image.open(path) as im:
        # Decoding a 12-Mpx phone JPEG at 1/8 scale is much faster and loses nothing at 256 px.
        if im.format == "JPEG":
            im.draft("RGB", (size, size))
        # Image.open has read the header only: refuse a picture too large to decode before decoding it.
        if im.width * im.height > MAX_PIXELS:
            raise _Unusable(_too_large(im.width, im.height))
        im.load()  # forces the full decode here, so a truncated file fails inside the caller's try
        small: Image.Image = im
        if im.mode in ("L", "LA", "RGB", "RGBA") and min(im.size) >= 4 * size:
            # Shrink by a whole factor at once (to >= 2x the output), so the copies below are small.
            small = im.reduce(min(im.size) // (2 * size))
        upright = ImageOps.exif_transpose(small)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        # Transparent screenshots/stickers read as they look in a gallery: on white, not on black.
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(canvas, rgba)
    rgb = upright.convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    return rgb.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))


def _too_large(width: int, height: int) -> str:
    return (
        f"too large to decode: {width}x{height} = {width * height / 1e6:.0f} MP, over the "
        f"{MAX_PIXELS / 1e6:g} MP a picture may have; downscale it"
    )


def read_archive_sounds(root: Path, sample_rate: int = 16000) -> tuple[list[np.ndarray], ArchiveReport]:
    return _read_archive(Path(root), "audio", lambda p: read_sound(p, sample_rate))


def read_archive_pictures(root: Path, size: int = 256) -> tuple[list[Image.Image], ArchiveReport]:
    return _read_archive(Path(root), "images", lambda p: read_picture(p, size))


def _read_archive(root: Path, kind: str, read: Callable[[Path], T]) -> tuple[list[T], ArchiveReport]:
    accepted = " ".join(_SUFFIXES[kind])
    found = scan(root, kind)
    paths = found.files
    if not paths:
        skipped = f"; {len(found.skipped)} entries that are not files were skipped" if found.skipped else ""
        raise ArchiveError(
            f"no {kind} files in {root} (accepted: {accepted}{skipped}); "
            f"put your files there or pass the right folder"
        )
    items: list[T] = []
    good: list[Path] = []
    bad: list[Unreadable] = []
    for path in paths:
        try:
            items.append(read(path))
        except Exception as exc:  # noqa: BLE001 - one broken file must never stop the archive
            bad.append(Unreadable(path, _reason(path, exc)))
        else:
            good.append(path)
    if not good:
        first = "; ".join(f"{u.path.name}: {u.reason}" for u in bad[:3])
        raise ArchiveError(
            f"none of the {len(bad)} {kind} files in {root} could be read ({first}); "
            f"accepted: {accepted}; re-export them from the phone or convert them to one of these"
        )
    return items, ArchiveReport(root, good, bad, _manifest_hash(root, good), found.skipped, found.ignored(kind))


def _manifest_hash(root: Path, files: list[Path]) -> str:
    manifest = hashlib.sha256()
    for path in sorted(files, key=lambda p: _relative(p, root)):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        size = path.stat().st_size
        manifest.update(f"{_relative(path, root)}\t{size}\t{digest.hexdigest()}\n".encode())
    return manifest.hexdigest()


def _reason(path: Path, exc: BaseException) -> str:
    kind = type(exc)
    detail = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    message = " ".join(str(exc).split())
    cause = f"{detail}: {message}" if message else detail
    if isinstance(exc, PermissionError):
        return f"permission denied ({cause})"
    if isinstance(exc, _Unusable):
        return message
    if isinstance(exc, av.error.FFmpegError):
        return f"not a valid {path.suffix.lstrip('.').upper()} stream ({cause})"[:300]
    if isinstance(exc, Image.DecompressionBombError):
        # Pillow's own guard, for pictures past twice its limit: refused in Image.open, size unknown here.
        return f"too large to decode ({message}); downscale it"[:300]
    if isinstance(exc, Image.UnidentifiedImageError):
        return f"not a picture Pillow can read ({cause})"[:300]
    if isinstance(exc, OSError) and "truncated" in message.lower():
        return f"truncated or damaged file ({cause})"[:300]
    return cause[:300]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
