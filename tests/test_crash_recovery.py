"""A real node process killed with SIGKILL, its manifest cut short, restarted twice: nothing published is lost.

The issue's recipe: `head -c -60 manifest.jsonl`, start, restart. Before the fix the seq of the torn line was
reused, the new line glued onto the torn one (and skipped at the next start), and the orphan sweep deleted
the torn piece's media.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes import free_port, until_sync

KINDS = ("image", "sky", "audio", "wav")


@dataclass
class NodeProcess:
    proc: subprocess.Popen[bytes]
    log: Path  # its stderr: a pipe nobody reads would fill up and stall it


def _poll(cond: Callable[[], Any], deadline_s: float, what: str, node: NodeProcess) -> Any:
    """`until_sync`, failing at once if the node exits meanwhile (with the end of its log)."""
    return until_sync(cond, deadline_s, what, lambda: node.log.read_text()[-2000:], node.proc)


def _lines(state: Path) -> list[dict[str, Any]]:
    """The manifest's whole lines (a line being appended right now is not one yet)."""
    try:
        data = (state / "manifest.jsonl").read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for raw in data.split(b"\n")[:-1]:
        try:
            out.append(json.loads(raw))
        except ValueError:
            pass
    return out


def _start(state: Path, config: Path, web_port: int) -> NodeProcess:
    """`ciel-node run` on the state dir, as systemd would start it."""
    log = state.parent / f"node-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--config", str(config), "--state-dir", str(state),
             "--interval", "0.5", "--no-playback", "--osc", "127.0.0.1:0", "--web", f"127.0.0.1:{web_port}",
             "--oscquery", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=out,
        )
    return NodeProcess(proc, log)


def _kill9(node: NodeProcess) -> None:
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(timeout=30)


def _served(web_port: int) -> list[dict[str, Any]] | None:
    """Every piece /api/pieces lists, each of its files fetched: a listed piece whose files are gone fails here.
    None while the web surface is not up yet."""
    base = f"http://127.0.0.1:{web_port}"
    try:
        with urllib.request.urlopen(f"{base}/api/pieces?limit=500", timeout=10) as r:
            pieces = json.load(r)
    except OSError:  # refused (or reset) while the node is still starting
        return None
    for p in pieces:
        for kind in ("image", "sky", "audio"):
            with urllib.request.urlopen(base + p[kind], timeout=10) as m:
                assert m.status == 200 and m.read()
    return list(pieces)


def _where(state: Path, name: str) -> bool:
    return (state / "media" / name).is_file() or any(state.glob(f"quarantine/*/media/{name}"))


def test_sigkill_and_a_manifest_cut_short_lose_no_piece_and_reuse_no_seq(tmp_path: Path, tiny_checkpoints) -> None:
    state, config = tmp_path / "state", tmp_path / "node.toml"
    # In-process rendering: no render child to outlive the SIGKILL; the store and the schedule are the same.
    config.write_text(f'audio_checkpoint = "{tiny_checkpoints[0]}"\nimage_checkpoint = "{tiny_checkpoints[1]}"\n'
                      "render_process = false\nmax_sound_s = 1.0\n")
    port = free_port()
    first = _start(state, config, port)
    try:
        _poll(lambda: len(_lines(state)) >= 4, 90, "four pieces", first)
    finally:
        _kill9(first)
    before = _lines(state)
    names = {e[k] for e in before for k in KINDS}
    torn = before[-1]["seq"]
    manifest = state / "manifest.jsonl"
    data = manifest.read_bytes()
    if not data.endswith(b"\n"):  # killed mid-append: that line was never committed
        data = data[: data.rindex(b"\n") + 1]
    manifest.write_bytes(data[:-60])  # head -c -60: the last committed line loses its end

    seqs_seen: list[int] = []
    for run in range(2):  # a start on the damaged manifest, then a restart after another SIGKILL
        port = free_port()
        node = _start(state, config, port)
        try:
            before_max = max([e["seq"] for e in _lines(state)] + [torn])
            _poll(lambda: any(e["seq"] > before_max for e in _lines(state)), 90, f"a new piece (run {run})", node)  # noqa: B023
            listed = [p["seq"] for p in _poll(lambda: _served(port), 30, "the web surface", node)]  # noqa: B023
            assert listed == sorted(listed, reverse=True) and set(listed) <= {e["seq"] for e in _lines(state)}
        finally:
            _kill9(node)
        seqs_seen += [e["seq"] for e in _lines(state) if e["seq"] > torn]

    lines = [json.loads(raw) for raw in manifest.read_bytes().split(b"\n") if raw]  # every line whole: none glued
    seqs = [e["seq"] for e in lines]
    assert seqs == sorted(set(seqs)), seqs  # strictly increasing: nothing reused
    assert seqs_seen and min(seqs_seen) > torn  # the torn piece's seq was never given again
    assert [e["seq"] for e in lines if e["seq"] < torn] == [e["seq"] for e in before[:-1]]  # intact lines kept
    lost = sorted(n for n in names if not _where(state, n))
    assert lost == [], f"media deleted: {lost}"  # the torn piece's files are quarantined, not swept
    for e in lines:  # the manifest names nothing that is gone
        assert all((state / "media" / e[k]).is_file() for k in KINDS), e["seq"]
    assert list(state.glob("quarantine/*/manifest.jsonl")), "the damaged manifest kept for forensics"
