"""Checkpoint files: round trips, and every bad file gets one clear error with nothing executed."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_AUDIO, TINY_IMAGE

from ciel_node.errors import CheckpointError
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import FORMAT, load_checkpoint
from ciel_node.models.image_gan import Generator, init_weights


def test_audio_vae_round_trip(tmp_path: Path) -> None:
    model = SpectralVAE(TINY_AUDIO)
    model.bin_mean.normal_()
    model.save(tmp_path / "a.pt", {"steps": 7})
    loaded, prov = SpectralVAE.from_checkpoint(tmp_path / "a.pt")
    assert prov == {"steps": 7}
    assert loaded.config == TINY_AUDIO and not loaded.training
    z = torch.randn(5, TINY_AUDIO.latent)
    assert torch.equal(loaded.decode(z), model.decode(z))
    frames = torch.randn(3, TINY_AUDIO.bins)
    recon, mu, logvar = loaded(frames)
    assert recon.shape == (3, TINY_AUDIO.bins) and mu.shape == (3, TINY_AUDIO.latent)


def test_image_gan_round_trip(tmp_path: Path) -> None:
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    gen.eval()
    gen.save(tmp_path / "g.pt", {"steps": 1})
    loaded, _ = Generator.from_checkpoint(tmp_path / "g.pt")
    z = torch.randn(2, TINY_IMAGE.latent)
    out = loaded(z)
    assert out.shape == (2, 3, TINY_IMAGE.size, TINY_IMAGE.size)
    assert torch.equal(out, gen(z))


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (subprocess.call, ([sys.executable, "-c", f"open({str(self.marker)!r}, 'w').write('pwned')"],))


def test_tampered_checkpoint_is_refused_unexecuted(tmp_path: Path) -> None:
    def evil_file(marker: Path, path: Path) -> Path:
        payload = {"format": FORMAT, "version": 1, "kind": "audio_vae", "config": {}, "weights": {}, "provenance": {}}
        payload["evil"] = _Evil(marker)
        torch.save(payload, path)
        return path

    # Sanity: such a file really runs code when loaded the unsafe way.
    canary = tmp_path / "canary"
    torch.load(evil_file(canary, tmp_path / "canary.pt"), weights_only=False)
    assert canary.read_text() == "pwned"
    marker = tmp_path / "pwned"
    path = evil_file(marker, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused unexecuted"):
        SpectralVAE.from_checkpoint(path)
    assert not marker.exists()


def test_plain_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "old.pt"
    path.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(CheckpointError):
        SpectralVAE.from_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 10, 500])
def test_corrupt_checkpoint(tmp_path: Path, cut: int) -> None:
    good = tmp_path / "good.pt"
    SpectralVAE(TINY_AUDIO).save(good, {})
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(CheckpointError, match="corrupt"):
        SpectralVAE.from_checkpoint(bad)


def test_wrong_kind_missing_and_foreign(tmp_path: Path) -> None:
    gen = Generator(TINY_IMAGE)
    gen.save(tmp_path / "g.pt", {})
    with pytest.raises(CheckpointError, match="'image_gan' model where a 'audio_vae'"):
        SpectralVAE.from_checkpoint(tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        SpectralVAE.from_checkpoint(tmp_path / "nope.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a ciel-node checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt", "audio_vae")


def test_version_and_shape_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "a.pt"
    SpectralVAE(TINY_AUDIO).save(path, {})
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="format version 99"):
        SpectralVAE.from_checkpoint(path)
    payload["version"] = 1
    payload["config"]["latent"] = 12  # weights are for latent 8
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        SpectralVAE.from_checkpoint(path)
