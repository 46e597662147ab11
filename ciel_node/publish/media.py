"""The media store: atomic content-named files, one manifest line per piece, bounded retention."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Any

from ciel_node.atomic import write_atomic

log = logging.getLogger(__name__)

MEDIA_KINDS = ("image", "sky", "audio", "wav")  # entry keys that name a file in the media folder


def content_name(data: bytes, suffix: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:24]}{suffix}"


class MediaStore:
    """`root/media/<hash>.<ext>` files plus `root/manifest.jsonl`; the manifest line is the commit.

    A piece becomes visible only when its line is appended, after every file it names is complete,
    so a reader (the web surface) never meets a half-written file or a dangling name.
    """

    def __init__(self, root: Path, keep_pieces: int = 500, keep_bytes: int = 1 << 30) -> None:
        if keep_pieces < 1 or keep_bytes < 1:
            raise ValueError(f"retention must keep at least one piece and one byte (got {keep_pieces}, {keep_bytes})")
        self.root, self.media = root, root / "media"
        self.manifest = root / "manifest.jsonl"
        self.keep_pieces, self.keep_bytes = keep_pieces, keep_bytes
        self.media.mkdir(parents=True, exist_ok=True)
        self._entries: deque[dict[str, Any]] = deque()
        self._refs: dict[str, int] = {}  # media file -> number of kept pieces naming it
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._lines = 0
        self.last_seq = 0
        self._load()
        self._collect()

    def latest(self) -> dict[str, Any] | None:
        return self._entries[-1] if self._entries else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        return list(reversed(self._entries))[: max(0, limit)]

    def publish(self, files: dict[str, tuple[bytes, str]], meta: dict[str, Any]) -> dict[str, Any]:
        """Write `files` ({kind: (bytes, suffix)}), then commit the manifest line; returns the entry.

        On any OSError (disk full, permissions) nothing becomes visible: the previous piece stays
        the latest, files written for this piece are removed, and the error propagates for the
        caller to log and retry.
        """
        entry = dict(meta)
        entry["seq"] = self.last_seq + 1
        written: list[Path] = []
        try:
            for kind, (data, suffix) in files.items():
                name = content_name(data, suffix)
                path = self.media / name
                if name not in self._sizes and not path.exists():  # same bytes, same name: write once
                    write_atomic(path, data)
                    written.append(path)
                entry[kind] = name
            self._append(entry)
        except OSError:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        self.last_seq = entry["seq"]
        self._keep(entry)
        self._prune()
        return entry

    @property
    def total_bytes(self) -> int:
        return self._total

    def _keep(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)
        for name in _names(entry):
            if self._refs.get(name, 0) == 0:
                try:
                    self._sizes[name] = (self.media / name).stat().st_size
                except OSError:
                    self._sizes[name] = 0
                self._total += self._sizes[name]
            self._refs[name] = self._refs.get(name, 0) + 1

    def _drop_oldest(self) -> None:
        for name in _names(self._entries.popleft()):
            self._refs[name] -= 1
            if self._refs[name] == 0:
                del self._refs[name]
                self._total -= self._sizes.pop(name)
                try:
                    (self.media / name).unlink(missing_ok=True)
                except OSError as e:
                    log.warning("could not remove %s: %s", name, e)

    def _prune(self) -> None:
        while len(self._entries) > self.keep_pieces or (len(self._entries) > 1 and self._total > self.keep_bytes):
            self._drop_oldest()
        if self._lines > 2 * self.keep_pieces:
            self._compact()

    def _append(self, entry: dict[str, Any]) -> None:
        line = _line(entry)
        size = self.manifest.stat().st_size if self.manifest.exists() else 0
        try:
            with open(self.manifest, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            # A torn line would hide nothing (readers skip it) but would glue onto the next append.
            try:
                os.truncate(self.manifest, size)
            except OSError:
                pass
            raise
        self._lines += 1

    def _load(self) -> None:
        if not self.manifest.exists():
            return
        with open(self.manifest, "rb") as f:
            for raw in f:
                self._lines += 1
                try:
                    entry = json.loads(raw)
                    seq = int(entry["seq"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a power cut: skip it, keep the rest
                self.last_seq = max(self.last_seq, seq)
                if all((self.media / name).is_file() for name in _names(entry)):
                    self._keep(entry)
        self._prune()

    def _collect(self) -> None:
        """Delete media files no kept piece names: leftovers of a crash or of deleted pieces."""
        for path in self.media.iterdir():
            if path.name not in self._refs:
                try:
                    path.unlink()
                except OSError as e:
                    log.warning("could not remove %s: %s", path, e)

    def _compact(self) -> None:
        try:
            write_atomic(self.manifest, b"".join(_line(e) for e in self._entries))
            self._lines = len(self._entries)
        except OSError as e:
            log.warning("could not compact %s: %s", self.manifest, e)


def _names(entry: dict[str, Any]) -> list[str]:
    return [entry[k] for k in MEDIA_KINDS if isinstance(entry.get(k), str)]


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n").encode()
