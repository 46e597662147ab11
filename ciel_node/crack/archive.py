"""Read a person's phone archive folder: sounds and pictures, every file under it used or listed with its reason."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from PIL import Image, features

from ciel_node.crack.decoded import DecodedCache
from ciel_node.crack.media import NoStream, TooShort, Unusable, read_picture, read_sound, read_video_frames
from ciel_node.errors import ArchiveError

__all__ = ["ArchiveReport", "Scan", "Unreadable", "find_files", "read_archive_pictures", "read_archive_sounds",
           "read_picture", "read_sound", "scan"]

# What phones write (PyAV decodes them all): voice notes (.opus from WhatsApp/Telegram, .amr/.awb/.3gp/.3g2 from
# older phones, .m4a/.aac/.caf from iPhones), music, and the soundtracks of videos.
SOUND_SUFFIXES = (".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac", ".caf", ".amr", ".awb", ".3gp",
                  ".3g2", ".mp4", ".mov")
# Stills; .heic/.heif through pillow-heif, .avif where this Pillow reads it (else listed as unreadable, with why).
PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".heic", ".heif", ".avif")
# A few frames of each video count as pictures: a phone archive's videos are pictures too.
VIDEO_SUFFIXES = (".mov", ".mp4")

_SUFFIXES = {"audio": SOUND_SUFFIXES, "images": PICTURE_SUFFIXES + VIDEO_SUFFIXES}

# Bumped when decoding changes what it returns, so the cache of an older reader is not used.
DECODE_VERSION = 1

# Why a file or entry was not used: the report's sections and the summary's tallies, in this order.
UNREADABLE = "unreadable"
DENIED = "permission denied"
EMPTY = "empty"
TOO_SHORT = "too short"
NO_STREAM = "no stream"
DUPLICATE = "duplicate"
LIVE_PHOTO = "Live Photo motion"
NOT_A_FILE = "not a regular file"
CATEGORIES = (UNREADABLE, DENIED, EMPTY, TOO_SHORT, NO_STREAM, DUPLICATE, LIVE_PHOTO, NOT_A_FILE)

# (singular, plural) in the summary, and the report's section heading; by kind where the words differ.
_TALLY = {
    UNREADABLE: ("unreadable", "unreadable"),
    DENIED: ("permission denied", "permission denied"),
    EMPTY: ("empty", "empty"),
    TOO_SHORT: ("too short", "too short"),
    NO_STREAM: ("without sound", "without sound"),
    DUPLICATE: ("duplicate", "duplicates"),
    LIVE_PHOTO: ("Live Photo motion", "Live Photo motions"),
    NOT_A_FILE: ("not a regular file", "not regular files"),
}
_PICTURE_TALLY = {TOO_SHORT: ("too small", "too small"), NO_STREAM: ("without pictures", "without pictures")}
_HEADING = {
    UNREADABLE: "unreadable files (the decoder's reason):",
    DENIED: "files and folders that cannot be opened (permissions):",
    EMPTY: "empty files:",
    TOO_SHORT: "too short to learn from:",
    NO_STREAM: "files without the stream asked for:",
    DUPLICATE: "duplicates (the same bytes as a file read or listed above it; read once):",
    LIVE_PHOTO: "Live Photo motion (the still of the pair is read instead):",
    NOT_A_FILE: "entries that are not regular files (skipped, never opened):",
}


@dataclass(frozen=True)
class Unreadable:
    """A file or entry under the archive that was not used, and why; `category` is its tally in the summary."""

    path: Path
    reason: str
    category: str = UNREADABLE


@dataclass
class Scan:
    """Every entry under an archive folder, accounted for: candidates, skipped entries, the rest listed."""

    files: list[Path] = field(default_factory=list)
    # Not regular files (FIFOs, devices, sockets, links that loop, dangle or lead to folders): never opened;
    # and folders that cannot be listed.
    skipped: list[Unreadable] = field(default_factory=list)
    # Regular files of another kind, and hidden entries (thumbnail caches, .trash), not searched.
    other: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)



@dataclass
class ArchiveReport:
    """What reading an archive did with each entry under it: read, left out (with the reason), or not searched."""

    root: Path
    files: list[Path]  # the files read, in order; for sounds aligned with the sounds returned (one each)
    left_out: list[Unreadable]  # files of this kind that were not used, each with its reason and category
    manifest_hash: str
    skipped: list[Unreadable] = field(default_factory=list)  # entries never opened
    kind: str = "audio"
    other: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    # The file each item came from (a video gives several pictures); for sounds the same as `files`.
    origins: list[Path] = field(default_factory=list)
    cached: int = 0  # files whose items came from the cache, not a decoder
    # Remembered so summary() can point the user at the full list.
    written_to: Path | None = field(default=None, init=False)

    @property
    def unreadable(self) -> list[Unreadable]:
        """The files a decoder failed on (empty, duplicate, too short... are in `left_out` under their category)."""
        return [u for u in self.left_out if u.category == UNREADABLE]

    def counts(self) -> dict[str, int]:
        """Entries not used, by category (every category, zeros included)."""
        tally = Counter(u.category for u in self.left_out + self.skipped)
        return {category: tally[category] for category in CATEGORIES}

    def write(self, path: Path) -> None:
        """The full account, one line per entry not used, then every file read and every file of another kind."""
        from_cache = f" ({self.cached} from the cache)" if self.cached else ""
        lines = [f"archive: {self.root}", f"files read: {len(self.files)}{from_cache}"]
        lines += [f"{self._words(c, 2)}: {n}" for c, n in self.counts().items()]
        lines += [f"manifest sha256: {self.manifest_hash}"]
        for category in CATEGORIES:
            entries = [u for u in self.left_out + self.skipped if u.category == category]
            if entries:
                heading = _HEADING[category]
                if category == TOO_SHORT and self.kind == "images":
                    heading = "too small to learn from:"
                lines += ["", heading, *(f"  {_relative(u.path, self.root)}: {u.reason}" for u in entries)]
        frames = Counter(self.origins)
        lines += ["", "files read:"]
        lines += [f"  {_relative(p, self.root)}" + (f" ({frames[p]} frames)" if frames[p] > 1 else "")
                  for p in self.files]
        if self.other:
            suffixes = Counter(p.suffix.lower() for p in self.other)
            tally = ", ".join(f"{suffix or '(none)'} {n}" for suffix, n in sorted(suffixes.items()))
            lines += ["", f"other files, not {self.kind}: {len(self.other)} ({tally})"]
            lines += [f"  {_relative(p, self.root)}" for p in self.other]
        if self.hidden:
            lines += ["", f"hidden files and folders, not searched: {len(self.hidden)}"]
            lines += [f"  {_relative(p, self.root)}" for p in self.hidden]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.written_to = path

    def summary(self) -> str:
        """One line: "183 files read; 4 unreadable, 2 empty, 3 duplicates; 40 other files, not audio (listed in X)"."""
        head = f"{len(self.files)} {'file' if len(self.files) == 1 else 'files'} read"
        head += f" ({self.cached} from the cache)" if self.cached else ""
        tallies = [f"{n} {self._words(c, n)}" for c, n in self.counts().items() if n]
        if tallies:
            head += "; " + ", ".join(tallies)
        aside = []
        if self.other:
            aside.append(f"{len(self.other)} other {'file' if len(self.other) == 1 else 'files'}, not {self.kind}")
        if self.hidden:
            aside.append(f"{len(self.hidden)} hidden")
        if aside:
            head += "; " + ", ".join(aside)
        left_out = self.left_out + self.skipped
        if self.written_to is not None and (left_out or aside):
            return f"{head} (listed in {self.written_to})"
        if not left_out:
            return head
        names = ", ".join(_relative(u.path, self.root) for u in left_out[:3])
        more = ", ..." if len(left_out) > 3 else ""
        return f"{head} ({names}{more})"

    def _words(self, category: str, n: int) -> str:
        singular, plural = (_PICTURE_TALLY if self.kind == "images" else {}).get(category, _TALLY[category])
        return singular if n == 1 else plural


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
    try:
        os.scandir(root).close()
    except OSError as e:  # os.walk would report it as one more entry, and then "no files" as if it were empty
        raise ArchiveError(f"archive folder {root} cannot be listed ({e.strerror}); make it readable (chmod a+rx) "
                           "or pass another") from None
    suffixes = _SUFFIXES[kind]
    result = Scan()

    def unlisted(error: OSError) -> None:  # os.walk would pass over a folder it cannot list without a word
        category = DENIED if isinstance(error, PermissionError) else UNREADABLE
        reason = f"a folder that cannot be listed ({error.strerror}); nothing in it was read"
        result.skipped.append(Unreadable(Path(error.filename or root), reason, category))

    for folder, dirs, names in os.walk(root, onerror=unlisted):
        walked = []
        for d in dirs:
            path = Path(folder) / d
            if d.startswith("."):
                # Hidden folders are thumbnails caches, .trash and sync metadata, not the person's media.
                result.hidden.append(path)
            elif os.path.islink(path):  # os.walk lists it but does not go in
                result.skipped.append(Unreadable(path, _link_reason(path), NOT_A_FILE))
            else:
                walked.append(d)
        dirs[:] = walked
        for name in names:
            path = Path(folder) / name
            if name.startswith("."):
                result.hidden.append(path)
                continue
            why = _not_a_file(path)
            if why is not None:
                result.skipped.append(Unreadable(path, why, NOT_A_FILE))
            elif name.lower().endswith(suffixes):
                result.files.append(path)
            else:
                result.other.append(path)
    result.files.sort()
    result.skipped.sort(key=lambda u: u.path)
    result.other.sort()
    result.hidden.sort()
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


def read_archive_sounds(
    root: Path, sample_rate: int = 16000, cache_dir: Path | None = None
) -> tuple[list[np.ndarray], ArchiveReport]:
    """Every sound under `root` as (T,) float32 mono at `sample_rate`, one per file in report.files, and the report.

    cache_dir: where decoded sounds are kept by content hash (created when first written); None, no cache."""
    reader = _Reader(Path(root), "audio", lambda p: read_sound(p, sample_rate), f"sound-{sample_rate}hz",
                     np.float32, 1, cache_dir)
    arrays, report = reader.read()
    return arrays, report


def read_archive_pictures(
    root: Path, size: int = 256, cache_dir: Path | None = None
) -> tuple[list[Image.Image], ArchiveReport]:
    """Every picture under `root` as size x size RGB (a still gives one, a video a few of its frames; report.origins
    names each one's file), and the report. cache_dir as for read_archive_sounds."""

    def decode(path: Path) -> np.ndarray:  # (N, size, size, 3) uint8: N = 1 for a still
        video = path.name.lower().endswith(VIDEO_SUFFIXES)
        pictures = read_video_frames(path, size) if video else [read_picture(path, size)]
        return np.stack([np.asarray(p, dtype=np.uint8) for p in pictures])

    reader = _Reader(Path(root), "images", decode, f"picture-{size}px", np.uint8, 4, cache_dir)
    stacks, report = reader.read()
    return [Image.fromarray(frame) for stack in stacks for frame in stack], report


class _Reader:
    """One read of an archive: each file stat'ed, hashed once (duplicates, the manifest and the cache key all use
    that hash), then taken from the cache or decoded; every file ends as an array or an Unreadable."""

    def __init__(self, root: Path, kind: str, decode: Callable[[Path], np.ndarray], key: str, dtype: type, ndim: int,
                 cache_dir: Path | None) -> None:
        self.root, self.kind, self.decode, self.key, self.dtype, self.ndim = root, kind, decode, key, dtype, ndim
        self.cache = DecodedCache(Path(cache_dir) if cache_dir is not None else None)
        self.first: dict[str, Path] = {}  # content sha256 -> the file that had it first
        self.hashed: dict[Path, tuple[int, str]] = {}  # size and sha256 of each file hashed
        self.cached = 0

    def read(self) -> tuple[list[np.ndarray], ArchiveReport]:
        found = scan(self.root, self.kind)
        accepted = " ".join(_SUFFIXES[self.kind])
        if not found.files:
            skipped = f"; {len(found.skipped)} entries that are not files were skipped" if found.skipped else ""
            raise ArchiveError(
                f"no {self.kind} files in {self.root} (accepted: {accepted}{skipped}); "
                f"put your files there or pass the right folder"
            )
        motions = _live_photo_motions(found.files) if self.kind == "images" else {}
        # Real files before links to them (the file is read, the link is its duplicate), stills before their Live
        # Photo motion (read only when its still could not be); the results are put back in path order below.
        links = [p for p in found.files if p.is_symlink() and p not in motions]
        order = [p for p in found.files if p not in motions and p not in links] + links + list(motions)
        outcome: dict[Path, np.ndarray | Unreadable] = {}
        for path in order:
            still = motions.get(path)
            if still is not None and _used(outcome[still]):
                reason = f"Live Photo motion of {still.name}; its still is read instead"
                outcome[path] = Unreadable(path, reason, LIVE_PHOTO)
            else:
                outcome[path] = self._one(path)
        items = [(p, o) for p in found.files if not isinstance(o := outcome[p], Unreadable)]
        left_out = [o for p in found.files if isinstance(o := outcome[p], Unreadable)]
        if not items:
            first = "; ".join(f"{u.path.name}: {u.reason}" for u in left_out[:3])
            raise ArchiveError(
                f"none of the {len(left_out)} {self.kind} files in {self.root} could be read ({first}); "
                f"accepted: {accepted}; re-export them from the phone or convert them to one of these"
            )
        good = [p for p, _ in items]
        manifest = _manifest_hash(self.root, {p: self.hashed[p] for p in good})
        # A sound is one item; a picture stack (N, size, size, 3) is N.
        origins = [p for p, a in items for _ in range(len(a) if self.kind == "images" else 1)]
        report = ArchiveReport(self.root, good, left_out, manifest, found.skipped, self.kind, found.other,
                               found.hidden, origins, self.cached)
        return [a for _, a in items], report

    def _one(self, path: Path) -> np.ndarray | Unreadable:
        try:
            size = path.stat().st_size
            if size == 0:
                return Unreadable(path, "empty (0 bytes)", EMPTY)
            digest = _sha256(path)
        except OSError as exc:
            return Unreadable(path, _reason(path, exc), _category(exc))
        earlier = self.first.setdefault(digest, path)
        if earlier != path:
            link = " (a symlink to it)" if path.resolve() == earlier.resolve() else ""
            return Unreadable(path, f"duplicate of {_relative(earlier, self.root)}{link}: the same {size} bytes",
                              DUPLICATE)
        self.hashed[path] = (size, digest)
        key = f"{digest}.{self.key}.v{DECODE_VERSION}"
        array = self.cache.get(key, self.dtype, self.ndim)
        if array is not None:
            self.cached += 1
            return array
        try:
            array = self.decode(path)
        except Exception as exc:  # noqa: BLE001 - one broken file must never stop the archive
            return Unreadable(path, _reason(path, exc), _category(exc))
        self.cache.put(key, array)
        return array


def _used(outcome: np.ndarray | Unreadable) -> bool:
    """Read, or the same bytes as a file read: either way its content is in."""
    return not isinstance(outcome, Unreadable) or outcome.category == DUPLICATE


def _live_photo_motions(files: list[Path]) -> dict[Path, Path]:
    """Each video with a still of the same stem in its folder (an iPhone Live Photo: IMG_0001.HEIC + IMG_0001.MOV)
    -> that still."""
    stills: dict[tuple[Path, str], Path] = {}
    for path in files:
        if path.name.lower().endswith(PICTURE_SUFFIXES):
            stills.setdefault((path.parent, path.stem.lower()), path)
    return {
        path: stills[(path.parent, path.stem.lower())]
        for path in files
        if path.name.lower().endswith(VIDEO_SUFFIXES) and (path.parent, path.stem.lower()) in stills
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_hash(root: Path, files: dict[Path, tuple[int, str]]) -> str:
    """sha256 over (relative path, size, content sha256) of the files read, in path order."""
    manifest = hashlib.sha256()
    for rel, (size, digest) in sorted((_relative(p, root), sd) for p, sd in files.items()):
        manifest.update(f"{rel}\t{size}\t{digest}\n".encode())
    return manifest.hexdigest()


def _category(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return DENIED
    if isinstance(exc, TooShort):
        return TOO_SHORT
    if isinstance(exc, NoStream):
        return NO_STREAM
    return UNREADABLE


def _reason(path: Path, exc: BaseException) -> str:
    kind = type(exc)
    detail = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    message = " ".join(str(exc).split())
    cause = f"{detail}: {message}" if message else detail
    if isinstance(exc, PermissionError):
        return f"cannot be opened ({exc.strerror}); make it readable (chmod a+r) to use it"
    if isinstance(exc, Unusable):
        return message
    if isinstance(exc, av.error.FFmpegError):
        return f"not a valid {path.suffix.lstrip('.').upper()} stream ({cause})"[:300]
    if isinstance(exc, Image.DecompressionBombError):
        # Pillow's own guard, for pictures past twice its limit: refused in Image.open, size unknown here.
        return f"too large to decode ({message}); downscale it"[:300]
    if isinstance(exc, Image.UnidentifiedImageError):
        if path.suffix.lower() == ".avif" and not features.check("avif"):
            return "an AVIF picture, and this Pillow has no AVIF decoder (Pillow >= 11.3 has one); convert it to JPEG"
        return f"not a picture Pillow can read ({cause})"[:300]
    if isinstance(exc, OSError) and "truncated" in message.lower():
        return f"truncated or damaged file ({cause})"[:300]
    return cause[:300]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
