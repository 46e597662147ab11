"""The declared parameter space: every control, command and readout of the node, declared once, as data.

Everything else derives from this table: validation and clamping (state.py), the OSC dispatcher and its
address patterns (controls/osc.py), the `/ciel/state/*` feedback types (controls/feedback.py), which
controls are saved (state.py) and which are config keys and CLI flags (config.py, __main__.py), each
piece's manifest `params` (schedule), the OSCQuery namespace (controls/oscquery.py) and the README's
address table (`python -m ciel_node.params`, checked by tests/test_params.py).

Adding a parameter is one `ParamSpec(...)` in `DECLARED` plus the code that gives it its effect.
This module imports nothing of the node: it is the shared vocabulary of every layer.
"""

from __future__ import annotations

import math
import re
import reprlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

READ, WRITE, READ_WRITE = 1, 2, 3  # OSCQuery ACCESS: a readout, a command, a control
SEED_MAX = 2_147_483_647
PRESET_SLOTS = 100
PREFIX = "/ciel/"

Value = Any  # int | float | str for one value; a tuple of them for a control that takes several
_NUMERIC = {"i": int, "f": float, "d": float, "h": int}

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40  # a hand-edited file or a fuzzer may send megabytes; a message stays a line


class ParamError(ValueError):
    """A value a parameter cannot take at all (not a number, NaN, wrong count, unknown name, read-only)."""


