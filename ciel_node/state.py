"""The controls as a frozen, validated snapshot, the one store that applies updates to them, and the readouts.

What the controls are (names, types, ranges, defaults, which are saved) is declared once in params.py.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ciel_node.atomic import read_json, write_atomic
from ciel_node.bends import Bends
from ciel_node.params import PARAMS, READ, READ_WRITE, SEED_MAX, ParamError, Registry, Value, _short, number

log = logging.getLogger(__name__)

__all__ = ["SEED_MAX", "ControlError", "ControlStore", "Controls", "coerce", "number"]

ControlError = ParamError  # a control value that cannot be used at all (not a number, NaN, inf, unknown name)


class Controls:
    """A frozen snapshot of every control's value (params.py's READ_WRITE entries): `controls.drift`.

    Built from the registry, so a declared control is here without another line. Picklable (it crosses
    to the render and sound processes) and comparable; `replace()` makes a changed copy.
    """

    __slots__ = ("_values", "_bends")

    def __init__(self, registry: Registry = PARAMS, **values: Value) -> None:
        base = {s.name: s.initial for s in registry.controls}
        unknown = set(values) - set(base)
        if unknown:
            raise ControlError(f"unknown control {sorted(unknown)[0]!r}; known: {', '.join(base)}")
        object.__setattr__(self, "_values", {**base, **values})

    def __getattr__(self, name: str) -> Any:
        if name in ("_values", "_bends"):  # not set yet (an unpickling copy, bends not parsed): no recursion
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Controls is frozen; use replace()")

    def __getstate__(self) -> dict[str, Value]:
        return dict(self._values)

    def __setstate__(self, values: dict[str, Value]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Controls) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return "Controls(" + ", ".join(f"{k}={v!r}" for k, v in self._values.items()) + ")"

    @property
    def bends(self) -> Bends:
        """The network bends in force (the `bend_*` controls), parsed once per snapshot: the engine asks per block."""
        try:
            return self._bends
        except AttributeError:
            object.__setattr__(self, "_bends", Bends.parse(self._values))
            return self._bends

    def replace(self, **changes: Value) -> Controls:
        new = object.__new__(Controls)
        object.__setattr__(new, "_values", {**self._values, **changes})
        return new

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (lists for the controls that take several)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}


def coerce(name: str, value: Any) -> tuple[Value, bool]:
    """Validate one control value: returns (value clamped into range, whether it was clamped)."""
    return PARAMS[name].coerce(value)


Listener = Callable[[Controls, dict[str, Any]], None]
Watcher = Callable[[str, Value], None]


class ControlStore:
    """Holds the current Controls; every update is validated, versioned, announced, and saved by flush().

    Thread-safe: the event loop writes, the render worker reads snapshots.
    """

    def __init__(self, path: Path | None, overrides: dict[str, Any] | None = None,
                 registry: Registry = PARAMS) -> None:
        self.path = path
        self.registry = registry
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._watchers: list[Watcher] = []
        self.version = 0
        controls = Controls(registry)
        if path is not None and path.exists():
            controls = self._restore(path, controls)
        for name, value in (overrides or {}).items():
            controls = controls.replace(**{name: self._coerce(name, value)[0]})
        self._controls = controls
        self._readouts: dict[str, Value] = {s.name: s.initial for s in registry.values if s.access == READ}
        self._dirty = True
        self.flush()

    @property
    def controls(self) -> Controls:
        return self._controls

    def subscribe(self, listener: Listener) -> None:
        """`listener(snapshot, changed)` after every change of the controls."""
        self._listeners.append(listener)

    def watch(self, watcher: Watcher) -> None:
        """`watcher(name, value)` after every change of any value, controls and readouts alike (OSCQuery)."""
        self._watchers.append(watcher)

    def value(self, name: str) -> Value:
        """The current value of a control or a readout."""
        if name in self._readouts:
            return self._readouts[name]
        return getattr(self._controls, self.registry[name].name)

    def _coerce(self, name: str, value: Any) -> tuple[Value, bool]:
        if name not in self.registry:
            known = ", ".join(s.name for s in self.registry.controls)
            raise ControlError(f"unknown control {_short.repr(name)}; known: {known}")
        spec = self.registry[name]
        if spec.access != READ_WRITE:
            raise ControlError(f"{spec.address} is {'read-only' if spec.access == READ else 'a command'}: "
                               "it holds no value to set")
        return spec.coerce(value)

    def update(self, **values: Any) -> tuple[Controls, dict[str, Any]]:
        """Apply validated values; returns (new snapshot, {name: value actually set}). Raises ControlError."""
        clean = {name: self._coerce(name, value)[0] for name, value in values.items()}
        with self._lock:
            changed = {k: v for k, v in clean.items() if getattr(self._controls, k) != v}
            if changed:
                self._controls = self._controls.replace(**changed)
                self.version += 1
            snapshot = self._controls
        if changed:
            self._dirty = True
            for listener in list(self._listeners):
                listener(snapshot, changed)
            self._tell(changed)
        return snapshot, clean

    def reset(self, prefix: str) -> tuple[Controls, dict[str, Any]]:
        """Every control whose name starts with `prefix` back to its default (a `resets` command: /ciel/bend/clear)."""
        return self.update(**{s.name: s.initial for s in self.registry.controls if s.name.startswith(prefix)})

    def report(self, **values: Value) -> None:
        """Set readouts (the node's own news: the last seq, when the next piece is due, the speakers' state)."""
        changed = {}
        for name, value in values.items():
            v = self.registry[name].coerce(value)[0]
            if self._readouts.get(name) != v:
                self._readouts[name] = changed[name] = v
        self._tell(changed)

    def _tell(self, changed: dict[str, Value]) -> None:
        for watcher in list(self._watchers):
            for name, value in changed.items():
                watcher(name, value)

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
        for spec in self.registry.persisted:
            name = spec.name
            if name not in raw:
                continue
            try:
                values[name], clamped = spec.coerce(raw[name])
            except ControlError as e:
                problems.append(f"{e}: using {_shown(getattr(base, name))}")
                continue
            if clamped:
                shown = _short.repr(raw[name])
                problems.append(f"{name}={shown} is outside {spec.range_text()}: using {_shown(values[name])}")
        if problems:
            log.warning("saved controls in %s: %s", path, "; ".join(problems))
        return base.replace(**values)

    def flush(self) -> None:
        """Save the controls if they changed since the last save.

        Not done inside update(): a knob sending 1,000 values a second must not mean 1,000 fsyncs.
        The node calls this every half second and on the way out.
        """
        if self.path is None or not self._dirty:
            return
        with self._lock:
            saved = {s.name for s in self.registry.persisted}
            data = json.dumps({k: v for k, v in self._controls.as_dict().items() if k in saved}, indent=1).encode()
            self._dirty = False
        try:
            write_atomic(self.path, data)
        except OSError as e:
            self._dirty = True
            log.error("could not save controls to %s (%s); they still apply, retrying", self.path, e)



def _shown(value: Value) -> str:
    return " ".join(number(v) for v in value) if isinstance(value, tuple) else number(value)
