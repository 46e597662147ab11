"""The image net: a DCGAN in PyTorch-GAN's tradition, latent 100, native 128x128 RGB."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciel_node.models.checkpoint import (
    config_from,
    load_checkpoint,
    load_weights,
    require_floats,
    require_int,
    save_checkpoint,
)

KIND = "image_gan"


@dataclass(frozen=True)
class ImageGANConfig:
    latent: int = 100
    size: int = 128
    width: int = 16  # channels of the last hidden layer; the first has width * size / 8

    def __post_init__(self) -> None:
        # Every field comes from a checkpoint someone handed the node: check type and range before
        # anything is built from it; the net's weights and one render's activations are bounded too.
        require_int("latent", self.latent, 1, 4096)
        require_int("size", self.size, 8, 1024)
        if self.size & (self.size - 1):
            raise ValueError(f"size={self.size} must be a power of two in 8..1024")
        require_int("width", self.width, 1, 1024)
        ch = _channels(self)
        weights = 16 * (self.latent * ch[0] + sum(a * b for a, b in zip(ch[:-1], ch[1:])) + 3 * ch[-1])
        activations = sum(c * (4 << i) ** 2 for i, c in enumerate(ch)) + 3 * self.size**2
        what = f"latent={self.latent}, size={self.size}, width={self.width}"
        require_floats(what, weights)
        require_floats(what, activations)

    @property
    def stages(self) -> int:
        """Number of doublings from 4x4 to size x size."""
        return self.size.bit_length() - 3


def _channels(config: ImageGANConfig) -> list[int]:
    # e.g. size 128, width 16: [256, 128, 64, 32, 16] from 4x4 up to 64x64
    return [config.width * 2 ** (config.stages - 1 - i) for i in range(config.stages)]


class Generator(nn.Module):
    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        self.config = config
        ch = _channels(config)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent, ch[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch[0]),
            nn.ReLU(True),
        ]
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ch[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # (B, latent) -> (B, 3, size, size) in [-1, 1]
        return self.net(z[:, :, None, None])

    def save(self, path: Path, provenance: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        save_checkpoint(path, KIND, asdict(self.config), self.state_dict(), provenance, extra)

    @classmethod
    def from_checkpoint(cls, path: Path) -> tuple[Generator, dict[str, Any]]:
        payload = load_checkpoint(path, KIND)
        model = cls(config_from(ImageGANConfig, payload["config"], path))
        load_weights(model, payload["weights"], path)
        return model.eval(), payload["provenance"]


class Discriminator(nn.Module):
    """Used only by `crack`; its weights live in the resume file, not the shipped checkpoint."""

    def __init__(self, config: ImageGANConfig) -> None:
        super().__init__()
        ch = list(reversed(_channels(config)))
        layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ch[-1], 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        # (B, 3, size, size) -> (B,) logits
        return self.net(img).flatten()


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
