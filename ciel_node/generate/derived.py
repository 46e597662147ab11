"""What is derived once per checkpoint and kept (bend clusters, maps): a JSON file keyed by the checkpoint's hash,
beside it (`crack` writes it there) or in the state dir (the node builds it at first load)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ciel_node.atomic import write_atomic
from ciel_node.models.checkpoint import file_hash

log = logging.getLogger(__name__)

T = TypeVar("T")


def derived(what: str, version: int, checkpoint: Path, cache_dir: Path, build: Callable[[], T],
            dump: Callable[[T], Any], load: Callable[[Any], T]) -> T:
    """`what` for this checkpoint: read from `<what>-<hash>.json` beside it or in `cache_dir`, else built and saved
    in `cache_dir`. A damaged, foreign or older file is rebuilt (one warning); a cache that cannot be written costs
    a rebuild at the next start, nothing else."""
    digest = file_hash(checkpoint)  # as each piece records it
    name = f"{what}-{digest}.json"
    for path in dict.fromkeys((checkpoint.parent / name, cache_dir / name)):
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and data.get("version") == version and data.get("sha256") == digest:
                return load(data["data"])
            log.warning("%s is for another checkpoint or version; rebuilding it", path)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            log.warning("ignoring %s (%s); rebuilding it", path, e)
    value = build()
    path = cache_dir / name
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"version": version, "sha256": digest, "data": dump(value)}).encode())
    except OSError as e:
        log.warning("could not keep %s in %s (%s); it is built again at the next start", what, path, e)
    return value
