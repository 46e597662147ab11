"""SSH benchmark: /ciel/get round trips direct vs through SSH, 1,000 msg/s through the operator bridge, how
fast the reverse tunnel is back after its relay's sshd drops, and whether an operator still gets in while
other addresses hold idle logins (lockout), all in one run.

    python bench/ssh.py [--rtt 2000] [--rate 1000] [--seconds 10] [--drops 3] [--logins 30]
                        [--parts rtt,bridge,reconnect,lockout] [--json FILE]

The node, its SshServer and its ReverseTunnel run in this process, as in `ciel-node run`. Every client runs in
a process of its own, so none shares the node's GIL: OpenSSH's ssh for the embedded server, a stock sshd as the
relay, `python -m ciel_node.ssh.operator` as the bridge, and the round-trip and load clients (spawned).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pythonosc.osc_message import OscMessage  # noqa: E402

from ciel_node.controls.framing import SlipDecoder, slip_encode  # noqa: E402
from ciel_node.controls.wire import osc_message  # noqa: E402

STATE_COUNT = 5  # /ciel/get answers with one /ciel/state/* per control


# --- clients (run in spawned processes) ------------------------------------------------------------------
def rtt_tcp(port: int, n: int) -> list[float]:
    """/ciel/get over one TCP connection (SLIP); ms until all the state messages are back on it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frame, decoder, times = slip_encode(osc_message("/ciel/get")), SlipDecoder(), []
    for i in range(n + 50):  # the first 50 warm up
        t0 = time.perf_counter()
        sock.sendall(frame)
        got = 0
        while got < STATE_COUNT:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"connection to port {port} closed")
            got += sum(1 for _ in decoder.feed(data))
        if i >= 50:
            times.append((time.perf_counter() - t0) * 1000)
    sock.close()
    return times


