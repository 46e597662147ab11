"""The node's composition root with SSH on: `--authorized-keys` starts the server on `--ssh`, next to OSC, and
forwards reach its OSCQuery server too."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
from nodes import free_port, node_config, running_node, until
from sshpeers import Keys, Operator, run, ssh_base

from ciel_node.controls.framing import slip_encode
from ciel_node.controls.wire import osc_message


async def test_authorized_keys_turn_ssh_on_and_loopback_passes_the_allow_list(tmp_path: Path,
                                                                             tiny_checkpoints) -> None:
    keys = Keys(tmp_path / "keys")
    ssh_port = free_port()
    # A LAN-only allow list: forwarded connections come from loopback and must still get through.
    cfg = node_config(tmp_path / "state", tiny_checkpoints, authorized_keys=keys.authorized,
                      ssh=f"127.0.0.1:{ssh_port}", osc_allow="192.168.0.0/16")
    async with running_node(cfg) as r:
        frame = slip_encode(osc_message("/ciel/seed", 2024, types="i"))
        rc, _, err = await run([*ssh_base(keys.op, ssh_port, keys.known_hosts), "-W",
                                f"127.0.0.1:{r.osc_port}", "op@127.0.0.1"], stdin=frame)
        assert rc == 0, err
        await until(lambda: r.controls.seed == 2024, 5, "seed through the node's own SSH server")
        health = r.node.health()
        assert health["ssh"]["ssh_auth_ok"] >= 1 and health["osc"]["dropped"] == 0
        assert (tmp_path / "state" / "ssh_host_key").is_file()


async def test_the_operator_reaches_the_nodes_own_oscquery_server(tmp_path: Path, tiny_checkpoints) -> None:
    keys = Keys(tmp_path / "keys")
    ssh_port, oscquery, local = free_port(), free_port(), free_port()
    cfg = node_config(tmp_path / "state", tiny_checkpoints, authorized_keys=keys.authorized,
                      ssh=f"127.0.0.1:{ssh_port}", oscquery=f"127.0.0.1:{oscquery}")
    async with running_node(cfg, first_piece=False, web=False) as r, \
            Operator("--ssh", f"op@127.0.0.1:{ssh_port}", "--key", str(keys.op), "--known-hosts", str(keys.known_hosts),
                     "--trust-on-first-use", "--udp", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                     "--osc-port", str(r.osc_port), "--oscquery", f"127.0.0.1:{local}",
                     "--remote-oscquery", str(oscquery)):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            async with http.get(f"http://127.0.0.1:{local}/?HOST_INFO") as response:
                assert response.status == 200
                info = await response.json()
        assert info["OSC_PORT"] == r.osc_port, info  # the node's own OSCQuery server answered, through SSH
