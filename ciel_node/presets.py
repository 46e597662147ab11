"""Presets: slots 0-99 of where both walks are put (their map places and directions) and the bends, kept in
presets.json, and recalled with a glide: every number moves in a straight line to the slot's over glide_s seconds
(the homes too, since a home is a linear function of them), steps of GLIDE_STEP_S, then lands exactly on it.

State layer: it reads and updates the ControlStore like any control surface, and reports the `presets` readout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from ciel_node.atomic import read_json, write_atomic
from ciel_node.navigation import PRESET_KEEPS
from ciel_node.params import PRESET_SLOTS, ParamError, Value
from ciel_node.state import ControlStore

log = logging.getLogger(__name__)

GLIDE_STEP_S = 0.02  # a glide's updates: finer than the sound engine's 32 ms blocks, so each block moves
VERSION = 1


class Presets:
    """The slots, the file, and the glide under way (one at a time: a new recall takes over from where it is)."""

    def __init__(self, path: Path | None, store: ControlStore) -> None:
        self.path, self.store = path, store
        self.slots: dict[int, dict[str, Any]] = self._restore() if path is not None else {}
        self._glide: asyncio.Task[None] | None = None
        self._report()

    # --- the commands (OSC: /ciel/preset/...) ---------------------------------------------------
    def store_slot(self, slot: int) -> None:
        """Keep the places, directions and bends in force in `slot` (its name, if it had one, stays)."""
        kept = {s.name: _json(self.store.value(s.name)) for s in self._kept()}
        self.slots[slot] = {"name": self.slots.get(slot, {}).get("name", ""), "params": kept}
        self._save()

    def recall(self, value: tuple[int, float]) -> None:
        """Glide to `slot` over glide_s (0: at once, exactly); ParamError for an empty slot."""
        slot, glide_s = value
        if slot not in self.slots:
            raise ParamError(f"preset slot {slot} is empty; store it first with /ciel/preset/store {slot}")
        targets = {}
        for name, raw in self.slots[slot]["params"].items():
            if name in self.store.registry:
                targets[name] = self.store.registry[name].coerce(raw)[0]
        if self._glide is not None:
            self._glide.cancel()
            self._glide = None
        if glide_s <= 0:
            self.store.update(**targets)
            return
        self._glide = asyncio.get_running_loop().create_task(self._glide_to(targets, glide_s))

    def delete(self, slot: int) -> None:
        if self.slots.pop(slot, None) is not None:
            self._save()

    def name(self, value: tuple[int, str]) -> None:
        slot, name = value
        if slot not in self.slots:
            raise ParamError(f"preset slot {slot} is empty; store it before naming it")
        self.slots[slot]["name"] = name
        self._save()

    def commands(self) -> dict[str, Any]:
        """For the OSC surface: what each declared preset command does."""
        return {"preset_store": self.store_slot, "preset_recall": self.recall, "preset_delete": self.delete,
                "preset_name": self.name}

    def close(self) -> None:
        if self._glide is not None:
            self._glide.cancel()

    # --- the glide ------------------------------------------------------------------------------
    async def _glide_to(self, targets: dict[str, Value], seconds: float) -> None:
        """Numbers in a straight line from where they are; strings (a bend's features mode) at once. A parameter a
        performer moves during the glide is theirs from then on: the glide leaves it alone."""
        start = {name: self.store.value(name) for name in targets}
        moving = {n for n, v in targets.items() if _numbers(v) and _numbers(start[n]) and v != start[n]}
        at_once = {n: v for n, v in targets.items() if n not in moving and v != start[n]}
        if at_once:
            self.store.update(**at_once)
        set_last = dict(start)
        t0 = time.monotonic()
        while moving:
            u = min(1.0, (time.monotonic() - t0) / seconds)
            for name in [n for n in moving if self.store.value(n) != set_last[n]]:
                moving.discard(name)  # moved by someone else meanwhile
            step = {n: (targets[n] if u >= 1.0 else _lerp(start[n], targets[n], u)) for n in moving}
            if step:
                _, applied = self.store.update(**step)
                set_last.update(applied)
            if u >= 1.0:
                break
            await asyncio.sleep(min(GLIDE_STEP_S, max(0.0, t0 + seconds - time.monotonic())))
        self._glide = None

    # --- kept -----------------------------------------------------------------------------------
    def _kept(self) -> list[Any]:
        return [s for s in self.store.registry.controls if s.name.startswith(PRESET_KEEPS)]

    def listing(self) -> str:
        return ", ".join(f"{slot} {p['name']}".strip() for slot, p in sorted(self.slots.items()))

    def _report(self) -> None:
        self.store.report(presets=self.listing())

    def _save(self) -> None:
        self._report()
        if self.path is None:
            return
        data = {"version": VERSION, "slots": {str(k): v for k, v in sorted(self.slots.items())}}
        try:
            write_atomic(self.path, json.dumps(data, indent=1).encode())
        except OSError as e:
            log.error("could not save the presets to %s (%s); they hold until the node stops", self.path, e)
            raise ParamError(f"the preset could not be saved ({e.strerror or e}); free some disk space") from None

    def _restore(self) -> dict[int, dict[str, Any]]:
        """presets.json, each slot checked; what is unusable is left out with one warning (the file is kept)."""
        assert self.path is not None
        try:
            raw = read_json(self.path)
        except FileNotFoundError:
            return {}
        except ValueError as e:
            log.warning("ignoring the presets in %s (%s); starting with none", self.path, e)
            return {}
        slots: dict[int, dict[str, Any]] = {}
        problems: list[str] = []
        entries = raw.get("slots") if isinstance(raw, dict) and raw.get("version") == VERSION else None
        if not isinstance(entries, dict):
            log.warning("ignoring the presets in %s (not a version-%d presets file); starting with none",
                        self.path, VERSION)
            return {}
        for key, entry in entries.items():
            try:
                slot = int(key)
                if not 0 <= slot < PRESET_SLOTS or not isinstance(entry, dict):
                    raise ValueError("not a slot 0..99 with a name and params")
                name = entry.get("name", "")
                params = entry.get("params")
                if not isinstance(name, str) or not isinstance(params, dict):
                    raise ValueError("its name or params are mistyped")
                kept = {}
                for pname, value in params.items():
                    if pname in self.store.registry and pname.startswith(PRESET_KEEPS):
                        kept[pname] = _json(self.store.registry[pname].coerce(value)[0])
                    else:
                        problems.append(f"slot {slot}: {pname} is not a parameter of this node (left out)")
                slots[slot] = {"name": " ".join(name.split())[:64], "params": kept}
            except (ValueError, TypeError) as e:
                problems.append(f"slot {key!r}: {e}")
        if problems:
            log.warning("presets in %s: %s", self.path, "; ".join(problems[:5]) +
                        (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        return slots


def _numbers(value: Value) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in items)


def _lerp(a: Value, b: Value, u: float) -> Value:
    if isinstance(a, tuple):
        return tuple(x + (y - x) * u for x, y in zip(a, b))
    return a + (b - a) * u


def _json(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value
