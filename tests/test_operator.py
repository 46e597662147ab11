"""`ciel-node operator` against the embedded SSH server and a stock sshd, driven by liblo and Pure Data."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import paramiko
import pytest
from conftest import require_tool
from nodes import RunningNode, free_port, node_config, running_node, until
from oscpeers import OscDump, oscsend
from sshpeers import Keys, Operator, Sshd, keygen, pub

from ciel_node.ssh.server import SshServer

ROOT = Path(__file__).resolve().parent.parent
PATCH = ROOT / "controllers" / "ciel.pd"


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "keys")


@pytest.fixture
async def node(tmp_path: Path, tiny_checkpoints: tuple[Path, Path], keys: Keys) -> AsyncIterator[RunningNode]:
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as running:
        yield running


def ssh_port(node: RunningNode) -> int:
    assert node.ssh is not None
    return node.ssh.port


def trust(node: RunningNode, keys: Keys) -> None:
    """known_hosts with the node's host key, as an operator would have it after checking the fingerprint."""
    key = paramiko.PKey.from_path(node.node.config.state_dir / "ssh_host_key")
    keys.known_hosts.write_text(f"[127.0.0.1]:{ssh_port(node)} {key.get_name()} {key.get_base64()}\n")


def operator_args(node: RunningNode, keys: Keys, bridge: int, *extra: str, key: Path | None = None,
                  target: str | None = None) -> list[str]:
    return ["--ssh", target or f"op@127.0.0.1:{ssh_port(node)}", "--key", str(key or keys.op),
            "--udp", f"127.0.0.1:{bridge}", "--osc-port", str(node.osc_port),
            "--known-hosts", str(keys.known_hosts), *extra]


async def test_bridge_controls_the_node_and_carries_feedback_back(node: RunningNode, keys: Keys) -> None:
    bridge = free_port(socket.SOCK_DGRAM)
    async with Operator(*operator_args(node, keys, bridge, "--trust-on-first-use")) as op, OscDump() as dump:
        await op.expect("trusting [127.0.0.1]")
        assert f"[127.0.0.1]:{ssh_port(node)} ssh-ed25519 " in keys.known_hosts.read_text()
        await oscsend(bridge, "/ciel/seed", "i", 42)
        await until(lambda: node.controls.seed == 42, 10, "seed through the bridge")
        # Over TCP the node pushes on the connection; the bridge learns the port from the subscribe.
        await oscsend(bridge, "/ciel/subscribe", "i", dump.port)
        await oscsend(bridge, "/ciel/drift", "f", 0.25)
        await dump.expect(r"^/ciel/state/drift f 0\.25")
        await oscsend(bridge, "/ciel/get", "i", dump.port)  # a reply port means "to me": rewritten for TCP
        await dump.expect(r"^/ciel/state/seed i 42")
        await oscsend(bridge, "/ciel/volume_ceiling", "i", 12)  # clamped, and the clamped value echoed
        await dump.expect(r"^/ciel/state/volume_ceiling f 0\.0")
        assert node.osc.hub.subscribers and all(ch.key[0] == "tcp" for ch in node.osc.hub.subscribers)

        # The node's SSH server restarts on the same port: the bridge comes back by itself and
        # re-subscribes, with the local UDP port open all along.
        assert node.ssh is not None
        port = node.ssh.port
        await node.ssh.stop()
        node.ssh = SshServer("127.0.0.1", port, keys.authorized, node.node.config.state_dir / "ssh_host_key",
                             "127.0.0.1", node.osc_port, node.counters)
        await op.expect("dropped; reconnecting")
        await oscsend(bridge, "/ciel/seed", "i", 7)  # while down: dropped and counted, never queued
        await node.ssh.start()
        await op.expect("is back")
        await oscsend(bridge, "/ciel/drift", "f", 0.5)
        await dump.expect(r"^/ciel/state/drift f 0\.5")
        assert node.controls.drift == 0.5 and node.controls.seed == 42
    assert op.proc is not None and op.proc.returncode == 0
    summary = await op.expect("stopped:")
    assert " 1 dropped while down" in summary and "1 reconnects" in summary, summary


