"""OSC abuse benchmark (issue 11, item 7), against real node processes started with the CLI.

  1. Amplification: bytes the node sends to an address / bytes it received from it, for every request
     a stranger can aim at a third party (a spoofed source address): /ciel/get, /ciel/get to another
     port, an unknown address, a bundle of 100 unknown addresses, 32 subscriptions on another host,
     32 subscriptions on its own host (then state changes made by someone else). Asked from a
     loopback sender and, when this machine has a non-loopback address, from that address (a
     stranger: the node listens on 0.0.0.0 with no --osc-allow). Target: <= 1.
  2. Floods from one source at its rate limit and well above it, the node at --interval 2: /api/latest
     latency (a keep-alive client, 20 requests/s; target p99 <= 50 ms) and the gaps between pieces
     (target: each within 250 ms of the interval), with the node's CPU and OSC counters.

    python bench/osc_flood.py [--seconds 20] [--interval 2] [--parts amp,flood] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.controls.feedback import CREDIT_TTL_S  # noqa: E402
from ciel_node.controls.osc_server import SourceLimits  # noqa: E402
from ciel_node.controls.wire import MAX_MESSAGES, osc_message  # noqa: E402

LIMITS = SourceLimits()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def own_address() -> str | None:
    """This machine's non-loopback IPv4 address (the route to a documentation address), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.77", 9))
            addr = str(s.getsockname()[0])
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def bundle(*contents: bytes) -> bytes:
    return b"#bundle\0" + b"\0" * 7 + b"\1" + b"".join(struct.pack(">i", len(c)) + c for c in contents)


class Node:
    """`ciel-node run` in a child process: OSC on 0.0.0.0 (so a non-loopback sender is a stranger), web on loopback."""

    def __init__(self, tmp: Path, interval: float) -> None:
        self.osc, self.web = free_port(), free_port()
        self.state = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(tmp), "--osc", f"0.0.0.0:{self.osc}",
             "--web", f"127.0.0.1:{self.web}", "--oscquery", "off", "--interval", str(interval), "--no-playback",
             "--log-level", "error"],
            cwd=ROOT,
        )
        end = time.monotonic() + 180
        while not self.manifest():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("the node did not publish its first piece")
            time.sleep(0.05)

    def manifest(self) -> list[dict[str, Any]]:
        path = self.state / "manifest.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/api/health", timeout=10) as r:
            return dict(json.loads(r.read()))

    def handled(self) -> int:
        osc = self.health()["osc"]
        return int(osc["received"] + osc["dropped"])

    def wait_handled(self, n: int, deadline_s: float = 30) -> None:
        end = time.monotonic() + deadline_s
        while self.handled() < n:
            if time.monotonic() > end:
                raise RuntimeError(f"the node handled {self.handled()} of {n} packets")
            time.sleep(0.02)

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


class Victim:
    """UDP sockets on one address: counts every byte that reaches them."""

    def __init__(self, host: str, n: int = 1) -> None:
        self.socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind((host, 0))
            s.setblocking(False)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.got = 0

    def drain(self) -> int:
        for s in self.socks:
            while True:
                try:
                    self.got += len(s.recv(65536))
                except BlockingIOError:
                    break
        return self.got

    def close(self) -> None:
        for s in self.socks:
            s.close()


