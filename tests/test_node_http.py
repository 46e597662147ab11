"""A running node's HTTP surface end to end: health, latest, media and the push channel on a real socket."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import aiohttp
from nodes import node_config, running_node, until


async def test_health_latest_and_media_of_a_running_node(tmp_path: Path, tiny_checkpoints) -> None:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints)) as r, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{r.web_port}"
        health = await (await http.get(f"{base}/api/health")).json()
        assert health["models"]["audio"]["sha256"] == r.node.checkpoints["audio"]["sha256"]
        assert health["last_seq"] == 1 and set(health["osc"]) >= {"received", "applied", "malformed", "dropped"}
        assert health["web"]["requests"] >= 1
        latest = await (await http.get(f"{base}/api/latest")).json()
        assert latest["seq"] == 1 and latest["next_at"] > latest["created_at"]
        for key in ("image", "sky", "audio"):
            data = await (await http.get(base + latest[key])).read()
            assert hashlib.sha256(data).hexdigest()[:24] == latest[key].rsplit("/", 1)[1].split(".")[0]
        events = await http.get(f"{base}/api/events")
        r.node.request_next()
        seqs = []
        async for line in events.content:
            if line.startswith(b"data: "):
                seqs.append(json.loads(line[6:])["seq"])
                if seqs[-1] == 2:
                    break
        assert seqs == [1, 2]
        events.close()
        await until(lambda: r.node.media.last_seq == 2)