def number(value: float) -> str:
    """A number for a message: whole numbers in full, others in their shortest form."""
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer() and abs(value) < 1e16):
        return str(int(value))
    return f"{value:g}"


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@dataclass(frozen=True)
class ParamSpec:
    """One entry of the parameter space.

    `types` are the OSC type tags of its value (`"f"`, `"i"`, `"ff"` for an x/y pair, `""` for a command that
    takes none). `lo`/`hi`/`default` take a number for a one-value parameter, a tuple for several. Numbers out
    of range are clamped (`clip="both"`) and the clamped value is echoed; `clip="none"` leaves them alone.
    `access`: READ (a readout the node sets: seq, next_at, the speakers' state), WRITE (a command: next),
    READ_WRITE (a control). `persist`: saved in controls.json and a config key / CLI flag. `manifest`: recorded in
    each piece's `params` (everything that shapes the media must be: same checkpoints + seed + params ⇒ same bytes).
    Declared at start-up (bends.py): `optional` trailing values may be left out (the default's fill in), `check`
    validates the whole value after clamping (returns it canonical, raises ParamError), `group` records the
    parameter in a piece's `params[group]` only when it is not at its default (a hundred neutral bends are implied,
    not listed), and a command with `resets` puts every control whose name starts with it back to its default.
    """

    name: str
    types: str
    description: str
    lo: Any = ()
    hi: Any = ()
    default: Any = ()
    unit: str = ""
    clip: str = "both"
    access: int = READ_WRITE
    persist: bool = True
    manifest: bool = True
    choices: tuple[str, ...] = ()  # the values a string readout can take (OSCQuery RANGE VALS)
    address: str = ""  # default: /ciel/<name>; readouts live under /ciel/status/
    label: str = ""  # a short human name for the CLI flag's value (e.g. "seconds")
    optional: int = 0
    check: Callable[[Any], Any] | None = field(default=None, compare=False)
    group: str = ""
    resets: str = ""
    # Derived in __post_init__ for coerce()'s short path (one number: every knob move takes it).
    _one: bool = field(init=False, repr=False, compare=False, default=False)
    _int: bool = field(init=False, repr=False, compare=False, default=False)
    _low: float | None = field(init=False, repr=False, compare=False, default=None)
    _high: float | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        for attr in ("lo", "hi", "default"):
            object.__setattr__(self, attr, _tuple(getattr(self, attr)))
        if not self.address:
            prefix = PREFIX + ("status/" if self.access == READ else "")
            object.__setattr__(self, "address", prefix + self.name)
        bad = [t for t in self.types if t not in "ifdhs"]
        if bad or self.clip not in ("none", "low", "high", "both") or self.access not in (READ, WRITE, READ_WRITE):
            raise ValueError(f"bad declaration of {self.name}: types {self.types!r}, clip {self.clip!r}")
        if self.types and self.access != WRITE and len(self.default) != len(self.types):
            raise ValueError(f"{self.name}: default {self.default!r} does not match types {self.types!r}")
        if self.lo and not (len(self.lo) == len(self.hi) == len(self.types)):
            raise ValueError(f"{self.name}: lo/hi must give one bound per value ({self.types!r})")
        bounded = bool(self.lo)
        object.__setattr__(self, "_one", len(self.types) == 1 and self.types in _NUMERIC and self.check is None)
        object.__setattr__(self, "_int", self.types in ("i", "h"))
        object.__setattr__(self, "_low", self.lo[0] if bounded and self.clip in ("both", "low") else None)
        object.__setattr__(self, "_high", self.hi[0] if bounded and self.clip in ("both", "high") else None)

    @property
    def command(self) -> bool:
        """A message that does something and holds no value (`/ciel/next`, `/ciel/preset/recall 3 2.0`)."""
        return self.access == WRITE

    @property
    def initial(self) -> Value:
        """The default as the node holds it: a plain value for one, a tuple for several."""
        return self.default[0] if len(self.default) == 1 else tuple(self.default)

    @property
    def flag(self) -> str:
        """The CLI flag of a persisted control: `--volume-ceiling`."""
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        """`0.5..3600`, `0..1 0..1` for a pair, `a|b` for choices: as a person would type the bounds."""
        if self.choices and not self.lo:
            return ", ".join(self.choices)
        return " ".join(("|".join(self.choices) or "text") if t == "s" else f"{number(lo)}..{number(hi)}"
                        for t, lo, hi in zip(self.types, self.lo, self.hi))

    def coerce(self, value: Any) -> tuple[Value, bool]:
        """Validate a value for this parameter: (value clamped into range and typed, whether it was clamped).

        One value comes bare; several come as a list or tuple. Raises ParamError.
        """
        if self._one and type(value) in (int, float) and math.isfinite(value):
            v = value
            low, high = self._low, self._high
            if low is not None and v < low:
                v = low
            elif high is not None and v > high:
                v = high
            return (int(round(v)) if self._int else float(v)), v != value
        if not self.types:
            raise ParamError(f"{self.name} takes no value")
        several = len(self.types) > 1
        if several and not isinstance(value, (list, tuple)) and self.optional >= len(self.types) - 1:
            value = (value,)
        if several != isinstance(value, (list, tuple)):
            raise ParamError(f"{self.name} takes {self.count_text()}, got {_short.repr(value)}")
        items = list(value) if several else [value]
        if len(self.types) - self.optional <= len(items) < len(self.types):
            items += list(self.default[len(items):])
        if len(items) != len(self.types):
            raise ParamError(f"{self.name} takes {self.count_text()}, got {_short.repr(value)}")
        out: list[Any] = []
        clamped = False
        for k, (tag, item) in enumerate(zip(self.types, items)):
            if tag == "s":
                if not isinstance(item, str):
                    raise ParamError(f"{self.name} must be a string, got {_short.repr(item)}")
                if self.choices and item not in self.choices:
                    raise ParamError(f"{self.name} must be one of {', '.join(self.choices)}, got {_short.repr(item)}")
                out.append(item)
                continue
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise ParamError(f"{self.name} must be a number, got {_short.repr(item)}")
            if not math.isfinite(item):
                raise ParamError(f"{self.name} must be finite, got {_short.repr(item)}")
            v = item
            if self.lo and self.clip in ("both", "low"):
                v = max(v, self.lo[k])
            if self.lo and self.clip in ("both", "high"):
                v = min(v, self.hi[k])
            clamped |= v != item
            out.append(int(round(v)) if _NUMERIC[tag] is int else float(v))
        result = out[0] if len(out) == 1 else tuple(out)
        if self.check is not None:
            checked = self.check(result)
            clamped |= checked != result
            result = checked
        return result, clamped

    def count_text(self) -> str:
        n = len(self.types)
        if self.optional:
            return f"{n - self.optional} to {n} values ({self.types})"
        return "one number" if n == 1 and self.types != "s" else "one string" if n == 1 else f"{n} numbers"

    def arity(self) -> tuple[int, int]:
        """How many OSC arguments a message to it may carry: (fewest, most)."""
        return len(self.types) - self.optional, len(self.types)


