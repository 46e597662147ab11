"""Phase reconstruction reproduces the samples the code made before it was sped up (issue 18, Build 3).

The golden file `tests/golden/phase.npz` holds what `ciel_node/generate/phase.py` produced at commit
c7e07db (F.fold overlap-add, complex-division normalisation) for fixed, seeded inputs: a piece-sized
stream and a live-sized stream at the shipped checkpoint's framing (n_fft 1024, hop 256), two other
framings (overlap 8 and 3), and the raw framing operations (overlap_add, analyse, magnitudes).

On the platform the goldens were made on (the torch version and SIMD level stored with them, the one
CI runs on), the faster code must give the same bytes: every float32 bit-identical. No tolerance there:
Griffin-Lim amplifies a last-bit change (a different summation order or division) to ~5e-6 in a piece
and ~1e-3 in a live stream within a few pushes, so "within 1e-6" would not even be a stable bound.

On another platform torch's own FFT and SIMD kernels round some last bits differently (the old code
would not reproduce the goldens either), so there the one-pass framing operations are held to a max abs
difference of 1e-6 (outputs peak at ~0.1-1) and the streams to the same sound: |STFT| within 2 % (L2,
relative) and level within 1 %. A broken overlap-add or normalisation misses those by far.

The goldens are only ever written by hand, from the old code:
    CIEL_PHASE_REGEN=1 python tests/test_phase_golden.py
(refused under CI=true); the tests never write them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ciel_node.generate.phase import Framing, PhaseStream, StreamingGriffinLim

GOLDEN = Path(__file__).parent / "golden" / "phase.npz"
TOL = 1e-6
STREAMS = {"piece_1024_256": (1024, 256), "live_1024_256": (1024, 256), "overlap8_512_64": (512, 64),
           "overlap3_384_128": (384, 128)}


def _platform() -> str:
    """What decides the last bits of torch's float kernels here: its version and the SIMD level in use."""
    return f"torch {torch.__version__.split('+')[0]} {torch.backends.cpu.get_cpu_capability()}"


def _mags(rng: np.random.Generator, frames: int, bins: int, scale: float) -> torch.Tensor:
    """(T, F) magnitudes like a decoder's: a smooth random spectral envelope over log-normal detail."""
    env = np.cumsum(rng.normal(0.0, 0.15, bins)) - np.linspace(0.0, 4.0, bins)
    drift = np.cumsum(rng.normal(0.0, 0.1, frames))[:, None]
    log = env[None, :] + drift + rng.normal(0.0, 1.0, (frames, bins))
    return torch.from_numpy((scale * np.exp(log)).astype(np.float32))


