"""What network bending costs and how soon it is heard (issue 13), on the shipped checkpoints, torch threads = 1.

In one run, each bent case interleaved with the same work unbent (a busy moment of this shared machine hits both
alike), medians and ratios:
  1. picture: ImageRenderer.render (generator + the picture's and the sky's PNGs, what the node publishes) with
     every transform on every layer of the DCGAN, and with a typical three bends, against the unbent render; the
     generator alone (pixels) beside it, so the encoders' share is visible. Target: bent <= 1.3x unbent.
  2. sound: LiveSound.render per engine block (generate/live.py BLOCK frames) with three sound bends against none;
     CPU share = render time per block / the block's duration. Target: bent <= 1.3x unbent.
  3. OSC bend -> audible change, p50/p95, through a real node playing into a private PulseAudio null sink recorded
     by parec (bench/playback.py's node, tests/audiopeers.py's recorder, a change detector on the spectrum's
     shape, see tests/changes.py's arrival): from a frozen point (drift 0), sound bends and clears in turn.
     Beside it the engine's own account of each cut-in (health's cut_in_last: the new sound half in at the device's
     output, by PortAudio's prediction; no detector). Budget 250 ms, goal 50 ms.

    python bench/bend.py [picture sound osc] [--reps 200] [--blocks 400] [--trials 20] [--json FILE]

Section osc needs pulseaudio, pulseaudio-utils and libasound2-plugins (make test installs them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node import bends  # noqa: E402
from ciel_node.generate import walk  # noqa: E402
from ciel_node.generate.audio import AudioRenderer  # noqa: E402
from ciel_node.generate.image import ImageRenderer  # noqa: E402
from ciel_node.generate.instrument import ImageInstrument, SoundInstrument  # noqa: E402
from ciel_node.generate.live import LiveSound  # noqa: E402
from ciel_node.generate.walk import AUDIO_STREAM  # noqa: E402
from ciel_node.models.audio_vae import SpectralVAE  # noqa: E402
from ciel_node.models.image_gan import Generator  # noqa: E402
from ciel_node.params import PARAMS, Registry  # noqa: E402
from ciel_node.state import Controls  # noqa: E402

AUDIO_CKPT, IMAGE_CKPT = ROOT / "checkpoints" / "audio.pt", ROOT / "checkpoints" / "images.pt"
TARGET_RATIO = 1.3
BUDGET_MS, GOAL_MS = 250.0, 50.0

# Every image transform, off its neutral value; the geometry's translate and 30° make it one bilinear resampling.
ALL_IMAGE_OPS: dict[str, Any] = {
    "translate": (0.1, -0.05), "scale": 1.2, "rotate": 30.0, "flip_h": 1, "flip_v": 1, "erode": 1, "dilate": 1,
    "multiply": 1.5, "threshold": 0.5, "invert": 1, "ablate": 0.5,
}
FEATURES = (("all", 0.5), ("random", 0.5), ("cluster", 1.0))  # in turn over the layers: every kind of mask
THREE_IMAGE_BENDS: dict[str, Any] = {"bend_image_2_rotate": 30.0, "bend_image_3_multiply": -2.0,
                                     "bend_image_3_features": ("cluster", 1.0), "bend_image_5_dilate": 1,
                                     "bend_image_5_features": ("random", 0.5)}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def interleaved(cases: dict[str, Callable[[], Any]], reps: int, warmup: int = 3) -> dict[str, dict[str, list[float]]]:
    """Each case once per round, in a new random order each round (a fixed order would favour one): wall and CPU
    seconds of every call."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    out: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
    order = random.Random(0)
    for _ in range(reps):
        order.shuffle(names)
        for name in names:
            c0, t0 = time.thread_time(), time.perf_counter()
            cases[name]()
            t1, c1 = time.perf_counter(), time.thread_time()
            out[name]["wall"].append(t1 - t0)
            out[name]["cpu"].append(c1 - c0)
    return out


def summary(times: dict[str, list[float]], base: dict[str, list[float]]) -> dict[str, float]:
    med, base_med = pct(times["wall"], 50), pct(base["wall"], 50)
    return {"median_ms": round(1000 * med, 3), "p95_ms": round(1000 * pct(times["wall"], 95), 3),
            "cpu_median_ms": round(1000 * pct(times["cpu"], 50), 3), "ratio": round(med / base_med, 3),
            "cpu_ratio": round(pct(times["cpu"], 50) / pct(base["cpu"], 50), 3)}


