"""Steering the walks (issue 14): what the maps cost per checkpoint, and how soon a preset recall is heard.

  maps    the map computations on the shipped checkpoints, torch on 2 threads (target <= 30 s each): the image
          net's GANSpace (image_map), the sound plane of the net's own sounds (the fallback), and the archive's
          sound plane (`ciel-node map --archive`: reading the archive, its frames through the encoder) when a found
          archive is at --archive (build one with `ciel-node archive DIR`).
  recall  a node playing into a PulseAudio null sink (bench/playback.py's), drift 0: presets 1 and 2 stored at far
          places of both maps, then recalled in turn (glide 0); the recording's change detected as in
          bench/bend.py (tests/audiopeers.py's arrival, tests/changes.py). Budget 250 ms, goal 50 ms.

python bench/steer.py [maps] [recall] [--trials 20] [--archive /path/to/found-archive] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.generate.place import image_map, sound_map_of_own_sounds  # noqa: E402
from ciel_node.models.audio_vae import SpectralVAE  # noqa: E402
from ciel_node.models.image_gan import Generator  # noqa: E402

AUDIO_CKPT, IMAGE_CKPT = ROOT / "checkpoints" / "audio.pt", ROOT / "checkpoints" / "images.pt"
BUDGET_MS, GOAL_MS, MAP_TARGET_S = 250.0, 50.0, 30.0
SETTLE_S = 3.0  # after a recall: heard, the leveller settled, 1.5 s of reference for the next


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


def bench_maps(out: dict[str, Any], archive: Path | None, reps: int = 3) -> None:
    torch.set_num_threads(2)
    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    gan, _ = Generator.from_checkpoint(IMAGE_CKPT)
    cases: dict[str, Any] = {"image: GANSpace (2,048 latents)": lambda: image_map(gan),
                             "sound: the net's own sounds (4,096 frames)": lambda: sound_map_of_own_sounds(vae)}
    if archive is not None:  # read and framed exactly as crack and `ciel-node map --archive` do
        import numpy as np

        from ciel_node.crack.archive import read_archive_sounds
        from ciel_node.crack.train import archive_sound_map, audio_frames

        def archive_map() -> object:
            sounds, report = read_archive_sounds(archive)
            frames, ids = audio_frames(sounds, vae.config, np.random.default_rng(0))
            return archive_sound_map(vae, frames, ids, report)

        cases["sound: the archive's frames (read + frame + encode)"] = archive_map
    out["maps"] = {}
    for label, run in cases.items():
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        out["maps"][label] = {"median_s": round(statistics.median(times), 2), "max_s": round(max(times), 2)}
        print(f"  {label:48s} median {statistics.median(times):6.2f} s, max {max(times):6.2f} s "
              f"(target <= {MAP_TARGET_S:.0f} s)", flush=True)


def bench_recall(out: dict[str, Any], trials: int) -> None:
    sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]
    from audiopeers import PulseAudio, Recorder, arrival
    from playback import get_json, playing_node
    from pythonosc.udp_client import SimpleUDPClient

    took: list[float] = []
    missed = 0
    tmp = Path(tempfile.mkdtemp(prefix="ciel-bench-steer-"))
    with PulseAudio(tmp / "pulse") as pulse, Recorder(pulse) as rec, playing_node(tmp, pulse) as (_, osc_port, web):
        health = get_json(f"{web}/api/health")["playback"]
        out["recall_path"] = {k: health[k] for k in ("device_latency_ms", "lead_ms", "block_ms", "latency_ms")}
        osc = SimpleUDPClient("127.0.0.1", osc_port)
        osc.send_message("/ciel/drift", 0.0)
        for slot, (x, y, d) in ((1, (0.05, 0.05, -3.0)), (2, (0.95, 0.95, 3.0))):
            osc.send_message("/ciel/xy/sound", [x, y])
            osc.send_message("/ciel/xy/image", [x, y])
            osc.send_message("/ciel/direction/sound/1", d)
            time.sleep(0.2)
            osc.send_message("/ciel/preset/store", slot)
        time.sleep(SETTLE_S)
        print(f"recall: node playing, latency {health['latency_ms']} ms; {trials} recalls alternating between "
              "two far places (glide 0)", flush=True)
        for k in range(trials):
            slot = 1 + k % 2
            t = time.monotonic()
            osc.send_message("/ciel/preset/recall", slot)
            heard = arrival(rec, t)
            if heard is None:  # the new sound stayed within the range of the old: no time to report
                missed += 1
                said = "missed"
            else:
                took.append(heard)
                said = f"{1000 * heard:.0f} ms"
            print(f"  {k + 1}/{trials}: recall {slot}: {said}", flush=True)
            time.sleep(max(0.0, t + SETTLE_S - time.monotonic()))
    out["recall"] = {"p50_ms": round(1000 * pct(took, 50), 1), "p95_ms": round(1000 * pct(took, 95), 1),
                     "max_ms": round(1000 * max(took), 1) if took else None, "n": len(took), "missed": missed}
    r = out["recall"]
    print(f"\npreset recall -> audible change: p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']} "
          f"ms, n {r['n']}, missed {missed} (budget {BUDGET_MS:.0f} ms, goal {GOAL_MS:.0f} ms)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sections", nargs="*", default=["maps", "recall"])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--archive", type=Path, help="a found archive (`ciel-node archive DIR`) for the archive's map")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict[str, Any] = {"torch": torch.__version__, "cpu_count": os.cpu_count(), "loadavg": os.getloadavg()}
    for section in args.sections:
        if section == "maps":
            print("maps: on the shipped checkpoints, torch threads 2", flush=True)
            bench_maps(out, args.archive)
        elif section == "recall":
            bench_recall(out, args.trials)
        else:
            ap.error(f"unknown section {section!r}: maps or recall")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