def _stream(n_fft: int, hop: int, frames: int, iterations: int, block: int, lookahead: int, seed: int,
            scale: float) -> np.ndarray:
    framing = Framing(n_fft, hop)
    mags = _mags(np.random.default_rng(seed), frames, n_fft // 2 + 1, scale)
    gl = StreamingGriffinLim(framing, iterations, block=block, lookahead=lookahead)
    return np.concatenate(list(gl.stream(mags, np.random.default_rng(seed + 100))))


def _live(seed: int) -> np.ndarray:
    # The live engine's shape: 2 frames a push with 4 of look-ahead, then a flush of the tails.
    framing = Framing(1024, 256)
    mags = _mags(np.random.default_rng(seed), 40, 513, 2.5)
    ps, rng, out = PhaseStream(framing), np.random.default_rng(seed + 100), []
    for s in range(0, 40, 2):
        out.append(ps.push(mags[s : s + 2], mags[s + 2 : s + 6], rng))
    out.append(ps.flush(40 * 256))
    return np.concatenate(out)


def _overlap_add(n_fft: int, hop: int, frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spec = rng.normal(size=(frames, n_fft // 2 + 1)) + 1j * rng.normal(size=(frames, n_fft // 2 + 1))
    return Framing(n_fft, hop).overlap_add(torch.from_numpy(spec.astype(np.complex64))).numpy()


def _analyse(n_fft: int, hop: int, frames: int, seed: int) -> np.ndarray:
    signal = np.random.default_rng(seed).normal(0.0, 0.02, (frames - 1) * hop + n_fft).astype(np.float32)
    return Framing(n_fft, hop).analyse(torch.from_numpy(signal)).numpy()


def _magnitudes(seed: int) -> np.ndarray:
    signal = np.random.default_rng(seed).normal(0.0, 0.02, 3000).astype(np.float32)
    return Framing(512, 128).magnitudes(signal).numpy()


CASES: dict[str, Callable[[], np.ndarray]] = {
    # A piece renders 30-frame blocks (under 0.5 s at 62.5 frames/s) with 4 of look-ahead, 16 iterations.
    "piece_1024_256": lambda: _stream(1024, 256, 64, 16, 30, 4, 1, 2.0),
    "live_1024_256": lambda: _live(2),
    "overlap8_512_64": lambda: _stream(512, 64, 40, 8, 7, 3, 3, 1.2),
    "overlap3_384_128": lambda: _stream(384, 128, 30, 12, 5, 2, 4, 1.2),
    "overlap_add_1024_256": lambda: _overlap_add(1024, 256, 8, 5),
    "overlap_add_256_32": lambda: _overlap_add(256, 32, 12, 6),
    "analyse_1024_256": lambda: _analyse(1024, 256, 6, 7),
    "magnitudes_512_128": lambda: _magnitudes(8),
}


@pytest.fixture(scope="module")
def golden() -> Iterator[dict[str, np.ndarray]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the goldens were made on one thread, as the piece renderer runs
    with np.load(GOLDEN) as g:
        yield {k: g[k] for k in g.files}
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(CASES))
def test_phase_reproduces_the_golden_output(name: str, golden: dict[str, np.ndarray]) -> None:
    want = golden[name]
    got = CASES[name]()
    assert got.dtype == want.dtype and got.shape == want.shape, (name, got.dtype, got.shape, want.shape)
    if str(golden["platform"]) == _platform():
        differ = int(np.count_nonzero(got.view(np.uint32) != want.view(np.uint32)))
        assert differ == 0, (f"{name}: {differ} of {got.size} values differ from the golden output "
                             f"(max abs {float(np.max(np.abs(got - want))):.3g}); it must be bit-identical")
    elif name not in STREAMS:
        diff = float(np.max(np.abs(got - want)))
        assert diff <= TOL, f"{name}: max abs difference {diff:.3g} from the golden output (allowed {TOL:g})"
    else:
        framing = Framing(*STREAMS[name])
        m_got, m_want = framing.magnitudes(got), framing.magnitudes(want)
        rel = float(torch.linalg.norm(m_got - m_want) / torch.linalg.norm(m_want))
        level = float(np.sqrt(np.mean(got.astype(np.float64) ** 2) / np.mean(want.astype(np.float64) ** 2)))
        assert rel <= 0.02 and abs(level - 1.0) <= 0.01, (name, rel, level)


@pytest.mark.parametrize(("n_fft", "hop"), [(1024, 256), (512, 64), (384, 128), (256, 16), (384, 24), (768, 64)])
def test_overlap_add_is_f_fold_bit_for_bit(n_fft: int, hop: int) -> None:
    # F.fold, the old overlap-add, is the peer. Both ways of adding are checked: the single sum where the
    # framing chose it (torch's sum keeps the order at these sizes; at hops 16 and 24 here it does not,
    # which the framing detects) and the spelled-out loop. Any change of order shows in the bits.
    framing = Framing(n_fft, hop)
    rng = np.random.default_rng(hop)
    for one_sum in sorted({framing.one_sum, False}):
        framing.one_sum = one_sum
        for w in (1, 6, 37):
            spec = rng.normal(size=(w, n_fft // 2 + 1)) + 1j * rng.normal(size=(w, n_fft // 2 + 1))
            spectra = torch.from_numpy(spec.astype(np.complex64))
            frames = torch.fft.irfft(spectra, n=n_fft, dim=-1) * (framing.window / framing.norm)
            want = F.fold(frames.T[None], output_size=(1, (w - 1) * hop + n_fft), kernel_size=(1, n_fft),
                          stride=(1, hop)).flatten()
            got = framing.overlap_add(spectra)
            assert torch.equal(got.view(torch.int32), want.view(torch.int32)), (n_fft, hop, w, one_sum)


def test_the_kernels_compile_where_no_cache_can_be_written(tmp_path: Path, golden: dict[str, np.ndarray]) -> None:
    # A read-only install and home: numba has nowhere to cache the compiled loops (its cache locators all fail), so
    # they are compiled at start instead of refusing to import; and they make the same floats.
    out = tmp_path / "piece.npy"
    script = "\n".join([
        "import sys, numpy as np, torch",
        "import numba.core.caching as caching",
        "def refuse(self): raise OSError('read-only file system')",
        "caching._CacheLocator.ensure_cache_path = refuse",
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})",
        "torch.set_num_threads(1)",
        "import test_phase_golden as t",
        "from ciel_node.generate import phase_kernels",
        "print(type(phase_kernels.project._cache).__name__)",
        f"np.save({str(out)!r}, t.CASES['piece_1024_256']())",
    ])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["NullCache"], done.stdout  # really uncached
    got = np.load(out)
    assert np.array_equal(got.view(np.uint32), CASES["piece_1024_256"]().view(np.uint32))


def test_the_goldens_are_not_trivial(golden: dict[str, np.ndarray]) -> None:
    # Outputs at a sound's level (so 1e-6 is a real bound, ~-120 dB of peak) and no silent case.
    assert set(golden) == set(CASES) | {"platform"}
    for name in CASES:
        want = golden[name]
        peak = float(np.max(np.abs(want)))
        assert np.isfinite(want).all() and 0.1 < peak < 2.0, (name, peak)


def _regenerate() -> None:
    if os.environ.get("CI") == "true":
        sys.exit("refusing to regenerate the phase goldens under CI=true")
    torch.set_num_threads(1)
    GOLDEN.parent.mkdir(exist_ok=True)
    arrays = {name: make() for name, make in CASES.items()}
    np.savez_compressed(GOLDEN, platform=np.array(_platform()), **arrays)  # type: ignore[arg-type]
    for name, a in arrays.items():
        print(f"{name}: {a.dtype} {a.shape} peak {np.max(np.abs(a)):.3f}")


if __name__ == "__main__":
    if os.environ.get("CIEL_PHASE_REGEN") != "1":
        sys.exit("set CIEL_PHASE_REGEN=1 to overwrite tests/golden/phase.npz from the current phase.py")
    _regenerate()