def rtt_udp(port: int, n: int) -> list[float]:
    """/ciel/get over UDP, answered to the sender's port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.bind(("127.0.0.1", 0))  # not connected: the answers come from the node's feedback socket, not its port
    # A subscriber's port gets the whole state; any other port only as many bytes as it sent (no amplification).
    sock.sendto(osc_message("/ciel/subscribe", sock.getsockname()[1], types="i"), ("127.0.0.1", port))
    packet, times = osc_message("/ciel/get"), []
    for i in range(n + 50):
        t0 = time.perf_counter()
        sock.sendto(packet, ("127.0.0.1", port))
        for _ in range(STATE_COUNT):
            sock.recv(65536)
        if i >= 50:
            times.append((time.perf_counter() - t0) * 1000)
    sock.sendto(osc_message("/ciel/unsubscribe", sock.getsockname()[1], types="i"), ("127.0.0.1", port))
    sock.close()
    return times


def drift_value(k: int) -> float:
    return (k % 65536) / 65536.0  # distinct consecutive values, exact in float32: each one is a change


def load_udp(bridge: int, rate: int, seconds: float) -> dict[str, float]:
    """`rate` /ciel/drift messages a second into the operator bridge; feedback comes back through it too."""
    fb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fb.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    fb.bind(("127.0.0.1", 0))
    fb.settimeout(0.2)
    back: dict[float, float] = {}
    hello = threading.Event()
    running = True

    def receive() -> None:
        while running:
            try:
                data = fb.recv(65536)
            except TimeoutError:
                continue
            t = time.perf_counter()
            hello.set()
            msg = OscMessage(data)
            if msg.address == "/ciel/state/drift":
                back.setdefault(msg.params[0], t)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", bridge)
    tx.sendto(osc_message("/ciel/subscribe", fb.getsockname()[1], types="i"), dest)
    tx.sendto(osc_message("/ciel/get"), dest)
    if not hello.wait(10):
        raise RuntimeError("no feedback through the bridge")
    total = int(rate * seconds)
    packets = [osc_message("/ciel/drift", drift_value(k + 1), types="f") for k in range(total)]
    sent_at: list[float] = []
    start = time.perf_counter()
    for k in range(total):
        delay = start + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent_at.append(time.perf_counter())
        tx.sendto(packets[k], dest)
    send_s = time.perf_counter() - start
    end = time.monotonic() + 10
    while len(back) < total and time.monotonic() < end:
        time.sleep(0.01)
    running = False
    rtts = sorted((back[drift_value(k + 1)] - sent_at[k]) * 1000 for k in range(total) if drift_value(k + 1) in back)
    return {"sent": total, "send_s": send_s, "feedback": len(back), "rtt_p50": statistics.median(rtts),
            "rtt_p99": rtts[int(0.99 * (len(rtts) - 1))]}


def idle_attacker(port: int, sources: list[str], count: int, banner: bool, stop: Any) -> None:
    """Keeps `count` idle connections to the SSH port open from `sources` (round-robin), sending nothing or only a
    version line, and opens a new one the moment the server closes one: the lockout attack."""
    sel = selectors.DefaultSelector()
    k = 0
    while not stop.is_set():
        while len(sel.get_map()) < count:
            sock = socket.socket()
            sock.bind((sources[k % len(sources)], 0))
            k += 1
            try:
                sock.settimeout(2)
                sock.connect(("127.0.0.1", port))
                if banner:
                    sock.sendall(b"SSH-2.0-idle\r\n")
            except OSError:
                sock.close()
                break
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
        for key, _ in sel.select(0.02):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            try:
                alive = bool(conn.recv(4096))
            except BlockingIOError:
                alive = True
            except OSError:
                alive = False
            if not alive:
                sel.unregister(conn)
                conn.close()
        if len(sel.get_map()) < count:
            time.sleep(0.02)  # refused: do not spin
    for key in list(sel.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]


# --- peers -------------------------------------------------------------------------------------------------
def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Relay:
    """A stock sshd (the relay); kill() takes down the listener and every session it holds."""

    def __init__(self, folder: Path, authorized: Path, remote_port: int) -> None:
        self.port, self.folder = free_port(), folder
        self.host_key = keygen(folder / "relay_host_key")
        self.config = folder / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}", "StrictModes no", "UsePAM no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitTTY no",
            "AllowTcpForwarding yes", "GatewayPorts no", "PermitOpen none", f"PermitListen 127.0.0.1:{remote_port}",
        ]) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.config)],
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while not listening(self.port):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("the relay's sshd did not start")
            time.sleep(0.005)

    def kill(self) -> None:
        if self.proc is None:
            return
        children: dict[int, list[int]] = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
        pids, todo = [self.proc.pid], [self.proc.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                pids.append(child)
                todo.append(child)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None


def stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50": statistics.median(ordered), "p99": ordered[int(0.99 * (len(ordered) - 1))]}


async def until(cond: Callable[[], bool], deadline_s: float, what: str) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > deadline_s:
            raise RuntimeError(f"{what}: not within {deadline_s} s")
        await asyncio.sleep(0.002)
    return time.monotonic() - start


async def lockout(ssh_port: int, osc_port: int, key: Path, known_hosts: Path, logins: int,
                  counters: dict[str, int]) -> dict[str, object]:
    """OpenSSH logins from 127.0.0.1 (each a `ssh -W` to the OSC port that sets the seed), with no attack, while
    one address (127.0.0.2) keeps 8 idle connections open, and while 8 addresses keep one each (every login slot
    taken): success rate and login time for each."""
    from ciel_node.ssh.server import MAX_UNAUTHENTICATED

    cases = {"no attack": ([], False), "one address, 8 idle connections": (["127.0.0.2"], False),
             "8 addresses, 1 idle login each": ([f"127.0.0.{n}" for n in range(2, 2 + MAX_UNAUTHENTICATED)], True)}
    ctx = get_context("spawn")
    out: dict[str, object] = {}
    for name, (sources, banner) in cases.items():
        stop = ctx.Event()
        attacker = ctx.Process(target=idle_attacker, args=(ssh_port, sources, MAX_UNAUTHENTICATED, banner, stop))
        if sources:
            before = counters["ssh_connections"]
            attacker.start()
            await until(lambda b=before: counters["ssh_connections"] - b >= MAX_UNAUTHENTICATED, 10,  # type: ignore[misc]
                        "the attacker's connections")
            await asyncio.sleep(2.0)  # an attack under way, not one starting: its logins older than EVICT_MIN_AGE_S
        ok, took = 0, []
        try:
            for n in range(logins):
                frame = slip_encode(osc_message("/ciel/seed", 7000 + n, types="i"))
                t0 = time.perf_counter()
                proc = await asyncio.create_subprocess_exec(
                    "ssh", "-F", "/dev/null", "-b", "127.0.0.1", "-p", str(ssh_port), "-i", str(key),
                    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                    "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ConnectTimeout=5",
                    "-W", f"127.0.0.1:{osc_port}", "op@127.0.0.1",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                try:
                    await asyncio.wait_for(proc.communicate(frame), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
                if proc.returncode == 0:
                    ok += 1
                    took.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.4)  # under the per-address bucket's 4 a second: only the attack is measured
        finally:
            stop.set()
            if sources:
                attacker.join(10)
        p50 = statistics.median(took) if took else float("nan")
        p95 = sorted(took)[int(0.95 * (len(took) - 1))] if took else float("nan")
        out[name] = {"logins": logins, "ok": ok, "login_ms_p50": p50, "login_ms_p95": p95}
        print(f"ssh: lockout: {name:34s} operator got in {ok}/{logins}; ssh -W login+forward p50 {p50:.0f} ms, "
              f"p95 {p95:.0f} ms")
    names = ("ssh_busy", "ssh_evicted", "ssh_login_timeouts", "ssh_rate_limited")
    out["counters"] = {k: counters.get(k, 0) for k in names}
    return out


# --- the run -------------------------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    import paramiko

    from ciel_node.app import Node, control_surfaces
    from ciel_node.config import RunConfig
    from ciel_node.ssh.server import SshServer
    from ciel_node.ssh.tunnel import ReverseTunnel

    loop = asyncio.get_running_loop()
    key = keygen(tmp / "op")
    authorized = tmp / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    known_hosts = tmp / "known_hosts"
    cfg = RunConfig(state_dir=tmp / "state", controls={"interval": 3600}, osc="127.0.0.1:0", max_sound_s=2.0,
                    oscquery="off")
    node = Node(cfg)
    stop = asyncio.Event()
    out: dict[str, object] = {}
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
    procs: list[subprocess.Popen[bytes]] = []
    async with control_surfaces(node, cfg) as osc:
        task = asyncio.create_task(node.run(stop))
        counters: dict[str, int] = {}
        ssh = SshServer("127.0.0.1", 0, authorized, tmp / "state" / "ssh_host_key", "127.0.0.1", osc.port, counters)
        remote = free_port()
        relay = Relay(tmp, authorized, remote)
        relay.start()
        tunnel = ReverseTunnel(f"{getpass.getuser()}@127.0.0.1:{relay.port}", key, known_hosts, osc.port,
                               remote_port=remote, counters=counters)
        try:
            await until(lambda: node.media.last_seq >= 1, 300, "the first piece")  # models warm, renderer idle
            await ssh.start()
            host_key = paramiko.PKey.from_path(tmp / "state" / "ssh_host_key")
            known_hosts.write_text(
                f"[127.0.0.1]:{ssh.port} {host_key.get_name()} {host_key.get_base64()}\n"
                f"[127.0.0.1]:{relay.port} {Path(f'{relay.host_key}.pub').read_text().strip()}\n"
            )
            if "lockout" in args.parts:
                out["lockout"] = await lockout(ssh.port, osc.port, key, known_hosts, args.logins, counters)
            if not {"rtt", "bridge", "reconnect"} & set(args.parts):
                return out
            await tunnel.start()
            await until(lambda: tunnel.status()["connected"], 10, "the reverse tunnel")
            local = free_port()
            procs.append(subprocess.Popen([
                "ssh", "-F", "/dev/null", "-N", "-L", f"{local}:127.0.0.1:{osc.port}", "-p", str(ssh.port),
                "-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ExitOnForwardFailure=yes", "op@127.0.0.1",
            ], stdin=subprocess.DEVNULL))
            await until(lambda: listening(local), 10, "ssh -L")

            if "rtt" in args.parts:
                # 1. round trips, each path in turn, from a spawned process
                rtt: dict[str, list[float]] = {}
                for name, fn, port in (("direct UDP", rtt_udp, osc.port), ("direct TCP", rtt_tcp, osc.port),
                                       ("embedded SSH (ssh -L)", rtt_tcp, local),
                                       ("reverse tunnel (relay sshd)", rtt_tcp, remote)):
                    rtt[name] = await loop.run_in_executor(pool, fn, port, args.rtt)
                base = stats(rtt["direct TCP"])
                out["rtt_ms"] = {name: stats(v) for name, v in rtt.items()}
                for name, v in rtt.items():
                    s = stats(v)
                    added = "" if "direct" in name else (
                        f"  (added: p50 {s['p50'] - base['p50']:+.3f} ms, p99 {s['p99'] - base['p99']:+.3f} ms; "
                        "target <= 2 ms)")
                    print(f"ssh: /ciel/get round trip {name:28s} p50 {s['p50']:.3f} ms  p99 {s['p99']:.3f} ms{added}")

            if "bridge" in args.parts:
                # 2. the operator bridge at `rate` msg/s
                bridge = free_port()
                op = subprocess.Popen([
                    sys.executable, "-m", "ciel_node.ssh.operator", "--ssh", f"op@127.0.0.1:{ssh.port}",
                    "--key", str(key), "--udp", f"127.0.0.1:{bridge}", "--osc-port", str(osc.port),
                    "--known-hosts", str(known_hosts), "--oscquery", "off",
                ], stderr=subprocess.PIPE, text=True)
                procs.append(op)
                assert op.stderr is not None
                line = await loop.run_in_executor(None, op.stderr.readline)
                if "point your patch" not in line:
                    raise RuntimeError(f"the operator did not start: {line}")
                settled = (node.osc_counters["applied"], time.monotonic())
                while time.monotonic() - settled[1] < 0.3:  # the bridge's hello has landed: a quiet baseline
                    if node.osc_counters["applied"] != settled[0]:
                        settled = (node.osc_counters["applied"], time.monotonic())
                    await asyncio.sleep(0.01)
                applied0 = node.osc_counters["applied"]
                load = await loop.run_in_executor(pool, load_udp, bridge, args.rate, args.seconds)
                expected = load["sent"] + 2  # + its /ciel/subscribe and /ciel/get
                try:
                    await until(lambda: node.osc_counters["applied"] - applied0 >= expected, 10, "all applied")
                except RuntimeError:
                    pass
                applied = node.osc_counters["applied"] - applied0 - 2
                lost = int(load["sent"]) - applied
                out["bridge"] = {**load, "applied": applied, "lost": lost}
                print(f"ssh: operator bridge: sent {load['sent']:.0f} in {load['send_s']:.2f} s "
                      f"({load['sent'] / load['send_s']:.0f}/s); node applied {applied} (lost {lost}); "
                      f"feedback back through the bridge {load['feedback']:.0f}; control -> feedback round trip "
                      f"p50 {load['rtt_p50']:.2f} ms, p99 {load['rtt_p99']:.2f} ms")

            if "reconnect" in args.parts:
                # 3. the relay drops hard and comes straight back: how long until the tunnel carries OSC again
                back, osc_back, from_drop = [], [], []
                for _ in range(args.drops):
                    dropped = time.monotonic()
                    relay.kill()
                    await until(lambda: not tunnel.status()["connected"], 10, "tunnel noticed the drop")
                    relay.start()
                    restarted = time.monotonic()
                    await until(lambda: tunnel.status()["connected"], 30, "tunnel back")
                    back.append(time.monotonic() - restarted)
                    while True:
                        try:
                            await loop.run_in_executor(None, rtt_tcp, remote, 1)
                            break
                        except (OSError, RuntimeError):
                            await asyncio.sleep(0.01)
                    osc_back.append(time.monotonic() - restarted)
                    from_drop.append(time.monotonic() - dropped)
                out["reconnect_s"] = {"tunnel": back, "osc": osc_back, "from_drop": from_drop}
                print(f"ssh: reverse tunnel after the relay's sshd drops and restarts ({args.drops} times): back "
                      f"{statistics.median(back):.2f} s, carrying OSC {statistics.median(osc_back):.2f} s after the "
                      f"restart ({statistics.median(from_drop):.2f} s after the drop) (medians; target <= 5 s)")
        finally:
            for p in procs:
                p.terminate()
                p.wait()
            await tunnel.stop()
            relay.kill()
            await ssh.stop()
            pool.shutdown()
            stop.set()
            await task
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtt", type=int, default=2000, help="round trips per path")
    ap.add_argument("--rate", type=int, default=1000, help="messages a second through the operator bridge")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--drops", type=int, default=3, help="relay restarts to time")
    ap.add_argument("--logins", type=int, default=30, help="operator logins per lockout case")
    ap.add_argument("--parts", type=lambda v: v.split(","), default=["rtt", "bridge", "reconnect", "lockout"],
                    help="which measures to run, comma-separated: rtt, bridge, reconnect, lockout")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = asyncio.run(bench(args, Path(tmp)))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