def registry_for(image: ImageInstrument, sound: SoundInstrument) -> Registry:
    """The node's registry: PARAMS and these nets' declared bends (app.py's)."""
    return PARAMS.extended(bends.declare([image.layout, sound.layout]))


def all_image_bends(image: ImageInstrument) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for layer in range(1, image.layout.layers + 1):
        for name, value in ALL_IMAGE_OPS.items():
            values[bends.name_of("image", layer, name)] = value
        values[bends.name_of("image", layer, "features")] = FEATURES[(layer - 1) % len(FEATURES)]
    return values


def bench_picture(out: dict[str, Any], reps: int) -> list[tuple[str, dict[str, float], str]]:
    gen, _ = Generator.from_checkpoint(IMAGE_CKPT)
    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    renderer = ImageRenderer(gen, clusters=ImageInstrument(gen).clusters())
    registry = registry_for(renderer.instrument, SoundInstrument(vae, ((),) * 3))
    every = Controls(registry, **all_image_bends(renderer.instrument)).bends
    three = Controls(registry, **THREE_IMAGE_BENDS).bends
    assert len(every.image) == renderer.instrument.layout.layers and len(three.image) == 3, (every, three)
    z = np.random.default_rng(0).standard_normal(gen.config.latent)
    times = interleaved({
        "render": lambda: renderer.render(z), "render_all": lambda: renderer.render(z, every),
        "render_3": lambda: renderer.render(z, three),
        "pixels": lambda: renderer.pixels(z), "pixels_all": lambda: renderer.pixels(z, every),
        "pixels_3": lambda: renderer.pixels(z, three),
    }, reps)
    n_ops = len(ALL_IMAGE_OPS)
    layers = renderer.instrument.layout.layers
    rows = [
        ("picture: render unbent (generator + 2 PNGs)", summary(times["render"], times["render"]), ""),
        (f"picture: render, all {n_ops} transforms x {layers} layers", summary(times["render_all"], times["render"]),
         f"<= {TARGET_RATIO}x"),
        ("picture: render, 3 bends (rotate, multiply, dilate)", summary(times["render_3"], times["render"]),
         f"<= {TARGET_RATIO}x"),
        ("picture: generator alone unbent (pixels)", summary(times["pixels"], times["pixels"]), ""),
        ("picture: generator alone, all on", summary(times["pixels_all"], times["pixels"]), "(no target)"),
        ("picture: generator alone, 3 bends", summary(times["pixels_3"], times["pixels"]), "(no target)"),
    ]
    out["picture"] = {"reps": reps, "all_on": {"transforms": ALL_IMAGE_OPS, "layers": layers},
                      "three": THREE_IMAGE_BENDS, **{k: summary(v, times[k.split("_")[0]]) for k, v in times.items()}}
    return rows


THREE_SOUND_BENDS = ("multiply", -3.0, 1), ("translate", 0.3, None), ("erode", 2, None)  # layer None: the spectrum


