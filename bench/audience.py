"""Audience benchmark (issue: the audience at internet scale): a real node publishing through nginx + nchan.

In one run:
  1. push: N EventSource subscribers (default 10,000) on one nginx with deploy/nginx-nchan.conf; the node
     publishes each piece once (--publish-to). Per piece: the time from its created_at to each subscriber
     receiving it, p50/p99/max (target: the last of 10,000 within 1 s); the node's connections to nginx
     (target: one) and its CPU per piece with the subscribers against with none (target: <= 1 % of a core);
  2. relays: the same with two nginx sharing one redis-server, half the subscribers on each, the node
     publishing through the first;
  3. weight: what one listener downloads per hour at the default 30 s interval, WebP (the default) against
     PNG (before) and AVIF for the sky, from the shipped image net; encode times; MP3 against Opus for the
     sound of real pieces at about the same rate, with their spectral distance to the WAV (target <= 16 MB/h).

    python bench/audience.py [--subscribers 10000] [--pieces 5] [--parts push,relays,weight] [--json FILE]

Needs nginx with libnginx-mod-nchan and redis-server (apt-get install -y nginx libnginx-mod-nchan redis-server)
and the shipped checkpoints. Raises its own open-files limit to the hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pythonosc.udp_client import SimpleUDPClient

from web import free_port, get, get_json, latest_seq, wait_until

ROOT = Path(__file__).resolve().parent.parent
NCHAN_CONF = ROOT / "deploy" / "nginx-nchan.conf"
REDIS_LINES = ("    # upstream ciel_redis {\n    #     nchan_redis_server redis://127.0.0.1:6379;\n    # }\n",
               "            # nchan_redis_pass ciel_redis;\n")
INTERVAL = 30.0


# --- processes ------------------------------------------------------------------------------------
def start_nginx(prefix: Path, node_port: int, port: int, redis_port: int | None = None) -> subprocess.Popen[bytes]:
    text = NCHAN_CONF.read_text().replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{node_port};")
    text = text.replace("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{port};")
    if redis_port is not None:
        text = text.replace(REDIS_LINES[0], REDIS_LINES[0].replace("# ", "").replace(":6379", f":{redis_port}"))
        text = text.replace(REDIS_LINES[1], REDIS_LINES[1].replace("# ", ""))
    if os.geteuid() == 0:
        text = "user root;\n" + text
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(text)
    args = ["nginx", "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    subprocess.run([*args, "-t"], check=True, capture_output=True)
    proc = subprocess.Popen([*args, "-g", "daemon off;"], stderr=(prefix / "stderr").open("wb"))
    wait_until(lambda: get(f"http://127.0.0.1:{port}/")[0] in (200, 502), "nginx", 10)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_s(pid: int) -> float:
    """utime + stime of a process and its threads (children are the renderer and are not counted)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(pid: int, port: int) -> int:
    """The process's established TCP connections to 127.0.0.1:port."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in (f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                c = line.split()
                count += int(c[2].rsplit(":", 1)[1], 16) == port and c[3] == "01" and c[9] in inodes
    return count


# --- subscribers -----------------------------------------------------------------------------------
class Subscribers:
    """N raw EventSource connections (HTTP/1.1, text/event-stream), spread over the given ports; for each piece's
    seq, when each connection received it (wall clock, as created_at is)."""

    def __init__(self, ports: list[int], n: int) -> None:
        self.ports, self.n = ports, n
        self.got: dict[int, list[float]] = {}
        self.failed: list[str] = []
        self.open = 0

    async def run(self, ready: asyncio.Event, done: asyncio.Event) -> None:
        sem = asyncio.Semaphore(500)  # connects in flight at once (the listen backlog is 511)

        async def one(k: int) -> None:
            async with sem:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.ports[k % len(self.ports)])
                except OSError as e:
                    self.failed.append(f"connect: {e}")
                    return
                writer.write(b"GET /api/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            self.open += 1
            if self.open == self.n - len(self.failed):
                ready.set()
            buf = b""
            try:
                while not done.is_set():
                    chunk = await reader.read(65536)
                    if not chunk:
                        self.failed.append("closed")
                        return
                    now = time.time()
                    buf += chunk
                    while (i := buf.find(b'"seq":')) >= 0:
                        j = i + 6
                        while j < len(buf) and buf[j:j + 1].isdigit():
                            j += 1
                        if j == len(buf):
                            break
                        self.got.setdefault(int(buf[i + 6:j]), []).append(now)
                        buf = buf[j:]
                    buf = buf[-64:]
            finally:
                writer.close()

        await asyncio.gather(*(one(k) for k in range(self.n)), return_exceptions=True)


async def next_piece(direct: str, osc: SimpleUDPClient) -> int:
    """Ask for a piece and wait until the node has published it (polled the same way with and without
    subscribers, so the node's CPU for the polling is in both); the seq before it."""
    loop = asyncio.get_running_loop()
    seq = await loop.run_in_executor(None, latest_seq, direct)
    osc.send_message("/ciel/next", [])
    while await loop.run_in_executor(None, latest_seq, direct) <= seq:
        await asyncio.sleep(0.05)
    return seq


async def push(node_pid: int, direct: str, osc: SimpleUDPClient, ports: list[int], n: int,
               pieces: int) -> dict[str, Any]:
    subs = Subscribers(ports, n)
    ready, done = asyncio.Event(), asyncio.Event()
    t0 = time.monotonic()
    task = asyncio.create_task(subs.run(ready, done))
    await asyncio.wait_for(ready.wait(), 120)
    opened_s = time.monotonic() - t0
    await asyncio.sleep(2.0)  # the newest piece, sent to each on connecting, is through
    loop = asyncio.get_running_loop()
    rows = []
    cpu_before = cpu_s(node_pid)
    for _ in range(pieces):
        seq = await next_piece(direct, osc)
        end = time.monotonic() + 60
        while len(subs.got.get(seq + 1, [])) < n - len(subs.failed) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        entry = (await loop.run_in_executor(None, get_json, direct + "/api/latest"))
        times = sorted(t - entry["created_at"] for t in subs.got.get(seq + 1, []))
        rows.append({"seq": seq + 1, "received": len(times),
                     "p50_s": times[len(times) // 2] if times else None,
                     "p99_s": times[int(0.99 * (len(times) - 1))] if times else None,
                     "max_s": times[-1] if times else None})
        await asyncio.sleep(1.0)
    cpu_with = (cpu_s(node_pid) - cpu_before) / pieces
    node_connections = {p: connections(node_pid, p) for p in ports}
    done.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(1.0)
    # The same pieces with nobody listening: what the audience costs the node is the difference.
    cpu_before = cpu_s(node_pid)
    for _ in range(pieces):
        await next_piece(direct, osc)
        await asyncio.sleep(1.0)
    cpu_without = (cpu_s(node_pid) - cpu_before) / pieces
    return {"subscribers": n, "ports": len(ports), "opened_s": opened_s, "failed": len(subs.failed),
            "failed_kinds": sorted(set(subs.failed))[:3], "pieces": rows, "node_connections": node_connections,
            "node_cpu_s_per_piece_with": cpu_with, "node_cpu_s_per_piece_without": cpu_without}


# --- weight ----------------------------------------------------------------------------------------
def weight(direct: str, osc: SimpleUDPClient) -> dict[str, Any]:
    """Bytes a listener downloads per hour, and what the formats cost to encode."""
    import torch

    from ciel_node.generate.image import ImageFormat, ImageRenderer
    from ciel_node.models.image_gan import Generator

    torch.set_num_threads(1)
    gan, _ = Generator.from_checkpoint(ROOT / "checkpoints" / "images.pt")
    renderer = ImageRenderer(gan)
    rng = np.random.default_rng(0)
    skies = [renderer.warp(renderer.pixels(rng.standard_normal(renderer.latent))) for _ in range(10)]
    images: dict[str, dict[str, float]] = {}
    for kind in ("png", "webp", "avif"):
        fmt = ImageFormat(kind)
        sizes, times, psnrs = [], [], []
        for sky in skies:
            t = time.perf_counter()
            data = fmt.encode(sky)
            times.append(time.perf_counter() - t)
            sizes.append(len(data))
            back = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")).astype(float)
            inside = sky[..., 3] == 255
            mse = np.mean((back[..., :3][inside] - sky[..., :3][inside].astype(float)) ** 2)
            psnrs.append(99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse))
        images[kind] = {"kb": statistics.median(sizes) / 1000, "encode_ms": 1000 * statistics.median(times),
                        "psnr_db": statistics.median(psnrs)}

    # Real pieces at the default interval, as the node publishes them: the sky, the MP3, the Opus (and the JSON).
    for _ in range(3):
        seq = latest_seq(direct)
        osc.send_message("/ciel/next", [])
        wait_until(lambda s=seq: latest_seq(direct) > s, "a piece", 60)
    pieces = [p for p in get_json(direct + "/api/pieces?limit=10") if p["duration_s"] == INTERVAL][:3]
    sounds: dict[str, list[float]] = {"mp3_kb": [], "opus_kb": [], "mp3_lsd_db": [], "opus_lsd_db": [],
                                      "sky_kb": [], "json_kb": []}
    for p in pieces:
        ref, sr = _decode(_wav_of(p))  # the WAV is not in the API: from the node's state dir
        for name, url in (("mp3", p["audio"]), ("opus", p["audio_opus"])):
            data = get(direct + url)[2]
            got, got_sr = _decode(data)
            sounds[f"{name}_kb"].append(len(data) / 1000)
            sounds[f"{name}_lsd_db"].append(_lsd(ref, sr, got, got_sr))
        sounds["sky_kb"].append(len(get(direct + p["sky"])[2]) / 1000)
        sounds["json_kb"].append(len(json.dumps(p, separators=(",", ":"))) / 1000)
    sound = {k: statistics.median(v) for k, v in sounds.items() if v}
    return {"images": images, "sound": sound, "pieces": len(pieces)}


def _wav_of(piece: dict[str, Any]) -> bytes:
    state = Path(os.environ["CIEL_BENCH_STATE"])
    for line in (state / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("seq") == piece["seq"]:
            return (state / "media" / entry["wav"]).read_bytes()
    raise SystemExit(f"piece {piece['seq']} is not in the manifest")


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate)
        mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        frames = [g.to_ndarray().reshape(-1) for f in container.decode(stream) for g in mono.resample(f)]
    return (np.concatenate(frames) if frames else np.zeros(0, np.float32)), rate


def _lsd(ref: np.ndarray, sr: int, got: np.ndarray, got_sr: int) -> float:
    """Log-spectral distance (dB) between two sounds over the reference's band, on 32 ms frames, aligned by
    cross-correlation (codecs add a delay)."""
    import soxr

    if got_sr != sr:
        got = soxr.resample(got, got_sr, sr)
    n = min(len(ref), len(got))
    lag_max = int(0.1 * sr)
    a, b = ref[: n - lag_max], got[:n]
    corr = np.correlate(b[: len(a) + lag_max], a[: min(len(a), sr)], mode="valid")[: lag_max + 1]
    lag = int(np.argmax(corr))
    b = b[lag : lag + len(a)]
    win = int(0.032 * sr)
    frames = len(a) // win

    def spec(x: np.ndarray) -> np.ndarray:
        return np.abs(np.fft.rfft(x[: frames * win].reshape(frames, win) * np.hanning(win), axis=1)) + 1e-5

    loud = (a[: frames * win].reshape(frames, win) ** 2).mean(axis=1) > 1e-6
    d = 20 * np.log10(spec(a)[loud]) - 20 * np.log10(spec(b)[loud])
    return float(np.mean(np.sqrt(np.mean(d**2, axis=1))))


# --- main ------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--pieces", type=int, default=5)
    ap.add_argument("--parts", default="push,relays,weight")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if not parts or parts - {"push", "relays", "weight"}:
        raise SystemExit(f"bench: --parts {args.parts!r}: give some of push,relays,weight")
    for tool in ("nginx", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed "
                             "(apt-get install -y nginx libnginx-mod-nchan redis-server)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.subscribers + 200:
        raise SystemExit(f"bench: the open-files limit ({hard}) is below {args.subscribers} subscribers")

    web_port, osc_port, a, b, redis = free_port(), free_port(), free_port(), free_port(), free_port()
    direct = f"http://127.0.0.1:{web_port}"
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ciel-bench-audience-") as tmp:
        tmpdir = Path(tmp)
        os.environ["CIEL_BENCH_STATE"] = str(tmpdir / "state")
        node_log = (tmpdir / "node.log").open("wb")
        node = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(tmpdir / "state"),
             "--web", f"127.0.0.1:{web_port}", "--osc", f"127.0.0.1:{osc_port}", "--oscquery", "off",
             "--interval", str(INTERVAL), "--no-playback", "--log-level", "warning",
             "--publish-to", f"http://127.0.0.1:{a}/internal/pieces"],
            cwd=ROOT, stdout=node_log, stderr=subprocess.STDOUT,
        )
        osc = SimpleUDPClient("127.0.0.1", osc_port)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            wait_until(lambda: latest_seq(direct) >= 1, "the node's first piece", 120)
            if "weight" in parts:
                out["weight"] = weight(direct, osc)
            if "push" in parts:
                procs.append(start_nginx(tmpdir / "nginx-a", web_port, a))
                out["push"] = asyncio.run(push(node.pid, direct, osc, [a], args.subscribers, args.pieces))
                stop(procs.pop())
            if "relays" in parts:
                procs.append(subprocess.Popen(
                    ["redis-server", "--port", str(redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(tmpdir)], stdout=subprocess.DEVNULL))
                time.sleep(0.5)
                procs.append(start_nginx(tmpdir / "relay-a", web_port, a, redis))
                procs.append(start_nginx(tmpdir / "relay-b", web_port, b, redis))
                out["relays"] = asyncio.run(push(node.pid, direct, osc, [a, b], args.subscribers, args.pieces))
        finally:
            for p in [*reversed(procs), node]:
                stop(p)
            node_log.close()
    return _report(args, out)


def _report(args: argparse.Namespace, out: dict[str, Any]) -> int:
    for part in ("push", "relays"):
        if part not in out:
            continue
        r = out[part]
        worst = [row["max_s"] for row in r["pieces"] if row["max_s"] is not None]
        p50 = [row["p50_s"] for row in r["pieces"] if row["p50_s"] is not None]
        p99 = [row["p99_s"] for row in r["pieces"] if row["p99_s"] is not None]
        got = min(row["received"] for row in r["pieces"])
        where = "one nginx" if r["ports"] == 1 else f"{r['ports']} relays on one Redis"
        print(f"audience: {r['subscribers']} EventSource subscribers through nchan ({where}), opened in "
              f"{r['opened_s']:.1f} s, {r['failed']} failed {r['failed_kinds']}; {len(r['pieces'])} pieces, each "
              f"received by at least {got}")
        print(f"audience: created_at -> received, medians over pieces: p50 {statistics.median(p50):.3f} s, "
              f"p99 {statistics.median(p99):.3f} s, last subscriber {statistics.median(worst):.3f} s "
              f"(worst piece {max(worst):.3f} s; target <= 1 s)")
        cost = r["node_cpu_s_per_piece_with"] - r["node_cpu_s_per_piece_without"]
        print(f"audience: the node's connections to nginx {r['node_connections']} (target: one); its CPU per piece "
              f"{1000 * r['node_cpu_s_per_piece_with']:.0f} ms with the subscribers, "
              f"{1000 * r['node_cpu_s_per_piece_without']:.0f} ms without (difference {1000 * cost:+.0f} ms, "
              f"{100 * cost / INTERVAL:+.2f} % of a core at {INTERVAL:g} s; target <= 1 %)")
    if "weight" in out:
        w, per_hour = out["weight"], 3600.0 / INTERVAL
        im, snd = w["images"], w["sound"]
        for kind, v in im.items():
            print(f"audience: sky as {kind}: {v['kb']:.1f} kB, encoded in {v['encode_ms']:.1f} ms, "
                  f"PSNR {v['psnr_db']:.1f} dB inside the oval (medians of 10)")
        print(f"audience: {w['pieces']} real {INTERVAL:g} s pieces as published: sky {snd['sky_kb']:.1f} kB, "
              f"MP3 {snd['mp3_kb']:.1f} kB (log-spectral distance to the WAV {snd['mp3_lsd_db']:.2f} dB), "
              f"Opus {snd['opus_kb']:.1f} kB ({snd['opus_lsd_db']:.2f} dB), JSON {snd['json_kb']:.1f} kB")
        before = (im["png"]["kb"] + snd["mp3_kb"] + snd["json_kb"]) * per_hour / 1000
        mp3_browsers = (snd["sky_kb"] + snd["mp3_kb"] + snd["json_kb"]) * per_hour / 1000
        now = (snd["sky_kb"] + snd["opus_kb"] + snd["json_kb"]) * per_hour / 1000
        print(f"audience: one listener per hour at {INTERVAL:g} s: {now:.1f} MB (sky WebP + Opus; target <= 16 MB), "
              f"{mp3_browsers:.1f} MB where the browser plays no Opus (WebP + MP3), before {before:.1f} MB "
              f"(PNG + MP3): {before / now:.1f}x lighter")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