# --- 1. amplification ---------------------------------------------------------------------------------------
def amplification(node: Node, host: str, reps: int) -> list[tuple[str, int, int, int]]:
    """(request kind, bytes in from `host`, bytes out to `host`, bytes out to a third host) for each kind.

    A pause longer than the node's credit TTL between kinds keeps one kind's unspent credit from
    paying for the next one's answers.
    """
    rows: list[tuple[str, int, int, int]] = []
    dest = ("127.0.0.1" if host.startswith("127.") else host, node.osc)  # a stranger talks to the node's address
    third = "127.0.0.2"
    unknowns = bundle(*[osc_message(f"/ciel/bogus{k}") for k in range(100)])

    def run(kind: str, packets: list[bytes], mine: list[Victim], far: Victim | None = None,
            then: list[bytes] | None = None) -> None:
        time.sleep(CREDIT_TTL_S + 0.5)
        start = node.handled()
        sent = sum(mine[0].socks[0].sendto(p, dest) for p in packets)
        node.wait_handled(start + len(packets))
        if then:  # state changes made by someone else (another address): pushed to subscribers
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                other.bind(("127.0.0.9", 0))
                start = node.handled()
                for p in then:
                    other.sendto(p, ("127.0.0.1", node.osc))
                node.wait_handled(start + len(then))
        time.sleep(0.05)
        before = sum(v.got for v in mine)
        out = sum(v.drain() for v in mine) - before
        rows.append((kind, sent, out, far.drain() if far else 0))

    me = Victim(host)
    try:
        run("/ciel/get", [osc_message("/ciel/get")] * reps, [me])
        other = Victim(host)
        run("/ciel/get PORT (another port, same host)",
            [osc_message("/ciel/get", other.ports[0], types="i")] * reps, [me, other])
        run("unknown address", [osc_message("/ciel/bogus")] * reps, [me])
        run("bundle of 100 unknown addresses", [unknowns] * max(1, reps // 10), [me])
        drifts = [osc_message("/ciel/drift", (k % 1000) / 1000 + 0.0005, types="f") for k in range(reps)]
        far = Victim(third, 32)
        run(f"32 subscriptions on another host, then {reps} changes by another address",
            [osc_message("/ciel/subscribe", p, third, types="is") for p in far.ports], [me], far, then=drifts)
        own = Victim(host, 32)
        run(f"32 subscriptions on its own host, then {reps} changes by another address",
            [osc_message("/ciel/subscribe", p, types="i") for p in own.ports], [me, own], then=drifts)
        for p in own.ports:  # leave no subscribers behind for the next sender
            me.socks[0].sendto(osc_message("/ciel/unsubscribe", p, types="i"), dest)
        for v in (other, far, own):
            v.close()
    finally:
        me.close()
    return rows


# --- 2. floods ----------------------------------------------------------------------------------------------
def flooder(host: str, port: int, packet: bytes, per_s: float, seconds: float, sent: Any) -> None:
    """Sends `packet` `per_s` times a second (0: as fast as it can) for `seconds`, in its own process.

    At nice 19: a flood comes over the network, and the attacker's CPU is not the node's (on this 2-core
    machine a sender at nice 0 would take a core from the renderer, which runs at nice 10).
    """
    os.nice(19)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((host, 0))
    start = time.perf_counter()
    n = 0
    while (now := time.perf_counter()) - start < seconds:
        if per_s:
            due = start + n / per_s
            if due > now:
                time.sleep(min(0.001, due - now))
                continue
        try:
            s.sendto(packet, ("127.0.0.1" if host.startswith("127.") else host, port))
            n += 1
        except OSError:
            if not per_s:
                time.sleep(0.0001)  # a full send buffer: the flood goes on
    sent.value = n


def poll_latest(port: int, stop: threading.Event, out: list[float]) -> None:
    """GET /api/latest over one keep-alive connection, 20 times a second; ms per request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        t0 = time.perf_counter()
        conn.request("GET", "/api/latest")
        conn.getresponse().read()
        out.append((time.perf_counter() - t0) * 1000)
        stop.wait(max(0.0, 0.05 - (time.perf_counter() - t0)))
    conn.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def flood(node: Node, name: str, host: str, packet: bytes, per_s: float, seconds: float, interval: float
          ) -> dict[str, Any]:
    h0, cpu0, seq0 = node.health()["osc"], node.cpu_s(), node.manifest()[-1]["seq"]
    sent = multiprocessing.Value("q", 0)
    proc = multiprocessing.Process(target=flooder, args=(host, node.osc, packet, per_s, seconds, sent)) if packet \
        else None
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll_latest, args=(node.web, stop, latencies))
    t0 = time.monotonic()
    if proc:
        proc.start()
    poller.start()
    time.sleep(seconds)
    stop.set()
    poller.join()
    if proc:
        proc.join()
    elapsed = time.monotonic() - t0
    h1, cpu1 = node.health()["osc"], node.cpu_s()
    pieces = [e for e in node.manifest() if e["seq"] > seq0]
    gaps = [b["created_at"] - a["created_at"] for a, b in zip(pieces, pieces[1:])]
    worst = max((abs(g - interval) for g in gaps), default=float("nan"))
    msgs = packet.count(b"/ciel/") if packet else 0
    return {
        "name": name, "offered_packets_s": sent.value / seconds, "offered_msgs_s": sent.value * msgs / seconds,
        "handled_packets": h1["received"] - h0["received"],
        "rate_limited": h1.get("rate_limited", 0) - h0.get("rate_limited", 0),  # .get: an older node has none
        "malformed": h1["malformed"] - h0["malformed"], "rejected": h1["rejected"] - h0["rejected"],
        "node_cpu": (cpu1 - cpu0) / elapsed, "latest_ms_p50": pct(latencies, 0.5),
        "latest_ms_p99": pct(latencies, 0.99), "latest_ms_max": max(latencies, default=float("nan")),
        "requests": len(latencies), "pieces": len(pieces), "worst_gap_error_ms": worst * 1000,
        "render_s_max": max((e["render_s"] for e in pieces), default=float("nan")),
        "gaps": [round(g, 3) for g in gaps],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="each flood")
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=200, help="requests of each kind (amplification)")
    ap.add_argument("--parts", default="amp,flood")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    stranger = own_address()
    out: dict[str, Any] = {"limits": LIMITS.__dict__, "stranger_address": stranger}

    if "amp" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            node = Node(Path(tmp), 3600)
            try:
                out["amplification"] = {}
                for who, host in (("loopback", "127.0.0.5"), ("stranger", stranger)):
                    if host is None:
                        print(f"amplification: no non-loopback address on this machine; {who} skipped")
                        continue
                    rows = amplification(node, host, args.reps)
                    out["amplification"][who] = rows
                    trusted = " (loopback is trusted: its own subscriptions are exempt)" if who == "loopback" else ""
                    print(f"\namplification, asked from {host}{trusted}; target: out/in <= 1, nothing to a third host")
                    print(f"  {'request':72s} {'in':>7s} {'out':>7s} {'out/in':>6s} {'to 127.0.0.2':>12s}")
                    for kind, sent, got, far in rows:
                        print(f"  {kind:72s} {sent:7d} {got:7d} {got / sent:6.2f} {far:12d}")
            finally:
                node.stop()

    if "flood" in parts:
        bogus = bundle(*[osc_message(f"/ciel/bogus{k}") for k in range(MAX_MESSAGES)])  # the most one packet may ask
        big = bundle(*[osc_message(f"/ciel/bogus{k:04d}") for k in range(2700)])  # 64 KB (the issue's ~205 ms)
        single = osc_message("/ciel/bogus")
        per_bundle = MAX_MESSAGES
        phases: list[tuple[str, str, bytes, float]] = [
            ("quiet (no flood)", "127.0.0.1", b"", 0),
            (f"loopback at its limit: {LIMITS.trusted_rate:.0f} msg/s in {per_bundle}-message bundles",
             "127.0.0.1", bogus, LIMITS.trusted_rate / per_bundle),
            ("loopback at 10x its limit (bundles)", "127.0.0.1", bogus, 10 * LIMITS.trusted_rate / per_bundle),
            ("loopback, single unknown messages as fast as one sender can", "127.0.0.1", single, 0),
            ("loopback, 64 KB bundles of 2,700 unknowns as fast as one sender can", "127.0.0.1", big, 0),
        ]
        if stranger:
            phases += [
                (f"stranger at its limit: {LIMITS.other_rate:.0f} msg/s in bundles", stranger, bogus,
                 LIMITS.other_rate / per_bundle),
                ("stranger, bundles as fast as one sender can", stranger, bogus, 0),
            ]
        with tempfile.TemporaryDirectory() as tmp:
            node = Node(Path(tmp), args.interval)
            try:
                time.sleep(2 * args.interval)  # past the first pieces' start-up
                rows = [flood(node, name, host, packet, per_s, args.seconds, args.interval)
                        for name, host, packet, per_s in phases]
            finally:
                node.stop()
        out["flood"] = rows
        print(f"\nfloods, {args.seconds:g} s each, node at --interval {args.interval:g}; "
              "targets: /api/latest p99 <= 50 ms, every piece within 250 ms of its time")
        print(f"  {'flood':72s} {'offered msg/s':>13s} {'limited':>8s} {'cpu':>5s} {'p50 ms':>7s} {'p99 ms':>7s}"
              f" {'pieces':>6s} {'worst gap err ms':>16s} {'render s max':>12s}")
        for r in rows:
            print(f"  {r['name']:72s} {r['offered_msgs_s']:13.0f} {r['rate_limited']:8d} {r['node_cpu']:5.2f} "
                  f"{r['latest_ms_p50']:7.2f} {r['latest_ms_p99']:7.2f} {r['pieces']:6d} "
                  f"{r['worst_gap_error_ms']:16.0f} {r['render_s_max']:12.2f}")
        p99s = [r["latest_ms_p99"] for r in rows[1:]]
        errs = [r["worst_gap_error_ms"] for r in rows[1:]]
        print(f"  under the floods: /api/latest p99 median {statistics.median(p99s):.2f} ms (max {max(p99s):.2f}); "
              f"worst gap error median {statistics.median(errs):.0f} ms (max {max(errs):.0f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