def bench_sound(out: dict[str, Any], blocks: int) -> list[tuple[str, dict[str, float], str]]:
    gen, _ = Generator.from_checkpoint(IMAGE_CKPT)
    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    inst = SoundInstrument(vae)
    clusters = inst.clusters()
    renderer = AudioRenderer(vae, clusters=clusters)
    spectrum = renderer.instrument.layout.layers
    registry = registry_for(ImageInstrument(gen, ((),) * 6), SoundInstrument(vae, clusters))
    plain = Controls(registry)
    bent = Controls(registry, **{bends.name_of("sound", layer or spectrum, name): value
                                 for name, value, layer in THREE_SOUND_BENDS})
    assert sum(len(b.ops) for _, b in bent.bends.sound) == 3, bent.bends
    lives = {}
    for name in ("plain", "bent"):  # each its own walk, phase and leveller: the same sound but for the bends
        live = LiveSound(renderer)
        live.begin(0, 0, walk.origin(0, renderer.latent, AUDIO_STREAM))
        lives[name] = live
    frames = np.random.default_rng(0).standard_normal((6, renderer.latent))  # a block and its look-ahead
    times = interleaved({
        "block": lambda: lives["plain"].render(plain), "block_3": lambda: lives["bent"].render(bent),
        "decode": lambda: renderer.magnitudes(frames), "decode_3": lambda: renderer.magnitudes(frames, bent.bends),
    }, blocks, warmup=20)
    block_s = lives["plain"].block_samples / renderer.sample_rate
    rows = []
    for key, label in (("block", "sound: engine block unbent"), ("block_3", "sound: engine block, 3 bends"),
                       ("decode", "sound: decoder alone unbent (6 frames)"), ("decode_3", "sound: decoder, 3 bends")):
        s = summary(times[key], times[key.split("_")[0]])
        if key.startswith("block"):
            s["cpu_share_pct"] = round(100 * s["cpu_median_ms"] / 1000 / block_s, 1)
            s["wall_share_pct"] = round(100 * s["median_ms"] / 1000 / block_s, 1)
        rows.append((label, s, f"<= {TARGET_RATIO}x" if key == "block_3" else ""))
    out["sound"] = {"blocks": blocks, "block_ms": round(1000 * block_s, 1),
                    "bends": [f"/ciel/bend/sound/{layer or spectrum}/{name} {value}"
                              for name, value, layer in THREE_SOUND_BENDS],
                    **{key: s for (key, (_, s, _)) in zip(("block", "block_3", "decode", "decode_3"), rows)}}
    return rows


SETTLE_S = 3.0  # after a message: the change heard (~0.1-0.6 s), the leveller settled, 1.5 s as the next reference


def bench_osc(out: dict[str, Any], trials: int) -> None:
    sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]
    from audiopeers import PulseAudio, Recorder, arrival
    from playback import get_json, playing_node
    from pythonosc.udp_client import SimpleUDPClient

    vae, _ = SpectralVAE.from_checkpoint(AUDIO_CKPT)
    spectrum = len(SoundInstrument(vae, ((),) * 3).stages)
    changes = ((f"/ciel/bend/sound/{spectrum}/translate", 0.3), (f"/ciel/bend/sound/{spectrum}/flip_v", 1),
               (f"/ciel/bend/sound/{spectrum}/scale", 0.5), ("/ciel/bend/sound/1/multiply", -3.0))
    took: dict[str, list[float]] = {"bend": [], "clear": []}
    missed = dict.fromkeys(took, 0)
    # The engine's own account of each cut-in (health's cut_in_last, as bench/playback.py reports it for seed and
    # drift): OSC sent -> the new sound half in at the device's output by PortAudio's prediction, no detector in it.
    engine: dict[str, list[float]] = {"bend": [], "clear": []}
    tmp = Path(tempfile.mkdtemp(prefix="ciel-bench-bend-"))
    with PulseAudio(tmp / "pulse") as pulse, Recorder(pulse) as rec, playing_node(tmp, pulse) as (_, osc_port, web):
        health = get_json(f"{web}/api/health")["playback"]
        out["osc_path"] = {k: health[k] for k in ("device", "device_latency_ms", "lead_ms", "block_ms", "latency_ms")}
        print(f"osc: node playing into {health['device']}, device latency {health['device_latency_ms']} ms, lead "
              f"{health['lead_ms']} ms, block {health['block_ms']} ms; {trials} bends from a frozen point, each then "
              "cleared", flush=True)
        osc = SimpleUDPClient("127.0.0.1", osc_port)
        osc.send_message("/ciel/drift", 0.0)
        osc.send_message("/ciel/bend/clear", [])
        time.sleep(SETTLE_S)

        def change(kind: str, address: str, args: Any) -> str:
            t = time.monotonic()
            osc.send_message(address, args)
            heard = arrival(rec, t)
            if heard is None:  # the new sound stayed within the range of the old: no time to report
                missed[kind] += 1
                said = "missed"
            else:
                took[kind].append(heard)
                said = f"{1000 * heard:.0f} ms"
            last = get_json(f"{web}/api/health")["playback"].get("cut_in_last") or {}
            if last.get("asked_at", 0.0) >= t and "heard_at" in last:  # this message's cut-in, heard
                engine[kind].append(last["heard_at"] - t)
                said += f" (engine: heard at {1000 * (last['heard_at'] - t):.0f} ms)"
            time.sleep(max(0.0, t + SETTLE_S - time.monotonic()))
            return said

        for k in range(trials):
            address, value = changes[k % len(changes)]
            bent = change("bend", address, value)
            cleared = change("clear", "/ciel/bend/clear", [])
            print(f"  {k + 1}/{trials}: {address} {value}: {bent}; clear: {cleared}", flush=True)
    took["all"], missed["all"] = took["bend"] + took["clear"], missed["bend"] + missed["clear"]
    out["osc"] = {kind: {"p50_ms": round(1000 * pct(v, 50), 1), "p95_ms": round(1000 * pct(v, 95), 1),
                         "max_ms": round(1000 * max(v), 1) if v else float("nan"), "n": len(v), "missed": missed[kind]}
                  for kind, v in took.items()}
    engine["all"] = engine["bend"] + engine["clear"]
    for kind, v in engine.items():
        out["osc"][kind]["engine_heard_p50_ms"] = round(1000 * pct(v, 50), 1)
        out["osc"][kind]["engine_heard_p95_ms"] = round(1000 * pct(v, 95), 1)
        out["osc"][kind]["engine_n"] = len(v)


