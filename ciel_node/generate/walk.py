"""The latent walks, in one place: where both walks are, how they move, the live sound's walk, walk.json.

Each net's walk is a seeded Ornstein-Uhlenbeck process around its *home*: the point drift pulls it back
to. The home starts at the prior's mean (zero), where N(0, I) has its mass, so a walk left alone stays
where the net was trained; a performer (a preset, a map, a direction) moves the home, and drift wanders
around wherever it is put. Everything here is a pure function of (seed, step, stream) and the home:
same checkpoints + seed + controls + home ⇒ the same walk, in every process.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ciel_node.atomic import read_json, write_atomic
from ciel_node.state import SEED_MAX

log = logging.getLogger("ciel_node")

# Decorrelation rates at drift = 1. Sound walks in seconds (inside a sound); images walk per piece.
AUDIO_RATE_PER_S = 2.0
IMAGE_RATE_PER_PIECE = 3.0
AUDIO_STREAM, IMAGE_STREAM = 1, 2  # the noise streams of the two nets
STEP_MAX = 2**53  # a step per piece: more than any installation will ever make, and exact in JSON
# The walks are Ornstein-Uhlenbeck with unit variance around their home: a coordinate beyond this never comes
# from a walk. A home is at most HOME_MAX out (ten standard deviations: far past anywhere the prior has mass),
# so a walk around it stays inside LATENT_MAX.
LATENT_MAX = 100.0
HOME_MAX = 10.0


# --- how a walk moves ---------------------------------------------------------------------------------
def piece_rng(seed: int, step: int, stream: int) -> np.random.Generator:
    """Independent, reproducible noise for (seed, piece step, stream): no hidden global RNG state."""
    return np.random.default_rng([seed, step, stream])


def origin(seed: int, dim: int, stream: int) -> np.ndarray:
    """The walk's starting point, fixed by the seed alone."""
    return np.random.default_rng([seed, 0xC1E1, stream]).standard_normal(dim).astype(np.float64)


def ou_step(
    z: np.ndarray, rate: float, dt: float, rng: np.random.Generator, n: int = 1, home: np.ndarray | None = None
) -> np.ndarray:
    """Exact OU discretisation for n steps of dt around `home` (None: zero); returns (n, D) positions after z.

    With x' = h + a (x - h) + sqrt(1 - a^2) e the stationary law N(h, I) is preserved exactly for any rate,
    and rate = 0 freezes the point. The same noise is drawn whatever the home.
    """
    a = math.exp(-rate * dt)
    s = math.sqrt(max(0.0, 1.0 - a * a))
    noise = rng.standard_normal((n, z.shape[-1]))
    # The home at zero takes the arithmetic it always took: a walk around the prior's mean is bit for bit
    # the walk of every earlier version (same seed, same media).
    pull = None if home is None or not np.any(home) else (1.0 - a) * np.asarray(home, dtype=np.float64)
    out = np.empty((n, z.shape[-1]))
    x = z
    for i in range(n):
        x = a * x + s * noise[i] if pull is None else a * x + pull + s * noise[i]
        out[i] = x
    return out


def audio_trajectory(
    z0: np.ndarray, drift: float, seconds: float, frame_rate: float, rng: np.random.Generator, knot_s: float = 0.25,
    home: np.ndarray | None = None,
) -> np.ndarray:
    """A smooth path through the sound latent: OU knots every knot_s, linear between them.

    Returns (T, D) with T = ceil(seconds * frame_rate), enough frames to cover `seconds`; row 0
    continues from z0 (the previous sound's last point) so consecutive sounds join in latent space too.
    """
    frames = max(1, int(math.ceil(seconds * frame_rate - 1e-9)))
    knots_n = max(1, int(math.ceil(seconds / knot_s)))
    knots = np.vstack([z0[None, :], ou_step(z0, AUDIO_RATE_PER_S * drift, knot_s, rng, knots_n, home)])
    t = np.arange(1, frames + 1) / frame_rate / knot_s  # position in knot units
    idx = np.minimum(t.astype(np.int64), knots_n - 1)
    frac = (t - idx)[:, None]
    return (1.0 - frac) * knots[idx] + frac * knots[idx + 1]


