"""The node's run loop, in process: cadence, knobs that act now, restart, disk full."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from nodes import running, until

from ciel_node.app import Node
from ciel_node.config import RunConfig


def _config(state: Path, ckpts: tuple[Path, Path], **controls: float) -> RunConfig:
    return RunConfig(
        state_dir=state, audio_checkpoint=ckpts[0], image_checkpoint=ckpts[1], controls=controls, max_sound_s=2.0,
        render_process=False,  # in-process: fast; the default child process has its own tests below
        speakers=False,  # no sound engine process to start and stop per test (tests/test_playback.py has it)
    )


def _seqs(state: Path) -> list[int]:
    path = state / "manifest.jsonl"
    return [json.loads(x)["seq"] for x in path.read_text().splitlines()] if path.exists() else []


async def test_publishes_every_interval_back_to_back(tmp_path: Path, tiny_checkpoints) -> None:
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=0.5))
    async with running(node):
        await until(lambda: node.media.last_seq >= 4, 20)
    entries = list(reversed(node.media.recent(10)))
    gaps = [b["created_at"] - a["created_at"] for a, b in zip(entries, entries[1:])]
    assert all(abs(g - 0.5) < 0.1 for g in gaps), gaps
    assert all(e["duration_s"] == 0.5 for e in entries)  # each sound fills its interval: no gap
    assert node.next_at is not None


async def test_a_slow_first_render_does_not_shorten_the_first_sound(tmp_path: Path, tiny_checkpoints) -> None:
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=1.0))
    compose, calls = node.renderer.compose, []

    async def slow_once(*args):  # type: ignore[no-untyped-def]
        if not calls:
            await asyncio.sleep(0.4)  # e.g. the render process still loading its models
        calls.append(1)
        return await compose(*args)

    node.renderer.compose = slow_once  # type: ignore[method-assign]
    async with running(node):
        await until(lambda: node.media.last_seq >= 3, 20)
    entries = list(reversed(node.media.recent(3)))
    gaps = [b["created_at"] - a["created_at"] for a, b in zip(entries, entries[1:])]
    assert all(abs(g - 1.0) < 0.1 for g in gaps), gaps  # each sound (1 s) ends as the next begins


async def test_shorter_interval_and_next_act_now(tmp_path: Path, tiny_checkpoints) -> None:
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=3600))
    async with running(node):
        await until(lambda: node.media.last_seq == 1, 20)  # the first piece comes at once
        assert node.media.latest()["duration_s"] == 2.0  # an hour's interval loops a capped sound
        # Idle for an hour (nothing rendered or held yet): next makes one now, under the current controls.
        node.request_next()
        await until(lambda: node.media.last_seq == 2, 10)
        assert node.media.latest()["params"]["interval"] == 3600
        node.controls.update(interval=0.5)  # not after the old hour
        await until(lambda: node.media.last_seq >= 3, 10)


async def test_restart_continues_seq_controls_and_walk(tmp_path: Path, tiny_checkpoints) -> None:
    state = tmp_path / "s"
    node = Node(_config(state, tiny_checkpoints, interval=0.5, seed=11))
    async with running(node):
        node.controls.update(drift=0.7)
        await until(lambda: node.media.last_seq >= 3, 20)
    step = node.walk.step
    again = Node(_config(state, tiny_checkpoints))  # a power cut later, no flags
    assert again.controls.controls.seed == 11 and again.controls.controls.drift == 0.7
    assert again.walk == node.walk
    async with running(again):
        await until(lambda: again.media.last_seq >= node.media.last_seq + 1, 20)
    assert _seqs(state) == list(range(1, again.media.last_seq + 1))
    assert again.media.latest()["step"] == step


async def test_same_seed_same_pieces_on_two_nodes(tmp_path: Path, tiny_checkpoints) -> None:
    names = []
    for run in ("a", "b"):
        node = Node(_config(tmp_path / run, tiny_checkpoints, interval=0.5, seed=5, drift=0.4))
        async with running(node):
            await until(lambda: node.media.last_seq >= 3, 20)  # noqa: B023
        names.append([(e["image"], e["sky"], e["wav"], e["audio"]) for e in reversed(node.media.recent(3))])
    assert names[0] == names[1]


async def test_disk_full_keeps_latest_waits_between_tries_and_logs_once(tiny_disk: Path, tiny_checkpoints,
                                                                       caplog) -> None:
    """A full disk was retried every ~50 ms (19 error lines a second): RETRY_S never applied."""
    from ciel_node.schedule import RETRY_S

    node = Node(_config(tiny_disk / "state", tiny_checkpoints, interval=0.5))
    async with running(node):
        await until(lambda: node.media.last_seq >= 1, 20)
        ballast = tiny_disk / "ballast"
        with open(ballast, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        latest = node.media.latest()
        await until(lambda: node.counters["publish_errors"] >= 1, 20)
        await asyncio.sleep(RETRY_S * 1.5)  # a window to count attempts in, not a wait for an event
        assert node.counters["publish_errors"] <= 2, node.counters  # at t=0 and t=RETRY_S; then backing off
        assert node.media.latest() == latest
        failures = [r for r in caplog.records if "could not publish" in r.getMessage()]
        assert len(failures) == 1 and "last complete piece stays the latest" in failures[0].getMessage()
        assert failures[0].exc_info is None  # "No space left on device" says it all: no traceback
        ballast.unlink()
        await until(lambda: node.media.last_seq > latest["seq"], 20)
    assert _seqs(tiny_disk / "state")[-1] == node.media.last_seq
    assert f"piece {latest['seq'] + 1} published after" in caplog.text  # the streak's summary


async def test_any_exception_in_a_render_is_logged_once_and_survived(tmp_path: Path, tiny_checkpoints, caplog,
                                                                     monkeypatch) -> None:
    """Only OSError was caught: any other exception (a bug, a hung render process) ended the node."""
    import ciel_node.schedule

    monkeypatch.setattr(ciel_node.schedule, "RETRY_S", 0.05)
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=0.5))
    compose, failures = node.renderer.compose, []

    async def broken(*args):  # type: ignore[no-untyped-def]
        if len(failures) < 4:
            failures.append(1)
            raise (RuntimeError if len(failures) < 4 else ValueError)("the render process hangs")
        return await compose(*args)

    def bad_listener(entry: dict) -> None:
        raise KeyError("a surface's bug")

    node.renderer.compose = broken  # type: ignore[method-assign]
    node.piece_listeners.append(bad_listener)
    async with running(node) as n:
        await until(lambda: n.media.last_seq >= 2, 20)
    assert node.counters["publish_errors"] == 4
    traced = [r for r in caplog.records if r.exc_info]
    # One line with a traceback per kind of error (RuntimeError, ValueError, the listener's KeyError).
    assert len(traced) == 3, [r.getMessage() for r in traced]
    assert "published after 4 failed attempt(s)" in caplog.text


async def test_a_shorter_interval_is_not_counted_late(tmp_path: Path, tiny_checkpoints) -> None:
    """An interval shortened past the time already waited sets a due time nobody could meet: not late."""
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=3600))
    async with running(node):
        await until(lambda: node.media.last_seq >= 1, 20)
        first = node.media.latest()["created_at"]
        await until(lambda: time.time() > first + 0.8, 20)
        node.controls.update(interval=0.5)  # due 0.3 s ago: the next piece goes out as soon as it is made
        await until(lambda: node.media.last_seq >= 2, 20)
        assert node.counters["late"] == 0


async def test_late_counts_pieces_out_after_their_time(tmp_path: Path, tiny_checkpoints) -> None:
    """`late` stayed 0 while a stalled loop (an OSC flood) put pieces out seconds late: it counted slow renders."""
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=1.0))
    async with running(node):
        await until(lambda: node.media.last_seq >= 2, 20)
        late = node.counters["late"]
        time.sleep(1.5)  # the loop stalls through the next piece's time (a blocking flood, a swapping machine)
        await until(lambda: node.media.last_seq >= 3, 20)
    assert node.counters["late"] >= late + 1


_Z8, _Z16 = [0.1] * 8, [0.1] * 16  # the tiny models' latent sizes


@pytest.mark.parametrize(("name", "content", "render"), [
    ("walk.json", '"abc"', False),
    ("walk.json", json.dumps({"seed": 0, "step": 2, "audio_z": "abcdefgh", "image_z": "abcdefgh" * 2}), True),
    ("walk.json", json.dumps({"seed": 0, "step": 2, "audio_z": {str(i): 1 for i in range(8)},
                              "image_z": {str(i): 1 for i in range(16)}}), False),
    ("walk.json", json.dumps({"seed": 0, "step": -1, "audio_z": _Z8, "image_z": _Z16}), True),
    ("walk.json", json.dumps({"seed": 0, "step": 3, "audio_z": [math.nan] * 8, "image_z": [math.nan] * 16}), True),
    ("walk.json", json.dumps({"seed": 0, "step": 3, "audio_z": [10**400] + _Z8[1:], "image_z": _Z16}), False),
    ("controls.json", "null", False),
    ("controls.json", "[1, 2]", False),
    ("controls.json", "5", False),
    ("manifest.jsonl", '{"seq":1e400}\n', True),
])
async def test_a_bad_state_file_is_one_warning_and_a_safe_fallback(tmp_path: Path, tiny_checkpoints, caplog,
                                                                    name: str, content: str, render: bool) -> None:
    """Each of these exited at every start (a crash loop under systemd's Restart=always), or, for NaN,
    made grey pictures and silence forever without a word."""
    state = tmp_path / "s"
    state.mkdir()
    (state / name).write_text(content)
    node = Node(_config(state, tiny_checkpoints, interval=3600))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and str(state) in r.getMessage()]
    assert len(warnings) == 1 and name in warnings[0], warnings
    assert node.walk == node.walks.origin(0)
    if not render:  # the start was what failed; the rendering cases check the pieces after it too
        return
    async with running(node):
        await until(lambda: node.media.last_seq >= 1, 20)
    assert node.media.latest()["seq"] == 1
    node.walk.check()  # finite, so the next pieces are not grey and silent
    assert node.counters["publish_errors"] == 0
    samples, _ = sf.read(state / "media" / node.media.latest()["wav"])
    assert np.isfinite(samples).all() and np.abs(samples).max() > 0


async def test_slow_rendering_is_logged_and_the_cadence_kept(tmp_path: Path, tiny_checkpoints, caplog) -> None:
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=0.5))
    compose = node.renderer.compose

    async def slow(*args):  # type: ignore[no-untyped-def]
        await asyncio.sleep(1.2)  # a machine too slow for the interval
        return await compose(*args)

    node.renderer.compose = slow  # type: ignore[method-assign]
    async with running(node):
        await until(lambda: node.media.last_seq >= 3, 30)
    assert node.counters["late"] >= 1
    assert "rendering takes longer than the 0.5 s interval" in caplog.text
    entries = list(reversed(node.media.recent(3)))
    gaps = [b["created_at"] - a["created_at"] for a, b in zip(entries, entries[1:])]
    assert all(g < 2.0 for g in gaps), gaps  # back to back, no piling-up sleep


async def test_a_slow_first_render_is_not_reported_as_slow_rendering(
    tmp_path: Path, tiny_checkpoints, caplog
) -> None:
    """Every start warned "rendering takes longer than the interval": the first render loads the models."""
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=1.0))
    compose, calls = node.renderer.compose, []

    async def slow_once(*args):  # type: ignore[no-untyped-def]
        if not calls:
            await asyncio.sleep(1.5)  # the render process still starting up
        calls.append(1)
        return await compose(*args)

    node.renderer.compose = slow_once  # type: ignore[method-assign]
    async with running(node):
        await until(lambda: node.media.last_seq >= 2, 20)
    assert "rendering takes longer" not in caplog.text


async def test_render_process_gives_the_same_pieces_and_survives_its_death(tmp_path: Path, tiny_checkpoints) -> None:
    threaded = Node(_config(tmp_path / "t", tiny_checkpoints, interval=0.5, seed=8, drift=0.6))
    async with running(threaded):
        await until(lambda: threaded.media.last_seq >= 2, 20)
    cfg = replace(_config(tmp_path / "p", tiny_checkpoints, interval=0.5, seed=8, drift=0.6), render_process=True)
    node = Node(cfg)
    async with running(node):
        await until(lambda: node.media.last_seq >= 2, 60)
        # Kill the render process the way the OOM killer would; the node must carry on.
        pool = node.renderer._pool
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        seq = node.media.last_seq
        await until(lambda: node.media.last_seq >= seq + 2, 60)
    names = [[(e["image"], e["wav"]) for e in reversed(n.media.recent(100))][:2] for n in (threaded, node)]
    assert names[0] == names[1]


def test_the_renderer_runs_below_the_sound(tiny_checkpoints: tuple[Path, Path]) -> None:
    """In a thread (tests) as in a child process (the default): at RENDER_NICE more than the node's threads."""
    from ciel_node.generate.worker import RENDER_NICE, RenderSpec, RenderWorker

    spec = RenderSpec(tiny_checkpoints[0], tiny_checkpoints[1], 4, 1.0, 1)
    mine = os.getpriority(os.PRIO_PROCESS, 0)  # Linux: 0 is the calling thread
    for process in (False, True):
        worker = RenderWorker(spec, process=process)
        try:
            nice = worker._pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=60)
        finally:
            worker._pool.shutdown()
        assert nice == min(19, mine + RENDER_NICE), (process, nice)
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine  # the node's own threads keep theirs


