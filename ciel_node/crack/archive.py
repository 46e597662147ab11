"""Read a person's phone archive folder: sounds and pictures, with every unreadable file reported."""

from __future__ import annotations

import hashlib
import os
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
class ArchiveReport:
    root: Path
    files: list[Path]
    unreadable: list[Unreadable]
    manifest_hash: str
    # Remembered so summary() can point the user at the full list.
    written_to: Path | None = field(default=None, init=False)

    def write(self, path: Path) -> None:
        lines = [
            f"archive: {self.root}",
            f"files read: {len(self.files)}",
            f"unreadable: {len(self.unreadable)}",
            f"manifest sha256: {self.manifest_hash}",
        ]
        if self.unreadable:
            lines += ["", "unreadable files (skipped):"]
            lines += [f"  {_relative(u.path, self.root)}: {u.reason}" for u in self.unreadable]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.written_to = path

    def summary(self) -> str:
        head = f"{len(self.files)} files read, {len(self.unreadable)} unreadable"
        if not self.unreadable:
            return head
        if self.written_to is not None:
            return f"{head} (listed in {self.written_to})"
        names = ", ".join(_relative(u.path, self.root) for u in self.unreadable[:3])
        more = ", ..." if len(self.unreadable) > 3 else ""
        return f"{head} ({names}{more})"


def find_files(root: Path, kind: str) -> list[Path]:
    if kind not in _SUFFIXES:
        raise ValueError(f"kind must be 'audio' or 'images', not {kind!r}")
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ArchiveError(f"archive folder {root} {what}; pass the folder that holds your {kind} files")
    suffixes = _SUFFIXES[kind]
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        # Hidden folders are thumbnails caches, .trash and sync metadata, not the person's media.
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = Path(folder) / name
            if not name.startswith(".") and name.lower().endswith(suffixes) and path.is_file():
                found.append(path)
    return sorted(found)


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
        im.load()  # forces the full decode here, so a truncated file fails inside the caller's try
        upright = ImageOps.exif_transpose(im)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        # Transparent screenshots/stickers read as they look in a gallery: on white, not on black.
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(canvas, rgba)
    rgb = upright.convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    return rgb.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))


def read_archive_sounds(root: Path, sample_rate: int = 16000) -> tuple[list[np.ndarray], ArchiveReport]:
    return _read_archive(Path(root), "audio", lambda p: read_sound(p, sample_rate))


def read_archive_pictures(root: Path, size: int = 256) -> tuple[list[Image.Image], ArchiveReport]:
    return _read_archive(Path(root), "images", lambda p: read_picture(p, size))


def _read_archive(root: Path, kind: str, read: Callable[[Path], T]) -> tuple[list[T], ArchiveReport]:
    accepted = " ".join(_SUFFIXES[kind])
    paths = find_files(root, kind)
    if not paths:
        raise ArchiveError(
            f"no {kind} files in {root} (accepted: {accepted}); put your files there or pass the right folder"
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
    return items, ArchiveReport(root, good, bad, _manifest_hash(root, good))


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
