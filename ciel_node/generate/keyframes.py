"""Keyframes: the piece's picture moved through the piece by its own sound, published as one strip of skies.

A piece's sound is cut into K equal segments; segment k's keyframe is the piece's image point moved by what was
heard in that segment against the whole piece:
- loudness: a pulse away from the image home (louder segments further out, quieter ones nearer, back as it falls);
- spectral centroid: a move along one direction (brighter one way, darker the other);
- spectral flux: travel along another, the running sum of the flux, so a busy sound carries the sky further.
The directions come from the cross-modal map's own centroid and flux columns (the same nets always move their
skies the same way), made orthogonal to the radial one and to each other. Every offset is scaled by
`/ciel/synaesthesia` and bounded, so a keyframe stays the same picture, moved: at 0 nothing moves and the piece has
no keyframes. Keyframe k is shown from `times[k]` (seconds from the piece's start: the start of its segment).

Everything is float64 numpy from the piece's float32 samples: the same sound gives the same keyframes, bit for bit.
"""

from __future__ import annotations

import numpy as np

from ciel_node.generate.synaesthesia import DESCRIPTORS, HOP, CrossMap, descriptors

# Latent units per descriptor unit at synaesthesia 1 (descriptors are of about unit spread: synaesthesia.py). The
# image latent's typical radius is sqrt(latent) (10 for the shipped 100): these move a keyframe visibly, and the
# bound keeps it the piece's own picture.
LOUDNESS_PULSE = 3.0
CENTROID_MOVE = 2.0
FLUX_TRAVEL = 8.0
MAX_OFFSET = 4.0  # no keyframe further than this from the piece's point, at synaesthesia 1
# The parts of a sound are compared by every fourth analysis frame of synaesthesia's (a 1024-sample window every
# 2048 samples, 128 ms at 16 kHz; a 5 s part still has 39 of them): 4 ms for a 30 s piece instead of 11.
SEGMENT_HOP = 4 * HOP


def keyframe_times(duration_s: float, count: int) -> list[float]:
    """When each keyframe is shown: the start of its segment, in seconds from the piece's start (the first at 0)."""
    return [round(duration_s * k / count, 6) for k in range(count)]


def keyframe_points(samples: np.ndarray, sample_rate: int, point: np.ndarray, home: np.ndarray | None,
                    crossmap: CrossMap, count: int, amount: float) -> np.ndarray:
    """(count, latent) image points: `point` (the piece's picture) moved by each segment's sound (module doc)."""
    z = np.asarray(point, np.float64)
    h = np.zeros_like(z) if home is None else np.asarray(home, np.float64)
    segments = np.array_split(np.asarray(samples), count)
    heard = np.array([descriptors(s, sample_rate, SEGMENT_HOP) for s in segments])  # (count, descriptors)
    loud = heard[:, DESCRIPTORS.index("loudness")]
    bright = heard[:, DESCRIPTORS.index("centroid")]
    flux = np.cumsum(heard[:, DESCRIPTORS.index("flux")])
    radial, along, travel = _directions(z - h, crossmap)
    offsets = (LOUDNESS_PULSE * np.outer(loud - loud.mean(), radial)
               + CENTROID_MOVE * np.outer(bright - bright.mean(), along)
               + FLUX_TRAVEL * np.outer(flux - flux.mean(), travel))
    norms = np.linalg.norm(offsets, axis=1, keepdims=True)
    offsets *= np.minimum(1.0, MAX_OFFSET / np.maximum(norms, 1e-12))
    return z[None, :] + float(amount) * offsets


def _directions(offset: np.ndarray, crossmap: CrossMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three orthonormal directions of the image latent: out from the home through the point, then the map's
    centroid and flux columns with what came before taken out (Gram-Schmidt)."""
    dim = len(offset)
    width = crossmap.weights.shape[1]
    columns = [offset, crossmap.weights[:, width - len(DESCRIPTORS) + DESCRIPTORS.index("centroid")],
               crossmap.weights[:, width - len(DESCRIPTORS) + DESCRIPTORS.index("flux")]]
    basis: list[np.ndarray] = []
    for i, v in enumerate(columns):
        v = np.array(v, np.float64)
        for b in basis:
            v -= (v @ b) * b
        norm = float(np.linalg.norm(v))
        if not np.isfinite(norm) or norm < 1e-9:  # the point at its home, or a degenerate map: a fixed axis
            v = np.zeros(dim)
            v[i % dim] = 1.0
            for b in basis:
                v -= (v @ b) * b
            norm = float(np.linalg.norm(v)) or 1.0
        basis.append(v / norm)
    return basis[0], basis[1], basis[2]