def table(rows: list[tuple[str, dict[str, float], str]], out: dict[str, Any]) -> None:
    print()
    if rows:
        print(f"{'bending cost (torch threads 1, shipped checkpoints)':52s} {'median':>9s} {'p95':>9s} "
              f"{'cpu med':>9s} {'share':>6s} {'ratio':>6s}  target")
    for label, s, target in rows:
        share = f"{s['cpu_share_pct']:5.1f}%" if "cpu_share_pct" in s else ""
        print(f"{label:52s} {s['median_ms']:7.2f}ms {s['p95_ms']:7.2f}ms {s['cpu_median_ms']:7.2f}ms {share:>6s} "
              f"{s['ratio']:5.2f}x  {target}")
    if "sound" in out:
        print(f"  (share: the engine's CPU per block / the block's {out['sound']['block_ms']} ms; ratios are of "
              f"wall medians, cpu ratios {out['sound']['block_3']['cpu_ratio']:.2f}x for the block)")
    if "osc" in out:
        print(f"{'OSC bend -> audible change':52s} {'p50':>9s} {'p95':>9s} {'max':>9s} {'n':>6s} {'missed':>6s}  "
              f"budget {BUDGET_MS:.0f} ms, goal {GOAL_MS:.0f} ms")
        for kind, s in out["osc"].items():
            print(f"  {kind:50s} {s['p50_ms']:7.0f}ms {s['p95_ms']:7.0f}ms {s['max_ms']:7.0f}ms {s['n']:6d} "
                  f"{s['missed']:6d}")
            if s.get("engine_n"):
                print(f"  {kind + ', the engine at the output (no detector)':50s} {s['engine_heard_p50_ms']:7.0f}ms "
                      f"{s['engine_heard_p95_ms']:7.0f}ms {'':>9s} {s['engine_n']:6d}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sections", nargs="*", default=["picture", "sound", "osc"])
    ap.add_argument("--reps", type=int, default=200, help="pictures per case")
    ap.add_argument("--blocks", type=int, default=400, help="engine blocks per case")
    ap.add_argument("--trials", type=int, default=20, help="bends sent by OSC (each then cleared)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out: dict[str, Any] = {"torch": torch.__version__, "cpu_count": os.cpu_count(), "loadavg": os.getloadavg()}
    rows: list[tuple[str, dict[str, float], str]] = []
    for section in args.sections:
        if section == "picture":
            print(f"picture: {args.reps} rounds of 6 cases, interleaved", flush=True)
            rows += bench_picture(out, args.reps)
        elif section == "sound":
            print(f"sound: {args.blocks} rounds of 4 cases, interleaved", flush=True)
            rows += bench_sound(out, args.blocks)
        elif section == "osc":
            bench_osc(out, args.trials)
        else:
            ap.error(f"unknown section {section!r}: picture, sound or osc")
    table(rows, out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
