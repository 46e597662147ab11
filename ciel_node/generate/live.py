"""The endless sound for the speakers: the latent walk decoded a few frames at a time, so a knob acts now.

Unlike a piece (rendered whole, with fades at its edges), the live sound never stops: the walk, the
phase reconstruction and the leveller carry on from block to block, and the node cuts the published
pieces out of it. Controls are read per block: a drift change re-aims the walk from where it is, a
seed change jumps to that seed's origin, a ceiling change ramps within the block.
"""

from __future__ import annotations

import math

import numpy as np

from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, Leveller
from ciel_node.generate.phase import PhaseStream
from ciel_node.generate.piece import AUDIO_STREAM
from ciel_node.state import Controls


class LiveWalk:
    """The sound latent, frame by frame: OU knots every `knot_s`, straight lines between them.

    A re-aimed walk (a drift change) reaches its first knot after only `onset_s`: that knot is an exact OU step
    for the shorter time, so the walk's law is unchanged, but the sound starts moving at once instead of creeping
    along the first third of a 0.1 s segment while a performer listens for the knob.
    """

    # Knots closer than a piece's (0.25 s): the walk turns, and starts moving, soon after a knot moves.
    def __init__(self, z: np.ndarray, frame_rate: float, knot_s: float = 0.1, onset_s: float = 0.032) -> None:
        self.frame_rate, self.knot_s, self.onset_s = frame_rate, knot_s, onset_s
        self.z = np.asarray(z, dtype=np.float64)
        self.prev = self.next = self.z
        self.segment_s = knot_s  # the length of the segment from prev to next
        self.u = 1.0  # position between prev and next, as a fraction of the segment; 1 = draw a new knot first
        self.drift = math.nan

    def aim(self, z: np.ndarray, drift: float, rng: np.random.Generator) -> None:
        """Start a new, short segment at z toward a knot drawn with this drift: a change is heard at once."""
        self.z = self.prev = np.asarray(z, dtype=np.float64)
        self.drift = drift
        self.segment_s = self.onset_s
        self.next = walk.ou_step(self.prev, walk.AUDIO_RATE_PER_S * drift, self.segment_s, rng)[0]
        self.u = 0.0

    def frames(self, n: int, drift: float, rng: np.random.Generator) -> np.ndarray:
        if drift != self.drift:
            self.aim(self.z, drift, rng)
        out = np.empty((n, self.z.shape[0]))
        for i in range(n):
            self.u += 1.0 / (self.frame_rate * self.segment_s)
            if self.u >= 1.0:
                past_s = (self.u - 1.0) * self.segment_s  # how far into the next segment this frame is
                self.segment_s = self.knot_s
                self.u = past_s / self.segment_s
                self.prev = self.next
                self.next = walk.ou_step(self.prev, walk.AUDIO_RATE_PER_S * drift, self.segment_s, rng)[0]
            self.z = (1.0 - self.u) * self.prev + self.u * self.next
            out[i] = self.z
        return out


class LiveSound:
    """Renders the live sound block by block (`block` frames, about 32 ms at the default)."""

    def __init__(self, renderer: AudioRenderer, block: int = 2, lookahead: int = 4) -> None:
        self.r = renderer
        self.block, self.lookahead = block, lookahead
        self.sample_rate = renderer.sample_rate
        self.phase = PhaseStream(renderer.framing, renderer.phase.iterations, renderer.phase.momentum)
        self.leveller = Leveller(renderer.sample_rate, total=None)
        self.seed, self.step = 0, 0
        self.rng = walk.piece_rng(0, 0, AUDIO_STREAM)
        self.walk = LiveWalk(np.zeros(renderer.latent), renderer.frame_rate)
        self.pending = np.zeros((0, renderer.latent))  # look-ahead frames: generated, not yet committed
        self.committed_z = self.walk.z

    @property
    def block_samples(self) -> int:
        return self.block * self.r.hop

    def begin(self, seed: int, step: int, z: np.ndarray) -> None:
        """Start sounding from (seed, step, z), where the last published piece left the walk: fades in."""
        self.phase = PhaseStream(self.r.framing, self.r.phase.iterations, self.r.phase.momentum)
        self.leveller = Leveller(self.sample_rate, total=None)
        self.start(seed, step, z)

    def start(self, seed: int, step: int, z: np.ndarray) -> None:
        """Walk on from (seed, step, z); the sound itself carries on."""
        self.seed, self.step = seed, step
        self.rng = walk.piece_rng(seed, step, AUDIO_STREAM)
        self.walk = LiveWalk(np.asarray(z), self.r.frame_rate)
        self.pending = np.zeros((0, self.r.latent))
        self.committed_z = self.walk.z

    def cut(self) -> tuple[int, int, np.ndarray]:
        """A piece boundary: the next piece's noise is its own (seed, step); returns where the walk is."""
        self.step += 1
        self.rng = walk.piece_rng(self.seed, self.step, AUDIO_STREAM)
        return self.seed, self.step, self.committed_z.copy()

    def render(self, controls: Controls) -> np.ndarray:
        """One block of levelled float32 samples under `controls` (the first block is shorter)."""
        if controls.seed != self.seed:  # a new seed is its origin, as for pieces
            self.start(controls.seed, 0, walk.origin(controls.seed, self.r.latent, AUDIO_STREAM))
        if controls.drift != self.walk.drift and len(self.pending):
            # Re-aim from the last committed frame; the look-ahead frames were walked at the old drift.
            self.pending = self.pending[:0]
            self.walk.z = self.committed_z
        need = self.block + self.lookahead - len(self.pending)
        if need > 0:
            self.pending = np.vstack([self.pending, self.walk.frames(need, controls.drift, self.rng)])
        mags = self.r.magnitudes(self.pending)
        samples = self.phase.push(mags[: self.block], mags[self.block :], self.rng)
        self.committed_z = self.pending[self.block - 1].copy()
        self.pending = self.pending[self.block :]
        return self.leveller.process(samples, controls.volume_ceiling)

