"""Latent walks: seeded, bounded (stationary N(home, I)), frozen at drift 0, around a home that moves."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ciel_node.generate import walk
from ciel_node.generate.walk import WalkState, WalkStore


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


# --- the home: the point drift reverts to ---------------------------------------------------------------
def _old_ou_step(z: np.ndarray, rate: float, dt: float, rng: np.random.Generator, n: int = 1) -> np.ndarray:
    """ou_step as it was before the walks had a home (the reference for byte-identical media)."""
    a = math.exp(-rate * dt)
    s = math.sqrt(max(0.0, 1.0 - a * a))
    noise = rng.standard_normal((n, z.shape[-1]))
    out, x = np.empty((n, z.shape[-1])), z
    for i in range(n):
        x = a * x + s * noise[i]
        out[i] = x
    return out


def test_the_default_home_walks_bit_for_bit_as_before() -> None:
    z0 = walk.origin(5, 16, 1)
    old = _old_ou_step(z0, 0.7, 0.25, walk.piece_rng(5, 3, 1), n=200)
    zeros = np.zeros(16)
    for home in (None, zeros):
        assert np.array_equal(walk.ou_step(z0, 0.7, 0.25, walk.piece_rng(5, 3, 1), n=200, home=home), old)
    state = WalkState.origin(5, 16, 4)
    assert state.audio_home == (0.0,) * 16 and state.home("audio") is None  # the prior's mean
    live, reference = walk.LiveWalk(z0, 62.5, home=state.home("audio")), walk.LiveWalk(z0, 62.5)
    assert np.array_equal(live.frames(300, 0.8, walk.piece_rng(1, 1, 1)),
                          reference.frames(300, 0.8, walk.piece_rng(1, 1, 1)))


def test_after_moving_the_home_drift_wanders_around_the_new_home() -> None:
    state = WalkState.origin(9, 8, 16)
    new = state.with_home(audio=[3.0] * 8, image=[-2.0] * 16)
    assert new.audio_z == state.audio_z and new.step == state.step  # the walk is where it was; only its home moved
    # The image walk, a step per piece.
    z, image_path = np.asarray(new.image_z), []
    for step in range(1, 400):
        z = walk.image_step(z, 1.0, walk.piece_rng(9, step, walk.IMAGE_STREAM), home=new.home("image"))
        image_path.append(z)
    tail = np.asarray(image_path)[50:]
    assert abs(tail.mean() + 2.0) < 0.2 and 0.7 < tail.var() < 1.3  # around -2, with the prior's spread
    # The sound walk of a piece, and the live sound's frame by frame.
    trajectory = walk.audio_trajectory(np.asarray(new.audio_z), 1.0, 60.0, 62.5, walk.piece_rng(9, 0, 1),
                                       home=new.home("audio"))
    live = walk.LiveWalk(np.asarray(new.audio_z), 62.5)
    live.frames(10, 1.0, walk.piece_rng(9, 0, 1))
    live.move_home(new.home("audio"))
    frames = live.frames(3750, 1.0, walk.piece_rng(9, 0, 1))
    for path in (trajectory, frames):
        tail = path[len(path) // 10 :]
        assert abs(tail.mean() - 3.0) < 0.4, tail.mean()
        assert np.linalg.norm(tail.mean(axis=0) - 3.0) < 0.3 * np.linalg.norm(tail.mean(axis=0))
    # Drift 0 still freezes the point, wherever the home is.
    assert np.array_equal(walk.image_step(z, 0.0, walk.piece_rng(9, 1, 2), home=new.home("image")), z)


def test_a_home_is_checked_and_an_old_walk_file_has_the_prior_mean(tmp_path: Path) -> None:
    state = WalkState.origin(1, 8, 16)
    for audio, image, says in (([1.0] * 7, None, "audio home has 7 numbers"), (None, [math.nan] * 16, "image home"),
                               ([11.0] * 8, None, "within ±10"), ("abc", None, "audio home")):
        with pytest.raises(ValueError, match=says):
            state.with_home(audio, image)
    old = {k: v for k, v in state.as_dict().items() if not k.endswith("_home")}  # walk.json before the homes
    assert WalkState.from_dict(old) == state
    moved = state.with_home(image=[0.5] * 16)
    assert WalkState.from_dict(moved.as_dict()) == moved


def test_the_walk_store_keeps_the_homes_a_piece_carried_it_to_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "walk.json"
    store = WalkStore(path, 4, 8, 16)
    heard: list[WalkState] = []
    store.subscribe(heard.append)
    before = store.state
    rendered = before.carried(np.full(8, 1.5), None)  # a piece rendered with the sound's home moved
    assert rendered.audio_z == tuple(np.asarray(before.audio_z) + 1.5) and rendered.image_z == before.image_z
    store.advance(replace(rendered, step=1), seq=1)
    assert heard[-1].audio_home == (1.5,) * 8 and store.state.step == 1
    again = WalkStore(path, 4, 8, 16)
    assert again.state == store.state
    reseeded = WalkStore(path, 5, 8, 16).state  # another seed: its origin, taken from the same home
    assert reseeded == again.state.reseeded(5) and reseeded.audio_home == (1.5,) * 8
    assert np.allclose(reseeded.audio_z, np.asarray(WalkState.origin(5, 8, 16).audio_z) + 1.5)
    assert WalkStore(path, 4, 9, 16).state == WalkState.origin(4, 9, 16)  # another model: afresh
    path.write_text(json.dumps({k: v for k, v in again.state.as_dict().items() if not k.endswith("_home")}))
    assert WalkStore(path, 4, 8, 16).state == replace(again.state, audio_home=(0.0,) * 8)  # an old walk.json


def test_carrying_the_walk_moves_it_with_its_home_and_back_exactly() -> None:
    """A performer's move is followed at once, at drift 0 too; back home gives the same point; the offset from the
    home is kept, so drift > 0 wanders on around the new home."""
    state = WalkState.origin(3, 8, 16)
    there = state.carried(np.full(8, 2.0), np.linspace(-1, 1, 16))
    assert np.allclose(np.asarray(there.audio_z) - 2.0, state.audio_z)
    assert np.allclose(np.asarray(there.image_z) - np.linspace(-1, 1, 16), state.image_z)
    assert there.carried(np.full(8, 2.0), np.linspace(-1, 1, 16)) == there  # the same homes: the same state
    back = there.carried(None, None)
    assert np.allclose(back.audio_z, state.audio_z, atol=1e-12) and back.home("audio") is None
    live = walk.LiveWalk(np.asarray(state.audio_z), 62.5)
    live.frames(5, 0.0, walk.piece_rng(3, 0, 1))
    z = live.z.copy()
    shift = live.carry(np.full(8, -1.0))
    assert np.array_equal(shift, np.full(8, -1.0)) and np.allclose(live.z, z - 1.0)
    assert np.allclose(live.frames(20, 0.0, walk.piece_rng(3, 0, 1))[-1], z - 1.0)  # drift 0: stays, moved
