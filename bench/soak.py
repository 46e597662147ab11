"""Soak: real headless nodes under OSC and web load for minutes; memory, descriptors, latency, cadence.

Each node given runs as its own `ciel-node run --no-playback` process at interval 1 s, side by side in the
same run, and gets the same load: OSC at --osc-rate msg/s (a drift sweep over UDP) and --pollers clients
polling /api/latest every second with If-None-Match. So a change is measured as a ratio against the code
before it on the same machine at the same time (the machines are shared and noisy).

    python bench/soak.py                          # this tree, 10 minutes
    python bench/soak.py --against 41d721f        # ... next to another revision (a git worktree of it)
    python bench/soak.py --seconds 60 --json out.json

Per node: RSS of the node and its children (at the first sample and the end: flat memory is a ratio near
1), open descriptors (the same), /api/latest p50/p99 from the pollers, pieces published against the
wall clock, how far each piece's gap is from the interval (target: every piece within 250 ms of its
time), the node's own `late` and `publish_errors` counters, and OSC counted by the node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from pythonosc.udp_client import SimpleUDPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from nodes import free_port  # noqa: E402


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def family(pid: int) -> list[int]:
    """The node and every process under it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def rss_kb(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def fds(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return total


class Node:
    """One `ciel-node run` process from a source tree, on free loopback ports."""

    def __init__(self, name: str, tree: Path, state: Path) -> None:
        self.name, self.tree = name, tree
        self.web_port, self.osc_port = free_port(), free_port(socket.SOCK_DGRAM)
        self.web = f"http://127.0.0.1:{self.web_port}"
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
        self.log = open(state.parent / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--no-playback", "--state-dir", str(state),
             "--web", f"127.0.0.1:{self.web_port}", "--osc", f"127.0.0.1:{self.osc_port}", "--interval", "1",
             "--audio-checkpoint", str(tree / "checkpoints/audio.pt"),
             "--image-checkpoint", str(tree / "checkpoints/images.pt")],
            cwd=tree, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.state = state

    def wait_up(self, deadline_s: float = 120.0) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                if get_json(f"{self.web}/api/health")["last_seq"] >= 1:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: the node exited with {self.proc.returncode}")
            time.sleep(0.2)
        raise SystemExit(f"{self.name}: no first piece within {deadline_s} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def osc_load(port: int, rate: int, stop: threading.Event, sent: list[int]) -> None:
    osc = SimpleUDPClient("127.0.0.1", port)
    k, t0 = 0, time.monotonic()
    while not stop.is_set():
        osc.send_message("/ciel/drift", float(0.05 + 0.9 * (0.5 + 0.5 * np.sin(k / 500))))
        k += 1
        ahead = t0 + k / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    sent.append(k)


async def pollers(url: str, clients: int, every_s: float, stop: threading.Event) -> dict[str, Any]:
    import aiohttp

    lat: list[float] = []
    counts = {"ok": 0, "errors": 0}

    async def one(session: aiohttp.ClientSession, offset: float) -> None:
        await asyncio.sleep(offset)
        etag = None
        while not stop.is_set():
            t = time.perf_counter()
            try:
                async with session.get(url, headers={"If-None-Match": etag} if etag else {}) as r:
                    await r.read()
                    etag = r.headers.get("ETag", etag)
                    counts["ok" if r.status in (200, 304) else "errors"] += 1
                    lat.append(time.perf_counter() - t)
            except (TimeoutError, aiohttp.ClientError):
                counts["errors"] += 1
            await asyncio.sleep(every_s)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(one(session, every_s * i / clients) for i in range(clients)))
    return {**counts, "p50_ms": 1000 * float(np.percentile(lat, 50)) if lat else None,
            "p99_ms": 1000 * float(np.percentile(lat, 99)) if lat else None}


def cadence(state: Path, since_seq: int, interval: float) -> dict[str, Any]:
    entries = [json.loads(line) for line in (state / "manifest.jsonl").read_text().splitlines() if line.strip()]
    times = [e["created_at"] for e in entries if e["seq"] > since_seq]
    off = [abs(b - a - interval) for a, b in zip(times, times[1:])]
    return {"gaps": len(off), "gap_off_p50_ms": round(1000 * float(np.median(off)), 1) if off else None,
            "gap_off_max_ms": round(1000 * max(off), 1) if off else None,
            "gaps_within_250ms_pct": round(100 * sum(o <= 0.25 for o in off) / len(off), 2) if off else None}


def soak(nodes: list[Node], seconds: float, osc_rate: int, clients: int) -> dict[str, Any]:
    stop = threading.Event()
    sent: dict[str, list[int]] = {n.name: [] for n in nodes}
    polled: dict[str, dict[str, Any]] = {}
    threads = []
    h0 = {n.name: get_json(f"{n.web}/api/health") for n in nodes}
    for n in nodes:
        threads.append(threading.Thread(target=osc_load, args=(n.osc_port, osc_rate, stop, sent[n.name]),
                                        daemon=True))
        threads.append(threading.Thread(
            target=lambda n=n: polled.__setitem__(n.name, asyncio.run(
                pollers(f"{n.web}/api/latest", clients, 1.0, stop))), daemon=True))
    first = {n.name: (rss_kb(family(n.proc.pid)), fds(family(n.proc.pid))) for n in nodes}
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while (left := seconds - (time.monotonic() - t0)) > 0:
        time.sleep(min(60.0, left))
        row = ", ".join(f"{n.name} RSS {rss_kb(family(n.proc.pid)) / 1024:.0f} MiB fds {fds(family(n.proc.pid))}"
                        for n in nodes)
        print(f"  {time.monotonic() - t0:.0f} s: {row}", flush=True)
    last = {n.name: (rss_kb(family(n.proc.pid)), fds(family(n.proc.pid))) for n in nodes}
    stop.set()
    for t in threads:
        t.join(30)
    wall = time.monotonic() - t0
    out: dict[str, Any] = {}
    for n in nodes:
        h1 = get_json(f"{n.web}/api/health")
        out[n.name] = {
            "seconds": round(wall, 1),
            "rss_mib_start": round(first[n.name][0] / 1024, 1), "rss_mib_end": round(last[n.name][0] / 1024, 1),
            "rss_ratio": round(last[n.name][0] / first[n.name][0], 3),
            "fds_start": first[n.name][1], "fds_end": last[n.name][1],
            "osc_sent": sent[n.name][0] if sent[n.name] else 0,
            "osc_applied": h1["osc"].get("applied", 0) - h0[n.name]["osc"].get("applied", 0),
            "web": polled.get(n.name, {}),
            "pieces": h1["last_seq"] - h0[n.name]["last_seq"], "pieces_expected": round(wall),
            "late": h1["counters"].get("late", 0), "publish_errors": h1["counters"].get("publish_errors", 0),
            **cadence(n.state, h0[n.name]["last_seq"], 1.0),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--osc-rate", type=int, default=500)
    ap.add_argument("--pollers", type=int, default=50)
    ap.add_argument("--against", metavar="REV", help="also run this git revision side by side (a worktree)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ciel-soak-") as tmp:
        trees = {"this": ROOT}
        if args.against:
            old = Path(tmp) / "against"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.against],
                           check=True, capture_output=True)
            trees[args.against] = old
        nodes = []
        try:
            for name, tree in trees.items():
                nodes.append(Node(name, tree, Path(tmp) / f"state-{name}"))
            for n in nodes:
                n.wait_up()
            print(f"soak {args.seconds:.0f} s: interval 1 s, OSC {args.osc_rate} msg/s and {args.pollers} pollers "
                  f"(every 1 s) per node; nodes: {', '.join(trees)}", flush=True)
            result = soak(nodes, args.seconds, args.osc_rate, args.pollers)
        finally:
            for n in nodes:
                n.stop()
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[args.against])],
                               check=False, capture_output=True)
    keys = ["rss_mib_start", "rss_mib_end", "rss_ratio", "fds_start", "fds_end", "osc_sent", "osc_applied",
            "pieces", "pieces_expected", "late", "publish_errors", "gap_off_p50_ms", "gap_off_max_ms",
            "gaps_within_250ms_pct"]
    print(f"{'':24}" + "".join(f"{name:>14}" for name in result))
    for k in keys:
        print(f"{k:24}" + "".join(f"{str(r[k]):>14}" for r in result.values()))
    for k in ("p50_ms", "p99_ms", "ok", "errors"):
        print(f"{'latest ' + k:24}" + "".join(
            f"{(round(r['web'].get(k), 2) if isinstance(r['web'].get(k), float) else r['web'].get(k))!s:>14}"
            for r in result.values()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