async def test_bridge_through_a_stock_sshd(node: RunningNode, keys: Keys, tmp_path: Path) -> None:
    sshd = Sshd(tmp_path / "sshd", keys.authorized, permit_open=[node.osc_port])
    await sshd.start()
    try:
        keys.known_hosts.write_text(sshd.known_hosts_line() + "\n")
        bridge = free_port(socket.SOCK_DGRAM)
        target = f"{getpass.getuser()}@127.0.0.1:{sshd.port}"
        async with Operator(*operator_args(node, keys, bridge, target=target)), OscDump() as dump:
            await oscsend(bridge, "/ciel/seed", "i", 4242)
            await until(lambda: node.controls.seed == 4242, 10, "seed through sshd")
            await oscsend(bridge, "/ciel/subscribe", "i", dump.port)
            await oscsend(bridge, "/ciel/interval", "f", 12.5)
            await dump.expect(r"^/ciel/state/interval f 12\.5")
        # sshd's PermitOpen refuses any other port: a clear error, exit 2
        args = operator_args(node, keys, free_port(socket.SOCK_DGRAM), target=target)
        args[args.index("--osc-port") + 1] = "8080"
        other = await Operator(*args).start()
        assert await other.finish() == 2
        assert len(other.lines) == 1 and "refused the forward to 127.0.0.1:8080" in other.lines[0], other.lines
    finally:
        sshd.kill()


@pytest.mark.parametrize("case", ["unknown host key", "changed host key", "auth failed", "no key", "local port busy",
                                  "host unreachable", "forward refused", "bad target"])
async def test_errors_are_one_line_and_exit_2(node: RunningNode, keys: Keys, tmp_path: Path, case: str) -> None:
    bridge = free_port(socket.SOCK_DGRAM)
    key, target = keys.op, None
    busy: socket.socket | None = None
    if case != "unknown host key":
        trust(node, keys)
    if case == "changed host key":
        other = keygen(tmp_path / "impostor")
        keys.known_hosts.write_text(f"[127.0.0.1]:{ssh_port(node)} {pub(other)}\n")
    elif case == "auth failed":
        key = keys.stranger
    elif case == "local port busy":
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", bridge))
    elif case == "host unreachable":
        target = f"op@127.0.0.1:{free_port()}"
    elif case == "bad target":
        target = "op@"
    args = operator_args(node, keys, bridge, key=key, target=target)
    if case == "forward refused":
        args[args.index("--osc-port") + 1] = "8080"
    env = None
    if case == "no key":  # no --key, an empty ~/.ssh and no agent
        args[args.index("--key"): args.index("--key") + 2] = []
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"} | {"HOME": str(tmp_path)}
    op = await Operator(*args, env=env).start()
    rc = await op.finish()
    if busy is not None:
        busy.close()
    says = {
        "unknown host key": "is not in", "changed host key": "has CHANGED", "auth failed": "did not accept the key",
        "no key": "no key to log in to op@127.0.0.1",
        "local port busy": f"local UDP port 127.0.0.1:{bridge} is busy", "host unreachable": "cannot reach",
        "forward refused": "refused the forward to 127.0.0.1:8080", "bad target": "must be user@host[:port]",
    }[case]
    assert rc == 2 and len(op.lines) == 1 and says in op.lines[0], (rc, op.lines)
    if "host key" in case:
        assert "SHA256:" in op.lines[0]
    if case == "unknown host key":
        assert not keys.known_hosts.exists()  # nothing recorded without --trust-on-first-use


async def test_pure_data_patch_end_to_end(node: RunningNode, keys: Keys, tmp_path: Path) -> None:
    if not PATCH.exists():
        pytest.skip("controllers/ciel.pd is not there yet")
    pd = require_tool("pd")
    bridge, listen = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    async with Operator(*operator_args(node, keys, bridge, "--trust-on-first-use")) as op:
        proc = await asyncio.create_subprocess_exec(
            pd, "-nogui", "-noaudio", "-nomidi", "-stderr", "-send", f"ciel-connect 127.0.0.1 {bridge}",
            "-send", f"ciel-listen {listen}", "-send", "ciel-seed 777", "-open", str(PATCH),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        lines: list[str] = []

        async def read() -> None:
            assert proc.stderr is not None
            while line := await proc.stderr.readline():
                lines.append(line.decode(errors="replace").rstrip())

        reader = asyncio.create_task(read())
        try:
            await until(lambda: node.controls.seed == 777, 15, f"Pd's seed applied (Pd said {lines[-10:]})")
            await until(lambda: any("ciel-state:" in line and "seed" in line and "777" in line for line in lines),
                        15, f"Pd printing the node's state (Pd said {lines[-10:]})")
            await op.expect(f"feedback goes to 127.0.0.1:{listen}")
        finally:
            if proc.returncode is None:
                os.kill(proc.pid, signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 10)
            await reader
