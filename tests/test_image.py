"""Image renderer and the Mollweide sky: sizes, transparency outside the oval, the warp's geometry."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import TINY_IMAGE
from PIL import Image

from ciel_node.generate.image import ImageFormat, ImageRenderer, MollweideWarp
from ciel_node.models.image_gan import Generator, init_weights


def test_sky_is_a_transparent_edged_two_to_one_oval() -> None:
    warp = MollweideWarp(source=64, height=64)
    pic = np.zeros((64, 64, 3), np.uint8)
    pic[:, :32, 0] = 255  # west half red, east half green
    pic[:, 32:, 1] = 255
    sky = warp(pic)
    assert sky.shape == (64, 128, 4)
    alpha = sky[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0  # corners are outside
    assert alpha[32, 64] == 255 and alpha[32, 1] == 255 and alpha[1, 64] == 255  # inside the ellipse
    # Area of an ellipse inscribed in a 2:1 box is pi/4 of the box.
    assert abs((alpha > 127).mean() - np.pi / 4) < 0.02
    # Longitude runs west to east: the left half of the oval shows the left half of the picture.
    assert sky[32, 20, 0] == 255 and sky[32, 20, 1] == 0
    assert sky[32, 108, 1] == 255 and sky[32, 108, 0] == 0


def test_sky_meridians_converge_at_the_poles() -> None:
    warp = MollweideWarp(source=64, height=64)
    pic = np.zeros((64, 64, 3), np.uint8)
    pic[:, 60:, 2] = 255  # a stripe near the east edge of the map
    sky = warp(pic)
    blue = (sky[..., 2] > 127) & (sky[..., 3] > 127)  # visible blue only
    # On the equator the stripe is at the oval's east rim; near a pole it is pulled towards the centre.
    eq_cols = np.nonzero(blue[32])[0]
    pole_cols = np.nonzero(blue[4])[0]
    assert eq_cols.min() > 115
    assert pole_cols.max() < eq_cols.min() - 20


@pytest.mark.parametrize("kind", ["webp", "png", "avif"])
def test_render_publishes_256_picture_and_rgba_sky(kind: str) -> None:
    torch.manual_seed(0)
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    r = ImageRenderer(gen.eval(), fmt=ImageFormat(kind))
    z = np.random.default_rng(0).standard_normal(TINY_IMAGE.latent)
    image_bytes, sky_bytes = r.render(z)
    image, sky = Image.open(io.BytesIO(image_bytes)), Image.open(io.BytesIO(sky_bytes))
    assert (image.format, image.size, image.mode) == (kind.upper(), (256, 256), "RGB")
    assert (sky.format, sky.size) == (kind.upper(), (512, 256)) and sky.mode == "RGBA"
    assert np.asarray(image).std() > 0  # not a blank picture
    assert r.render(z) == (image_bytes, sky_bytes)  # same pixels, same bytes: pieces stay reproducible
    # The oval's rim: exact in PNG and WebP (lossless alpha); AVIF codes alpha lossily, within a few steps at the
    # antialiased edge, while outside stays transparent and inside opaque.
    alpha, want_alpha = np.asarray(sky)[..., 3].astype(int), MollweideWarp(256, 256)._alpha.astype(int)
    slack = 24 if kind == "avif" else 0
    assert np.abs(alpha - want_alpha).max() <= slack
    assert (alpha[want_alpha == 0] <= slack // 2).all() and (alpha[want_alpha == 255] >= 255 - slack // 2).all()
    # PNG is the pixels; the lossy formats stay close to them.
    rgb, want = np.asarray(image).astype(float), r.pixels(z).astype(float)
    if kind == "png":
        assert np.array_equal(rgb, want)
    else:
        psnr = 10 * np.log10(255.0**2 / np.mean((rgb - want) ** 2))
        assert psnr > 28, psnr
    assert r.render(np.full(TINY_IMAGE.latent, np.nan))[0]  # NaN latent still yields a valid image


def test_image_format_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="'gif'.*webp, png, avif"):
        ImageFormat("gif")
    with pytest.raises(ValueError, match="quality 0"):
        ImageFormat("webp", 0)
