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
    """Load with weights_only=True (no pickle code runs) and check format, version and kind."""
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass an existing file or train one with "
            f"`ciel-node crack {'audio' if kind == 'audio_vae' else 'images'} ARCHIVE --out {path}`"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint {path} holds something other than plain weights and was refused "
            f"unexecuted ({first[:160]}); use a file written by `ciel-node crack`"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a PyTorch file ({type(e).__name__}); "
            f"restore it from checkpoints/ or rebuild it with `ciel-node crack`"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ciel-node checkpoint; use a file written by `ciel-node crack`")
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


def file_hash(path: Path) -> str:
    """sha256 of a file, short form: what a published piece records of the model that made it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def config_from(cls: type, raw: dict[str, Any], path: Path) -> Any:
    """Build a frozen config dataclass from a checkpoint's dict, naming any bad key."""
    unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise CheckpointError(f"checkpoint {path} config has unknown keys {sorted(unknown)}; rebuild it")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} config is invalid ({e}); rebuild it") from None


def load_weights(module: torch.nn.Module, weights: dict[str, Any], path: Path) -> None:
    try:
        module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    except (RuntimeError, AttributeError) as e:
        first = str(e).splitlines()[0]
        raise CheckpointError(f"checkpoint {path} weights do not fit its config ({first[:160]}); rebuild it") from None
