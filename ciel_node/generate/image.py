"""The image renderer: a latent point -> a 256x256 picture and its all-sky (Mollweide) rendition, encoded."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ciel_node.bends import Bends
from ciel_node.config import IMAGE_FORMATS
from ciel_node.generate.instrument import ImageInstrument
from ciel_node.models.image_gan import Generator

PNG_LEVEL = 3  # zlib level: most of the size of level 9 at a fraction of the time


class MollweideWarp:
    """Precomputed inverse Mollweide projection: square picture -> 2:1 oval, transparent outside.

    The picture is read as an equirectangular sky (longitude across, latitude down), like the
    all-sky maps of the cosmic microwave background. Bilinear taps and weights are computed once.
    """

    def __init__(self, source: int = 256, height: int = 256) -> None:
        self.source, self.height, self.width = source, height, 2 * height
        # Pixel centres in Mollweide plane coordinates: x in [-2 sqrt2, 2 sqrt2], y in [-sqrt2, sqrt2].
        px = (np.arange(self.width) + 0.5) / self.width * 2.0 - 1.0
        py = 1.0 - (np.arange(height) + 0.5) / height * 2.0
        x, y = np.meshgrid(px * 2.0 * math.sqrt(2.0), py * math.sqrt(2.0))
        r = x**2 / 8.0 + y**2 / 2.0  # < 1 inside the ellipse
        theta = np.arcsin(np.clip(y / math.sqrt(2.0), -1.0, 1.0))
        lat = np.arcsin(np.clip((2.0 * theta + np.sin(2.0 * theta)) / math.pi, -1.0, 1.0))
        lon = math.pi * x / (2.0 * math.sqrt(2.0) * np.maximum(np.cos(theta), 1e-9))
        u = np.clip((lon + math.pi) / (2.0 * math.pi), 0.0, 1.0) * (source - 1)
        v = np.clip((math.pi / 2.0 - lat) / math.pi, 0.0, 1.0) * (source - 1)
        # The same taps for torch's grid_sample (corners aligned: -1 and 1 are the first and last pixel's centres).
        self._grid = torch.from_numpy(np.stack([u, v], axis=-1) / (source - 1) * 2.0 - 1.0).float()[None]
        u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        u1, v1 = np.minimum(u0 + 1, source - 1), np.minimum(v0 + 1, source - 1)
        fu, fv = (u - u0)[..., None], (v - v0)[..., None]
        self._taps = [v0 * source + u0, v0 * source + u1, v1 * source + u0, v1 * source + u1]
        self._weights = [(1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv]
        # Antialiased rim: alpha falls from 255 to 0 over about one pixel at the ellipse's edge.
        edge_px = (1.0 - np.sqrt(r)) * height / 2.0
        self._alpha = (np.clip(edge_px + 0.5, 0.0, 1.0) * 255.0).round().astype(np.uint8)

    def __call__(self, picture: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 -> (H, 2H, 4) uint8 RGBA."""
        flat = picture.reshape(-1, 3).astype(np.float32)
        rgb = sum(w * flat[t] for t, w in zip(self._taps, self._weights))
        return self._oval(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))

    def many(self, pictures: torch.Tensor) -> np.ndarray:
        """(N, 3, S, S) floats in [-1, 1] -> (N, H, 2H, 4) uint8 RGBA, in one bilinear pass (torch's grid_sample:
        ten times quicker than N calls, not bit-equal to them; keyframes use it, the piece's own sky does not)."""
        n = pictures.shape[0]
        with torch.inference_mode():
            rgb = F.grid_sample(pictures, self._grid.expand(n, -1, -1, -1), mode="bilinear", align_corners=True)
        return self._oval(((rgb.permute(0, 2, 3, 1).numpy() + 1.0) * 127.5 + 0.5).astype(np.uint8))

    def _oval(self, rgb: np.ndarray) -> np.ndarray:
        """(..., H, 2H, 3) uint8 -> RGBA: the antialiased rim as alpha, black where nothing is seen (it codes in
        fewer bytes than the stretched picture's edge)."""
        out = np.empty((*rgb.shape[:-1], 4), dtype=np.uint8)
        out[..., :3] = rgb
        out[..., :3][..., self._alpha == 0, :] = 0
        out[..., 3] = self._alpha
        return out


def encode_png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


