"""Shared test helpers."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """Return the path of a command-line tool; skip the test without it, but fail on CI where it must exist."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)
    return path


@pytest.fixture
def tiny_disk(tmp_path):  # type: ignore[no-untyped-def]
    """A real, small filesystem (a 2 MB tmpfs) that can fill up; mounting needs root, as CI has."""
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the disk-full tests need root to mount a tmpfs, and CI runs as root")
        pytest.skip("needs root to mount a small tmpfs")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


# --- tiny models (RAVE's CAPACITY=2 idea): real architectures, seconds to build -------------------
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from ciel_node.models.audio_vae import AudioVAEConfig, SpectralVAE  # noqa: E402
from ciel_node.models.image_gan import Generator, ImageGANConfig, init_weights  # noqa: E402

TINY_AUDIO = AudioVAEConfig(n_fft=256, hop=64, latent=8, hidden=(32,))
TINY_IMAGE = ImageGANConfig(latent=16, size=32, width=4)


def make_checkpoints(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    torch.manual_seed(seed)
    audio, image = folder / "audio.pt", folder / "images.pt"
    vae = SpectralVAE(TINY_AUDIO)
    vae.bin_mean.fill_(-3.0)
    vae.save(audio, {"archive": "tiny test model", "steps": 0})
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    gen.save(image, {"archive": "tiny test model", "steps": 0})
    return audio, image


@pytest.fixture
def tiny_checkpoints(tmp_path: Path) -> tuple[Path, Path]:
    return make_checkpoints(tmp_path / "checkpoints")
