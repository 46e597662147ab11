"""Web benchmark (the audience page): a real node process, nginx in front of it (deploy/nginx.conf), wrk.

In one run:
  1. /api/latest requests/s straight from the node, through the nginx cache, and nginx serving a static
     copy of the same JSON (wrk, interleaved rounds, medians; targets: direct >= 0.25 x static,
     through the cache >= 0.9 x static);
  2. 1,000 keep-alive connections polling /api/latest every 2 s (with If-None-Match, like the page's
     fallback) against the node for ~30 s: latency percentiles and errors (targets: p99 <= 50 ms, no
     errors), and the node's own cadence meanwhile (gaps between pieces' created_at, from /api/pieces);
  3. what one listener downloads per hour at the default 30 s interval, from real pieces.

    python bench/web.py [--seconds 5] [--rounds 3] [--listeners 1000] [--load-s 30] [--json FILE]
    python bench/web.py --parts rps          # only 1: the quick check that /api/latest did not slow down

Needs `nginx` and `wrk` (apt-get install -y nginx wrk) and the shipped checkpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pythonosc.udp_client import SimpleUDPClient

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DEFAULT_INTERVAL = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    if status != 200:
        raise RuntimeError(f"{url}: HTTP {status}")
    return json.loads(body)


def wait_until(cond, what: str, deadline_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while True:
        try:
            if cond():
                return
        except (OSError, RuntimeError):
            pass
        if time.monotonic() > end:
            raise SystemExit(f"bench: {what} did not happen within {deadline_s:g} s")
        time.sleep(0.05)


def latest_seq(base: str) -> int:
    return int(get_json(base + "/api/latest")["seq"])


# --- nginx ---------------------------------------------------------------------------------------
def render_nginx(prefix: Path, node_port: int, cache_port: int, static_port: int, static_json: Path) -> Path:
    """deploy/nginx.conf with our ports, plus one server that serves the same JSON from a file."""
    text = NGINX_CONF.read_text()
    text = text.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{node_port};", 1)
    text = text.replace("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{cache_port};", 1)
    if os.geteuid() == 0:
        text = "user root;\n" + text  # workers as `nobody` could not read a private temp dir
    static = f"""
    server {{  # bench only: the same JSON as a static file, the ceiling for serving it
        listen 127.0.0.1:{static_port};
        location = /api/latest {{
            alias {static_json};
            default_type application/json;
            add_header Cache-Control no-cache;
        }}
    }}
