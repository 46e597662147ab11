"""`ciel-node crack DIR`: both nets from one folder, side by side on the cores, into one output folder; then the
synaesthesia map learned from the archive's pictures and sounds captured close in time (`crack map`), and the one
line that runs a node on them.

Each net trains in its own process (`crack audio|images`, one core each): the sound VAE's small steps and the
GAN's large ones do not wait on each other's Python, and either can be stopped or fail alone. In a terminal their
progress comes here as JSON lines and shows as two bars; otherwise each prints its own line every 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from ciel_node.crack.progress import clock_text

NETS = (("audio", "audio.pt"), ("images", "images.pt"))


def crack_both(args: argparse.Namespace) -> int:
    folder: Path = args.out
    bars = args.progress == "bar" or (args.progress == "auto" and sys.stderr.isatty())
    threads = max(1, args.threads // 2)
    children: dict[str, subprocess.Popen[str]] = {}
    for net, name in NETS:
        out = folder / name
        cmd = [sys.executable, "-m", "ciel_node", "crack", net, str(args.source), "--out", str(out),
               "--minutes", repr(args.minutes), "--seed", str(args.seed), "--threads", str(threads),
               "--save-every", repr(args.save_every), "--progress", "json" if bars else "lines",
               "--cache", str(args.cache)]
        if args.batch is not None:
            cmd += ["--batch", str(args.batch)]
        if args.resume and out.exists():
            cmd.append("--resume")
        children[net] = subprocess.Popen(cmd, stdout=subprocess.PIPE if bars else None,
                                         stderr=subprocess.STDOUT if bars else None, text=True, bufsize=1)

    interrupted: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        # Both save what they have (each ignores a second interrupt while it saves).
        interrupted.append(signum)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if bars:
        _show_bars(children, args.minutes * 60.0)
    codes = {net: child.wait() for net, child in children.items()}
    failed = [net for net, code in codes.items() if code != 0]
    made = [folder / name for net, name in NETS if net not in failed]
    if failed:
        print(f"not made: {', '.join(failed)} (see above)" + (f"; made: {', '.join(map(str, made))}" if made else ""),
              file=sys.stderr)
        return max(codes.values())
    if interrupted:  # stopped by hand: the minutes the map takes are not wanted now
        later = shlex.join(["ciel-node", "crack", "map", str(args.source), "--out", str(folder)])
        print(f"synaesthesia: not learned (interrupted); learn it later with: {later}", file=sys.stderr, flush=True)
    else:
        _learn_map(args, folder)
    print("both nets cracked; run a node on them with:", file=sys.stderr)
    run = ["ciel-node", "run", "--audio-checkpoint", str(folder / "audio.pt"),
           "--image-checkpoint", str(folder / "images.pt")]
    print(shlex.join(run), flush=True)
    return 0


def _learn_map(args: argparse.Namespace, folder: Path) -> None:
    """The synaesthesia map from the archive's pictures and sounds captured close in time, for the two new nets
    (`crack map`, in a child like the nets: it says what it did in one line). A map that cannot be learned costs the
    node nothing but the learned map: the nets are made, the node uses the default one."""
    cmd = [sys.executable, "-m", "ciel_node", "crack", "map", str(args.source), "--out", str(folder),
           "--threads", str(args.threads), "--seed", str(args.seed), "--cache", str(args.cache),
           "--window", repr(args.window), "--steps", str(args.steps)]
    if subprocess.run(cmd).returncode != 0:
        print("synaesthesia: the map was not learned (see above): the node uses the default map", file=sys.stderr,
              flush=True)


def _show_bars(children: dict[str, subprocess.Popen[str]], budget_s: float) -> None:
    """Two bars, one per net, fed by the children's JSON lines; their other lines are printed above the bars."""
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def read(net: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put((net, line.rstrip("\n")))
        lines.put((net, None))

    for net, child in children.items():
        threading.Thread(target=read, args=(net, child.stdout), daemon=True).start()
    bars = {
        net: tqdm(total=round(budget_s), desc=f"{net:6s}", unit="s", position=i, file=sys.stderr, dynamic_ncols=True,
                  bar_format="{desc} {bar} {elapsed}<{remaining} {postfix}", leave=True)
        for i, net in enumerate(children)
    }
    open_streams = len(children)
    while open_streams:
        net, line = lines.get()
        if line is None:
            open_streams -= 1
            continue
        progress = _progress_of(line)
        bar = bars[net]
        if progress is None:
            bar.write(line if line.startswith(f"{net}:") else f"{net}: {line}", file=sys.stderr)
            continue
        bar.n = min(bar.total, round(progress["elapsed"]))
        losses = "  ".join(f"{k} {v:.4f}" for k, v in progress["losses"].items())
        bar.set_postfix_str(f"step {progress['step']}  {progress['rate']:.1f} steps/s  {losses}  "
                            f"{clock_text(progress['left'])} left", refresh=False)
        bar.refresh()
    for bar in bars.values():
        bar.close()


def _progress_of(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "step" in data else None


def default_out(source: Path) -> Path:
    """Where `crack DIR` puts its nets when no --out is given: checkpoints/<the folder's name>."""
    name = os.path.basename(os.path.normpath(str(source))) or "archive"
    return Path("checkpoints") / name
