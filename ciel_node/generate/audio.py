"""The sound renderer: latent trajectory -> decoded frames -> phase -> levelled blocks under the ceiling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ciel_node.bends import Bends
from ciel_node.generate.instrument import SoundInstrument
from ciel_node.generate.phase import Framing, StreamingGriffinLim
from ciel_node.models.audio_vae import LOG_FLOOR, SpectralVAE

LOG_CEIL = 8.0  # log-magnitude above this is decoder blow-up, not sound
FADE_S = 0.02


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class Leveller:
    """Peak limiter that never lets a sample past the ceiling, and short fades at the sound's edges.

    Gain follows a peak detector with instant attack (computed on the whole block before it is
    emitted) and a one-second release, ramped over the first milliseconds of a block so gain
    changes do not click; a soft knee from 90 % of the ceiling bounds whatever the ramp lets through.
    The ceiling can change between blocks (a performer's knob acts at the next block).
    """

    def __init__(
        self, sample_rate: int, total: int | None, max_boost_db: float = 24.0, release_s: float = 1.0
    ) -> None:
        self.sr, self.total = sample_rate, total  # total None: an endless sound, faded in only
        self.max_gain = db_to_gain(max_boost_db)
        self.release_s = release_s
        self.gain: float | None = None
        self.ceiling: float | None = None
        self.pos = 0
        self.fade = max(1, int(FADE_S * sample_rate) if total is None else min(int(FADE_S * sample_rate), total // 2))
        self.ramp = max(1, int(0.004 * sample_rate))

    def snapshot(self) -> tuple[float | None, float | None, int]:
        """Its state between blocks, for restore()."""
        return self.gain, self.ceiling, self.pos

    def restore(self, snapshot: tuple[float | None, float | None, int]) -> None:
        self.gain, self.ceiling, self.pos = snapshot

    def process(self, block: np.ndarray, ceiling_db: float) -> np.ndarray:
        x = np.nan_to_num(block.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        ceiling = db_to_gain(min(0.0, ceiling_db))
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        wanted = min(self.max_gain, 0.95 / peak) if peak > 1e-9 else self.max_gain
        if self.gain is None or wanted <= self.gain:
            new = wanted
        else:
            new = self.gain + (wanted - self.gain) * (1.0 - math.exp(-len(x) / self.sr / self.release_s))
        old = new if self.gain is None else self.gain
        env = np.full(len(x), new)
        n = min(self.ramp, len(x))
        env[:n] = np.linspace(old, new, n, endpoint=False)
        self.gain = new
        # A ceiling raised between blocks ramps up, so the knob does not click; lowered, it acts at once.
        ceil_env = np.full(len(x), ceiling)
        if self.ceiling is not None and ceiling > self.ceiling:
            ceil_env[:n] = np.linspace(self.ceiling, ceiling, n, endpoint=False)
        self.ceiling = ceiling
        y = _soft_knee(x * env) * ceil_env
        # Fades by absolute position, so they land the same however the sound is cut into blocks.
        idx = np.arange(self.pos, self.pos + len(x))
        end = np.inf if self.total is None else (self.total - 1 - idx) / self.fade
        y *= np.clip(np.minimum(idx / self.fade, end), 0.0, 1.0)
        self.pos += len(x)
        return y.astype(np.float32)


def _soft_knee(x: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Identity below `knee`, then a tanh curve that approaches but never reaches 1."""
    a = np.abs(x)
    over = a > knee
    out = x.copy()
    out[over] = np.sign(x[over]) * (knee + (1.0 - knee) * np.tanh((a[over] - knee) / (1.0 - knee)))
    return out


class AudioRenderer:
    """Renders a latent trajectory into sound, block by block (each <= 0.5 s)."""

    def __init__(self, model: SpectralVAE, iterations: int = 16, momentum: float = 0.99,
                 clusters: tuple[tuple[int, ...], ...] | None = None) -> None:
        self.model = model
        self.instrument = SoundInstrument(model, clusters)
        cfg = model.config
        self.sample_rate, self.hop, self.latent = cfg.sample_rate, cfg.hop, cfg.latent
        self.frame_rate = cfg.sample_rate / cfg.hop
        self.framing = Framing(cfg.n_fft, cfg.hop)
        block = max(1, int(0.5 * self.frame_rate) - 1)  # frames, so a block is under 0.5 s
        self.phase = StreamingGriffinLim(self.framing, iterations, momentum, block=block)

    def magnitudes(self, trajectory: np.ndarray, bends: Bends | None = None) -> torch.Tensor:
        """(T, L) latents -> (T, F) linear magnitudes through the bends in force, with NaN/inf/blow-ups made
        harmless."""
        with torch.inference_mode():
            log_mag = self.instrument.decode(torch.from_numpy(trajectory.astype(np.float32)), bends)
        log_mag = torch.nan_to_num(log_mag, nan=LOG_FLOOR, posinf=LOG_CEIL, neginf=LOG_FLOOR)
        return torch.exp(log_mag.clamp(LOG_FLOOR, LOG_CEIL))

    def stream(
        self,
        trajectory: np.ndarray,
        ceiling_db: float | Callable[[], float],
        rng: np.random.Generator,
        length: int | None = None,
        bends: Bends | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield float32 blocks, `length` samples in all (default: every frame's hop).

        A callable ceiling is read per block, so a live knob acts at once. The fade-out lands on the
        last of the `length` samples, so a sound cut to an exact duration still ends without a click.
        """
        ceiling = ceiling_db if callable(ceiling_db) else (lambda: float(ceiling_db))  # type: ignore[arg-type]
        mags = self.magnitudes(trajectory, bends)
        total = mags.shape[0] * self.hop if length is None else min(length, mags.shape[0] * self.hop)
        leveller = Leveller(self.sample_rate, total)
        left = total
        for block in self.phase.stream(mags, rng):
            block = block[:left]
            if len(block):
                yield leveller.process(block, ceiling())
            left -= len(block)

    def render(
        self, trajectory: np.ndarray, ceiling_db: float, rng: np.random.Generator, length: int | None = None,
        bends: Bends | None = None,
    ) -> np.ndarray:
        return np.concatenate(list(self.stream(trajectory, ceiling_db, rng, length, bends)))
