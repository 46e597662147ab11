"""The node's composition root with SSH on: `--authorized-keys` starts the server on `--ssh`, next to OSC."""

from __future__ import annotations

from pathlib import Path

from nodes import free_port, node_config, running_node, until
from sshpeers import Keys, run, ssh_base

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
