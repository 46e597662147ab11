"""Synaesthesia: a piece's picture pulled toward a point of the image latent that its own sound names.

The sound is described by where its walk went (the sound latent where the piece began and ended: the nets' own
account of it) and by four descriptors of what was heard (loudness, spectral centroid, flatness, flux). A
cross-modal map takes that description to a direction in the image latent; the point is the image walk's home
plus that direction at the prior's typical radius, so it lies where the generator has seen most of its noise.
`/ciel/synaesthesia` turns the picture from the image walk's own point (0, the node before synaesthesia) to the
sound's point (1) along a variance-keeping arc: halfway is as typical a point as either end, not a washed-out mean.

The default map is a seeded Gaussian projection, its seed taken from both checkpoints' sha256: the same nets
always pair the same sounds with the same pictures, and other nets pair them otherwise. Everything is float64
numpy from the piece's float32 samples, so the same sound gives the same picture, bit for bit.

A learned map (`crack`, ciel_node/crack/learnmap.py: the owner's pictures and sounds captured close in time) is kept
as synaesthesia.npz beside the image checkpoint, naming the two checkpoints it was learned for; the node uses it
for exactly those and the default map otherwise (learned_or_default).
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ciel_node.atomic import write_atomic

log = logging.getLogger(__name__)

DESCRIPTORS = ("loudness", "centroid", "flatness", "flux")
FRAME, HOP = 1024, 512
SILENCE = 1e-9  # power below this is no sound (a silent piece has descriptors of 0: the middle of their ranges)
LEARNED_MAP = "synaesthesia.npz"  # a map learned by `crack` from the owner's archive, beside the image checkpoint
MAP_FORMAT = 1
RELEARN = "relearn it with `ciel-node crack map ARCHIVE --out FOLDER` (FOLDER holds the two checkpoints)"


def descriptors(samples: np.ndarray, sample_rate: int, hop: int = HOP) -> np.ndarray:
    """Four numbers of about unit spread over the nets' sounds: loudness ((dBFS + 30) / 10), spectral centroid
    (octaves from 1 kHz), flatness (natural log of geometric over arithmetic mean power, / 4 + 1), flux (mean rise
    of the log-spectrum between frames). A longer `hop` looks at fewer frames: cheaper, for comparing the parts of
    one sound with each other (keyframes.py)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < FRAME:
        x = np.pad(x, (0, FRAME - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::hop] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    total = power.sum(axis=1)
    heard = total > SILENCE
    if not heard.any():
        return np.zeros(len(DESCRIPTORS))
    power, total = power[heard], total[heard]
    freqs = np.fft.rfftfreq(FRAME, 1.0 / sample_rate)
    rms = np.sqrt(np.mean(x * x))
    loudness = (20 * np.log10(max(rms, 1e-9)) + 30) / 10
    centroid = np.log2(max(float(np.sum(power @ freqs) / total.sum()), 20.0) / 1000.0)
    logp = np.log(power + SILENCE)
    flatness = float(np.mean(logp.mean(axis=1) - np.log(power.mean(axis=1) + SILENCE))) / 4 + 1
    flux = float(np.mean(np.maximum(np.diff(logp, axis=0), 0).mean(axis=1))) if len(logp) > 1 else 0.0
    return np.array([loudness, centroid, flatness, flux])


def description(samples: np.ndarray, sample_rate: int, began: np.ndarray, ended: np.ndarray) -> np.ndarray:
    """What the map reads of a piece's sound: the sound latent where it began and ended, then its descriptors."""
    return np.concatenate([np.asarray(began, np.float64), np.asarray(ended, np.float64),
                           descriptors(samples, sample_rate)])


class CrossMap:
    """A fixed linear map from a sound's description to a direction of the image latent."""

    def __init__(self, weights: np.ndarray, origin: str = "default", bias: np.ndarray | None = None) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)  # (image latent, description)
        self.origin = origin  # "default" (seeded) or "learned from N pairs"
        self.sha256 = ""  # a learned map's file (each piece's manifest names it with the checkpoints); "": default
        # A learned map's constant term (the archive's mean direction); the default map has none.
        self.bias = None if bias is None else np.asarray(bias, dtype=np.float64)  # (image latent,)

    @classmethod
    def default(cls, sound_latent: int, image_latent: int, audio_sha256: str, image_sha256: str) -> CrossMap:
        """The seeded projection for these two nets (a description of unit-spread numbers -> unit spread)."""
        width = 2 * sound_latent + len(DESCRIPTORS)
        seed = int.from_bytes(hashlib.sha256(f"{audio_sha256}:{image_sha256}".encode()).digest()[:8], "big")
        rng = np.random.default_rng([seed, 0x5E5A])
        return cls(rng.standard_normal((image_latent, width)) / np.sqrt(width))

    def point(self, described: np.ndarray, home: np.ndarray | None) -> np.ndarray:
        """The image latent point a description names: home + its direction at the prior's typical radius."""
        direction = self.weights @ described
        if self.bias is not None:
            direction = direction + self.bias
        norm = float(np.linalg.norm(direction))
        dim = self.weights.shape[0]
        if not np.isfinite(norm) or norm < 1e-12:  # nothing to go on: the home itself
            direction, norm = np.zeros(dim), 1.0
        point = direction * (np.sqrt(dim) / norm)
        return point if home is None else point + np.asarray(home, np.float64)


    def save(self, path: Path, audio_sha256: str, image_sha256: str, pairs: int,
             extra: dict[str, float] | None = None) -> None:
        """Write the map as an .npz naming the two checkpoints it was learned for (file_hash), atomically and byte for
        byte the same for the same map (the zip's dates are fixed: numpy's own savez stamps the time)."""
        arrays = {"format": np.array(MAP_FORMAT), "weights": self.weights,
                  "bias": np.zeros(len(self.weights)) if self.bias is None else self.bias,
                  "pairs": np.array(int(pairs)), "audio_sha256": np.array(audio_sha256),
                  "image_sha256": np.array(image_sha256)}
        arrays.update({k: np.array(float(v)) for k, v in (extra or {}).items()})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                data = io.BytesIO()
                np.lib.format.write_array(data, np.asarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), data.getvalue())
        write_atomic(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: Path, audio_sha256: str, image_sha256: str, shape: tuple[int, int] | None = None) -> CrossMap:
        """The learned map in `path` if it was learned for exactly these checkpoints (and has `shape`, if given).

        Raises FileNotFoundError (no map), MapMismatch (learned for other checkpoints) or ValueError (not a map:
        damaged, truncated, of another format), each with the reason."""
        try:
            raw = Path(path).read_bytes()  # read once: what is hashed is what is used
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                got = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
            raise ValueError(f"not a map this node can read ({str(e)[:80] or type(e).__name__})") from None
        try:
            if int(got["format"]) != MAP_FORMAT:
                raise ValueError(f"format {int(got['format'])}, this node reads {MAP_FORMAT}")
            weights, bias, pairs = got["weights"], got["bias"], int(got["pairs"])
            names = str(got["audio_sha256"]), str(got["image_sha256"])
        except KeyError as e:
            raise ValueError(f"not a map this node can read (no {e.args[0]})") from None
        except TypeError as e:
            raise ValueError(f"not a map this node can read ({e})") from None
        if names != (audio_sha256, image_sha256):
            raise MapMismatch(f"learned for other checkpoints (audio {names[0]}, images {names[1]}; these are "
                              f"{audio_sha256} and {image_sha256})")
        if (weights.dtype != np.float64 or weights.ndim != 2 or bias.shape != weights.shape[:1]
                or (shape is not None and weights.shape != shape)):
            raise ValueError(f"weights of shape {weights.shape} {weights.dtype}, not the {shape} these nets need")
        if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
            raise ValueError("weights that are not finite numbers")
        learned = cls(weights, f"learned from {pairs} pairs", bias)
        learned.sha256 = hashlib.sha256(raw).hexdigest()[:16]  # the short form the checkpoints are named by
        return learned


