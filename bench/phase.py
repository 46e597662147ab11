"""Phase reconstruction speed (issue 18, Build 3): today's code against the F.fold/complex-division code it
replaced, in the same run, on one thread, at the shipped checkpoint's framing.

    python bench/phase.py               # 30 s piece stream, live-shaped pushes, whole piece render
    python bench/phase.py --runs 9 --json out.json
    python bench/phase.py --live        # only the live sound's schedule: before issue 18 against now

--live compares the live sound's phase schedules on the same magnitudes (the shipped net's walk, 4 seeds x 20 s):
pushes of 2 frames with 4 ahead from random phases (until issue 18) against the live sound's own (generate/live.py
BLOCK, LOOKAHEAD, ITERATIONS, PHASE_INIT), and 4 + 8 at the pieces' iterations between them: spectral convergence
(lower is better) and CPU per second of sound, medians.

Old and new runs alternate, so a busy machine slows both alike; each figure is the median of --runs.
The old code is kept here verbatim (overlap-add through F.fold, `z / (|z| + 1e-12)` on complex64, a
torch.cat per iteration) as the reference peer; both must give the same samples, which is checked.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.generate import walk  # noqa: E402
from ciel_node.generate.audio import AudioRenderer  # noqa: E402
from ciel_node.generate.phase import Framing, PhaseStream, StreamingGriffinLim  # noqa: E402
from ciel_node.models.audio_vae import SpectralVAE  # noqa: E402

AUDIO_CKPT = ROOT / "checkpoints" / "audio.pt"


class OldFraming(Framing):
    """The framing as it was: overlap-add through F.fold."""

    def overlap_add(self, spectra: torch.Tensor) -> torch.Tensor:
        frames = torch.fft.irfft(spectra, n=self.n_fft, dim=-1) * (self.window / self.norm)
        w = frames.shape[0]
        return F.fold(
            frames.T[None], output_size=(1, (w - 1) * self.hop + self.n_fft), kernel_size=(1, self.n_fft),
            stride=(1, self.hop),
        ).flatten()


class OldPhaseStream(PhaseStream):
    """The solver as it was: a cat, an overlap-add of every frame and a complex division per iteration."""

    def _solve(self, fixed: torch.Tensor, target: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        c = fixed.shape[0]
        beta = self.momentum / (1.0 + self.momentum)
        angles = torch.polar(torch.ones_like(target), phase)
        rebuilt = torch.zeros_like(angles)
        for _ in range(self.iterations):
            previous = rebuilt
            signal = self.f.overlap_add(torch.cat([fixed, target * angles]))
            rebuilt = self.f.analyse(signal)[c:]
            angles = rebuilt - beta * previous
            angles = angles / (angles.abs() + 1e-12)
        return target * angles


class OldStreamingGriffinLim(StreamingGriffinLim):
    """StreamingGriffinLim.stream over the old framing and solver."""

    def stream(self, mags: torch.Tensor, rng: np.random.Generator) -> Iterator[np.ndarray]:
        total = mags.shape[0]
        ps = OldPhaseStream(self.f, self.iterations, self.momentum)
        for s in range(0, total, self.block):
            e = min(total, s + self.block)
            out = ps.push(mags[s:e], mags[e : min(total, e + self.lookahead)], rng)
            if e == total:
                out = np.concatenate([out, ps.flush(total * self.f.hop)])
            yield out


def paired(old: Callable[[], np.ndarray], new: Callable[[], np.ndarray], runs: int) -> tuple[float, float]:
    """Median CPU seconds of old and new, alternating; both must produce the same samples.

    CPU time of this process, not wall time: on a shared machine another process's load stretches the
    wall clock but not the work done here (one thread, so CPU time is the time a quiet machine takes).
    """
    a, b = old(), new()  # warm-up, and the check
    if not np.array_equal(a, b):
        raise SystemExit(f"old and new differ: max abs {float(np.max(np.abs(a - b))):.3g}")
    t_old: list[float] = []
    t_new: list[float] = []
    for _ in range(runs):
        for fn, times in ((old, t_old), (new, t_new)):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
    return statistics.median(t_old), statistics.median(t_new)


def live_pushes(ps: PhaseStream, mags: torch.Tensor, block: int = 2, lookahead: int = 4, seed: int = 0) -> np.ndarray:
    """The live engine's shape: `block` frames a push with `lookahead` of look-ahead."""
    rng = np.random.default_rng(seed)
    out = [ps.push(mags[s : s + block], mags[s + block : s + block + lookahead], rng)
           for s in range(0, len(mags) - block - lookahead, block)]
    return np.concatenate(out)


