"""The media store: atomic content-named files, one manifest line per piece, bounded retention."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

from ciel_node.atomic import read_json, write_atomic

log = logging.getLogger(__name__)

MEDIA_KINDS = ("image", "sky", "audio", "audio_opus", "wav", "keyframes")  # entry keys naming a media file
REQUIRED_KINDS = ("image", "sky", "audio")  # what the web surface needs of every piece
# A whole sha256; 24 hex characters was the name before, and such files are still kept and served.
MEDIA_NAME = re.compile(r"^[0-9a-f]{24}(?:[0-9a-f]{40})?\.(?:png|webp|avif|mp3|opus|wav)$")
SEQ_MAX = 2**53  # exact in a JSON number everywhere (JavaScript too); a million years of pieces at 0.5 s
# {"last_seq": N, "manifest_seq": M}: the highest seq ever given (a floor that outlives the manifest) and the
# highest the manifest held when last written (a manifest that holds less has lost lines).
SEQ_FILE = "seq.json"
QUARANTINE = "quarantine"  # what a damaged manifest no longer accounts for, kept for a human to look at
_REMNANT_SEQ = re.compile(rb'"seq"\s*:\s*(\d{1,16})(?![\d.eE])')  # whole numbers only: not the 1 of 1e400


def content_name(data: bytes, suffix: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()}{suffix}"


def is_media_name(name: str) -> bool:
    """A name the store could have written: a content hash and a known suffix (nothing else is served)."""
    return MEDIA_NAME.match(name) is not None


class MediaStore:
    """`root/media/<sha256>.<ext>` files plus `root/manifest.jsonl`; the manifest line is the commit.

    A piece becomes visible only when its line is committed, after every file it names is complete,
    so a reader (the web surface) never meets a half-written file or a dangling name. The manifest
    names exactly the kept pieces: a piece dropped by retention leaves the manifest before its files
    leave the disk. Seq only ever grows, also across a damaged manifest (`seq.json` keeps a floor).
    """

    def __init__(self, root: Path, keep_pieces: int = 500, keep_bytes: int = 1 << 30) -> None:
        if keep_pieces < 1 or keep_bytes < 1:
            raise ValueError(f"retention must keep at least one piece and one byte (got {keep_pieces}, {keep_bytes})")
        self.root, self.media = root, root / "media"
        self.manifest = root / "manifest.jsonl"
        self.seq_file = root / SEQ_FILE
        self.keep_pieces, self.keep_bytes = keep_pieces, keep_bytes
        self.media.mkdir(parents=True, exist_ok=True)
        self._entries: deque[dict[str, Any]] = deque()
        self._lines: dict[int, bytes] = {}  # seq -> its manifest line, so a rewrite encodes nothing
        self._refs: dict[str, int] = {}  # media file -> number of kept pieces naming it
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._doomed: set[str] = set()  # unreferenced files to delete once the manifest no longer names them
        self._rewrite = False  # the manifest must be rewritten whole before anything is appended to it
        self._keep_strays = False  # a damaged manifest's files could not be quarantined: delete nothing
        self._seq_saved = (0, 0)
        self._manifest_seq = 0  # the highest seq in the manifest as last written
        self.last_seq = 0
        self.quarantined: Path | None = None  # where this start put what a damaged manifest lost track of
        self._load()

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
        if self._doomed or self._rewrite:
            self._finish_rewrite()  # first free what retention dropped: on a full disk the new files need it
        written: list[Path] = []
        try:
            for kind, (data, suffix) in files.items():
                name = content_name(data, suffix)
                path = self.media / name
                if name not in self._sizes and not path.exists():  # same bytes, same name: write once
                    write_atomic(path, data)
                    written.append(path)
                entry[kind] = name
            entry["bytes"] = {kind: len(data) for kind, (data, _) in files.items()}  # what a listener downloads
            self._commit(entry)
        except OSError:
            for path in written:
                if path.name not in self._refs:
                    path.unlink(missing_ok=True)
            raise
        self.last_seq = entry["seq"]
        self._save_seq()
        return entry

    def names(self, name: str) -> bool:
        """Whether a kept piece names this media file (any thread: one dict lookup)."""
        return name in self._refs

    @property
    def total_bytes(self) -> int:
        return self._total

    def stats(self) -> dict[str, Any]:
        """The store's numbers for /api/health: the last seq, how old the latest piece is, the bytes kept."""
        latest = self.latest()
        age = None if not latest or "created_at" not in latest else round(time.time() - latest["created_at"], 3)
        return {"last_seq": self.last_seq, "last_piece_age_s": age, "media_bytes": self.total_bytes}

    # --- commit and retention ------------------------------------------------------------------
    def _commit(self, entry: dict[str, Any]) -> None:
        """Make the manifest say: the kept pieces, less what retention drops, plus `entry`; then show it.

        Nothing changes in memory before the manifest does, so a reader never sees a piece that a failed
        commit takes back (and whose seq would then be given again).
        """
        line = _line(entry)
        drop = self._plan(entry)
        rewrote = False
        if drop or self._rewrite or self._doomed:
            kept = itertools.islice(self._entries, drop, None)
            try:
                write_atomic(self.manifest, b"".join(self._lines[e["seq"]] for e in kept) + line)
                rewrote = True
            except OSError as e:
                if self._rewrite:
                    raise  # the manifest may end in a torn line: appending would glue onto it
                # A full disk may have no room for a second copy: the line still commits. The manifest then
                # names dropped pieces, whose files stay until a rewrite works (they are doomed, not gone).
                self._append(line)
                log.warning("could not rewrite %s (%s); retention deletes files once it can", self.manifest, e)
        else:
            self._append(line)
        self._lines[entry["seq"]] = line
        self._manifest_seq = entry["seq"]
        self._keep(entry)
        for _ in range(drop):
            old = self._entries.popleft()
            self._forget(old)
            self._lines.pop(old["seq"], None)
        if rewrote:
            self._rewrite = False
            self._delete_doomed()

    def _plan(self, entry: dict[str, Any]) -> int:
        """How many of the oldest pieces retention drops once `entry` is kept (counting shared files once)."""
        refs: dict[str, int] = {}  # change in each name's reference count
        total = self._total
        for name in _names(entry):
            if self._refs.get(name, 0) + refs.get(name, 0) == 0:
                try:
                    total += (self.media / name).stat().st_size
                except OSError:
                    pass
            refs[name] = refs.get(name, 0) + 1
        n, drop = len(self._entries) + 1, 0
        while n > self.keep_pieces or (n > 1 and total > self.keep_bytes):
            for name in _names(self._entries[drop]):
                refs[name] = refs.get(name, 0) - 1
                if self._refs.get(name, 0) + refs[name] == 0:
                    total -= self._sizes.get(name, 0)
            drop, n = drop + 1, n - 1
        return drop

    def _keep(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)
        for name in _names(entry):
            if self._refs.get(name, 0) == 0:
                try:
                    self._sizes[name] = (self.media / name).stat().st_size
                except OSError:
                    self._sizes[name] = 0
                self._total += self._sizes[name]
                self._doomed.discard(name)
            self._refs[name] = self._refs.get(name, 0) + 1

    def _forget(self, entry: dict[str, Any]) -> None:
        """Un-count `entry`; files no kept piece names any more are doomed (deleted after the next rewrite)."""
        for name in _names(entry):
            self._refs[name] -= 1
            if self._refs[name] == 0:
                del self._refs[name]
                self._total -= self._sizes.pop(name)
                self._doomed.add(name)

    def _drop_excess(self) -> list[dict[str, Any]]:
        dropped = []
        while len(self._entries) > self.keep_pieces or (len(self._entries) > 1 and self._total > self.keep_bytes):
            old = self._entries.popleft()
            self._forget(old)
            dropped.append(old)
        return dropped

    def _write_manifest(self) -> None:
        """Rewrite the manifest as exactly the kept pieces (at start-up); then their dropped files may go."""
        write_atomic(self.manifest, b"".join(self._lines[e["seq"]] for e in self._entries))
        self._manifest_seq = self._entries[-1]["seq"] if self._entries else 0
        self._rewrite = False
        self._delete_doomed()

    def _finish_rewrite(self) -> None:
        """Retry a rewrite that failed (no room for a second copy of the manifest), then delete what it drops.

        Before a new piece's files are written: a disk the node filled (a --keep-mb larger than the disk,
        then lowered) has room again for a manifest long before it has room for a piece.
        """
        try:
            self._write_manifest()
        except OSError:
            pass  # _commit tries again, and appends the line if it can

    def _delete_doomed(self) -> None:
        """Called right after a rewrite: the manifest names none of these files any more."""
        for name in sorted(self._doomed):
            try:
                (self.media / name).unlink(missing_ok=True)
            except OSError as e:
                log.warning("could not remove %s: %s", name, e)
        self._doomed.clear()

    def _append(self, line: bytes) -> None:
        size = self.manifest.stat().st_size if self.manifest.exists() else 0
        try:
            with open(self.manifest, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            # A torn line hides nothing (readers skip it) but would glue onto the next append.
            try:
                os.truncate(self.manifest, size)
            except OSError:
                self._rewrite = True  # never append after a tail we could not cut
            raise

    def _save_seq(self) -> None:
        now = (self.last_seq, self._manifest_seq)
        if now == self._seq_saved:
            return
        try:
            write_atomic(self.seq_file, json.dumps({"last_seq": now[0], "manifest_seq": now[1]}).encode())
            self._seq_saved = now
        except OSError as e:
            # The manifest line is the commit; this floor only matters if the manifest is damaged later.
            log.warning("could not save %s (%s); seq continues from the manifest", self.seq_file, e)

    # --- start-up ------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the manifest, then account for every media file: kept, dropped, or quarantined.

        A file is deleted only when an intact manifest proves no piece names it (a crash between
        writing it and committing its line, or a piece retention dropped). When the manifest is
        damaged (a torn or garbled line, lines lost, emptied), everything it no longer names is moved
        to `quarantine/<time>/` with a copy of the manifest, and the manifest is rewritten clean.
        """
        try:
            data = self.manifest.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as e:
            log.warning("cannot read %s (%s); treating it as damaged", self.manifest, e)
            data, self._rewrite = b"", True
        good: list[dict[str, Any]] = []
        bad: list[bytes] = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            entry, junk = _parse_line(raw)
            if junk:
                bad.append(junk)
            if entry is not None:
                if good and entry["seq"] <= good[-1]["seq"]:
                    bad.append(raw)  # a seq that went backwards: this line cannot be trusted either
                else:
                    good.append(entry)
        try:
            saved = read_json(self.seq_file)
        except FileNotFoundError:
            saved = None  # a state dir from before seq.json, or a fresh one
        except ValueError as e:
            log.warning("ignoring %s (%s); the manifest gives the seq", self.seq_file, e)
            saved = None
        saved_seq: int = 0
        manifest_seq: int = 0
        if isinstance(saved, dict) and _valid_seq(saved.get("last_seq")) \
                and _valid_seq(saved.get("manifest_seq", saved["last_seq"])):
            saved_seq, manifest_seq = saved["last_seq"], saved.get("manifest_seq", saved["last_seq"]) or 0
        elif saved is not None:
            log.warning("ignoring %s (want last_seq and manifest_seq in 0..%d); the manifest gives the seq",
                        self.seq_file, SEQ_MAX)
        self._seq_saved = (saved_seq, manifest_seq)
        good_max = good[-1]["seq"] if good else 0
        self._manifest_seq = good_max
        files = [p for p in self._media_files() if not p.name.startswith(".")]
        torn = bool(data) and not data.endswith(b"\n")
        lost = manifest_seq > good_max  # lines that were committed are gone (cut at a line end, emptied)
        damaged = bool(bad) or torn or lost or self._rewrite or (not good and bool(files))
        floor = max(good_max, saved_seq)
        if damaged:
            remnants = [int(m) for junk in bad for m in _REMNANT_SEQ.findall(junk)]
            mp3s = sum(1 for p in files if p.suffix == ".mp3" and is_media_name(p.name))  # one sound per piece
            floor = max([floor, mp3s, *(s for s in remnants if s <= SEQ_MAX)])
        self.last_seq = floor

        skipped = 0
        for entry in good:
            self._lines[entry["seq"]] = _line(entry)
            if all((self.media / name).is_file() for name in _names(entry)):
                self._keep(entry)
            else:
                skipped += 1  # its files were pruned before the manifest said so (older versions)
                self._lines.pop(entry["seq"])
        for old in self._drop_excess():
            self._lines.pop(old["seq"], None)

        if damaged:
            self._quarantine(data, bad, files)
            log.warning(
                "%s was damaged (%d unreadable line(s)%s%s); kept its %d intact piece(s), moved the rest to %s; "
                "seq continues at %d", self.manifest, len(bad), ", a torn last line" if torn else "",
                ", lines lost" if lost else "", len(good), self.quarantined or "nowhere (see above)", floor + 1,
            )
        if damaged or skipped or self._doomed:
            try:
                self._write_manifest()
            except OSError as e:
                self._rewrite = True
                log.warning("could not rewrite %s (%s); it will be rewritten before the next piece", self.manifest, e)
        self._sweep(damaged)
        self._save_seq()

    def _media_files(self) -> list[Path]:
        try:
            return sorted(self.media.iterdir())
        except OSError as e:
            log.warning("cannot list %s (%s)", self.media, e)
            return []

    def _quarantine(self, data: bytes, bad: list[bytes], files: list[Path]) -> None:
        """Move aside what no intact line names, with the damaged manifest, and nothing is deleted."""
        lost = [p for p in files if p.name not in self._refs and p.name not in self._doomed]
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        try:
            for n in range(1000):
                folder = self.root / QUARANTINE / (stamp if n == 0 else f"{stamp}-{n}")
                try:
                    folder.mkdir(parents=True)
                    break
                except FileExistsError:
                    continue
            else:
                raise OSError(f"no free name under {self.root / QUARANTINE}")
            if lost:
                (folder / "media").mkdir()
            for path in lost:
                os.replace(path, folder / "media" / path.name)  # same filesystem: a rename, no space needed
            self.quarantined = folder
            if data:  # the copies come last: on a full disk the media are safe even if these fail
                write_atomic(folder / "manifest.jsonl", data)
            if bad:
                write_atomic(folder / "unreadable-lines.txt", b"\n".join(bad) + b"\n")
        except OSError as e:
            # Whatever could not be moved stays where it is: better a stray file than a lost piece.
            log.error("could not quarantine all of the damaged manifest's files in %s (%s); left the rest in place",
                      self.root / QUARANTINE, e)
            self._keep_strays = True

    def _sweep(self, damaged: bool) -> None:
        """Delete temporaries left by a crash, and files an intact manifest proves are no piece's."""
        for path in self._media_files():
            name = path.name
            if name in self._refs:
                continue
            temporary = name.startswith(".") and ".tmp-" in name
            if not temporary and (damaged or self._keep_strays or self._rewrite):
                continue  # not provably unreferenced: quarantined above, or left in place
            try:
                path.unlink()
            except OSError as e:
                log.warning("could not remove %s: %s", path, e)
            self._doomed.discard(name)


def _parse_line(raw: bytes) -> tuple[dict[str, Any] | None, bytes]:
    """(entry, b"") for a valid line; (None, raw) for junk; (entry, junk) for a line glued to a torn one."""
    entry = _entry(raw)
    if entry is not None:
        return entry, b""
    # An older version appended after a torn tail: `{"seq":4,"ima{"seq":5,...}`. Rescue the whole line.
    start = raw.find(b'{"', 1)
    for _ in range(8):
        if start < 0:
            break
        entry = _entry(raw[start:])
        if entry is not None:
            return entry, raw[:start]
        start = raw.find(b'{"', start + 1)
    return None, raw


def _entry(raw: bytes) -> dict[str, Any] | None:
    """A manifest line's entry if every field the node uses has the right type and range, else None."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or not _valid_seq(entry.get("seq")) or entry["seq"] < 1:
        return None
    for kind in MEDIA_KINDS:
        name = entry.get(kind)
        if (kind in REQUIRED_KINDS or name is not None) and not (isinstance(name, str) and is_media_name(name)):
            return None  # also: no path in a name, so retention can never delete outside the media folder
    for key in ("created_at", "duration_s", "render_s"):
        value = entry.get(key)
        if value is not None and not _finite(value):
            return None
    for key in ("params", "checkpoints"):
        if not isinstance(entry.get(key, {}), dict):
            return None
    times = entry.get("keyframe_times")
    if times is not None and not (isinstance(times, list) and len(times) <= 64 and all(_finite(t) for t in times)):
        return None
    return entry


def _valid_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SEQ_MAX


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _names(entry: dict[str, Any]) -> list[str]:
    return [entry[k] for k in MEDIA_KINDS if isinstance(entry.get(k), str)]


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n").encode()

