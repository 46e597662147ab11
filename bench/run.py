"""Benchmarks for the generation core (issue 2): medians, and ratios against a peer run in the same process.

    python bench/run.py                 # everything (the soak takes ~9 minutes)
    python bench/run.py audio image     # just some sections: audio image start soak crack
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.crack.archive import read_sound  # noqa: E402
from ciel_node.generate import walk  # noqa: E402
from ciel_node.generate.audio import AudioRenderer  # noqa: E402
from ciel_node.generate.image import ImageRenderer  # noqa: E402
from ciel_node.generate.phase import StreamingGriffinLim, spectral_convergence  # noqa: E402
from ciel_node.models.audio_vae import SpectralVAE  # noqa: E402
from ciel_node.models.image_gan import Generator  # noqa: E402

AUDIO_CKPT, IMAGE_CKPT = ROOT / "checkpoints" / "audio.pt", ROOT / "checkpoints" / "images.pt"
ARCHIVE = ROOT / "build" / "found-archive"
CLI = [sys.executable, "-m", "ciel_node"]
# Free ports and no OSCQuery (its default port is fixed): never clash with a running node.
QUIET_PORTS = ["--osc", "127.0.0.1:0", "--web", "127.0.0.1:0", "--oscquery", "off"]


def median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def plain_griffin_lim(mags: torch.Tensor, iterations: int, seed: int) -> np.ndarray:
    """The peer: textbook Griffin-Lim on the whole sound with torch.stft/istft, no momentum."""
    n_fft, hop = 1024, 256
    window = torch.hann_window(n_fft)
    spec = mags.T  # (F, T)
    length = spec.shape[1] * hop
    phase = torch.from_numpy(np.random.default_rng(seed).uniform(-math.pi, math.pi, spec.shape).astype(np.float32))
    angles = torch.polar(torch.ones_like(spec), phase)
    for _ in range(iterations):
        y = torch.istft(spec * angles, n_fft, hop, window=window, length=length)
        rebuilt = torch.stft(y, n_fft, hop, window=window, return_complex=True, pad_mode="constant")[:, : spec.shape[1]]
        angles = rebuilt / (rebuilt.abs() + 1e-12)
    return torch.istft(spec * angles, n_fft, hop, window=window, length=length).numpy()


def bench_audio(out: dict) -> None:
    torch.set_num_threads(1)
    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    renderer = AudioRenderer(vae)
    framing = renderer.framing
    seconds = 30.0
    traj = walk.audio_trajectory(walk.origin(0, vae.config.latent, 1), 0.1, seconds, renderer.frame_rate,
                                 walk.piece_rng(0, 0, 1))
    mags = renderer.magnitudes(traj)
    full = median_time(lambda: renderer.render(traj, -6.0, np.random.default_rng(0)), 5)
    plain = median_time(lambda: plain_griffin_lim(mags, 32, 0), 5)
    rows = {}
    # Convergence on two targets: the model's own (inconsistent) spectra, and a real voice note's.
    voice_file = next(iter(sorted((ARCHIVE / "voice").glob("*.wav"))), None)
    targets = {"model": mags}
    if voice_file is not None:
        v = read_sound(voice_file)
        reps = int(math.ceil(seconds * 16000 / len(v)))
        v = np.tile(v, reps)[: int(seconds * 16000)]
        targets["voice"] = framing.magnitudes(v)[: mags.shape[0]]
    for name, m in targets.items():
        for iters in (8, 16, 32):
            y = np.concatenate(list(StreamingGriffinLim(framing, iters).stream(m, np.random.default_rng(0))))
            rows[f"{name}/fgla{iters}"] = spectral_convergence(y, m, framing)
        rows[f"{name}/plain32"] = spectral_convergence(plain_griffin_lim(m, 32, 0), m, framing)
    fgla_only = {it: median_time(lambda it=it: list(StreamingGriffinLim(framing, it).stream(
        mags, np.random.default_rng(0))), 3) for it in (8, 32)}
    out["audio"] = {
        "sound_s": seconds,
        "render_s_median": full, "rtf": seconds / full,
        "plain_gl32_s_median": plain, "plain_gl32_rtf": seconds / plain, "speedup_vs_plain32": plain / full,
        "fgla8_rtf": seconds / fgla_only[8], "fgla32_rtf": seconds / fgla_only[32],
        "spectral_convergence": rows,
    }
    print(f"audio: 30 s sound rendered in {full:.3f} s -> {seconds / full:.1f}x real time (target >= 30x, goal 60x); "
          f"plain GL32 {seconds / plain:.1f}x; ratio {plain / full:.2f} (issue 18: <= 0.3 s, >= 150x)")
    for k, v in rows.items():
        print(f"  spectral convergence {k}: {v:.4f}")


def bench_image(out: dict) -> None:
    torch.set_num_threads(1)
    gen, _ = Generator.from_checkpoint(IMAGE_CKPT)
    renderer = ImageRenderer(gen)
    z = np.random.default_rng(0).standard_normal(gen.config.latent)
    published = median_time(lambda: renderer.render(z), 30)
    with torch.inference_mode():
        zb = torch.randn(1, gen.config.latent)
        raw1 = median_time(lambda: gen(zb), 30)
        z16 = torch.randn(16, gen.config.latent)
        raw16 = median_time(lambda: gen(z16), 10)
    out["image"] = {"published_ms_median": published * 1000, "raw_images_per_s_batch1": 1 / raw1,
                    "raw_images_per_s_batch16": 16 / raw16}
    print(f"image: one published image + sky {published * 1000:.1f} ms (target <= 50 ms); raw generator "
          f"{1 / raw1:.0f} images/s (batch 1), {16 / raw16:.0f} images/s (batch 16)")


def _wait_for_seq(manifest: Path, seq: int, proc: subprocess.Popen, deadline: float) -> None:  # type: ignore[type-arg]
    while True:
        if manifest.exists():
            lines = manifest.read_bytes().splitlines()
            if lines and json.loads(lines[-1])["seq"] >= seq:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"node did not reach piece {seq}")
        time.sleep(0.01)


def bench_start(out: dict) -> None:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            proc = subprocess.Popen([*CLI, "run", "--state-dir", tmp, *QUIET_PORTS],
                                    stderr=subprocess.DEVNULL)
            try:
                _wait_for_seq(Path(tmp) / "manifest.jsonl", 1, proc, t0 + 60)
                times.append(time.monotonic() - t0)
            finally:
                proc.terminate()
                proc.wait()
    out["start"] = {"first_piece_s_median": statistics.median(times), "runs": times}
    print(f"start: `ciel-node run` -> first 30 s piece published in {statistics.median(times):.2f} s "
          f"(median of 3; target <= 5 s)")


def _rss_kb(pid: int) -> int:
    """RSS of the node and its children (the render process), in KiB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out += [int(child), *_children(int(child))]
    return out


