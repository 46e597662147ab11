"""Latent random walks: Ornstein-Uhlenbeck, so the walk stays where the N(0, I) prior has mass."""

from __future__ import annotations

import math

import numpy as np

# Decorrelation rates at drift = 1. Sound walks in seconds (inside a sound); images walk per piece.
AUDIO_RATE_PER_S = 2.0
IMAGE_RATE_PER_PIECE = 3.0


def piece_rng(seed: int, step: int, stream: int) -> np.random.Generator:
    """Independent, reproducible noise for (seed, piece step, stream): no hidden global RNG state."""
    return np.random.default_rng([seed, step, stream])


def origin(seed: int, dim: int, stream: int) -> np.ndarray:
    """The walk's starting point, fixed by the seed alone."""
    return np.random.default_rng([seed, 0xC1E1, stream]).standard_normal(dim).astype(np.float64)


def ou_step(z: np.ndarray, rate: float, dt: float, rng: np.random.Generator, n: int = 1) -> np.ndarray:
    """Exact OU discretisation for n steps of dt; returns (n, D) positions after z.

    With x' = a x + sqrt(1 - a^2) e the stationary law N(0, I) is preserved exactly for any rate,
    and rate = 0 freezes the point.
    """
    a = math.exp(-rate * dt)
    s = math.sqrt(max(0.0, 1.0 - a * a))
    noise = rng.standard_normal((n, z.shape[-1]))
    out = np.empty((n, z.shape[-1]))
    x = z
    for i in range(n):
        x = a * x + s * noise[i]
        out[i] = x
    return out


def audio_trajectory(
    z0: np.ndarray, drift: float, seconds: float, frame_rate: float, rng: np.random.Generator, knot_s: float = 0.25
) -> np.ndarray:
    """A smooth path through the sound latent: OU knots every knot_s, linear between them.

    Returns (T, D) with T = ceil(seconds * frame_rate), enough frames to cover `seconds`; row 0
    continues from z0 (the previous sound's last point) so consecutive sounds join in latent space too.
    """
    frames = max(1, int(math.ceil(seconds * frame_rate - 1e-9)))
    knots_n = max(1, int(math.ceil(seconds / knot_s)))
    knots = np.vstack([z0[None, :], ou_step(z0, AUDIO_RATE_PER_S * drift, knot_s, rng, knots_n)])
    t = np.arange(1, frames + 1) / frame_rate / knot_s  # position in knot units
    idx = np.minimum(t.astype(np.int64), knots_n - 1)
    frac = (t - idx)[:, None]
    return (1.0 - frac) * knots[idx] + frac * knots[idx + 1]


def image_step(z: np.ndarray, drift: float, rng: np.random.Generator) -> np.ndarray:
    return ou_step(z, IMAGE_RATE_PER_PIECE * drift, 1.0, rng)[0]
