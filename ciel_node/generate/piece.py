"""One piece = one step of both latent walks, rendered: image, sky, WAV and MP3 under the ceiling."""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile as sf

from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, db_to_gain
from ciel_node.generate.image import ImageRenderer
from ciel_node.state import SEED_MAX, Controls

AUDIO_STREAM, IMAGE_STREAM = 1, 2
STEP_MAX = 2**53  # a step per piece: more than any installation will ever make, and exact in JSON
# The walks are Ornstein-Uhlenbeck around N(0, I): a coordinate beyond this never comes from a walk.
LATENT_MAX = 100.0


@dataclass(frozen=True)
class WalkState:
    """Where both walks are: a pure value, persisted after each published piece."""

    seed: int
    step: int
    audio_z: tuple[float, ...]
    image_z: tuple[float, ...]

    @classmethod
    def origin(cls, seed: int, audio_dim: int, image_dim: int) -> WalkState:
        return cls(
            seed, 0,
            tuple(walk.origin(seed, audio_dim, AUDIO_STREAM)), tuple(walk.origin(seed, image_dim, IMAGE_STREAM)),
        )

    def as_dict(self) -> dict[str, object]:
        return {"seed": self.seed, "step": self.step, "audio_z": list(self.audio_z), "image_z": list(self.image_z)}

    @classmethod
    def from_dict(cls, raw: Any) -> WalkState:
        """A saved walk (walk.json), checked by type and range; ValueError says what is wrong.

        A NaN here would give grey pictures and silence forever, and say nothing.
        """
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
        return state

    def check(self) -> None:
        """Raise ValueError unless every coordinate is a finite number a walk can reach."""
        for name, z in (("audio_z", self.audio_z), ("image_z", self.image_z)):
            if not all(math.isfinite(x) and abs(x) <= LATENT_MAX for x in z):
                raise ValueError(f"{name} must hold finite numbers within ±{LATENT_MAX:g}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _latent(value: Any, name: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{name} must be a list of numbers")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise ValueError(f"{name} must hold numbers only")
    try:
        return tuple(float(x) for x in value)
    except OverflowError:  # an integer with hundreds of digits
        raise ValueError(f"{name} must hold finite numbers within ±{LATENT_MAX:g}") from None


@dataclass(frozen=True)
class RenderedPiece:
    controls: Controls
    step: int
    image_png: bytes
    sky_png: bytes
    wav: bytes
    mp3: bytes
    duration_s: float
    render_s: float
    samples: np.ndarray = field(repr=False)


class Composer:
    """Turns (walk state, controls) into a piece and the next walk state; no I/O, no clock."""

    def __init__(self, audio: AudioRenderer, image: ImageRenderer, max_sound_s: float = 120.0) -> None:
        self.audio, self.image = audio, image
        self.max_sound_s = max_sound_s

    def start(self, seed: int) -> WalkState:
        return WalkState.origin(seed, self.audio.latent, self.image.latent)

    def compose(self, state: WalkState, controls: Controls) -> tuple[RenderedPiece, WalkState]:
        """A piece rendered ahead, whole: its own sound (faded at both ends) and the next image."""
        t0 = time.perf_counter()
        if state.seed != controls.seed:  # a new seed is a new origin: same seed, same pieces
            state = self.start(controls.seed)
        rng = walk.piece_rng(state.seed, state.step, AUDIO_STREAM)
        seconds = min(controls.interval, self.max_sound_s)
        trajectory = walk.audio_trajectory(
            np.asarray(state.audio_z), controls.drift, seconds, self.audio.frame_rate, rng
        )
        # Exactly `seconds` of sound, so pieces played back to back leave no gap and do not overlap.
        length = int(round(seconds * self.audio.sample_rate))
        samples = self.audio.render(trajectory, controls.volume_ceiling, rng, length)
        return self._finish(state, controls, samples, tuple(trajectory[-1]), state.step + 1, t0)

    def assemble(
        self, state: WalkState, controls: Controls, samples: np.ndarray, audio: tuple[int, np.ndarray]
    ) -> tuple[RenderedPiece, WalkState]:
        """A piece around sound that already played (cut from the live sound): the next image, the files."""
        t0 = time.perf_counter()
        seed, audio_z = audio
        if state.seed != seed:
            state = self.start(seed)
        return self._finish(state, controls, samples, tuple(np.asarray(audio_z, dtype=np.float64)), state.step + 1, t0)

    def _finish(
        self, state: WalkState, controls: Controls, samples: np.ndarray, audio_z: tuple[float, ...], step: int,
        t0: float,
    ) -> tuple[RenderedPiece, WalkState]:
        image_z = np.asarray(state.image_z)
        if state.step > 0:
            image_z = walk.image_step(image_z, controls.drift, walk.piece_rng(state.seed, state.step, IMAGE_STREAM))
        image_png, sky_png = self.image.render(image_z)
        sr = self.audio.sample_rate
        piece = RenderedPiece(
            controls=controls, step=state.step, image_png=image_png, sky_png=sky_png,
            wav=encode_wav(samples, sr), mp3=encode_mp3(samples, sr, controls.volume_ceiling),
            duration_s=len(samples) / sr, render_s=time.perf_counter() - t0, samples=samples,
        )
        return piece, WalkState(state.seed, step, audio_z, tuple(image_z))


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    # Truncate toward zero so quantisation never lifts a sample past the ceiling.
    pcm = np.trunc(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def encode_mp3(samples: np.ndarray, sample_rate: int, ceiling_db: float, tries: int = 4) -> bytes:
    """MP3 for the web, re-encoded quieter while its decoded peak overshoots the ceiling (codecs ring)."""
    ceiling = db_to_gain(ceiling_db)
    x = samples.astype(np.float32)
    data = b""
    for _ in range(tries):
        buf = io.BytesIO()
        sf.write(buf, x, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
        data = buf.getvalue()
        buf.seek(0)
        decoded, _ = sf.read(buf, dtype="float32")
        peak = float(np.max(np.abs(decoded))) if len(decoded) else 0.0
        if peak <= ceiling:
            return data
        x = x * np.float32(ceiling / peak * 0.97)
    return data