"""
    body = text.rstrip()
    assert body.endswith("}"), "deploy/nginx.conf should end with the http block"
    text = body[:-1] + static + "}\n"  # inside the http block
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


# --- wrk -----------------------------------------------------------------------------------------
def wrk(url: str, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"rps": rps, "errors": errors, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")}


# --- 1,000 pollers ---------------------------------------------------------------------------------
class Poller:
    """One keep-alive HTTP/1.1 connection asking for /api/latest every `period` s with If-None-Match."""

    def __init__(self, port: int, period: float) -> None:
        self.port, self.period = port, period
        self.etag = ""
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.codes: dict[int, int] = {}

    async def run(self, start_at: float, stop_at: float, ready: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as e:
            self.errors.append(f"connect: {e}")
            return
        await ready.wait()  # every connection is open before the clock starts
        t = start_at + random.random() * self.period  # spread the polls over the period
        try:
            while t < stop_at:
                await asyncio.sleep(max(0.0, t - loop.time()))
                request = ("GET /api/latest HTTP/1.1\r\nHost: bench\r\n"
                           + (f"If-None-Match: {self.etag}\r\n" if self.etag else "") + "\r\n").encode()
                sent = loop.time()
                writer.write(request)
                status, headers, _ = await asyncio.wait_for(read_response(reader), 10)
                self.latencies.append((loop.time() - sent) * 1000)
                self.codes[status] = self.codes.get(status, 0) + 1
                if status == 200:
                    self.etag = headers.get("etag", "")
                elif status != 304:
                    self.errors.append(f"HTTP {status}")
                t += self.period
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def poll_load(port: int, listeners: int, seconds: float, period: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    pollers = [Poller(port, period) for _ in range(listeners)]
    ready = asyncio.Event()
    start_at = loop.time() + 3.0  # time to open every connection first
    stop_at = start_at + seconds
    tasks = [asyncio.create_task(p.run(start_at, stop_at, ready)) for p in pollers]
    await asyncio.sleep(max(0.0, start_at - loop.time() - 0.5))
    ready.set()
    wall_start = time.time() + (start_at - loop.time())
    await asyncio.gather(*tasks)
    latencies = sorted(x for p in pollers for x in p.latencies)
    errors = [e for p in pollers for e in p.errors]
    codes: dict[int, int] = {}
    for p in pollers:
        for k, v in p.codes.items():
            codes[k] = codes.get(k, 0) + v

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"listeners": listeners, "seconds": seconds, "requests": len(latencies), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], "codes": codes, "rate": len(latencies) / seconds,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": latencies[-1] if latencies else 0,
            "window": (wall_start, wall_start + seconds)}


def gaps_between(pieces: list[dict[str, Any]], start: float, end: float) -> list[float]:
    times = sorted(p["created_at"] for p in pieces if start <= p["created_at"] <= end)
    return [b - a for a, b in zip(times, times[1:])]


def describe_gaps(gaps: list[float], interval: float) -> str:
    if not gaps:
        return "no gaps measured"
    worst = max(abs(g - interval) for g in gaps)
    return (f"{len(gaps)} gaps, median {statistics.median(gaps):.3f} s, "
            f"min {min(gaps):.3f} s, max {max(gaps):.3f} s (worst off {worst * 1000:.0f} ms)")


# --- main ----------------------------------------------------------------------------------------
def per_listener_hour(direct: str, osc: SimpleUDPClient) -> dict[str, float]:
    """What one listener downloads per hour at the default interval, from five real pieces."""
    for _ in range(5):
        seq = latest_seq(direct)
        osc.send_message("/ciel/next", [])
        wait_until(lambda s=seq: latest_seq(direct) > s, "a piece after /ciel/next", 60)
    pieces = [p for p in get_json(direct + "/api/pieces?limit=20") if p["duration_s"] == DEFAULT_INTERVAL]
    sizes = {k: [len(get(direct + p[k])[2]) for p in pieces] for k in ("audio", "sky", "image")}
    json_bytes = len(get(direct + "/api/latest")[2])
    per_hour = 3600.0 / DEFAULT_INTERVAL
    mp3 = statistics.median(sizes["audio"])
    sky = statistics.median(sizes["sky"])
    return {
        "pieces_measured": len(pieces), "mp3_bytes_median": mp3,
        "mp3_kbit_s": mp3 * 8 / DEFAULT_INTERVAL / 1000, "sky_bytes_median": sky,
        "audio_mb": mp3 * per_hour / 1e6, "page_mb": (mp3 + sky + json_bytes) * per_hour / 1e6,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="wrk rounds (direct, cache, static interleaved)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections")
    ap.add_argument("--listeners", type=int, default=1000)
    ap.add_argument("--load-s", type=float, default=30.0)
    ap.add_argument("--cadence", type=float, default=2.0, help="node interval while the pollers run")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--parts", default="rps,pollers,download",
                    help="comma-separated: rps (1), pollers (2), download (3); default all")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if not parts or parts - {"rps", "pollers", "download"}:
        raise SystemExit(f"bench: --parts {args.parts!r}: give some of rps,pollers,download")
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed (apt-get install -y nginx wrk)")
    # A thousand client sockets here and a thousand in the node (which inherits this limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))

    web_port, osc_port, cache_port, static_port = free_port(), free_port(), free_port(), free_port()
    direct = f"http://127.0.0.1:{web_port}"
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ciel-bench-web-") as tmp:
        tmpdir = Path(tmp)
        node_log = (tmpdir / "node.log").open("wb")
        node = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(tmpdir / "state"),
             "--web", f"127.0.0.1:{web_port}", "--osc", f"127.0.0.1:{osc_port}", "--oscquery", "off",
             "--interval", str(DEFAULT_INTERVAL), "--log-level", "warning"],
            cwd=ROOT, stdout=node_log, stderr=subprocess.STDOUT,
        )
        nginx: subprocess.Popen[bytes] | None = None
        osc = SimpleUDPClient("127.0.0.1", osc_port)
        try:
            wait_until(lambda: latest_seq(direct) >= 1, "the node's first piece", 120)

            # 3 first (it needs the default interval): real pieces at 30 s, asked for with /ciel/next.
            if "download" in parts:
                out["per_listener_hour"] = per_listener_hour(direct, osc)

            # 1: requests/s.
            static_json = tmpdir / "latest.json"
            static_json.write_bytes(get(direct + "/api/latest")[2])
            prefix = tmpdir / "nginx"
            conf = render_nginx(prefix, web_port, cache_port, static_port, static_json)
            nginx_args = ["nginx", "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"]
            subprocess.run([*nginx_args, "-t"], check=True, capture_output=True)
            nginx = subprocess.Popen([*nginx_args, "-g", "daemon off;"], stderr=(prefix / "stderr").open("wb"))
            cached = f"http://127.0.0.1:{cache_port}/api/latest"
            static = f"http://127.0.0.1:{static_port}/api/latest"
            wait_until(lambda: get(cached)[0] == 200 and get(static)[0] == 200, "nginx", 10)
            status, headers, _ = get(cached)
            out["cache_status_second_request"] = headers.get("X-Cache-Status")
            targets = {"direct": direct + "/api/latest", "cache": cached, "static": static}
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for _ in range(args.rounds if "rps" in parts else 0):
                for name, url in targets.items():
                    runs[name].append(wrk(url, args.seconds, args.connections))
            if "rps" in parts:
                rps = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
                out["wrk"] = {"runs": runs, "median_rps": rps, "direct_over_static": rps["direct"] / rps["static"],
                              "cache_over_static": rps["cache"] / rps["static"]}

            # 2: a thousand pollers against the node, at a quick cadence to see whether it slips.
            if "pollers" not in parts:
                return _report(args, out)
            osc.send_message("/ciel/interval", [float(args.cadence)])
            wait_until(lambda: get_json(direct + "/api/latest")["params"]["interval"] == args.cadence,
                       "the new interval", 30)
            quiet_from = time.time()
            time.sleep(max(10.0, 5 * args.cadence))
            quiet_to = time.time()
            load = asyncio.run(poll_load(web_port, args.listeners, args.load_s, 2.0))
            time.sleep(args.cadence + 0.5)
            history = get_json(direct + f"/api/pieces?limit={min(500, int(args.load_s / args.cadence) + 60)}")
            quiet_gaps = gaps_between(history, quiet_from, quiet_to)
            load_gaps = gaps_between(history, *load["window"])
            out["pollers"] = {**load, "quiet_gaps": quiet_gaps, "load_gaps": load_gaps}
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(10)
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(30)
            except subprocess.TimeoutExpired:
                node.kill()
            node_log.close()

    return _report(args, out)


def _report(args: argparse.Namespace, out: dict[str, Any]) -> int:
    if "wrk" in out:
        w = out["wrk"]
        r = w["median_rps"]
        print(f"web: /api/latest req/s (median of {args.rounds} x {args.seconds:g} s, wrk -t1 -c{args.connections}): "
              f"direct {r['direct']:.0f}, through the nginx cache {r['cache']:.0f}, nginx static {r['static']:.0f}")
        print(f"web: direct / static = {w['direct_over_static']:.2f} (target >= 0.25), "
              f"cache / static = {w['cache_over_static']:.2f} (target >= 0.9); "
              f"second request through nginx: X-Cache-Status {out['cache_status_second_request']}")
        wrk_errors = sum(x["errors"] for v in w["runs"].values() for x in v)
        print(f"web: wrk errors {wrk_errors}")
    if "pollers" in out:
        p = out["pollers"]
        print(f"web: {p['listeners']} keep-alive pollers every 2 s for {p['seconds']:g} s against the node: "
              f"{p['requests']} requests ({p['rate']:.0f}/s, {p['codes']}), errors {p['errors']} {p['error_kinds']}; "
              f"latency p50 {p['p50_ms']:.1f} ms, p90 {p['p90_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms "
              f"(target <= 50 ms), max {p['max_ms']:.1f} ms")
        print(f"web: node cadence at {args.cadence:g} s, quiet: {describe_gaps(p['quiet_gaps'], args.cadence)}")
        print(f"web: node cadence at {args.cadence:g} s, under the pollers: "
              f"{describe_gaps(p['load_gaps'], args.cadence)}")
    if "per_listener_hour" in out:
        h = out["per_listener_hour"]
        print(f"web: one listener per hour at {DEFAULT_INTERVAL:g} s pieces ({h['pieces_measured']} real pieces): "
              f"MP3 median {h['mp3_bytes_median'] / 1000:.1f} kB ({h['mp3_kbit_s']:.1f} kbit/s) -> "
              f"{h['audio_mb']:.1f} MB/h of sound; with the sky PNG (median {h['sky_bytes_median'] / 1000:.1f} kB) "
              f"and the JSON: {h['page_mb']:.1f} MB/h")
    if args.json:
        out.get("pollers", {}).pop("window", None)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
