"""The reverse tunnel through a stock sshd relay: OSC gets through, and the tunnel survives the relay restarting."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import require_tool
from nodes import free_port, node_config, running_node, until
from oscpeers import OscDump, oscsend
from sshpeers import Keys, Operator, Sshd, keygen, pub

from ciel_node.controls.framing import SlipDecoder, slip_encode
from ciel_node.controls.wire import osc_message
from ciel_node.errors import CielError
from ciel_node.ssh.tunnel import ReverseTunnel, SshLinkError, SshTarget, connect, load_key, parse_target

USER = getpass.getuser()
ROOT = Path(__file__).resolve().parent.parent


def tunnel_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ciel-tunnel") or t.name == "ciel-reverse-tunnel"]


async def osc_round_trip(port: int, seed: int) -> list[bytes]:
    """What an operator on the relay does: SLIP to the relay's forwarded port, answers on the same connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(slip_encode(osc_message("/ciel/seed", seed, types="i")) + slip_encode(osc_message("/ciel/get")))
        decoder, frames = SlipDecoder(), []
        end = time.monotonic() + 5
        while not any(f.startswith(b"/ciel/state/seed") for f in frames):
            assert time.monotonic() < end, f"no state back through the tunnel: {frames}"
            data = await asyncio.wait_for(reader.read(65536), 5)
            assert data, "the tunnel closed the connection"
            frames.extend(decoder.feed(data))
        return frames
    finally:
        writer.close()


async def test_tunnel_carries_osc_and_comes_back_after_the_relay_restarts(tmp_path: Path,
                                                                         tiny_checkpoints: tuple[Path, Path]) -> None:
    keys = Keys(tmp_path / "keys")  # keys.op: the node's key, authorized on the relay (and used by the operator)
    remote = free_port()
    relay = Sshd(tmp_path / "relay", keys.authorized, permit_open=[remote], permit_listen=remote)
    await relay.start()
    keys.known_hosts.write_text(relay.known_hosts_line() + "\n")
    counters: dict[str, int] = {}
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False) as node:
        tunnel = ReverseTunnel(f"{USER}@127.0.0.1:{relay.port}", keys.op, keys.known_hosts, node.osc_port,
                               remote_port=remote, counters=counters)
        await tunnel.start()
        try:
            await until(lambda: tunnel.status()["connected"], 10, "tunnel up")
            first = tunnel.status()
            assert first["remote_port"] == remote and first["reconnects"] == 0 and first["last_error"] is None

            # An operator anywhere: `ciel-node operator` to the relay, forwarding to the tunnel's port there.
            bridge = free_port(socket.SOCK_DGRAM)
            async with Operator("--ssh", f"{USER}@127.0.0.1:{relay.port}", "--key", str(keys.op), "--udp",
                                f"127.0.0.1:{bridge}", "--osc-port", str(remote), "--known-hosts",
                                str(keys.known_hosts), "--oscquery", "off"), OscDump() as dump:
                await oscsend(bridge, "/ciel/seed", "i", 99)
                await until(lambda: node.controls.seed == 99, 10, "seed through operator, relay and tunnel")
                await oscsend(bridge, "/ciel/subscribe", "i", dump.port)
                await oscsend(bridge, "/ciel/drift", "f", 0.75)
                await dump.expect(r"^/ciel/state/drift f 0\.75")

            # The relay goes down hard (listener and sessions, by PID) and comes back on the same port.
            relay.kill()
            await until(lambda: not tunnel.status()["connected"], 5, "tunnel noticed the relay is gone")
            await asyncio.sleep(1.5)  # a realistic restart: the tunnel is retrying meanwhile
            assert tunnel.status()["last_error"]
            await relay.start()
            took = await until(lambda: tunnel.status()["connected"], 5.0, "tunnel back within 5 s")
            status = tunnel.status()
            assert status["reconnects"] == 1 and status["remote_port"] == remote and status["last_error"] is None
            assert status["since"] > first["since"] and counters["tunnel_reconnects"] == 1
            frames = await osc_round_trip(remote, 123)
            assert node.controls.seed == 123 and any(f.startswith(b"/ciel/state/seed") for f in frames)
            print(f"tunnel back {took:.2f} s after the relay restarted")
        finally:
            await tunnel.stop()
            relay.kill()
    assert not tunnel.status()["connected"] and counters["tunnel_up"] == 0 and not tunnel_threads()