@dataclass
class Registry:
    """The declared parameters, by name and by OSC address, with OSC 1.0 pattern matching over the addresses.

    Later features (network bending, navigation) declare more at start-up, once the checkpoints say how
    many layers there are: `declare()` before the node's state is built.
    """

    specs: list[ParamSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name: dict[str, ParamSpec] = {}
        self._by_address: dict[str, ParamSpec] = {}
        self._matched: dict[str, tuple[ParamSpec, ...]] = {}  # pattern -> what it matches (a knob repeats one)
        for spec in list(self.specs):
            self._index(spec)

    def extended(self, specs: list[ParamSpec]) -> Registry:
        """A new registry: these parameters and `specs` (a node's own, once its checkpoints say what they are)."""
        return Registry([*self.specs, *specs])

    def declare(self, *specs: ParamSpec) -> None:
        for spec in specs:
            self._index(spec)
            self.specs.append(spec)
        self._matched.clear()

    def _index(self, spec: ParamSpec) -> None:
        if spec.name in self._by_name or spec.address in self._by_address:
            raise ValueError(f"{spec.name} ({spec.address}) is declared twice")
        self._by_name[spec.name] = spec
        self._by_address[spec.address] = spec

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.specs)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> ParamSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise ParamError(f"unknown parameter {name!r}; known: {', '.join(self._by_name)}") from None

    def at(self, address: str) -> ParamSpec | None:
        return self._by_address.get(address)

    @property
    def values(self) -> list[ParamSpec]:
        """Everything that holds a value: controls and readouts."""
        return [s for s in self.specs if not s.command]

    @property
    def controls(self) -> list[ParamSpec]:
        return [s for s in self.specs if s.access == READ_WRITE]

    @property
    def persisted(self) -> list[ParamSpec]:
        return [s for s in self.specs if s.persist and s.access == READ_WRITE]

    @property
    def in_manifest(self) -> list[ParamSpec]:
        return [s for s in self.specs if s.manifest and s.access == READ_WRITE]

    def defaults(self) -> dict[str, Value]:
        return {s.name: s.initial for s in self.values}

    def match(self, pattern: str) -> list[ParamSpec]:
        """The declared parameters an OSC 1.0 address pattern matches, in declaration order; raises ParamError
        for a pattern that is not one (an unclosed `[` or `{`)."""
        spec = self._by_address.get(pattern)
        if spec is not None:
            return [spec]
        matched = self._matched.get(pattern)
        if matched is None:
            rx = _match(pattern)
            matched = tuple(s for s in self.specs if rx.fullmatch(s.address))
            if len(self._matched) >= 1024:  # bounded: a fuzzer sends a new pattern every packet
                self._matched.clear()
            self._matched[pattern] = matched
        return list(matched)

    def manifest_params(self, values: dict[str, Value]) -> dict[str, Any]:
        """A piece's `params`: every declared parameter that shapes the media (lists for several values); a grouped
        one (the bends) under `params[group]`, keyed by its address below `/ciel/<group>/`, only when it is not at its
        default (so `{}` is "all neutral")."""
        out: dict[str, Any] = {}
        for s in self.in_manifest:
            if not s.group:
                out[s.name] = _json(values[s.name])
                continue
            grouped = out.setdefault(s.group, {})
            if _json(values[s.name]) != _json(s.initial):
                grouped[s.address.removeprefix(f"{PREFIX}{s.group}/")] = _json(values[s.name])
        return out

    def markdown(self) -> str:
        """The README's address table, generated: what a developer declares is what a performer reads."""
        rows = ["| address | args | range | default | access | meaning |", "|---|---|---|---|---|---|"]
        kinds = {READ: "read", WRITE: "write", READ_WRITE: "read/write"}
        for s in self.specs:
            args = f"`{s.types}`" if s.types else "—"
            shown = s.default if s.default and not s.command else ()
            default = " ".join(number(d) if not isinstance(d, str) else d for d in shown)
            unit = f" {s.unit}" if s.unit and s.range_text() else ""
            rows.append(f"| `{s.address}` | {args} | {s.range_text()}{unit} | {default} | {kinds[s.access]} | "
                        f"{s.description} |")
        return "\n".join(rows) + "\n"


