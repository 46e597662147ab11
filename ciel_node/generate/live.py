"""The endless sound for the speakers: the latent walk decoded a few frames at a time, so a knob acts now.

Unlike a piece (rendered whole, with fades at its edges), the live sound never stops: the walk, the
phase reconstruction and the leveller carry on from block to block, and the node cuts the published
pieces out of it. Controls are read per block: a drift change (or a moved home) re-aims the walk from where
it is, a seed change jumps to that seed's origin, a ceiling change ramps within the block. The walk itself
is generate/walk.py's.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from ciel_node.bends import Bends
from ciel_node.generate import walk
from ciel_node.generate.audio import AudioRenderer, Leveller
from ciel_node.generate.phase import PhaseStream
from ciel_node.generate.place import Places
from ciel_node.generate.walk import AUDIO_STREAM, LiveWalk
from ciel_node.state import Controls

__all__ = ["LiveSound", "LiveWalk"]

# A block is BLOCK frames (64 ms at hop 256, 16 kHz), solved with LOOKAHEAD frames after it (walked, decoded and
# phase-solved, not committed: their phases seed the next block's), ITERATIONS of every 16 the pieces run
# (--gl-iterations, 16: 8 here). A push of a few frames costs mostly torch's per-call overhead (an iteration is ~20
# small calls), so the live sound takes few iterations a push and many pushes a frame: each frame is solved in
# (BLOCK + LOOKAHEAD) / BLOCK = 5 pushes, 40 iterations in all, each push going on from the last one's phases. New
# frames start from the phase-vocoder guess (PhaseStream init="advance"), not random phases. bench/phase.py --live, the
# shipped net's walk, 4 seeds x 20 s, spectral convergence (lower is better) of the whole sound and the median of its
# 5 s stretches, and phase CPU on one thread:
#   2 frames + 4 ahead, 16 iterations, random starts (until issue 18)   0.174  0.153   4.7 % of a core
#   4 + 8, 16 iterations, the guess                                     0.166  0.164   2.9 %
#   4 + 16, 8 iterations, the guess (now)                               0.167  0.168   2.3 %
#   4 + 16, 6 iterations / 4 + 12, 10 iterations, the guess             0.171  0.172   1.8 % / 0.168  0.165  2.4 %
# The guess is better where random starts go wrong (one stretch in 24 has 0.19), and a little worse elsewhere.
# (Those CPU figures are the solve in torch ops. Since phase_kernels.py and fft.py: 1.0 % now, 2.6 % at 2 + 4.)
# The whole engine at the default settings (bench/playback.py's idle run, with the engine's BURST) took 8.2-8.5 % of a
# core at 4 + 16 with 8 iterations, 9.4-10.0 % at 4 + 8 with 16, 14.4-15.3 % before issue 18 (3 runs each,
# alternating, this 2-core VM). Eight frames a block would cost less again, but a 128 ms block steps a glide or a sweep
# audibly (they are heard a block at a time).
BLOCK = 4
LOOKAHEAD = 16
ITERATIONS = 8  # of 16: live_iterations()
PHASE_INIT = "advance"


def live_iterations(piece_iterations: int) -> int:
    """The live sound's iterations a push for the pieces' `piece_iterations` (8 for the default 16, at least 1)."""
    return max(1, round(piece_iterations * ITERATIONS / 16))


class LiveSound:
    """Renders the live sound block by block (`block` frames, 64 ms at the default)."""

    def __init__(self, renderer: AudioRenderer, block: int = BLOCK, lookahead: int = LOOKAHEAD,
                 places: Places | None = None) -> None:
        self.r = renderer
        self.places = places or Places()
        self.block, self.lookahead = block, lookahead
        self.sample_rate = renderer.sample_rate
        self.phase = self._phase_stream(renderer)
        self.leveller = Leveller(renderer.sample_rate, total=None)
        self.seed, self.step = 0, 0
        self.rng = walk.piece_rng(0, 0, AUDIO_STREAM)
        self.walk = LiveWalk(np.zeros(renderer.latent), renderer.frame_rate)
        self.pending = np.zeros((0, renderer.latent))  # look-ahead frames: generated, not yet committed
        # The magnitudes of the first pending frames and the bends they were decoded under, or None: each frame is
        # decoded once, when it is walked, not again for each block it is looked ahead in (a third of the decoding).
        self.decoded: tuple[torch.Tensor, Bends] | None = None
        self.committed_z = self.walk.z

    @staticmethod
    def _phase_stream(r: AudioRenderer) -> PhaseStream:
        return PhaseStream(r.framing, live_iterations(r.phase.iterations), r.phase.momentum, PHASE_INIT)

    @property
    def block_samples(self) -> int:
        return self.block * self.r.hop

    def begin(self, seed: int, step: int, z: np.ndarray, home: np.ndarray | None = None) -> None:
        """Start sounding from (seed, step, z), where the last published piece left the walk, around `home`
        (None: the prior's mean): fades in."""
        self.phase = self._phase_stream(self.r)
        self.leveller = Leveller(self.sample_rate, total=None)
        self.start(seed, step, z, home)

    def resume(self, state: walk.WalkState) -> None:
        """begin() from the node's walk: its seed, step, sound point and sound home."""
        self.begin(state.seed, state.step, np.asarray(state.audio_z), state.home("audio"))

    def start(self, seed: int, step: int, z: np.ndarray, home: np.ndarray | None = None) -> None:
        """Walk on from (seed, step, z); the sound itself carries on."""
        self.seed, self.step = seed, step
        self.rng = walk.piece_rng(seed, step, AUDIO_STREAM)
        self.walk = LiveWalk(np.asarray(z), self.r.frame_rate, home=home)
        self.pending, self.decoded = np.zeros((0, self.r.latent)), None
        self.committed_z = self.walk.z

    def swap(self, renderer: AudioRenderer, places: Places) -> None:
        """A hot swap's model from the next block on (same shape): the walk, the phase stream and the leveller carry
        on; the frames looked ahead are decoded again by the new model."""
        self.r, self.places, self.decoded = renderer, places, None

    def move_home(self, home: np.ndarray | None) -> None:
        """Revert to `home` from the next block on (None: the prior's mean), re-aimed from the last frame played."""
        self.walk.move_home(home)

    def snapshot(self) -> tuple[Any, ...]:
        """Its whole state between blocks (not the model), for restore(): render() goes on from here again with the
        same bits for the same controls, or with other controls, as the engine's cut-in does."""
        # The walk's fields and these arrays are replaced as it goes, never changed in place: references do.
        # The rng by its bit generator's state (a dict, 1 us), not a deep copy (26 us): snapshots are taken every block.
        return (self.seed, self.step, self.rng.bit_generator.state, copy.copy(self.walk), self.pending, self.decoded,
                self.committed_z, self.phase.snapshot(), self.leveller.snapshot())

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        self.seed, self.step, rng, walk, self.pending, self.decoded, self.committed_z, phase, leveller = snapshot
        self.rng = np.random.Generator(getattr(np.random, rng["bit_generator"])())
        self.rng.bit_generator.state = rng
        self.walk = copy.copy(walk)
        self.phase.restore(phase)
        self.leveller.restore(leveller)

    def cut(self) -> tuple[int, int, np.ndarray]:
        """A piece boundary: the next piece's noise is its own (seed, step); returns where the walk is."""
        self.step += 1
        self.rng = walk.piece_rng(self.seed, self.step, AUDIO_STREAM)
        return self.seed, self.step, self.committed_z.copy()

    def render(self, controls: Controls) -> np.ndarray:
        """One block of levelled float32 samples under `controls` (the first block is shorter)."""
        if controls.seed != self.seed:  # a new seed is its origin, as for pieces (around the same home, carried)
            z = walk.origin(controls.seed, self.r.latent, AUDIO_STREAM)
            self.start(controls.seed, 0, z if self.walk.home is None else z + self.walk.home, self.walk.home)
        home = self.places.home("sound", controls) if self.places.steers("sound", controls) else self.walk.home
        if not _same(home, self.walk.home):  # a performer moved the home (xy, a direction, a glide's step): carried
            shift = self.walk.carry(home)
            self.pending, self.committed_z, self.decoded = self.pending + shift, self.committed_z + shift, None
        if controls.drift != self.walk.drift and len(self.pending):
            # Re-aim from the last committed frame; the look-ahead frames were walked at the old drift (or home).
            self.pending, self.decoded = self.pending[:0], None
            self.walk.z = self.committed_z
        need = self.block + self.lookahead - len(self.pending)
        if need > 0:
            self.pending = np.vstack([self.pending, self.walk.frames(need, controls.drift, self.rng)])
        bends = controls.bends
        if self.decoded is not None and self.decoded[1] == bends:
            mags = torch.cat([self.decoded[0], self.r.magnitudes(self.pending[len(self.decoded[0]) :], bends)])
        else:  # a bend changed (or nothing is decoded): every pending frame under the bends now
            mags = self.r.magnitudes(self.pending, bends)
        samples = self.phase.push(mags[: self.block], mags[self.block :], self.rng)
        self.committed_z = self.pending[self.block - 1].copy()
        self.pending, self.decoded = self.pending[self.block :], (mags[self.block :], bends)
        return self.leveller.process(samples, controls.volume_ceiling)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))
