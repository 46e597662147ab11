"""Keyframes (issue 15, item 2): what K skies per piece cost the renderer and a listener.

    python bench/keyframes.py [--pieces 8] [--keyframes 6] [--interval 30] [--json FILE]

From the shipped nets on one thread, for each of --pieces 30 s pieces at synaesthesia 1 (each its own sound):
- render cost: the same piece composed with keyframes 0 and with K, interleaved, CPU time (process_time); the
  difference per piece, median over pieces (target: <= 40 ms extra with K = 6); and the strip alone (points,
  generator batch, warp, WebP) timed on its own, next to the piece's one picture and sky;
- weight: what the page downloads per piece (its sky, the keyframe strip, the Opus sound) and per listener-hour at
  the interval (target: <= 25 MB/h with K = 6 at 30 s), against the same without keyframes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.generate.audio import AudioRenderer  # noqa: E402
from ciel_node.generate.image import ImageRenderer  # noqa: E402
from ciel_node.generate.keyframes import keyframe_points  # noqa: E402
from ciel_node.generate.piece import Composer  # noqa: E402
from ciel_node.generate.synaesthesia import CrossMap  # noqa: E402
from ciel_node.models.audio_vae import SpectralVAE  # noqa: E402
from ciel_node.models.checkpoint import file_hash  # noqa: E402
from ciel_node.models.image_gan import Generator  # noqa: E402
from ciel_node.state import Controls  # noqa: E402

SHIPPED = (ROOT / "checkpoints" / "audio.pt", ROOT / "checkpoints" / "images.pt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--keyframes", type=int, default=6)
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    vae, _ = SpectralVAE.from_checkpoint(SHIPPED[0])
    gen, _ = Generator.from_checkpoint(SHIPPED[1])
    audio, image = AudioRenderer(vae), ImageRenderer(gen)
    crossmap = CrossMap.default(audio.latent, image.latent, file_hash(SHIPPED[0]), file_hash(SHIPPED[1]))
    c = Composer(audio, image, max_sound_s=120.0, crossmap=crossmap)

    plain = Controls(seed=11, interval=args.interval, synaesthesia=1.0, keyframes=0)
    moving = Controls(seed=11, interval=args.interval, synaesthesia=1.0, keyframes=args.keyframes)
    state = c.start(11)
    c.compose(state, plain)  # warm: first calls of every path
    extra_ms, strip_ms, picture_ms, without, with_k = [], [], [], [], []
    for n in range(args.pieces):
        runs = {}
        for name, controls in ((("plain", plain), ("moving", moving)) if n % 2 else
                               (("moving", moving), ("plain", plain))):
            t0 = time.process_time()
            piece, after = c.compose(state, controls)
            runs[name] = (time.process_time() - t0, piece, after)
        extra_ms.append((runs["moving"][0] - runs["plain"][0]) * 1000)
        p = runs["moving"][1]
        assert p.image == runs["plain"][1].image and len(p.keyframe_times) == args.keyframes
        page = len(p.sky) + len(p.opus)
        without.append(page)
        with_k.append(page + len(p.keyframes))
        # the strip alone: points from the piece's sound, the generator's batch, the warp, the WebP; and the
        # piece's one picture (and its sky) for scale
        z = np.asarray(runs["plain"][2].image_z)
        t0 = time.process_time()
        points = keyframe_points(p.samples, audio.sample_rate, z, None, crossmap, args.keyframes, 1.0)
        image.strip(points)
        strip_ms.append((time.process_time() - t0) * 1000)
        t0 = time.process_time()
        image.render(z)
        picture_ms.append((time.process_time() - t0) * 1000)
        state = runs["plain"][2]
        print(f"piece {n + 1}: {runs['plain'][0] * 1000:.0f} ms plain, {runs['moving'][0] * 1000:.0f} ms with "
              f"{args.keyframes} keyframes; strip alone {strip_ms[-1]:.1f} ms, {len(p.keyframes) / 1000:.1f} KB",
              flush=True)

    per_hour = 3600.0 / args.interval
    result = {
        "keyframes": args.keyframes, "pieces": args.pieces, "interval_s": args.interval,
        "extra_ms_median": statistics.median(extra_ms), "strip_ms_median": statistics.median(strip_ms),
        "picture_ms_median": statistics.median(picture_ms),
        "page_kb_per_piece": {"without": statistics.median(without) / 1000, "with": statistics.median(with_k) / 1000},
        "mb_per_listener_hour": {"without": statistics.median(without) * per_hour / 1e6,
                                 "with": statistics.median(with_k) * per_hour / 1e6},
    }
    print(f"\nK = {args.keyframes}, one thread, median of {args.pieces} pieces:")
    print(f"  render cost added: {result['extra_ms_median']:.1f} ms per piece (compose with K against K = 0; "
          f"target <= 40 ms); the strip alone {result['strip_ms_median']:.1f} ms, against "
          f"{result['picture_ms_median']:.1f} ms for the piece's one picture and sky")
    mb = result["mb_per_listener_hour"]
    print(f"  a listener at {args.interval:g} s: {mb['with']:.1f} MB/h with keyframes, {mb['without']:.1f} MB/h "
          f"without (sky + Opus + strip; target <= 25 MB/h)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
