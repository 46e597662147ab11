"""One file per model: format version, kind, config, weights, provenance; loading never runs code."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ciel_node.atomic import write_atomic
from ciel_node.errors import CheckpointError

FORMAT = "ciel-node/checkpoint"
VERSION = 1

# The largest net a node builds from a checkpoint's config, in floats (weights, or one render's
# activations): ~200 MB of float32, 50x the shipped models, so a hostile config cannot make the
# node (and its render and sound children, which load it too) allocate terabytes.
MAX_FLOATS = 50_000_000

_REBUILD = "restore it from checkpoints/ or rebuild it with `ciel-node crack`"

# The first bytes of what people pass by mistake, so the error can say what the file is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"ID3", "an MP3 sound"),
    (b"RIFF", "a RIFF (WAV/WebP) file"),
    (b"OggS", "an Ogg sound"),
    (b"fLaC", "a FLAC sound"),
    (b"#!AMR", "an AMR voice note"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"\x80", "a bare pickle (PyTorch's pre-1.6 format), not read"),
)


def save_checkpoint(
    path: Path,
    kind: str,
    config: dict[str, Any],
    weights: dict[str, torch.Tensor],
    provenance: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write atomically: a reader (or a power cut) sees the old file or the new one, never half."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "config": config,
        "weights": {k: v.detach().cpu().contiguous() for k, v in weights.items()},
        "provenance": provenance,
    }
    if extra:
        payload["extra"] = extra
    buf = io.BytesIO()
    torch.save(payload, buf)
    write_atomic(path, buf.getvalue())


def load_checkpoint(path: Path, kind: str) -> dict[str, Any]:
    """Load with weights_only=True (no pickle code runs) and check container, format, version and kind."""
    if path.exists() and not path.is_file():
        # A folder, a FIFO or a device: opening a FIFO would wait for a writer forever.
        raise CheckpointError(f"checkpoint {path} is not a regular file; pass a .pt made by `ciel-node crack`")
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass an existing file or train one with "
            f"`ciel-node crack {'audio' if kind == 'audio_vae' else 'images'} ARCHIVE --out {path}`"
        )
    _check_container(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint {path} holds something other than plain weights and was refused "
            f"unexecuted ({first[:160]}); use a file written by `ciel-node crack`"
        ) from None
    except Exception as e:  # noqa: BLE001 - whatever torch makes of a bad file, the node must not crash-loop
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a PyTorch file ({type(e).__name__}); {_REBUILD}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a ciel-node checkpoint (a PyTorch file of another program); "
            f"pass a .pt made by `ciel-node crack`"
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {payload.get('version')!r}, this node reads {VERSION}; "
            f"retrain it with this version's `ciel-node crack`"
        )
    if payload.get("kind") != kind:
        raise CheckpointError(
            f"checkpoint {path} is a {payload.get('kind')!r} model where a {kind!r} model is needed; "
            f"swap --audio-checkpoint and --image-checkpoint?"
        )
    for key in ("config", "weights", "provenance"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"checkpoint {path} lacks its {key!r} section; rebuild it with `ciel-node crack`")
    return payload


def _check_container(path: Path) -> None:
    """A checkpoint is the zip torch.save writes: stored (uncompressed) entries, each with a CRC-32.

    torch.load checks none of those CRCs, so a flipped bit in a tensor would load as a different
    net; testzip() reads every entry once (a few ms for the shipped files) and compares.
    """
    with open(path, "rb") as f:
        head = f.read(8)
    if not head.startswith(b"PK\x03\x04"):
        if not head:
            raise CheckpointError(f"checkpoint {path} is empty (0 bytes): corrupt or cut short; {_REBUILD}")
        raise CheckpointError(
            f"{path} is not a ciel-node checkpoint ({_what(head)}); pass a .pt made by `ciel-node crack`"
        )
    try:
        with zipfile.ZipFile(path) as z:
            entries = z.infolist()
            if not any(e.filename.endswith("/data.pkl") for e in entries):
                raise CheckpointError(
                    f"{path} is not a ciel-node checkpoint (a zip archive without PyTorch data); "
                    f"pass a .pt made by `ciel-node crack`"
                )
            packed = [e.filename for e in entries if e.compress_type != zipfile.ZIP_STORED]
            if packed:
                # torch.save never compresses; refusing it also keeps a zip bomb from being inflated.
                raise CheckpointError(
                    f"checkpoint {path} has compressed entries ({packed[0]!r}), which torch.save never writes; "
                    f"{_REBUILD}"
                )
            # miniz (torch's reader) takes an entry flagged as a folder (MS-DOS attribute 0x10) for
            # one and hands back memory it never read: one flipped bit the CRCs cannot see.
            folders = [e.filename for e in entries if e.external_attr & 0x10 or e.filename.endswith("/")]
            if folders:
                raise CheckpointError(f"checkpoint {path} is corrupt: {folders[0]!r} is marked as a folder; {_REBUILD}")
            bad = z.testzip()
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile, EOFError, struct.error...: all mean a damaged file
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:160]
        raise CheckpointError(f"checkpoint {path} is corrupt or cut short ({detail}); {_REBUILD}") from None
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path} is corrupt: {bad!r} fails its CRC check (a damaged or altered byte); {_REBUILD}"
        )


def _what(head: bytes) -> str:
    """What a file that is not a zip probably is, from its first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "an MP4/M4A/3GP file"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "an MP3 sound"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "a text file"
    return "not a zip archive"


def file_hash(path: Path) -> str:
    """sha256 of a file, short form: what a published piece records of the model that made it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def require_int(key: str, value: object, low: int, high: int) -> int:
    """A config field's check: an int (not a bool, not a float) in low..high, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key}={shown(value)} must be an integer in {low}..{high}")
    return value


def require_floats(what: str, count: int) -> None:
    """Refuse a net whose config asks for more than MAX_FLOATS floats of weights or activations."""
    if count > MAX_FLOATS:
        raise ValueError(f"{what} make {count:,} floats, over the {MAX_FLOATS:,} a node builds")


def shown(value: object) -> str:
    """A config value as the checkpoint holds it (its lists become tuples on the way in), kept short."""
    try:
        text = repr(list(value)) if isinstance(value, tuple) else repr(value)
    except ValueError:  # an int past Python's 4300-digit str() limit
        return f"<an integer of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    return text if len(text) <= 80 else text[:77] + "..."


def config_from(cls: type, raw: dict[str, Any], path: Path) -> Any:
    """Build a frozen config dataclass from a checkpoint's dict, naming any bad key and value."""
    unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        names = sorted(repr(k)[:40] for k in unknown)
        raise CheckpointError(f"checkpoint {path} config has unknown keys [{', '.join(names)}]; rebuild it")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except (TypeError, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {path} has an unusable config: {e}; rebuild it with `ciel-node crack`"
        ) from None


def load_weights(module: torch.nn.Module, weights: dict[str, Any], path: Path) -> None:
    """Load a state dict made only of finite tensors: a NaN or inf anywhere plays silence forever."""
    for name, value in weights.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"checkpoint {path} weight {str(name)[:60]!r} is not a tensor; {_REBUILD}")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise CheckpointError(
                f"checkpoint {path} has {bad} NaN/inf value(s) in {str(name)[:60]!r}, which would play "
                f"silence and grey; {_REBUILD}"
            )
    try:
        module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    except (RuntimeError, AttributeError, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {path} weights do not fit its config ({first[:160]}); rebuild it") from None
