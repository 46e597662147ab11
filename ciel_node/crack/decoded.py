"""A folder of decoded archive items, named by the file's content hash and how it was decoded, so a second read of
the same archive decodes nothing: each entry is a .npy file whose last 32 bytes are the sha256 of the rest."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciel_node.atomic import write_atomic

_DIGEST = 32


@dataclass
class DecodedCache:
    """Arrays by key in `folder` (None: no cache, every get misses and put does nothing). Never fatal: an entry
    that cannot be read or does not match its checksum is a miss (and is rewritten by the caller's put); a put that
    cannot write (read-only, disk full) is counted and forgotten."""

    folder: Path | None
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    unwritten: int = 0

    def get(self, key: str, dtype: type, ndim: int) -> np.ndarray | None:
        """The array stored under `key` if it is there, whole, and of this dtype and rank; else None."""
        if self.folder is None:
            return None
        try:
            data = (self.folder / f"{key}.npy").read_bytes()
        except OSError:
            self.misses += 1
            return None
        body, digest = data[:-_DIGEST], data[-_DIGEST:]
        try:
            if len(data) <= _DIGEST or hashlib.sha256(body).digest() != digest:
                raise ValueError("checksum")
            array = np.load(io.BytesIO(body), allow_pickle=False)
            if array.dtype != dtype or array.ndim != ndim:
                raise ValueError(f"{array.dtype} {array.shape}")
        except (ValueError, OSError, EOFError):  # torn, flipped, or not ours: decode again
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        if self.folder is None:
            return
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        body = buffer.getvalue()
        try:
            write_atomic(self.folder / f"{key}.npy", body + hashlib.sha256(body).digest())
        except OSError:
            self.unwritten += 1