async def test_relay_picks_the_port_when_none_is_given(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    keys = Keys(tmp_path / "keys")
    relay = Sshd(tmp_path / "relay", keys.authorized, permit_open=[])
    await relay.start()
    keys.known_hosts.write_text(relay.known_hosts_line() + "\n")
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False) as node:
        tunnel = ReverseTunnel(f"{USER}@127.0.0.1:{relay.port}", keys.op, keys.known_hosts, node.osc_port)
        await tunnel.start()
        try:
            await until(lambda: tunnel.status()["connected"], 10, "tunnel up")
            port = tunnel.status()["remote_port"]
            assert isinstance(port, int) and port > 0
            await osc_round_trip(port, 5)
            assert node.controls.seed == 5
        finally:
            await tunnel.stop()
            relay.kill()


async def test_a_changed_relay_key_is_refused_and_reported(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    relay = Sshd(tmp_path / "relay", keys.authorized, permit_open=[9])
    await relay.start()
    impostor = keygen(tmp_path / "impostor")
    keys.known_hosts.write_text(f"[127.0.0.1]:{relay.port} {pub(impostor)}\n")
    tunnel = ReverseTunnel(f"{USER}@127.0.0.1:{relay.port}", keys.op, keys.known_hosts, 9, remote_port=free_port())
    await tunnel.start()
    try:
        await until(lambda: tunnel.status()["last_error"] is not None, 10, "an error reported")
        status = tunnel.status()
        assert not status["connected"] and "has CHANGED" in status["last_error"], status
    finally:
        await tunnel.stop()
        relay.kill()


@pytest.mark.parametrize("weak", [("Ciphers aes128-cbc,3des-cbc",), ("Ciphers aes128-ctr", "MACs hmac-sha1,hmac-md5"),
                                  ("KexAlgorithms diffie-hellman-group14-sha1",)])
async def test_a_relay_offering_only_outdated_algorithms_is_refused(tmp_path: Path, weak: tuple[str, ...]) -> None:
    """The client side (reverse tunnel and operator) accepts only what current OpenSSH offers by default, too."""
    keys = Keys(tmp_path / "keys")
    relay = Sshd(tmp_path / "relay", keys.authorized, permit_open=[9], extra=weak)
    await relay.start()
    keys.known_hosts.write_text(relay.known_hosts_line() + "\n")
    try:
        with pytest.raises(SshLinkError, match="offers none of the algorithms current OpenSSH uses") as e:
            client = await asyncio.to_thread(connect, SshTarget(USER, "127.0.0.1", relay.port), load_key(keys.op),
                                             keys.known_hosts, timeout=5.0)
            client.close()
        assert "\n" not in str(e.value)
    finally:
        relay.kill()


async def test_start_errors_are_one_clear_line(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    with pytest.raises(CielError, match="must be user@host"):
        ReverseTunnel("op@relay:notaport", keys.op, keys.known_hosts, 9000)
    with pytest.raises(CielError, match="cannot read the key"):
        await ReverseTunnel("op@relay", tmp_path / "nope", keys.known_hosts, 9000).start()
    with pytest.raises(CielError, match=r"not a usable private key"):
        await ReverseTunnel("op@relay", Path(f"{keys.op}.pub"), keys.known_hosts, 9000).start()
    with pytest.raises(CielError, match="host key must be in"):
        await ReverseTunnel("op@relay", keys.op, keys.known_hosts, 9000).start()


def test_the_documented_sshd_configs_are_valid(tmp_path: Path) -> None:
    sshd = require_tool("sshd")
    host_key = keygen(tmp_path / "host_key")
    blocks = re.findall(r"```sshd_config\n(.*?)```", (ROOT / "controllers" / "SSH.md").read_text(), re.S)
    assert len(blocks) == 2
    os.makedirs("/run/sshd", exist_ok=True)
    for n, block in enumerate(blocks):
        config = tmp_path / f"sshd_config.{n}"
        config.write_text(f"HostKey {host_key}\n{block}")
        result = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True)
        assert result.returncode == 0, (block, result.stderr)


@pytest.mark.parametrize(("value", "user", "host", "port"), [
    ("op@relay.example.org", "op", "relay.example.org", 22),
    ("op@10.0.0.5:2222", "op", "10.0.0.5", 2222),
    ("op@[::1]:2200", "op", "::1", 2200),
    ("relay", USER, "relay", 22),
])
def test_targets(value: str, user: str, host: str, port: int) -> None:
    assert parse_target(value) == SshTarget(user, host, port)