def live_schedules(renderer: AudioRenderer, seeds: int = 4, seconds: float = 20.0, runs: int = 3) -> dict[str, Any]:
    """The live sound's phase schedules before issue 18 (2 + 4, random phases) and now, on the same magnitudes."""
    from ciel_node.generate import live

    its = renderer.phase.iterations
    schedules = {f"before (2 + 4, {its} iterations, random)": (2, 4, its, "random"),
                 f"4 + 8, {its} iterations, advance": (4, 8, its, "advance"),
                 f"now ({live.BLOCK} + {live.LOOKAHEAD}, {live.live_iterations(its)} iterations, {live.PHASE_INIT})":
                     (live.BLOCK, live.LOOKAHEAD, live.live_iterations(its), live.PHASE_INIT)}
    cfg = renderer.model.config
    mags = [renderer.magnitudes(walk.audio_trajectory(walk.origin(seed, cfg.latent, 1), 0.3, seconds,
                                                      renderer.frame_rate, walk.piece_rng(seed, 0, 1)))
            for seed in range(seeds)]
    out: dict[str, Any] = {}
    for name, (block, ahead, iterations, init) in schedules.items():
        scs, parts, cpu = [], [], []
        for i, m in enumerate(mags):
            for _ in range(runs):
                ps = PhaseStream(renderer.framing, iterations, renderer.phase.momentum, init)
                t0 = time.process_time()
                x = live_pushes(ps, m, block, ahead, seed=i)
                cpu.append((time.process_time() - t0) / (len(x) / renderer.sample_rate))
            got, frames = renderer.framing.magnitudes(x), len(x) // renderer.hop
            # The first frames reach before the stream, the last are not all committed: compared from 4 to -4.
            scs.append(_sc(got, m, 4, frames - 4))
            # ...and in 5 s stretches: the whole sound's figure weighs its loudest stretches most, and one stretch
            # that a schedule gets wrong can decide it (random starts do, once in 24 here).
            step = int(5 * renderer.frame_rate)
            parts.extend(_sc(got, m, s, min(s + step, frames - 4)) for s in range(4, frames - 4 - step // 2, step))
        out[name] = {"spectral_convergence": round(statistics.median(scs), 4),
                     "per_seed": [round(v, 4) for v in scs],
                     "spectral_convergence_5s_median": round(statistics.median(parts), 4),
                     "cpu_pct_of_a_core": round(100 * statistics.median(cpu), 2)}
        print(f"live {name}: spectral convergence {out[name]['spectral_convergence']} (median of {seeds} seeds), "
              f"{out[name]['spectral_convergence_5s_median']} (median of their {len(parts)} 5 s stretches), "
              f"{out[name]['cpu_pct_of_a_core']} % of a core (median of {seeds * runs})", flush=True)
    return out


def _sc(got: torch.Tensor, want: torch.Tensor, start: int, end: int) -> float:
    return float(torch.linalg.norm(got[start:end] - want[start:end]) / torch.linalg.norm(want[start:end]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--live", action="store_true", help="only the live sound's schedule, before and now")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    renderer = AudioRenderer(vae)
    if args.live:
        result = live_schedules(renderer)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return
    new_framing = renderer.framing
    cfg = vae.config
    old_framing = OldFraming(cfg.n_fft, cfg.hop)
    traj = walk.audio_trajectory(walk.origin(0, cfg.latent, 1), 0.1, args.seconds, renderer.frame_rate,
                                 walk.piece_rng(0, 0, 1))
    mags = renderer.magnitudes(traj)  # (T, F) the model's own magnitudes, as a piece renders them
    gl = renderer.phase
    old_gl = OldStreamingGriffinLim(old_framing, gl.iterations, gl.momentum, gl.block, gl.lookahead)
    rows: dict[str, dict[str, float]] = {}

    def row(name: str, old_s: float, new_s: float) -> None:
        rows[name] = {"old_ms": old_s * 1e3, "new_ms": new_s * 1e3, "ratio": old_s / new_s}
        print(f"{name}: old {old_s * 1e3:.1f} ms, new {new_s * 1e3:.1f} ms -> {old_s / new_s:.2f}x", flush=True)

    print(f"n_fft {cfg.n_fft}, hop {cfg.hop}, {args.seconds:g} s ({mags.shape[0]} frames), "
          f"{gl.iterations} iterations, 1 thread, median CPU time of {args.runs}; outputs identical (checked)")
    row(f"piece phase (blocks of {gl.block} + {gl.lookahead})",
        *paired(lambda: np.concatenate(list(old_gl.stream(mags, np.random.default_rng(0)))),
                lambda: np.concatenate(list(gl.stream(mags, np.random.default_rng(0)))), args.runs))
    live = mags[: int(10 * renderer.frame_rate)]
    row("live phase, 10 s (pushes of 2 + 4)",
        *paired(lambda: live_pushes(OldPhaseStream(old_framing, gl.iterations, gl.momentum), live),
                lambda: live_pushes(PhaseStream(new_framing, gl.iterations, gl.momentum), live), args.runs))
    # The whole piece render (decoder, phase, leveller) with the old phase swapped in, as bench/run.py times it.
    old_renderer = AudioRenderer(vae)
    old_renderer.phase = old_gl
    row(f"piece render, {args.seconds:g} s",
        *paired(lambda: old_renderer.render(traj, -6.0, np.random.default_rng(0)),
                lambda: renderer.render(traj, -6.0, np.random.default_rng(0)), args.runs))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
