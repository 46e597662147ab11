"""From "I have a folder of about 200 phone files" to "the node plays my models" (issue 16), timed end to end.

The folder is bench/archive.py's (210 files: WhatsApp .opus notes, iPhone .m4a memos, .amr notes, 12-MP JPEGs,
messenger JPEGs, PNG screenshots, 1080p H.264 videos, HEIC + HEVC Live Photos; built once, reused with --dir).

1. `ciel-node crack DIR --minutes M --out OUT` (both nets side by side on the two cores), cold cache: the wall time,
   each net's time until its clock starts (reading), and the time after its clock stops (previews, maps, clusters);
2. `ciel-node run` on OUT's two checkpoints (no speakers) until its first piece is published (`/api/latest` 200);
3. the same crack again (`--minutes 0.05`): each net's time until its clock starts, from the cache.

Printed: the total (1 + 2), everything but training (total - M minutes; the issue's target: <= 2 min, so <= 12 min
at --minutes 10), and the parts. python bench/own_archive.py [--minutes 10] [--dir DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive import build  # noqa: E402 - bench/archive.py, beside this file

CLI = [sys.executable, "-m", "ciel_node"]
NETS = ("audio", "images")


def crack(folder: Path, out: Path, minutes: float) -> dict[str, Any]:
    """Run `crack DIR`, stamping each net's lines as they come: read (clock starts), trained (clock stops), done."""
    t0 = time.monotonic()
    proc = subprocess.Popen([*CLI, "crack", str(folder), "--minutes", str(minutes), "--out", str(out),
                             "--progress", "lines"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stamps: dict[str, dict[str, float]] = {net: {} for net in NETS}
    summary: dict[str, str] = {}
    for line in proc.stderr:
        now = time.monotonic() - t0
        net = line.split(":", 1)[0]
        if net not in stamps:
            continue
        if " training " in line:
            stamps[net]["read"] = now
        elif " wrote " in line:
            stamps[net]["trained"] = now
        elif "made " in line:
            stamps[net]["done"] = now
        elif "files read" in line:
            summary[net] = line.split(":", 1)[1].strip()
    stdout, _ = proc.communicate()
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"crack failed ({proc.returncode})")
    return {"wall_s": wall, "nets": stamps, "summary": summary, "run_line": stdout.strip()}


def first_piece(out: Path, state: Path) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    proc = subprocess.Popen([*CLI, "run", "--audio-checkpoint", str(out / "audio.pt"), "--image-checkpoint",
                             str(out / "images.pt"), "--state-dir", str(state), "--web", f"127.0.0.1:{port}",
                             "--no-playback", "--osc", "127.0.0.1:0", "--oscquery", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while time.monotonic() - t0 < 300:
            if proc.poll() is not None:
                raise SystemExit(f"the node stopped ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/latest", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("no piece in 300 s")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="crack's training budget (default 10)")
    ap.add_argument("--dir", type=Path, help="the phone folder (built there once; default a temporary folder)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp) / "phone"
        if not folder.exists():
            t = time.monotonic()
            build(folder)
            print(f"built {folder} in {time.monotonic() - t:.0f} s", file=sys.stderr)
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        out = Path(tmp) / "nets"
        cold = crack(folder, out, args.minutes)
        node_s = first_piece(out, Path(tmp) / "state")
        warm = crack(folder, out, 0.05)
    total = cold["wall_s"] + node_s
    res = {
        "files": files, "minutes": args.minutes, "total_s": round(total, 1),
        "all_but_training_s": round(total - args.minutes * 60, 1), "crack_wall_s": round(cold["wall_s"], 1),
        "node_first_piece_s": round(node_s, 1),
        "read_cold_s": {n: round(cold["nets"][n]["read"], 1) for n in NETS},
        "after_training_s": {n: round(cold["nets"][n]["done"] - cold["nets"][n]["trained"], 1) for n in NETS},
        "read_cached_s": {n: round(warm["nets"][n]["read"], 1) for n in NETS},
        "summary": cold["summary"], "summary_cached": warm["summary"],
    }
    print(f"{files} phone files -> a node playing their nets, crack --minutes {args.minutes:g}: "
          f"{total / 60:.1f} min in all; everything but training {res['all_but_training_s']:.0f} s (target <= 120 s)")
    for n in NETS:
        print(f"  {n:6s}: read {res['read_cold_s'][n]:.1f} s cold, {res['read_cached_s'][n]:.1f} s cached "
              f"(process start to clock start); after the clock {res['after_training_s'][n]:.1f} s; "
              f"{cold['summary'].get(n, '')}")
    print(f"  the node's first piece on them: {node_s:.1f} s after `ciel-node run`")
    print(f"  printed: {cold['run_line']}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
