"""The sound net: a VAE over log-magnitude STFT frames, in the vschaos tradition."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciel_node.errors import CheckpointError
from ciel_node.models.checkpoint import config_from, load_checkpoint, load_weights, save_checkpoint

KIND = "audio_vae"
LOG_FLOOR = -11.5  # log(1e-5): the quietest magnitude the model represents


@dataclass(frozen=True)
class AudioVAEConfig:
    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    latent: int = 16
    hidden: tuple[int, ...] = (512, 256)

    def __post_init__(self) -> None:
        if self.latent < 8:
            raise ValueError(f"latent={self.latent} must be >= 8")
        if self.n_fft < 64 or self.hop <= 0 or self.hop > self.n_fft:
            raise ValueError(f"n_fft={self.n_fft}, hop={self.hop} must satisfy 0 < hop <= n_fft, n_fft >= 64")

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
