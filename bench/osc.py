"""OSC benchmark (issue 3): 10,000 UDP messages/s for 10 s against a real node process.

Counts what the node applied through its own feedback (every message changes /ciel/drift, so every
applied message pushes one /ciel/state/drift), times control -> feedback round trips, and compares
the render time of the same sound with and without the load, in one run.

    python bench/osc.py [--rate 10000] [--seconds 10] [--no-playback] [--address '/ciel/{drift,seed}x?']

`--address` sends the load to another address or an OSC 1.0 pattern that matches /ciel/drift
(e.g. `/ciel/dri?t`, `/ciel/{interval_x,drift}`): the same measure through the pattern matcher.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from pythonosc.osc_message import OscMessage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.controls.wire import osc_message  # noqa: E402


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drift_value(k: int) -> float:
    # Distinct consecutive values, exact in float32, so each message is a change the node reports.
    return (k % 65536) / 65536.0


def load(dest: tuple[str, int], total: int, rate: int, times, address: str = "/ciel/drift"  # type: ignore[no-untyped-def]
         ) -> None:
    """The sender, in its own process (its own GIL): `rate` messages a second in 1 ms slots."""
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packets = [osc_message(address, drift_value(k + 1), types="f") for k in range(total)]
    per_slot = max(1, rate // 1000)
    start = time.perf_counter()
    for k0 in range(0, total, per_slot):
        delay = start + k0 / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for k in range(k0, min(total, k0 + per_slot)):
            times[k] = time.perf_counter()
            tx.sendto(packets[k], dest)


class Feedback(threading.Thread):
    """Receives the node's pushes; records when each drift value came back."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.drift_at: dict[float, float] = {}
        self.drift_count = 0
        self.last_drift: float | None = None
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            t = time.perf_counter()
            msg = OscMessage(data)
            if msg.address == "/ciel/state/drift":
                self.drift_count += 1
                self.last_drift = msg.params[0]
                self.drift_at.setdefault(msg.params[0], t)


def wait_seq(manifest: Path, seq: int, deadline_s: float = 120) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if manifest.exists():
            lines = manifest.read_bytes().splitlines()
            if lines:
                last = json.loads(lines[-1])
                if last["seq"] >= seq:
                    return last
        time.sleep(0.005)
    raise RuntimeError(f"piece {seq} never came")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sound-s", type=float, default=10.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--address", default="/ciel/drift",
                    help="where the load goes: /ciel/drift or a pattern that matches it alone, e.g. '/ciel/dri?t'")
    ap.add_argument("--no-playback", dest="playback", action="store_false",
                    help="a headless node: no live sound engine (which renders sound in real time even with no device)")
    args = ap.parse_args()
    port, web = free_port(), free_port()
    counters: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        node = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--state-dir", tmp, "--osc", f"127.0.0.1:{port}",
             "--web", f"127.0.0.1:{web}", "--oscquery", "off",
             "--interval", "3600", "--max-sound-s", str(args.sound_s), "--log-level", "warning",
             *([] if args.playback else ["--no-playback"])],
        )
        fb = Feedback()
        fb.start()
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dest = ("127.0.0.1", port)
        try:
            wait_seq(manifest, 1)
            tx.sendto(osc_message("/ciel/subscribe", fb.port, types="i"), dest)
            quiet = []
            for seq in (2, 3, 4, 5, 6):
                tx.sendto(osc_message("/ciel/next"), dest)
                quiet.append(wait_seq(manifest, seq)["render_s"])

            total = int(args.rate * args.seconds)
            times = multiprocessing.Array("d", total, lock=False)  # when message k left the sender
            t0 = time.perf_counter()
            sender = multiprocessing.Process(target=load, args=(dest, total, args.rate, times, args.address))
            sender.start()
            loaded = []
            seq = 7
            while sender.is_alive() and len(loaded) < 5:
                tx.sendto(osc_message("/ciel/next"), dest)
                entry = wait_seq(manifest, seq)
                if sender.is_alive():
                    loaded.append(entry["render_s"])
                seq += 1
            sender.join()
            send_s = time.perf_counter() - t0
            end = time.monotonic() + 10
            while fb.drift_count < total and time.monotonic() < end:
                time.sleep(0.01)
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{web}/api/health", timeout=10) as r:
                counters = json.loads(r.read())["osc"]
        finally:
            fb.running = False
            node.terminate()
            node.wait()
    last_value = drift_value(total)
    sent_at: dict[float, float] = {}
    for k in range(total):
        sent_at.setdefault(drift_value(k + 1), times[k])
    rtts = sorted((fb.drift_at[v] - t) * 1000 for v, t in sent_at.items() if v in fb.drift_at)
    p50 = statistics.median(rtts)
    p99 = rtts[int(0.99 * (len(rtts) - 1))]
    out = {
        "address": args.address, "sent": total, "applied_seen_in_feedback": fb.drift_count,
        "final_drift": fb.last_drift,
        "last_sent": last_value, "send_seconds": send_s, "rate_achieved": total / send_s,
        "rtt_ms_p50": p50, "rtt_ms_p99": p99,
        "render_s_quiet_median": statistics.median(quiet), "render_s_loaded_median": statistics.median(loaded),
        "render_s_quiet": quiet, "render_s_loaded": loaded,
    }
    out["render_slowdown"] = out["render_s_loaded_median"] / out["render_s_quiet_median"] - 1
    print(f"osc: to {args.address}: sent {total} in {send_s:.2f} s ({total / send_s:.0f}/s); applied (seen as "
          f"feedback) {fb.drift_count}; final drift {fb.last_drift} vs last sent {last_value}")
    print(f"osc: control -> state feedback round trip p50 {p50:.3f} ms, p99 {p99:.3f} ms (target apply p99 <= 2 ms)")
    print(f"osc: render of a {args.sound_s:g} s piece: {out['render_s_quiet_median']:.3f} s quiet, "
          f"{out['render_s_loaded_median']:.3f} s under load ({out['render_slowdown'] * 100:+.1f} %, target < +10 %)")
    out["node_osc_counters"] = counters
    print(f"osc: the node received {counters.get('received')}, dropped {counters.get('dropped')} "
          f"(over the per-source rate: {counters.get('rate_limited')}); whatever else is missing the kernel dropped")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
