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
# What a checkpoint's seal (its "seal" entry: the sha256 of these, see content_seal) vouches for.
SEAL_COVERS = ("kind", "config", "weights", "provenance", "extra")

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
    payload["seal"] = {"sha256": content_seal(payload), "covers": SEAL_COVERS}
    write_atomic(path, _serialise(payload))


def content_seal(payload: dict[str, Any]) -> str:
    """sha256 of what a checkpoint means: kind, config, weights, provenance and extra, in a canonical encoding
    (sorted keys; each tensor's dtype, shape and bytes) that does not depend on how torch lays out its zip."""
    h = hashlib.sha256()
    for key in SEAL_COVERS:
        h.update(key.encode() + b"\0")
        _canonical(payload.get(key), h)
    return h.hexdigest()


def _canonical(value: object, h: Any) -> None:
    """Feed `value` to the hash unambiguously: a type tag, a length where there is one, then the content."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(f"D{len(value)}:".encode())
        for k in sorted(value, key=repr):
            _canonical(k, h)
            _canonical(value[k], h)
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}:".encode())
        for v in value:
            _canonical(v, h)
    elif isinstance(value, (str, bytes)):
        raw = value.encode() if isinstance(value, str) else value
        h.update(f"{'S' if isinstance(value, str) else 'B'}{len(raw)}:".encode() + raw)
    elif value is None or isinstance(value, (bool, int, float)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise CheckpointError(f"a checkpoint cannot hold a {type(value).__name__}")


def _serialise(payload: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def load_checkpoint(path: Path, kind: str) -> dict[str, Any]:
    """Load with weights_only=True (no pickle code runs) and check container, format, version, kind and seal."""
    return _load(path, kind, sealed=True)


def _load(path: Path, kind: str | None, sealed: bool) -> dict[str, Any]:
    """load_checkpoint; `kind` None takes any kind, `sealed` False takes a checkpoint without a seal."""
    if path.exists() and not path.is_file():
        # A folder, a FIFO or a device: opening a FIFO would wait for a writer forever.
        raise CheckpointError(f"checkpoint {path} is not a regular file; pass a .pt made by `ciel-node crack`")
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass an existing file or train one with "
            f"`ciel-node crack {'images' if kind == 'image_gan' else 'audio'} ARCHIVE --out {path}`"
        )
    raw = path.read_bytes()
    _check_container(path, raw)
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
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
    if kind is not None and payload.get("kind") != kind:
        raise CheckpointError(
            f"checkpoint {path} is a {payload.get('kind')!r} model where a {kind!r} model is needed; "
            f"swap --audio-checkpoint and --image-checkpoint?"
        )
    for key in ("config", "weights", "provenance"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"checkpoint {path} lacks its {key!r} section; rebuild it with `ciel-node crack`")
    if not isinstance(payload.get("kind"), str):
        raise CheckpointError(f"checkpoint {path} does not say what kind of model it is; {_REBUILD}")
    if sealed or "seal" in payload:
        _check_seal(path, payload, raw)
    return payload


def _check_seal(path: Path, payload: dict[str, Any], raw: bytes) -> None:
    """The content must hash to the seal the writer put in it (a changed weight, config or provenance, even with its
    zip CRC mended), and the file must be exactly what torch writes for that content (a changed byte anywhere else:
    a timestamp, padding, a comment of the zip)."""
    seal = payload.get("seal")
    if not isinstance(seal, dict) or not isinstance(seal.get("sha256"), str):
        raise CheckpointError(
            f"checkpoint {path} carries no seal of its weights (made before ciel-node sealed them, or not by it); "
            f"if it is yours, seal it with `ciel-node seal {path}`, or rebuild it with `ciel-node crack`"
        )
    if content_seal(payload) != seal["sha256"]:
        raise CheckpointError(
            f"checkpoint {path} was altered after it was written: its content no longer matches its seal "
            f"(sha256 {seal['sha256'][:16]}…); {_REBUILD}"
        )
    if _serialise(payload) != raw:
        raise CheckpointError(
            f"checkpoint {path} was altered after it was written: its content matches its seal but the file's other "
            f"bytes differ from what torch {torch.__version__} writes for it; {_REBUILD}"
        )


def seal_checkpoint(path: Path) -> str:
    """`ciel-node seal`: seal a checkpoint made before seals, in place, after every other check of load_checkpoint
    (zip CRCs, format, version, sections); one sealed already is verified and left as it is. Returns the seal."""
    payload = _load(path, None, sealed=False)
    if "seal" not in payload:
        save_checkpoint(path, payload["kind"], payload["config"], payload["weights"], payload["provenance"],
                        payload.get("extra"))
    return str(load_checkpoint(path, payload["kind"])["seal"]["sha256"])


def _check_container(path: Path, raw: bytes) -> None:
    """A checkpoint is the zip torch.save writes: stored (uncompressed) entries, each with a CRC-32.

    torch.load checks none of those CRCs, so a flipped bit in a tensor would load as a different
    net; testzip() reads every entry once (a few ms for the shipped files) and compares.
    """
    head = raw[:8]
    if not head.startswith(b"PK\x03\x04"):
        if not head:
            raise CheckpointError(f"checkpoint {path} is empty (0 bytes): corrupt or cut short; {_REBUILD}")
        raise CheckpointError(
            f"{path} is not a ciel-node checkpoint ({_what(head)}); pass a .pt made by `ciel-node crack`"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
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
