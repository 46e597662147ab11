"""The published MP3 (and Opus): encoded once for ordinary sounds, never over the ceiling when decoded, same samples
same bytes."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import require_tool

from ciel_node.generate import piece, walk
from ciel_node.generate.audio import AudioRenderer, db_to_gain
from ciel_node.generate.piece import encode_mp3, encode_opus
from ciel_node.models.audio_vae import SpectralVAE

SR = 16000
ROOT = Path(__file__).resolve().parent.parent


def _hard(ceiling_db: float) -> dict[str, np.ndarray]:
    """Sounds that ring past their peaks once coded: all at the ceiling (less a hair), one second each."""
    c = db_to_gain(ceiling_db) * 0.999
    t = np.arange(SR) / SR
    rng = np.random.default_rng(7)
    bursts = np.zeros(SR)
    for k in range(4):
        bursts[k * SR // 4: k * SR // 4 + SR // 16] = np.clip(rng.standard_normal(SR // 16) * c / 2.5, -c, c)
    clicks = np.zeros(SR)
    clicks[:: SR // 8] = c
    sounds = {"square": c * np.sign(np.sin(2 * np.pi * 440 * t)), "bursts": bursts,
              "sine7900": c * np.sin(2 * np.pi * 7900 * t), "clicks": clicks}
    return {k: v.astype(np.float32) for k, v in sounds.items()}


def _decoded(data: bytes) -> np.ndarray:
    return sf.read(io.BytesIO(data), dtype="float32")[0]


CODECS: dict[str, tuple[Callable[..., bytes], Callable[[bytes], float], str]] = {
    "mp3": (encode_mp3, lambda data: float(np.abs(_decoded(data)).max()), "MP3_MARGIN_DB"),
    "opus": (encode_opus, piece._decoded_peak, "OPUS_MARGIN_DB")}


@pytest.mark.parametrize("codec", ["mp3", "opus"])
@pytest.mark.parametrize("ceiling_db", [-6.0, -1.0, -20.0])
def test_hard_sounds_never_decode_above_the_ceiling(ceiling_db: float, codec: str) -> None:
    encode, decoded_peak, _ = CODECS[codec]
    for name, x in _hard(ceiling_db).items():
        peak = decoded_peak(encode(x, SR, ceiling_db))
        assert peak <= db_to_gain(ceiling_db), f"{name} at {ceiling_db} dBFS decodes to {20 * np.log10(peak):.2f} dBFS"
        assert peak > db_to_gain(ceiling_db - 6.0) or name == "sine7900", name  # pulled under, not crushed


def test_when_every_try_overshoots_the_mp3_is_silence_not_too_loud(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _hard(-6.0)["square"]
    monkeypatch.setattr(piece, "MP3_MARGIN_DB", 0.0)  # no headroom: a square at the ceiling rings over at once
    stats: dict[str, int] = {}
    data = encode_mp3(x, SR, -6.0, tries=1, stats=stats)
    assert stats == {"encodes": 2} and np.abs(_decoded(data)).max() == 0.0
    assert len(_decoded(data)) == len(x)  # the right length, just silent


def _ordinary() -> list[tuple[np.ndarray, float]]:
    """Sounds as pieces carry them, from the shipped net (the tiny test nets never ring over): limited just under
    their ceiling, three seconds each."""
    vae, _ = SpectralVAE.from_checkpoint(ROOT / "checkpoints" / "audio.pt")
    renderer = AudioRenderer(vae)
    out, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)  # small renders: threads only spin against each other (8 s of CPU instead of 0.4)
    try:
        for seed in range(1, 9):
            ceiling_db = (-6.0, -1.0, -20.0, -12.0)[seed % 4]
            rng = walk.piece_rng(seed, 0, walk.AUDIO_STREAM)
            trajectory = walk.audio_trajectory(walk.origin(seed, vae.config.latent, 1), 0.5, 3.0,
                                               renderer.frame_rate, rng)
            out.append((renderer.render(trajectory, ceiling_db, rng, 3 * SR), ceiling_db))
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.parametrize("codec", ["mp3", "opus"])
def test_ordinary_sounds_are_encoded_once(monkeypatch: pytest.MonkeyPatch, codec: str) -> None:
    encode, decoded_peak, margin_name = CODECS[codec]

    def encodes(margin_db: float) -> list[int]:
        monkeypatch.setattr(piece, margin_name, margin_db)
        counts = []
        for samples, ceiling_db in sounds:
            stats: dict[str, int] = {}
            data = encode(samples, SR, ceiling_db, stats=stats)
            assert decoded_peak(data) <= db_to_gain(ceiling_db)
            counts.append(stats["encodes"])
        return counts

    sounds, margin_db = _ordinary(), getattr(piece, margin_name)
    assert sum(encodes(0.0)) >= len(sounds) + 2  # the problem is real: without headroom, re-encodes
    assert sum(encodes(margin_db)) <= len(sounds) + 1, "more than 1 in 8 re-encoded: margin too thin"


def _digest() -> str:
    sounds = [(x, c) for c in (-6.0, -1.0) for x in _hard(c).values()]
    return hashlib.sha256(b"".join(encode(x, SR, c) for encode in (encode_mp3, encode_opus) for x, c in sounds))\
        .hexdigest()


def test_same_samples_same_bytes_in_and_across_processes() -> None:
    here = _digest()
    assert here == _digest()
    code = "from test_encode import _digest; print(_digest())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the same ciel_node as this process, whatever is installed
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", env=env, capture_output=True, text=True,
                           timeout=60, check=True)
    assert other.stdout.strip() == here


def test_ffmpeg_decodes_it_whole_and_under_the_ceiling() -> None:
    ffmpeg = require_tool("ffmpeg")
    rng = np.random.default_rng(1)
    t = np.arange(int(2.5 * SR)) / SR
    x = 0.5 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(len(t))
    x = (x * db_to_gain(-1.0) / np.abs(x).max()).astype(np.float32)
    out = subprocess.run([ffmpeg, "-v", "error", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "pipe:1"],
                         input=encode_mp3(x, SR, -1.0), capture_output=True, timeout=30, check=True).stdout
    decoded = np.frombuffer(out, dtype="<f4")
    assert abs(len(decoded) - len(x)) <= 576  # the encoder's delay and padding trimmed (gapless header read)
    assert 0 < np.abs(decoded).max() <= db_to_gain(-1.0)
