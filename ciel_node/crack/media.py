"""Decode one phone media file: a sound to mono float samples, a picture or a few frames of a video to square RGB."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from av.video.stream import VideoStream
from PIL import Image, ImageOps

# Pixels a picture may have once decoded (a JPEG counts at the 1/8 scale it is decoded at): 40 MP
# is a 48-MP phone's PNG screenshot's worth; a 13000x13000 PNG of a few KB would take 0.5-1.3 GB.
MAX_PIXELS = 40_000_000
# Under these a file holds nothing to learn from: a tap on the record button, a tracking pixel, an icon.
MIN_SOUND_SECONDS = 0.1
MIN_PICTURE_SIDE = 16
# Frames sampled from each video, evenly spaced: a phone archive's videos are pictures too.
VIDEO_FRAMES = 3

# FFmpeg's native AMR decoders stop with "not yet implemented" at the first DTX comfort-noise
# frame, which phones emit in every pause; the opencore decoders handle them.
_AMR_DECODERS = {"amrnb": "libopencore_amrnb", "amrwb": "libopencore_amrwb"}


class Unusable(ValueError):
    """The file decoded but holds nothing usable; its message is already the one-line reason."""


class TooShort(Unusable):
    """A sound shorter than MIN_SOUND_SECONDS, or a picture smaller than MIN_PICTURE_SIDE."""


class NoStream(Unusable):
    """A container without the stream asked for: a video without sound, a sound-only .mp4."""


def read_sound(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """(T,) float32 mono samples at `sample_rate` in [-1, 1] of the file's first audio stream."""
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise NoStream("no audio stream")
        stream = container.streams.audio[0]
        name = stream.codec_context.name
        decoder = stream.codec_context
        if name in _AMR_DECODERS:
            decoder = cast(AudioCodecContext, av.codec.CodecContext.create(_AMR_DECODERS[name], "r"))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for packet in container.demux(stream):
            for frame in decoder.decode(packet):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise TooShort("too short: decoded to zero samples")
    if samples.size < MIN_SOUND_SECONDS * sample_rate:
        raise TooShort(f"too short: {samples.size / sample_rate:.3f} s of sound, under the {MIN_SOUND_SECONDS:g} s "
                       "a sound needs")
    finite = np.isfinite(samples)
    if not finite.any():
        raise Unusable("decoded to NaN/inf only")
    samples[~finite] = 0.0
    return np.clip(samples, -1.0, 1.0)


@functools.cache
def _heif_opener() -> bool:
    """Pillow has no HEIF decoder: pillow-heif (libheif) adds one, registered once, when a picture is first read."""
    try:
        import pillow_heif
    except ImportError:  # a HEIC file is then reported unreadable, with Pillow's "cannot identify image file"
        return False
    pillow_heif.register_heif_opener()
    return True


def read_picture(path: Path, size: int = 256) -> Image.Image:
    """The picture upright (EXIF orientation), on white where transparent, centre-cropped to size x size RGB."""
    _heif_opener()
    with Image.open(path) as im:
        _check_size(im.width, im.height)
        # Decoding a 12-Mpx phone JPEG at 1/8 scale is much faster and loses nothing at 256 px.
        if im.format == "JPEG":
            im.draft("RGB", (size, size))
        # Image.open has read the header only: refuse a picture too large to decode before decoding it.
        if im.width * im.height > MAX_PIXELS:
            raise Unusable(_too_large(im.width, im.height))
        im.load()  # forces the full decode here, so a truncated file fails inside the caller's try
        small: Image.Image = im
        if im.mode in ("L", "LA", "RGB", "RGBA") and min(im.size) >= 4 * size:
            # Shrink by a whole factor at once (to >= 2x the output), so the copies below are small.
            small = im.reduce(min(im.size) // (2 * size))
        upright = ImageOps.exif_transpose(small)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        # Transparent screenshots/stickers read as they look in a gallery: on white, not on black.
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(canvas, rgba)
    return _square(upright.convert("RGB"), size)


def read_video_frames(path: Path, size: int = 256, count: int = VIDEO_FRAMES) -> list[Image.Image]:
    """`count` frames evenly spaced through the first video stream (at 1/6, 1/2, 5/6 of it for 3), upright as the
    phone shows them (the display matrix), each centre-cropped to size x size RGB; fewer when they coincide."""
    pictures: list[Image.Image] = []
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise NoStream("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        _check_size(stream.codec_context.width, stream.codec_context.height)
        if stream.codec_context.width * stream.codec_context.height > MAX_PIXELS:
            raise Unusable(_too_large(stream.codec_context.width, stream.codec_context.height))
        length = _seconds(container, stream)
        targets = [length * (k + 0.5) / count for k in range(count)] if length else [0.0]
        taken: set[int | None] = set()
        for target in targets:
            frame = _frame_at(container, stream, target)
            if frame is None or frame.pts in taken:
                continue
            taken.add(frame.pts)
            # Scaled by swscale before the RGB copy: a 4K frame never becomes a 25 MB picture.
            scale = max(1.0, min(frame.width, frame.height) / (2 * size))
            picture = frame.to_image(width=round(frame.width / scale), height=round(frame.height / scale))
            if frame.rotation:  # degrees counter-clockwise, as PIL's rotate takes them
                picture = picture.rotate(frame.rotation, expand=True)
            pictures.append(_square(picture, size))
    if not pictures:
        raise Unusable("no video frame could be decoded")
    return pictures


def _frame_at(container: av.container.InputContainer, stream: VideoStream, seconds: float) -> av.VideoFrame | None:
    """The first frame at or after `seconds` from the stream's start (the last one if the stream ends first):
    seek to the key frame before it, then decode forward (a phone's key frames are 1-2 s apart)."""
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
    if seconds > 0 and stream.time_base:
        container.seek(int((start + seconds) / stream.time_base), stream=stream, backward=True)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is None or frame.time >= start + seconds - 1e-3:
            return frame
    return last


def _seconds(container: av.container.InputContainer, stream: VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _check_size(width: int, height: int) -> None:
    if min(width, height) < MIN_PICTURE_SIDE:
        raise TooShort(f"too small: {width}x{height} px, under the {MIN_PICTURE_SIDE} px a picture needs")


def _square(rgb: Image.Image, size: int) -> Image.Image:
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    return rgb.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))


def _too_large(width: int, height: int) -> str:
    return (
        f"too large to decode: {width}x{height} = {width * height / 1e6:.0f} MP, over the "
        f"{MAX_PIXELS / 1e6:g} MP a picture may have; downscale it"
    )