def image_step(z: np.ndarray, drift: float, rng: np.random.Generator, home: np.ndarray | None = None) -> np.ndarray:
    """The image walk's move from one piece to the next."""
    return ou_step(z, IMAGE_RATE_PER_PIECE * drift, 1.0, rng, home=home)[0]


# --- where both walks are -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WalkState:
    """Where both walks are and what they revert to: a pure value, given to every renderer, saved after each piece.

    A home left out is the prior's mean (zeros of the walk's size).
    """

    seed: int
    step: int
    audio_z: tuple[float, ...]
    image_z: tuple[float, ...]
    audio_home: tuple[float, ...] = ()
    image_home: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.audio_home:
            object.__setattr__(self, "audio_home", (0.0,) * len(self.audio_z))
        if not self.image_home:
            object.__setattr__(self, "image_home", (0.0,) * len(self.image_z))

    @classmethod
    def origin(cls, seed: int, audio_dim: int, image_dim: int) -> WalkState:
        """Step 0 of `seed`: both walks at that seed's origin, homes at the prior's mean."""
        return cls(
            seed, 0,
            tuple(origin(seed, audio_dim, AUDIO_STREAM)), tuple(origin(seed, image_dim, IMAGE_STREAM)),
        )

    def reseeded(self, seed: int) -> WalkState:
        """Step 0 of another seed (a new seed is a new origin: same seed, same pieces); the homes stay put, and the
        origin is taken from them as from the prior's mean (carried: see carried())."""
        fresh = WalkState.origin(seed, len(self.audio_z), len(self.image_z))
        return fresh.carried(self.home("audio"), self.home("image"))

    def with_home(self, audio: Sequence[float] | None = None, image: Sequence[float] | None = None) -> WalkState:
        """The same walk with a new home for either net (None: that net's stays); ValueError names what is wrong."""
        return replace(
            self,
            audio_home=self.audio_home if audio is None else _home(audio, len(self.audio_z), "audio home"),
            image_home=self.image_home if image is None else _home(image, len(self.image_z), "image home"),
        )

    def carried(self, audio: np.ndarray | None, image: np.ndarray | None) -> WalkState:
        """The walk carried to new homes (None: the prior's mean): each position keeps its offset from its home, so a
        performer's move is followed at once, even at drift 0 (a frozen point moves with its home), and drift > 0
        wanders on around the new home. The same homes give back the same state."""
        changes: dict[str, tuple[float, ...]] = {}
        for net, new, dim in (("audio", audio, len(self.audio_z)), ("image", image, len(self.image_z))):
            old = np.asarray(getattr(self, f"{net}_home"), dtype=np.float64)
            target = np.zeros(dim) if new is None else np.asarray(new, dtype=np.float64)
            if not np.array_equal(old, target):
                z = np.asarray(getattr(self, f"{net}_z"), dtype=np.float64)
                changes[f"{net}_z"] = tuple(np.clip(z - old + target, -LATENT_MAX, LATENT_MAX))
                changes[f"{net}_home"] = _home(target, dim, f"{net} home")
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]

    def home(self, net: str) -> np.ndarray | None:
        """`net`'s home as an array for ou_step ("audio" or "image"), or None at the prior's mean."""
        h = self.audio_home if net == "audio" else self.image_home
        return np.asarray(h, dtype=np.float64) if any(h) else None

    def as_dict(self) -> dict[str, object]:
        return {"seed": self.seed, "step": self.step, "audio_z": list(self.audio_z), "image_z": list(self.image_z),
                "audio_home": list(self.audio_home), "image_home": list(self.image_home)}

    @classmethod
    def from_dict(cls, raw: Any) -> WalkState:
        """A saved walk (walk.json, or one sent to the sound engine), checked by type and range; ValueError says
        what is wrong. A NaN here would give grey pictures and silence forever, and say nothing. Files from before
        the homes have none: the prior's mean, as then."""
        if not isinstance(raw, dict):
            raise ValueError("not an object with seed, step, audio_z and image_z")
        seed: Any = raw.get("seed")
        step: Any = raw.get("step")
        if not _whole(seed) or not 0 <= seed <= SEED_MAX:
            raise ValueError(f"seed must be a whole number in 0..{SEED_MAX}")
        if not _whole(step) or not 0 <= step <= STEP_MAX:
            raise ValueError(f"step must be a whole number in 0..{STEP_MAX}")
        state = cls(seed, step, _latent(raw.get("audio_z"), "audio_z"), _latent(raw.get("image_z"), "image_z"))
        state.check()
        return state.with_home(raw.get("audio_home"), raw.get("image_home"))

    def check(self) -> None:
        """Raise ValueError unless every coordinate is a finite number a walk can reach."""
        for name, z in (("audio_z", self.audio_z), ("image_z", self.image_z)):
            if not all(math.isfinite(x) and abs(x) <= LATENT_MAX for x in z):
                raise ValueError(f"{name} must hold finite numbers within ±{LATENT_MAX:g}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _latent(value: Any, name: str, bound: float = LATENT_MAX) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple, np.ndarray)) or not len(value):
        raise ValueError(f"{name} must be a list of numbers")
    if not all(isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool) for x in value):
        raise ValueError(f"{name} must hold numbers only")
    try:
        z = tuple(float(x) for x in value)
    except OverflowError:  # an integer with hundreds of digits
        z = (math.inf,)
    if not all(math.isfinite(x) and abs(x) <= bound for x in z):
        raise ValueError(f"{name} must hold finite numbers within ±{bound:g}")
    return z