def _json(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value


def is_pattern(address: str) -> bool:
    """Whether an incoming address uses OSC 1.0 pattern characters (they are reserved in addresses)."""
    return any(c in address for c in "*?[]{}")


@lru_cache(maxsize=256)
def _match(pattern: str) -> re.Pattern[str]:
    """An OSC 1.0 address pattern as a regular expression (opensoundcontrol.stanford.edu/spec-1_0.html).

    `?` one character, `*` any run (neither crosses a `/`: patterns match part by part), `[abc]` `[a-z]`
    `[!a]` one character of (or not of) a set, `{foo,bar}` one of the strings. Everything else is literal.
    Cached: a controller repeats its few patterns thousands of times.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] == "!" else i + 1)
            if end < 0:
                raise ParamError(f"pattern {_short.repr(pattern)} has '[' without ']'")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ParamError(f"pattern {_short.repr(pattern)} has an empty '[]'")
            parts = []
            for k, ch in enumerate(body):  # '-' between two characters is a range; at either end, a '-'
                parts.append("-" if ch == "-" and 0 < k < len(body) - 1 else re.escape(ch))
            out.append(f"[^/{''.join(parts)}]" if negate else f"[{''.join(parts)}]")
            i = end
        elif c == "{":
            end = pattern.find("}", i)
            if end < 0:
                raise ParamError(f"pattern {_short.repr(pattern)} has '{{' without '}}'")
            out.append("(?:" + "|".join(re.escape(alt) for alt in pattern[i + 1 : end].split(",")) + ")")
            i = end
        elif c in "]}":
            raise ParamError(f"pattern {_short.repr(pattern)} has '{c}' without its opening bracket")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _slot(value: Any) -> Any:
    """A preset command's value: its slot must exist (not clamped: slot 150 must not overwrite 99); a glide time is
    clamped into 0..600 s, a name kept to one short line."""
    items = value if isinstance(value, tuple) else (value,)
    if not 0 <= items[0] < PRESET_SLOTS:
        raise ParamError(f"preset slot {number(items[0])} does not exist: slots are 0..{PRESET_SLOTS - 1}")
    if len(items) == 1:
        return value
    rest = items[1]
    if isinstance(rest, str):
        name = " ".join(rest.split())[:64]
        if not name or "," in name:
            raise ParamError(f"a preset name must be 1..64 characters without commas, got {_short.repr(rest)}")
        return (items[0], name)
    return (items[0], min(600.0, max(0.0, rest)))


def _declared() -> list[ParamSpec]:
    return [
        ParamSpec("interval", "f", "time between two published pieces; a shorter interval reschedules the next "
                  "piece at once", 0.5, 3600.0, 30.0, unit="s",
                  label="seconds"),
        ParamSpec("seed", "i", "latent origin; same seed + checkpoints + parameters ⇒ same media",
                  0, SEED_MAX, 0, label="integer"),
        ParamSpec("drift", "f", "speed of the latent random walk (0 = a frozen point)", 0.0, 1.0, 0.1),
        ParamSpec("synaesthesia", "f", "how far each piece's picture is pulled toward the point its own sound "
                  "names (0 = the image walk alone, 1 = the sound's point)", 0.0, 1.0, 0.0),
        ParamSpec("keyframes", "i", "how many skies each piece's sound moves its picture through while "
                  "synaesthesia is above 0, published as one strip with their times (0 = none)", 0, 12, 6,
                  label="count"),
        ParamSpec("volume_ceiling", "f", "peak ceiling of every sound, local and published", -60.0, 0.0, -6.0,
                  unit="dBFS", label="dBFS"),
        ParamSpec("playback", "i", "local speakers on/off, at once (off closes the device; on opens it again); "
                  "reads 0 under --no-playback", 0, 1, 1, manifest=False,
                  label="0/1"),
        ParamSpec("next", "", "publish a new piece now", access=WRITE, persist=False, manifest=False),
        ParamSpec("preset_store", "i", "keep where both walks are (their map places and directions) and the bends "
                  "in slot i", 0, PRESET_SLOTS - 1, 0, access=WRITE, persist=False, manifest=False,
                  address=PREFIX + "preset/store", clip="none", check=_slot),
        ParamSpec("preset_recall", "if", "glide both walks' places, directions and bends to slot i over glide_s "
                  "seconds (default 0: at once)", (0, 0.0), (PRESET_SLOTS - 1, 600.0), (0, 0.0), access=WRITE,
                  persist=False, manifest=False, optional=1, address=PREFIX + "preset/recall", clip="none",
                  check=_slot),
        ParamSpec("preset_delete", "i", "empty slot i", 0, PRESET_SLOTS - 1, 0, access=WRITE, persist=False,
                  manifest=False, address=PREFIX + "preset/delete", clip="none", check=_slot),
        ParamSpec("preset_name", "is", "name slot i (a stored one)", (0, ""), (PRESET_SLOTS - 1, ""), (0, ""),
                  access=WRITE, persist=False, manifest=False, address=PREFIX + "preset/name", clip="none",
                  check=_slot),
        ParamSpec("last_seq", "i", "the newest published piece (0: none yet)", 0, SEED_MAX, 0, access=READ,
                  persist=False, manifest=False),
        ParamSpec("next_at", "d", "when the next piece is due (Unix time, seconds; 0: not scheduled)",
                  0.0, 4e9, 0.0, unit="s", access=READ, persist=False, manifest=False),
        ParamSpec("presets", "s", "the stored presets: `slot name` for each, comma-separated (empty: none)",
                  default="", access=READ, persist=False, manifest=False),
        ParamSpec("speakers", "s", "the speakers: open (playing or ready), starting, restarting, none (no "
                  "device), lost (device gone), off (playback 0), disabled (--no-playback)", default="starting",
                  choices=("open", "starting", "restarting", "none", "lost", "off", "disabled"),
                  access=READ, persist=False, manifest=False),
    ]


PARAMS = Registry(_declared())


def rewrite_block(path: Path, name: str, table: str) -> bool:
    """Rewrite what stands between README's `<!-- NAME:begin -->` and `<!-- NAME:end -->`; True if it changed."""
    text = path.read_text()
    new = re.sub(rf"(<!-- {name}:begin[^\n]*-->\n).*?(<!-- {name}:end -->)",
                 lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
    if new != text:
        path.write_text(new)
    return new != text


def update_readme(path: Path) -> bool:
    """The README's address table (`<!-- params:begin -->` ... `<!-- params:end -->`); True if it changed."""
    return rewrite_block(path, "params", PARAMS.markdown())


if __name__ == "__main__":  # python -m ciel_node.params [--readme README.md]: the address table
    if sys.argv[1:2] == ["--readme"]:
        print("updated" if update_readme(Path(sys.argv[2])) else "up to date", sys.argv[2])
    else:
        print(PARAMS.markdown(), end="")
