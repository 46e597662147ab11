"""Latent walks: seeded, bounded (stationary N(0, I)), frozen at drift 0."""

from __future__ import annotations

import numpy as np

from ciel_node.generate import walk


def test_origin_depends_on_seed_only() -> None:
    assert np.array_equal(walk.origin(7, 16, 1), walk.origin(7, 16, 1))
    assert not np.array_equal(walk.origin(7, 16, 1), walk.origin(8, 16, 1))
    assert not np.array_equal(walk.origin(7, 16, 1), walk.origin(7, 16, 2))


def test_drift_zero_freezes_the_point() -> None:
    z0 = walk.origin(1, 8, 1)
    traj = walk.audio_trajectory(z0, 0.0, 3.0, 62.5, walk.piece_rng(1, 0, 1))
    assert np.allclose(traj, z0[None, :])
    assert np.allclose(walk.image_step(z0, 0.0, walk.piece_rng(1, 1, 2)), z0)


def test_walk_stays_where_the_prior_has_mass() -> None:
    # Start far out: the OU walk is pulled back and settles at unit variance, never blows up.
    z = np.full(64, 8.0)
    path = walk.ou_step(z, 1.0, 0.5, np.random.default_rng(0), n=4000)
    tail = path[2000:]
    assert abs(tail.mean()) < 0.1
    assert 0.85 < tail.var() < 1.15
    assert np.abs(path).max() < 12.0


def test_more_drift_moves_faster() -> None:
    z0 = walk.origin(3, 16, 1)
    slow = walk.audio_trajectory(z0, 0.01, 4.0, 62.5, walk.piece_rng(3, 0, 1))
    fast = walk.audio_trajectory(z0, 1.0, 4.0, 62.5, walk.piece_rng(3, 0, 1))
    assert np.linalg.norm(fast[-1] - z0) > 2 * np.linalg.norm(slow[-1] - z0)
    # Smooth inside the sound: no jumps between consecutive frames.
    assert np.abs(np.diff(fast, axis=0)).max() < 0.5
    assert fast.shape == (250, 16)