def bench_soak(out: dict, pieces: int) -> None:
    keep_pieces, keep_mb = 200, 20.0
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        proc = subprocess.Popen([*CLI, "run", "--state-dir", tmp, *QUIET_PORTS, "--interval", "0.5", "--keep-pieces",
                                 str(keep_pieces), "--keep-mb", str(keep_mb)], stderr=subprocess.DEVNULL)
        try:
            t0 = time.monotonic()
            _wait_for_seq(state / "manifest.jsonl", 100, proc, t0 + 600)
            rss100 = _rss_kb(proc.pid)
            _wait_for_seq(state / "manifest.jsonl", pieces, proc, t0 + 3 * pieces)
            rss_end = _rss_kb(proc.pid)
            elapsed = time.monotonic() - t0
            media = list((state / "media").iterdir())
            disk = sum(p.stat().st_size for p in media) + (state / "manifest.jsonl").stat().st_size
        finally:
            proc.terminate()
            proc.wait()
    out["soak"] = {"pieces": pieces, "rss_kb_at_100": rss100, f"rss_kb_at_{pieces}": rss_end,
                   "rss_ratio": rss_end / rss100, "disk_bytes": disk, "media_files": len(media),
                   "keep_pieces": keep_pieces, "keep_mb": keep_mb, "elapsed_s": elapsed}
    print(f"soak: RSS {rss100 / 1024:.1f} MiB at piece 100, {rss_end / 1024:.1f} MiB at piece {pieces} "
          f"(ratio {rss_end / rss100:.3f}, target within 1.10); disk {disk / 1e6:.2f} MB in {len(media)} files "
          f"(retention {keep_pieces} pieces / {keep_mb:g} MB); {pieces} pieces in {elapsed:.0f} s")


def bench_crack(out: dict, seconds: float) -> None:
    res = {}
    for model, extra in (("audio", []), ("images", [])):
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([*CLI, "crack", model, str(ARCHIVE), "--minutes", str(seconds / 60), "--out",
                                f"{tmp}/m.pt", "--threads", "2", *extra], capture_output=True, text=True)
            line = [x for x in p.stderr.splitlines() if x.startswith("wrote")][-1]
            rate = float(line.split("(")[1].split(" steps/s")[0])
            res[model] = rate
    out["crack"] = {"steps_per_s_2_threads": res, "seconds": seconds}
    print(f"crack (2 threads, found archive): audio VAE {res['audio']:.1f} steps/s (batch 256 frames), "
          f"image GAN {res['images']:.2f} steps/s (batch 64 at 128x128); wall time includes reading the archive")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sections", nargs="*", default=["audio", "image", "start", "crack", "soak"])
    ap.add_argument("--pieces", type=int, default=1000)
    ap.add_argument("--crack-seconds", type=float, default=60)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out: dict = {"torch": torch.__version__, "cpu_count": os.cpu_count()}
    for section in args.sections:
        if section == "audio":
            bench_audio(out)
        elif section == "image":
            bench_image(out)
        elif section == "start":
            bench_start(out)
        elif section == "soak":
            bench_soak(out, args.pieces)
        elif section == "crack":
            bench_crack(out, args.crack_seconds)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
