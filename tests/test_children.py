"""The node's child processes, real ones: they end with the node (even a kill -9 of it), and a stopped one is
noticed, killed and replaced (the render process by its watchdog, the sound engine by its silence).

Each test starts `python -m ciel_node run` with tiny checkpoints and finds its children in /proc.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from nodes import until_sync

DEADLINE_S = 60.0  # for anything that waits on a child starting (import torch) on a loaded 2-core machine


# --- /proc -------------------------------------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """The live children of `pid` (every thread's children file: a child belongs to the thread that made it)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                pass  # the thread ended meanwhile
    except OSError:
        return []
    return [c for c in out if alive(c)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running or stopped; a zombie (dead, waiting for whoever adopted it to reap it) is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "T"
    except OSError:
        return False


def spawned(pid: int) -> list[int]:
    """The node's multiprocessing children (render process, sound engine), not its resource tracker."""
    return [c for c in children(pid) if "spawn_main" in cmdline(c)]


def trackers(pid: int) -> list[int]:
    return [c for c in children(pid) if "resource_tracker" in cmdline(c)]


# --- a node in its own process -----------------------------------------------------------------------------------
class NodeProcess:
    """`python -m ciel_node run` on free ports with a TOML config; its log in a file; every child it had is
    remembered, so nothing it started outlives the test."""

    def __init__(self, root: Path, checkpoints: tuple[Path, Path], settings: dict[str, Any], playback: bool,
                 env: dict[str, str] | None = None) -> None:
        self.state, self.log_path = root / "state", root / "node.log"
        config = root / "node.toml"
        lines = {"state_dir": str(self.state), "audio_checkpoint": str(checkpoints[0]),
                 "image_checkpoint": str(checkpoints[1]), "interval": 1, "max_sound_s": 1, **settings}
        config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in lines.items()))
        argv = [sys.executable, "-m", "ciel_node", "run", "--config", str(config), "--osc", "127.0.0.1:0",
                "--web", "127.0.0.1:0", "--oscquery", "127.0.0.1:0"] + ([] if playback else ["--no-playback"])
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env={**os.environ, **(env or {})})
        self.seen: set[int] = set()
        self._web: int | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kids(self) -> list[int]:
        """The node's live children now (and remembered for the clean-up)."""
        now = children(self.proc.pid)
        self.seen.update(now)
        return now

    @property
    def web_port(self) -> int:
        if self._web is None:
            said = r"web page on http://[^:]+:(\d+)/"
            found = until_sync(lambda: self._alive_or_fail() and re.search(said, self.log()), DEADLINE_S,
                               "the node's web port in its log")
            self._web = int(found.group(1))
        return self._web

    def _alive_or_fail(self) -> bool:
        assert self.proc.poll() is None, f"the node exited ({self.proc.returncode}):\n{self.log()[-3000:]}"
        return True

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError):  # 404 before the first piece; a reset under load
            return None

    def seq(self) -> int:
        latest = self.get("/api/latest")
        return int(latest["seq"]) if latest else 0

    def wait_seq(self, seq: int, what: str) -> None:
        until_sync(lambda: self._alive_or_fail() and self.seq() >= seq, DEADLINE_S, what)

    def stop(self) -> None:
        """SIGTERM the node if it still runs; then SIGCONT and SIGKILL any child of it still there."""
        if self.proc.poll() is None:
            self.kids()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid in self.seen:
            if alive(pid):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)


@contextmanager
def node_process(tmp_path: Path, settings: dict[str, Any] | None = None, playback: bool = False,
                 env: dict[str, str] | None = None) -> Iterator[NodeProcess]:
    from conftest import make_checkpoints

    node = NodeProcess(tmp_path, make_checkpoints(tmp_path / "checkpoints"), settings or {}, playback, env)
    try:
        yield node
    finally:
        node.stop()


def no_audio_server(tmp_path: Path) -> dict[str, str]:
    """The engine runs (and reports) with no device: PulseAudio's client is pointed at nothing."""
    return {"PULSE_SERVER": f"unix:{tmp_path}/no-such-server", "XDG_RUNTIME_DIR": str(tmp_path),
            "HOME": str(tmp_path)}


# --- the tests ---------------------------------------------------------------------------------------------------
def test_kill_9_of_the_node_ends_its_render_process_and_resource_tracker(tmp_path: Path) -> None:
    with node_process(tmp_path) as node:
        node.wait_seq(1, "a first piece")
        render, tracker = spawned(node.proc.pid), trackers(node.proc.pid)
        node.kids()
        assert len(render) == 1 and len(tracker) == 1, [cmdline(c) for c in node.kids()]
        node.proc.kill()  # kill -9: no handler runs, no clean-up, nothing said to the children
        node.proc.wait(10)
        t0 = time.monotonic()
        until_sync(lambda: not any(alive(p) for p in render + tracker), 10,
                   f"render process {render} and resource tracker {tracker} gone after the node's kill -9")
        print(f"children gone {time.monotonic() - t0:.2f} s after the kill")