async def test_health_gathers_each_components_own_numbers(tmp_path: Path, tiny_checkpoints) -> None:
    """/api/health's shape, assembled from the media store's, the schedule's and the engine's stats()."""
    node = Node(_config(tmp_path / "s", tiny_checkpoints, interval=0.5))
    async with running(node):
        await until(lambda: node.media.last_seq >= 1, 20)
    health = node.health()
    assert set(health) == {"uptime_s", "models", "last_seq", "last_piece_age_s", "next_at", "counters", "osc", "ssh",
                           "tunnel", "media_bytes", "audio_underruns", "playback", "hot_swap"}
    assert health["last_seq"] == node.media.last_seq >= 1 and health["media_bytes"] == node.media.total_bytes > 0
    assert 0 <= health["last_piece_age_s"] < 60
    assert health["counters"] == node.schedule.stats()["counters"] and health["counters"]["published"] >= 1
    assert health["next_at"] == node.schedule.next_at
    assert health["playback"] == {"state": "disabled"} and health["audio_underruns"] is None  # no speakers
    assert health["models"]["image"]["sha256"] == node.checkpoints["image"]["sha256"]
    health["counters"]["published"] = -1  # a copy: a reader cannot write into a component's numbers
    assert node.schedule.counters["published"] >= 1