def _home(value: Any, dim: int, name: str) -> tuple[float, ...]:
    home = _latent(value, name, HOME_MAX)
    if len(home) != dim:
        raise ValueError(f"{name} has {len(home)} numbers; this net's latent has {dim}")
    return home


# --- the live sound's walk ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LivePoint:
    """Where the live sound's walk is at a cut: its seed and its sound point (the image walk is the node's)."""

    seed: int
    audio_z: tuple[float, ...]


class LiveWalk:
    """The sound latent, frame by frame: OU knots every `knot_s`, straight lines between them.

    A re-aimed walk (a drift change, a moved home) reaches its first knot after only `onset_s`: that knot is an
    exact OU step for the shorter time, so the walk's law is unchanged, but the sound starts moving at once
    instead of creeping along the first third of a 0.1 s segment while a performer listens for the knob.
    """

    # Knots closer than a piece's (0.25 s): the walk turns, and starts moving, soon after a knot moves.
    def __init__(self, z: np.ndarray, frame_rate: float, knot_s: float = 0.1, onset_s: float = 0.032,
                 home: np.ndarray | None = None) -> None:
        self.frame_rate, self.knot_s, self.onset_s = frame_rate, knot_s, onset_s
        self.z = np.asarray(z, dtype=np.float64)
        self.home = home
        self.prev = self.next = self.z
        self.segment_s = knot_s  # the length of the segment from prev to next
        self.u = 1.0  # position between prev and next, as a fraction of the segment; 1 = draw a new knot first
        self.drift = math.nan

    def aim(self, z: np.ndarray, drift: float, rng: np.random.Generator) -> None:
        """Start a new, short segment at z toward a knot drawn with this drift: a change is heard at once."""
        self.z = self.prev = np.asarray(z, dtype=np.float64)
        self.drift = drift
        self.segment_s = self.onset_s
        self.next = ou_step(self.prev, AUDIO_RATE_PER_S * drift, self.segment_s, rng, home=self.home)[0]
        self.u = 0.0

    def carry(self, home: np.ndarray | None) -> np.ndarray:
        """Move with the home to `home` (None: the prior's mean): the walk keeps its offset from its home and carries
        on along the same segment, shifted. Returns the shift (what the caller's buffered frames move by too)."""
        old = np.zeros_like(self.z) if self.home is None else self.home
        new = np.zeros_like(self.z) if home is None or not np.any(home) else np.asarray(home, dtype=np.float64)
        shift = new - old
        self.z, self.prev, self.next = self.z + shift, self.prev + shift, self.next + shift
        self.home = None if not np.any(new) else new
        return shift

    def move_home(self, home: np.ndarray | None) -> None:
        """Revert to `home` from now on (None: the prior's mean); the next frames re-aim toward it."""
        self.home = None if home is None or not np.any(home) else np.asarray(home, dtype=np.float64)
        self.drift = math.nan  # re-aim at the next frames, as a drift change does

    def frames(self, n: int, drift: float, rng: np.random.Generator) -> np.ndarray:
        if drift != self.drift:
            self.aim(self.z, drift, rng)
        out = np.empty((n, self.z.shape[0]))
        for i in range(n):
            self.u += 1.0 / (self.frame_rate * self.segment_s)
            if self.u >= 1.0:
                past_s = (self.u - 1.0) * self.segment_s  # how far into the next segment this frame is
                self.segment_s = self.knot_s
                self.u = past_s / self.segment_s
                self.prev = self.next
                self.next = ou_step(self.prev, AUDIO_RATE_PER_S * drift, self.segment_s, rng, home=self.home)[0]
            self.z = (1.0 - self.u) * self.prev + self.u * self.next
            out[i] = self.z
        return out


