"""The sound renderer: ceiling holds on any decoder output, blocks <= 0.5 s join without clicks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY_AUDIO

from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, Leveller, db_to_gain
from ciel_node.generate.phase import Framing, StreamingGriffinLim, spectral_convergence
from ciel_node.models.audio_vae import AudioVAEConfig, SpectralVAE

SR = 16000


def _renderer(config: AudioVAEConfig = TINY_AUDIO) -> AudioRenderer:
    torch.manual_seed(0)
    return AudioRenderer(SpectralVAE(config).eval())


def _trajectory(r: AudioRenderer, seconds: float, seed: int = 0) -> np.ndarray:
    return walk.audio_trajectory(walk.origin(seed, r.latent, 1), 0.5, seconds, r.frame_rate, walk.piece_rng(seed, 0, 1))


@pytest.mark.parametrize("kind", ["huge", "nan", "inf", "silence", "mixed"])
@pytest.mark.parametrize("ceiling", [0.0, -6.0, -60.0])
def test_ceiling_holds_on_adversarial_decoder_output(kind: str, ceiling: float, monkeypatch) -> None:
    r = _renderer()
    bins = TINY_AUDIO.bins

    def decode(z: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        if kind == "huge":
            return torch.full((n, bins), 1e6)
        if kind == "nan":
            return torch.full((n, bins), float("nan"))
        if kind == "inf":
            return torch.full((n, bins), float("inf"))
        if kind == "silence":
            return torch.full((n, bins), -1e9)
        out = torch.randn(n, bins) * 50  # wild, with NaN and inf sprinkled in
        out[::7, ::3] = float("nan")
        out[::11, 1::5] = float("inf")
        return out

    monkeypatch.setattr(r.model, "decode", decode)
    y = r.render(_trajectory(r, 2.0), ceiling, np.random.default_rng(0))
    assert len(y) == round(2.0 * r.frame_rate) * r.hop
    assert np.isfinite(y).all()
    assert np.abs(y).max() <= db_to_gain(ceiling)
    if kind == "silence":
        assert np.abs(y).max() < 1e-3 * db_to_gain(ceiling)


def test_blocks_are_at_most_half_a_second_and_sum_to_the_sound() -> None:
    r = _renderer(AudioVAEConfig())
    traj = _trajectory(r, 3.0)
    blocks = list(r.stream(traj, -6.0, np.random.default_rng(0)))
    assert len(blocks) >= 6
    assert max(len(b) for b in blocks) <= 0.5 * SR
    joined = np.concatenate(blocks)
    assert len(joined) == len(traj) * r.hop
    # Same sound as a one-shot render with the same seed.
    assert np.array_equal(joined, r.render(traj, -6.0, np.random.default_rng(0)))


def test_ceiling_knob_acts_at_the_next_block() -> None:
    r = _renderer(AudioVAEConfig())
    ceiling = {"db": 0.0}
    peaks = []
    for i, block in enumerate(r.stream(_trajectory(r, 3.0), lambda: ceiling["db"], np.random.default_rng(0))):
        peaks.append(np.abs(block).max())
        if i == 2:
            ceiling["db"] = -40.0
    assert max(peaks[3:]) <= db_to_gain(-40.0)
    assert max(peaks[:3]) > db_to_gain(-20.0)


def _tone_mags(framing: Framing, seconds: float) -> torch.Tensor:
    t = np.arange(int(seconds * SR)) / SR
    x = 0.5 * np.sin(2 * np.pi * (300 + 50 * np.sin(2 * np.pi * 0.5 * t)) * t) + 0.2 * np.sin(2 * np.pi * 1234 * t)
    return framing.magnitudes(x.astype(np.float32))[: int(seconds * SR) // framing.hop]


def test_streaming_phase_converges_and_joins_without_clicks() -> None:
    framing = Framing(1024, 256)
    mags = _tone_mags(framing, 4.0)
    gl = StreamingGriffinLim(framing, iterations=16, block=31)
    blocks = list(gl.stream(mags, np.random.default_rng(0)))
    y = np.concatenate(blocks)
    assert spectral_convergence(y, mags, framing) < 0.15
    # A click is a sample-to-sample jump far above the signal's own: compare jumps at block joins
    # with the largest jumps anywhere else.
    joins = np.cumsum([len(b) for b in blocks])[:-1]
    d = np.abs(np.diff(y))
    at_joins = d[joins - 1].max()
    elsewhere = np.percentile(d, 99.9)
    assert at_joins <= 1.2 * elsewhere


def test_block_phase_is_not_worse_than_independent_blocks() -> None:
    # Guard that the fixed left context does work: solving blocks with no context is clicky/worse.
    framing = Framing(1024, 256)
    mags = _tone_mags(framing, 3.0)
    joined = np.concatenate(list(StreamingGriffinLim(framing, 16).stream(mags, np.random.default_rng(1))))
    alone = np.concatenate([
        np.concatenate(list(StreamingGriffinLim(framing, 16).stream(mags[i : i + 31], np.random.default_rng(1))))
        for i in range(0, len(mags), 31)
    ])
    assert spectral_convergence(joined, mags, framing) < spectral_convergence(alone, mags, framing)


def test_leveller_fades_and_bounds() -> None:
    lev = Leveller(SR, total=SR)
    x = np.ones(SR, dtype=np.float32) * 5.0
    y = np.concatenate([lev.process(x[i : i + 4000], -6.0) for i in range(0, SR, 4000)])
    assert y[0] == 0.0 and abs(y[-1]) < 1e-6  # fades at both ends
    assert np.abs(y).max() <= db_to_gain(-6.0)
    assert np.abs(y[SR // 2]) > 0.8 * db_to_gain(-6.0)  # loud in the middle, not squashed to nothing
