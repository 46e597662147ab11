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
            assert hashlib.sha256(data).hexdigest() == latest[key].rsplit("/", 1)[1].split(".")[0]
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


async def test_media_of_an_older_state_dir_are_still_served(tmp_path: Path, tiny_checkpoints) -> None:
    """Media used to be named by 24 hex characters; a node started on such a state dir keeps and serves them."""
    from ciel_node.publish.media import MediaStore

    state = tmp_path / "state"
    store = MediaStore(state)
    files = {k: (k.encode() * 100, suffix) for k, suffix in
             (("image", ".png"), ("sky", ".png"), ("audio", ".mp3"), ("wav", ".wav"))}
    entry = store.publish(files, {"created_at": 1.0})
    old = {k: entry[k][:24] + entry[k][64:] for k in files}
    for k, name in old.items():
        (state / "media" / entry[k]).rename(state / "media" / name)
    (state / "manifest.jsonl").write_text(json.dumps({**entry, **old}) + "\n")
    async with running_node(node_config(state, tiny_checkpoints)) as r, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{r.web_port}"
        for k, name in old.items():
            got = await http.get(f"{base}/media/{name}")
            assert got.status == 200 and await got.read() == files[k][0]
        await until(lambda: r.node.media.last_seq >= 2, 30, "a new piece beside the old one")
        pieces = await (await http.get(f"{base}/api/pieces")).json()
        assert [p["seq"] for p in pieces] == [2, 1] and pieces[1]["image"] == f"/media/{old['image']}"


async def test_at_half_a_second_the_manifest_and_the_api_name_only_kept_pieces(tmp_path: Path,
                                                                                tiny_checkpoints) -> None:
    """With --interval 0.5 the manifest kept naming pruned media until it was twice --keep-pieces long."""
    state = tmp_path / "state"
    config = node_config(state, tiny_checkpoints, controls={"interval": 0.5}, keep_pieces=2)
    async with running_node(config) as r, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{r.web_port}"
        await until(lambda: r.node.media.last_seq >= 5, 30, "five pieces")
        for _ in range(3):  # while pieces keep coming and going
            lines = [json.loads(x) for x in (state / "manifest.jsonl").read_text().splitlines()]
            assert len(lines) <= 2 and all((state / "media" / e[k]).is_file() for e in lines for k in ("image", "wav"))
            pieces = await (await http.get(f"{base}/api/pieces")).json()
            assert len(pieces) == 2
            for p in pieces:
                for key in ("image", "sky", "audio"):
                    got = await http.get(base + p[key])
                    # A piece listed a moment ago may be pruned by now, but then it is no longer listed.
                    assert got.status == 200 or p["seq"] not in [e["seq"] for e in r.node.media.recent(2)]
            seq = r.node.media.last_seq
            await until(lambda: r.node.media.last_seq > seq, 10, "the next piece")  # noqa: B023