# --- the node's walk, kept across restarts ------------------------------------------------------------
class WalkStore:
    """The node's walk after the last published piece: restored from walk.json at start, saved after each piece.

    It moves only with a published piece (`advance`): the renderer carried the walk to the homes the controls
    put it at (xy, directions: generate/place.py), so the walk after a piece holds those homes. Listeners (the
    sound engine) hear of it.
    """

    def __init__(self, path: Path, seed: int, audio_dim: int, image_dim: int) -> None:
        self.path, self.audio_dim, self.image_dim = path, audio_dim, image_dim
        self._lock = threading.Lock()
        self._listeners: list[Callable[[WalkState], None]] = []
        self._state = self._restore(seed)

    @property
    def state(self) -> WalkState:
        return self._state

    def origin(self, seed: int) -> WalkState:
        return WalkState.origin(seed, self.audio_dim, self.image_dim)

    def subscribe(self, listener: Callable[[WalkState], None]) -> None:
        """Call `listener(state)` after every change (in the changer's thread; it must not block)."""
        self._listeners.append(listener)

    def advance(self, after: WalkState, seq: int) -> WalkState:
        """The walk once piece `seq` is out: `after`, where its render left the walk and its homes."""
        try:
            after.check()
        except ValueError as e:  # never carry a NaN into every piece after this one
            log.error("the walk after piece %d is unusable (%s); it starts again from seed %d's origin",
                      seq, e, after.seed)
            after = self.origin(after.seed)
        with self._lock:
            self._state = after
        self._save()
        self._tell()
        return self._state

    def _tell(self) -> None:
        for listener in self._listeners:
            listener(self._state)

    def _restore(self, seed: int) -> WalkState:
        """The walk saved after the last piece, if it is usable and for these models (and this seed: another seed
        starts at its origin, around the same homes)."""
        try:
            state = WalkState.from_dict(read_json(self.path))
        except FileNotFoundError:
            return self.origin(seed)
        except ValueError as e:
            log.warning("ignoring saved walk in %s (%s); starting from seed %d's origin", self.path, e, seed)
            return self.origin(seed)
        if (len(state.audio_z), len(state.image_z)) != (self.audio_dim, self.image_dim):
            return self.origin(seed)  # a swapped model starts afresh
        return state if state.seed == seed else state.reseeded(seed)

    def _save(self) -> None:
        try:
            write_atomic(self.path, json.dumps(self._state.as_dict()).encode())
        except OSError as e:
            log.error("could not save the latent walk to %s (%s); it continues in memory", self.path, e)
