"""The sound net: a VAE over log-magnitude STFT frames, in the vschaos tradition."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciel_node.errors import CheckpointError
from ciel_node.models.checkpoint import (
    config_from,
    load_checkpoint,
    load_weights,
    require_floats,
    require_int,
    save_checkpoint,
    shown,
)

KIND = "audio_vae"
LOG_FLOOR = -11.5  # log(1e-5): the quietest magnitude the model represents
# Rates an MP3 can carry (MPEG-1/2 layer III), so every piece the net makes can be published.
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class AudioVAEConfig:
    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    latent: int = 16
    hidden: tuple[int, ...] = (512, 256)

    def __post_init__(self) -> None:
        # Every field comes from a checkpoint someone handed the node: check type and range before
        # anything is built from it (a hidden size of 10**12 would try to allocate terabytes).
        require_int("sample_rate", self.sample_rate, 8000, 48000)
        if self.sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate={self.sample_rate} must be one of {list(SAMPLE_RATES)} (what MP3 carries)")
        require_int("n_fft", self.n_fft, 64, 8192)
        require_int("hop", self.hop, max(1, self.n_fft // 16), self.n_fft // 2)  # frames must overlap (Framing)
        if self.n_fft % self.hop:
            raise ValueError(f"n_fft={self.n_fft} must be a multiple of hop={self.hop}")
        require_int("latent", self.latent, 8, 1024)
        if (
            not isinstance(self.hidden, tuple)
            or not 1 <= len(self.hidden) <= 8
            or any(isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 8192 for h in self.hidden)
        ):
            raise ValueError(
                f"hidden={shown(self.hidden)} must be a list of 1..8 layer sizes, each an integer in 1..8192"
            )
        sizes = [self.bins, *self.hidden, 2 * self.latent]
        weights = 2 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))  # encoder, mirrored decoder
        require_floats(f"n_fft={self.n_fft}, latent={self.latent}, hidden={shown(self.hidden)}", weights)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


class SpectralVAE(nn.Module):
    """Frame-wise VAE; inputs and outputs are natural-log magnitudes, normalised inside per bin."""

    bin_mean: torch.Tensor
    bin_std: torch.Tensor

    def __init__(self, config: AudioVAEConfig) -> None:
        super().__init__()
        self.config = config
        bins, hidden = config.bins, list(config.hidden)
        self.encoder = _mlp([bins, *hidden, 2 * config.latent])
        self.decoder = _mlp([config.latent, *reversed(hidden), bins])
        # Per-bin statistics of the training archive, so the artifact carries its own scale.
        self.register_buffer("bin_mean", torch.zeros(bins))
        self.register_buffer("bin_std", torch.ones(bins))

    def encode(self, log_mag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # (B, F) log-magnitude frames -> (B, L) mean, (B, L) log-variance
        h = self.encoder((log_mag - self.bin_mean) / self.bin_std)
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        # (B, L) latents -> (B, F) log-magnitude frames
        return self.decoder(z) * self.bin_std + self.bin_mean

    def forward(self, log_mag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(log_mag)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar

    def save(self, path: Path, provenance: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        save_checkpoint(path, KIND, asdict(self.config), self.state_dict(), provenance, extra)

    @classmethod
    def from_checkpoint(cls, path: Path) -> tuple[SpectralVAE, dict[str, Any]]:
        """Return the model in eval mode and the checkpoint's provenance."""
        payload = load_checkpoint(path, KIND)
        config = config_from(AudioVAEConfig, payload["config"], path)
        model = cls(config)
        load_weights(model, payload["weights"], path)
        if not torch.isfinite(model.bin_std).all() or (model.bin_std <= 0).any():
            raise CheckpointError(f"checkpoint {path} has invalid bin statistics; rebuild it with `ciel-node crack`")
        return model.eval(), payload["provenance"]


def vae_loss(
    recon: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, model: SpectralVAE, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reconstruction in normalised units plus beta-weighted KL; returns (total, recon, kl)."""
    rec = (((recon - target) / model.bin_std) ** 2).mean()
    kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)) / model.config.bins
    return rec + beta * kl, rec, kl