@dataclass(frozen=True)
class ImageFormat:
    """How the published pictures are encoded. WebP (the default) is ~15x lighter than PNG for the sky at quality
    80 and every browser the page supports shows it; PNG is lossless, for archives; AVIF is lighter still at the
    same quality and slower to encode. The sky's transparent rim is exact in PNG and WebP (lossless alpha); AVIF codes
    alpha lossily (within ~18 of 255 at the antialiased edge at quality 80)."""

    kind: str = "webp"
    quality: int = 80  # 1..100, WebP and AVIF; PNG is lossless

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_FORMATS:
            raise ValueError(f"image format {self.kind!r}: give one of {', '.join(IMAGE_FORMATS)}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"image quality {self.quality}: give a whole number in 1..100")

    @property
    def suffix(self) -> str:
        return "." + self.kind

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.kind, "image_quality": None if self.kind == "png" else self.quality}

    def encode(self, pixels: np.ndarray, fast: bool = False) -> bytes:
        """(H, W, 3|4) uint8 -> the file's bytes; the same pixels always give the same bytes. `fast`: WebP's
        quickest method (keyframe strips: about a third of the time, a quarter more bytes)."""
        if self.kind == "png":
            return encode_png(pixels)
        buf = io.BytesIO()
        picture = Image.fromarray(pixels)
        if self.kind == "webp":
            # method 4: libwebp's default trade of time for size; alpha stays lossless (the oval's rim).
            picture.save(buf, format="WEBP", quality=self.quality, method=0 if fast else 4, alpha_quality=100)
        else:
            picture.save(buf, format="AVIF", quality=self.quality, speed=8, max_threads=1)
        return buf.getvalue()


class ImageRenderer:
    """Decodes one latent point through the generator; publishes at `size`, warps the sky once set up."""

    def __init__(self, generator: Generator, size: int = 256, sky_height: int = 256,
                 clusters: tuple[tuple[int, ...], ...] | None = None, fmt: ImageFormat | None = None) -> None:
        self.generator = generator
        self.format = fmt or ImageFormat()
        self.instrument = ImageInstrument(generator, clusters)
        self.latent = generator.config.latent
        self.size = size
        self.warp = MollweideWarp(size, sky_height)
        self._strip_warp: MollweideWarp | None = None  # keyframes' skies, at the generator's own size

    def pixels(self, z: np.ndarray, bends: Bends | None = None) -> np.ndarray:
        """(L,) latent -> (size, size, 3) uint8, through the bends in force."""
        img = self._drawn(z[None], bends)[0]  # (3, n, n)
        arr = ((img.permute(1, 2, 0).numpy() + 1.0) * 127.5 + 0.5).astype(np.uint8)
        if arr.shape[0] != self.size:
            arr = np.asarray(Image.fromarray(arr).resize((self.size, self.size), Image.Resampling.BICUBIC))
        return arr

    def _drawn(self, zs: np.ndarray, bends: Bends | None) -> torch.Tensor:
        """(N, L) latents -> (N, 3, n, n) in [-1, 1] at the generator's own size, through the bends in force."""
        with torch.inference_mode():
            imgs = self.instrument(torch.from_numpy(np.asarray(zs, np.float32)), bends)
        return torch.nan_to_num(imgs, nan=0.0).clamp(-1.0, 1.0)

    def render(self, z: np.ndarray, bends: Bends | None = None) -> tuple[bytes, bytes]:
        """(picture, sky) for one latent point, encoded in `format`."""
        pixels = self.pixels(z, bends)
        return self.format.encode(pixels), self.format.encode(self.warp(pixels))

    def strip(self, zs: np.ndarray, bends: Bends | None = None) -> bytes:
        """The skies of N latent points (a piece's keyframes) stacked top to bottom in one picture, encoded in
        `format`: one file, one request and one decode for the page, however many keyframes. Each sky is warped
        from the generator's own pictures (128 px for the shipped net: (N x 128, 256)), not from the 256 px upscale
        the piece's picture is published at: the same detail at a quarter of the pixels, so K = 6 costs about
        as much as the piece's own picture and sky (bench/keyframes.py)."""
        imgs = self._drawn(zs, bends)
        if self._strip_warp is None or self._strip_warp.source != imgs.shape[-1]:
            self._strip_warp = MollweideWarp(imgs.shape[-1], imgs.shape[-1])
        skies = self._strip_warp.many(imgs)
        return self.format.encode(skies.reshape(-1, *skies.shape[2:]), fast=True)
