"""One piece = one step of both latent walks, rendered: image, sky (and its keyframes), WAV, MP3 and Opus under the
ceiling."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import soundfile as sf

from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, db_to_gain
from ciel_node.generate.image import ImageFormat, ImageRenderer
from ciel_node.generate.keyframes import keyframe_points, keyframe_times
from ciel_node.generate.place import Places
from ciel_node.generate.synaesthesia import CrossMap, description, pull
from ciel_node.generate.walk import AUDIO_STREAM, IMAGE_STREAM, LivePoint, WalkState
from ciel_node.state import Controls

__all__ = ["AUDIO_STREAM", "IMAGE_STREAM", "Composer", "RenderedPiece", "WalkState", "encode_mp3", "encode_opus",
           "encode_wav"]
OPUS_BIT_RATE = 24000  # the page's sound where it plays Opus: ~23 % lighter than the MP3 and nearer the WAV (bench)


@dataclass(frozen=True)
class RenderedPiece:
    controls: Controls
    step: int
    image: bytes  # the 256x256 picture, encoded as image_format says
    sky: bytes  # its all-sky rendition, the same way
    wav: bytes
    mp3: bytes
    duration_s: float
    render_s: float
    samples: np.ndarray = field(repr=False)
    opus: bytes = b""  # the same sound as Ogg Opus (bench/audience.py: lighter than the MP3 and nearer the WAV)
    image_format: ImageFormat = ImageFormat()
    keyframes: bytes = b""  # the skies its sound moves its picture through, one strip (keyframes.py); b"": none
    keyframe_times: tuple[float, ...] = ()  # when each is shown, seconds from the piece's start


class Composer:
    """Turns (walk state, controls) into a piece and the next walk state; no I/O, no clock."""

    def __init__(self, audio: AudioRenderer, image: ImageRenderer, max_sound_s: float = 120.0,
                 places: Places | None = None, crossmap: CrossMap | None = None) -> None:
        self.audio, self.image = audio, image
        self.max_sound_s = max_sound_s
        self.places = places or Places()
        # Synaesthesia's map from a sound to an image point (default: seeded by no checkpoint, for tests and benches)
        self.crossmap = crossmap or CrossMap.default(audio.latent, image.latent, "", "")

    def start(self, seed: int) -> WalkState:
        return WalkState.origin(seed, self.audio.latent, self.image.latent)

    def compose(self, state: WalkState, controls: Controls) -> tuple[RenderedPiece, WalkState]:
        """A piece rendered ahead, whole: its own sound (faded at both ends) and the next image."""
        t0 = time.perf_counter()
        if state.seed != controls.seed:  # a new seed is a new origin: same seed, same pieces
            state = state.reseeded(controls.seed)
        state = self._steered(state, controls)
        rng = walk.piece_rng(state.seed, state.step, AUDIO_STREAM)
        seconds = min(controls.interval, self.max_sound_s)
        trajectory = walk.audio_trajectory(
            np.asarray(state.audio_z), controls.drift, seconds, self.audio.frame_rate, rng, home=state.home("audio")
        )
        # Exactly `seconds` of sound, so pieces played back to back leave no gap and do not overlap.
        length = int(round(seconds * self.audio.sample_rate))
        samples = self.audio.render(trajectory, controls.volume_ceiling, rng, length, controls.bends)
        return self._finish(state, controls, samples, tuple(trajectory[-1]), state.step + 1, t0)

    def assemble(
        self, state: WalkState, controls: Controls, samples: np.ndarray, played: LivePoint
    ) -> tuple[RenderedPiece, WalkState]:
        """A piece around sound that already played (cut from the live sound, which `played` ended at): the next
        image, the files."""
        t0 = time.perf_counter()
        if state.seed != played.seed:
            state = state.reseeded(played.seed)
        state = self._steered(state, controls)
        audio_z = tuple(np.asarray(played.audio_z, dtype=np.float64))
        return self._finish(state, controls, samples, audio_z, state.step + 1, t0)

    def _steered(self, state: WalkState, controls: Controls) -> WalkState:
        """Both walks carried to the homes the controls put them at (xy, directions): see WalkState.carried."""
        p = self.places
        return state.carried(p.home("sound", controls) if p.steers("sound", controls) else state.home("audio"),
                             p.home("image", controls) if p.steers("image", controls) else state.home("image"))

    def _finish(
        self, state: WalkState, controls: Controls, samples: np.ndarray, audio_z: tuple[float, ...], step: int,
        t0: float,
    ) -> tuple[RenderedPiece, WalkState]:
        image_z = np.asarray(state.image_z)
        if state.step > 0:
            rng = walk.piece_rng(state.seed, state.step, IMAGE_STREAM)
            image_z = walk.image_step(image_z, controls.drift, rng, home=state.home("image"))
        shown = image_z
        sr = self.audio.sample_rate
        strip, times = b"", list[float]()
        if controls.synaesthesia > 0:  # the picture pulled toward its sound's point; the image walk goes on as it was
            home = state.home("image")
            heard = description(samples, sr, np.asarray(state.audio_z), np.asarray(audio_z))
            shown = pull(image_z, self.crossmap.point(heard, home), controls.synaesthesia, home)
            if controls.keyframes > 0 and len(samples) > 0:  # and moved through the piece by its sound
                points = keyframe_points(samples, sr, shown, home, self.crossmap, controls.keyframes,
                                         controls.synaesthesia)
                strip, times = self.image.strip(points, controls.bends), keyframe_times(len(samples) / sr,
                                                                                         controls.keyframes)
        image, sky = self.image.render(shown, controls.bends)
        piece = RenderedPiece(
            controls=controls, step=state.step, image=image, sky=sky, image_format=self.image.format,
            wav=encode_wav(samples, sr), mp3=encode_mp3(samples, sr, controls.volume_ceiling),
            opus=encode_opus(samples, sr, controls.volume_ceiling),
            duration_s=len(samples) / sr, render_s=time.perf_counter() - t0, samples=samples,
            keyframes=strip, keyframe_times=tuple(times),
        )
        return piece, replace(state, step=step, audio_z=audio_z, image_z=tuple(image_z))


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    # Truncate toward zero so quantisation never lifts a sample past the ceiling.
    pcm = np.trunc(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


# How far a codec's decoded peak rises over the input's sample peak (it rings), measured on rendered pieces at
# 16 kHz by bench/encode.py: MP3 (libsndfile's LAME VBR) 0.0-2.1 dB over 49 sounds, mean 0.6; Opus (24 kbit/s)
# 0.0-2.3 dB over 25, mean 0.9. Pre-scaling by the margin encodes once; the decode check stays the safety net.
MP3_MARGIN_DB = 2.0
OPUS_MARGIN_DB = 2.5


def encode_mp3(samples: np.ndarray, sample_rate: int, ceiling_db: float, tries: int = 4,
               stats: dict[str, int] | None = None) -> bytes:
    """MP3 for the web (libsndfile's LAME), never above the ceiling when decoded: see _under_ceiling."""
    def encode(x: np.ndarray) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, x, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
        return buf.getvalue()

    def peak(data: bytes) -> float:
        decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
        return float(np.max(np.abs(decoded), initial=0.0))

    return _under_ceiling(encode, peak, samples, ceiling_db, MP3_MARGIN_DB, tries, stats)


def encode_opus(samples: np.ndarray, sample_rate: int, ceiling_db: float, tries: int = 4,
                bit_rate: int = OPUS_BIT_RATE, stats: dict[str, int] | None = None) -> bytes:
    """Ogg Opus for the web (libopus through PyAV, bit-exact: the same samples give the same bytes), never above
    the ceiling when decoded: see _under_ceiling. libopus takes 8/12/16/24/48 kHz as it is; other rates are
    resampled to 48 kHz first."""
    import av

    rate = sample_rate if sample_rate in (8000, 12000, 16000, 24000, 48000) else 48000

    def encode(x: np.ndarray) -> bytes:
        buf = io.BytesIO()
        with av.open(buf, "w", format="ogg", options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream("libopus", rate=rate, options={"application": "audio", "compression_level": "5"})
            stream.bit_rate = bit_rate
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = sample_rate
            to_codec = av.AudioResampler(format="flt", layout="mono", rate=rate, frame_size=960 * rate // 48000)
            for f in [*to_codec.resample(frame), *to_codec.resample(None)]:
                for packet in stream.encode(f):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return buf.getvalue()

    return _under_ceiling(encode, _decoded_peak, samples, ceiling_db, OPUS_MARGIN_DB, tries, stats)


def _under_ceiling(
    encode: Callable[[np.ndarray], bytes], decoded_peak: Callable[[bytes], float], samples: np.ndarray,
    ceiling_db: float, margin_db: float, tries: int, stats: dict[str, int] | None,
) -> bytes:
    """Encoded once, pre-scaled by the headroom the codec takes (margin_db over the sample peak), then decoded to
    check; re-encoded quieter only if it still overshoots, and after `tries` encodes, silence rather than sound over
    the ceiling. `stats`, if given, receives {"encodes": n} (tests and bench/encode.py count them)."""
    ceiling = db_to_gain(ceiling_db)
    x = samples.astype(np.float32)
    predicted = float(np.max(np.abs(x), initial=0.0)) * db_to_gain(margin_db)
    if predicted > ceiling:
        x = x * np.float32(ceiling / predicted)
    for n in range(1, tries + 1):
        data = encode(x)
        peak = decoded_peak(data)
        if peak <= ceiling:
            if stats is not None:
                stats["encodes"] = n
            return data
        x = x * np.float32(ceiling / peak * 0.97)
    if stats is not None:
        stats["encodes"] = tries + 1
    return encode(np.zeros_like(x))


def _decoded_peak(data: bytes) -> float:
    import av

    peak = 0.0
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(container.streams.audio[0]):
            peak = max(peak, float(np.max(np.abs(frame.to_ndarray()), initial=0.0)))
    return peak
