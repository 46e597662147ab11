"""The controls as a frozen, validated snapshot, and the one store that applies updates to them."""

from __future__ import annotations

import json
import logging
import math
import reprlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ciel_node.atomic import read_json, write_atomic

log = logging.getLogger(__name__)

SEED_MAX = 2_147_483_647


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    integer: bool = False

    def __str__(self) -> str:
        """`0..2147483647`, `0.5..3600`: as a person would type the bounds (no `2.14748e+09`)."""
        return f"{number(self.lo)}..{number(self.hi)}"


def number(value: float) -> str:
    """A number for a message: whole numbers in full, others in their shortest form."""
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer() and abs(value) < 1e16):
        return str(int(value))
    return f"{value:g}"


_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40  # a hand-edited file or a fuzzer may send megabytes; a log line stays a line


# Contract ranges (CONTRACT.md, OSC section). Out-of-range numbers are clamped, never rejected.
RANGES: dict[str, Range] = {
    "interval": Range(0.5, 3600.0),
    "seed": Range(0, SEED_MAX, integer=True),
    "drift": Range(0.0, 1.0),
    "volume_ceiling": Range(-60.0, 0.0),
    "playback": Range(0, 1, integer=True),
}


@dataclass(frozen=True)
class Controls:
    interval: float = 30.0
    seed: int = 0
    drift: float = 0.1
    volume_ceiling: float = -6.0
    playback: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ControlError(ValueError):
    """A control value that cannot be used at all (not a number, NaN, inf, unknown name)."""


def coerce(name: str, value: Any) -> tuple[float | int, bool]:
    """Validate one control value: returns (value clamped into range, whether it was clamped)."""
    if name not in RANGES:
        raise ControlError(f"unknown control {name!r}; known: {', '.join(RANGES)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(f"{name} must be a number, got {_short.repr(value)}")
    if not math.isfinite(value):
        raise ControlError(f"{name} must be finite, got {_short.repr(value)}")
    r = RANGES[name]
    clamped = min(max(value, r.lo), r.hi)
    out: float | int = int(round(clamped)) if r.integer else float(clamped)
    return out, clamped != value


Listener = Callable[["Controls", dict[str, Any]], None]


class ControlStore:
    """Holds the current Controls; every update is validated, versioned, announced, and saved by flush().

    Thread-safe: the event loop writes, the render worker reads snapshots.
    """

    def __init__(self, path: Path | None, overrides: dict[str, Any] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.version = 0
        controls = Controls()
        if path is not None and path.exists():
            controls = self._restore(path, controls)
        for name, value in (overrides or {}).items():
            controls = replace(controls, **{name: coerce(name, value)[0]})  # type: ignore[arg-type]
        self._controls = controls
        self._dirty = True
        self.flush()

    @property
    def controls(self) -> Controls:
        return self._controls

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def update(self, **values: Any) -> tuple[Controls, dict[str, Any]]:
        """Apply validated values; returns (new snapshot, {name: value actually set}). Raises ControlError."""
        clean = {name: coerce(name, value)[0] for name, value in values.items()}
        with self._lock:
            changed = {k: v for k, v in clean.items() if getattr(self._controls, k) != v}
            if changed:
                self._controls = replace(self._controls, **changed)  # type: ignore[arg-type]
                self.version += 1
            snapshot = self._controls
        if changed:
            self._dirty = True
            for listener in list(self._listeners):
                listener(snapshot, changed)
        return snapshot, clean

    def _restore(self, path: Path, base: Controls) -> Controls:
        """The saved controls over `base`: each value checked by type and range, one warning for all problems.

        A torn, hand-edited or foreign file must not keep an installation from starting (under systemd's
        Restart=always it would exit at every start): what is unusable falls back to the default.
        """
        try:
            raw = read_json(path)
        except FileNotFoundError:
            return base
        except ValueError as e:
            log.warning("ignoring saved controls in %s (%s); starting from defaults", path, e)
            return base
        if not isinstance(raw, dict):
            log.warning("ignoring saved controls in %s (%s is not an object of controls); starting from defaults",
                        path, _short.repr(raw))
            return base
        values: dict[str, Any] = {}
        problems = []
        for name in (f.name for f in fields(Controls)):
            if name not in raw:
                continue
            try:
                values[name], clamped = coerce(name, raw[name])
            except ControlError as e:
                problems.append(f"{e}: using {number(getattr(base, name))}")
                continue
            if clamped:
                shown = _short.repr(raw[name])
                problems.append(f"{name}={shown} is outside {RANGES[name]}: using {number(values[name])}")
        if problems:
            log.warning("saved controls in %s: %s", path, "; ".join(problems))
        return replace(base, **values)

    def flush(self) -> None:
        """Save the controls if they changed since the last save.

        Not done inside update(): a knob sending 1,000 values a second must not mean 1,000 fsyncs.
        The node calls this every half second and on the way out.
        """
        if self.path is None or not self._dirty:
            return
        with self._lock:
            data = json.dumps(self._controls.as_dict(), indent=1).encode()
            self._dirty = False
        try:
            write_atomic(self.path, data)
        except OSError as e:
            self._dirty = True
            log.error("could not save controls to %s (%s); they still apply, retrying", self.path, e)