class MapMismatch(ValueError):
    """A learned map for other checkpoints than the ones loaded."""


def learned_or_default(path: Path, default: CrossMap, hashes: Callable[[], tuple[str, str]]) -> CrossMap:
    """The map learned from the owner's archive at `path` if it names exactly these checkpoints (`hashes`: their
    file_hash as (audio, image), asked only when there is a map), else `default`; one log line either way.
    Never raises: a node with a bad map file renders with the default one."""
    try:
        if not Path(path).is_file():
            log.info("synaesthesia: default map (no learned map beside the checkpoints)")
            return default
        learned = CrossMap.load(path, *hashes(), shape=default.weights.shape)
    except MapMismatch as e:
        log.warning("synaesthesia: %s was %s: using the default map; %s", path, e, RELEARN)
        return default
    except (ValueError, OSError) as e:
        log.warning("synaesthesia: %s is unusable (%s): using the default map; %s", path, e, RELEARN)
        return default
    log.info("synaesthesia: the map %s (%s)", learned.origin, path)
    return learned


def pull(z: np.ndarray, target: np.ndarray, amount: float, home: np.ndarray | None) -> np.ndarray:
    """From `z` (amount 0) to `target` (amount 1) on the arc around `home` that keeps a point's spread: the two
    offsets from home mixed by cos and sin of amount * 90 degrees."""
    h = np.zeros_like(z) if home is None else np.asarray(home, np.float64)
    angle = float(amount) * np.pi / 2
    return h + np.cos(angle) * (np.asarray(z, np.float64) - h) + np.sin(angle) * (target - h)
