"""Small state files: atomic writes (a reader, or a power cut, sees the old file or the new one, never half
of one) and reads that turn anything unusable into one ValueError naming the file."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

MAX_STATE_BYTES = 16 << 20  # the node's own state files are kilobytes; anything bigger is not one of them


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary hidden name in the same folder, fsync, rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON value in `path`. A missing file raises FileNotFoundError (the caller's "never saved").

    Raises ValueError (with the reason) for a file that cannot be read or is not JSON: torn by a
    power cut, hand-edited, a folder, nested too deeply. The caller checks the shape of what it gets.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ValueError(f"cannot read it: {e.strerror or e}") from None
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"larger than {MAX_STATE_BYTES >> 20} MB")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"not JSON: {str(e)[:80] or type(e).__name__}") from None