def test_a_stopped_render_process_is_noticed_killed_and_replaced(tmp_path: Path) -> None:
    # The watchdog's floor made small; its bound is then max(2 s, 10 x the last render, 2 x the 1 s sound).
    with node_process(tmp_path, {"render_stall_s": 2}) as node:
        node.wait_seq(2, "two pieces")  # the second one gives the watchdog a render time to go by
        (old,) = spawned(node.proc.pid)
        node.kids()
        os.kill(old, signal.SIGSTOP)
        said = until_sync(lambda: node._alive_or_fail() and re.search(
            rf"the render process \(pid {old}\) made no progress on its compose for .*"
            r"killing it and starting a new one", node.log()), 20, "the watchdog's log line")
        seq = node.seq()  # the piece being rendered when it stopped was never published: what comes next is new
        until_sync(lambda: not alive(old), 10, "the stopped render process killed")
        node.wait_seq(seq + 1, "a piece from the new render process")
        (new,) = spawned(node.proc.pid)
        node.kids()
        assert new != old
        assert node.proc.poll() is None
        assert len(re.findall(rf"\(pid {old}\) made no progress", node.log())) == 1, said.group(0)  # one line


def test_sigterm_stops_the_node_even_with_its_render_process_stopped(tmp_path: Path) -> None:
    with node_process(tmp_path) as node:
        node.wait_seq(1, "a first piece")
        (render,) = spawned(node.proc.pid)
        node.kids()
        os.kill(render, signal.SIGSTOP)
        node.proc.send_signal(signal.SIGTERM)
        try:
            node.proc.wait(20)  # the render process gets 5 s to finish its piece, then it is killed
        except subprocess.TimeoutExpired:
            raise AssertionError("the node did not stop within 20 s of SIGTERM") from None
        assert node.proc.returncode == 0, node.log()[-2000:]
        assert not alive(render)
        assert re.search(rf"the render process \(pid {render}\) did not stop within 5 s; killing it", node.log())


def test_a_stopped_sound_engine_is_replaced_and_every_child_ends_with_the_node(tmp_path: Path) -> None:
    settings = {"engine_stall_s": 2}
    with node_process(tmp_path, settings, playback=True, env=no_audio_server(tmp_path)) as node:
        node.wait_seq(1, "a first piece")
        status = until_sync(lambda: ((node.get("/api/health") or {}).get("playback") or {}).get("pid"), DEADLINE_S,
                            "the engine's status")
        engine = int(status)
        assert engine in spawned(node.proc.pid)
        node.kids()
        os.kill(engine, signal.SIGSTOP)
        until_sync(lambda: node._alive_or_fail() and re.search(
            rf"the sound engine \(pid {engine}\) said nothing for 2 s \(stopped or hung\); killing it", node.log()),
            20, "the engine's stall noticed")
        until_sync(lambda: not alive(engine), 10, "the stopped engine killed")
        playback = until_sync(lambda: (p := (node.get("/api/health") or {}).get("playback") or {}).get("pid")
                              not in (None, engine) and p, DEADLINE_S, "a new engine reporting")
        assert playback["restarts"] >= 1 and playback["state"] != "restarting"
        seq = node.seq()
        node.wait_seq(seq + 1, "pieces published on after the engine's replacement")
        # kill -9 of the node: the new engine, the render process and the resource tracker all go with it.
        kids = node.kids()
        assert len(spawned(node.proc.pid)) == 2 and trackers(node.proc.pid), [cmdline(c) for c in kids]
        node.proc.kill()
        node.proc.wait(10)
        until_sync(lambda: not any(alive(p) for p in kids), 10,
                   f"every child of the node ({kids}) gone after its kill -9")


LIFELINE_CHILD = """\
import multiprocessing, os, sys, threading, time

from ciel_node import lifeline


def child(parent_pid: int, kill_with_thread: bool) -> None:
    lifeline.hold(parent_pid, kill_with_thread)
    print("held", os.getpid(), flush=True)
    time.sleep(600)


def start(kill_with_thread: bool) -> None:
    multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(), kill_with_thread)).start()
    time.sleep(600)  # the death signal is tied to the thread that started the child: this one stays, as the node's do


if __name__ == "__main__":
    starter = threading.Thread(target=start, args=(sys.argv[1] == "signal",))
    starter.start()
    starter.join()
"""


@pytest.mark.parametrize("tie", ["pipe", "signal"])
def test_lifeline_ends_a_child_when_its_parent_is_killed(tmp_path: Path, tie: str) -> None:
    """Each tie on its own: the spawn pipe (a running child, no death signal asked for), the death signal (a
    stopped child, which no thread of its own can help)."""
    script = tmp_path / "parent.py"
    script.write_text(LIFELINE_CHILD)
    parent = subprocess.Popen([sys.executable, str(script), tie], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        word, pid = parent.stdout.readline().split()  # the child's stdout is the parent's: it says when it holds
        assert word == "held", word
        child = int(pid)
        if tie == "signal":
            os.kill(child, signal.SIGSTOP)
            until_sync(lambda: stopped(child), 10, "the child stopped")
        parent.kill()
        parent.wait(10)
        until_sync(lambda: not alive(child), 10, f"the child ({tie}) gone after its parent's kill -9")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if child and alive(child):
            os.kill(child, signal.SIGCONT)
            os.kill(child, signal.SIGKILL)
