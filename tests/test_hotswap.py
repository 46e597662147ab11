"""Hot swap under a running node that plays through a PulseAudio null sink: a replaced checkpoint plays from a piece
boundary on with no gap in the speakers and no missed piece; a broken or wrong-kind replacement is refused in one log
line and the running model plays on."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from audiopeers import PulseAudio, Recorder, pulse, recorder  # noqa: F401 - fixtures
from conftest import TINY_AUDIO, make_checkpoints
from nodes import RunningNode, node_config, running_node, until
from test_playback import SHIPPED, _no_gap

from ciel_node.atomic import write_atomic
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import file_hash, load_checkpoint

pytestmark = pytest.mark.slow
INTERVAL = 2.0


def _perturbed(source: Path, into: Path) -> None:
    """The same net (same shape, same map), its decoder's weights nudged by 2 %: what re-running crack gives."""
    model, provenance = SpectralVAE.from_checkpoint(source)
    extra = load_checkpoint(source, "audio_vae").get("extra")
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(1.02)
    model.save(into, {**provenance, "steps": (provenance.get("steps") or 0) + 1}, extra)  # write_atomic: a rename


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def _pieces_after(node: RunningNode, seq: int, n: int) -> None:
    await until(lambda: node.node.media.last_seq >= seq + n, 10 * n * INTERVAL, f"{n} pieces after piece {seq}")


async def test_a_replaced_checkpoint_plays_from_the_next_piece_without_a_gap_and_a_broken_one_is_refused(
    tmp_path: Path, pulse: PulseAudio, recorder: Recorder, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    pulse.use_here(monkeypatch)
    caplog.set_level(logging.INFO, logger="ciel_node")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    audio, images = ckpt / "audio.pt", ckpt / "images.pt"
    shutil.copyfile(SHIPPED[0], audio)
    shutil.copyfile(SHIPPED[1], images)
    old_sha, image_sha = file_hash(audio), file_hash(images)
    _perturbed(SHIPPED[0], tmp_path / "new.pt")  # made before the node runs: the CPU is the node's during the test
    new_bytes = (tmp_path / "new.pt").read_bytes()
    # A lead of 100 ms as in test_playback's gapless test: 30 ms underruns now and then on this VM, swap or not
    # (issue 18's). The render process as deployed: it loads the new checkpoint between two pieces.
    config = node_config(tmp_path / "state", (audio, images), max_sound_s=30.0, speakers=True, render_process=True,
                         engine_lead_s=0.1, controls={"interval": INTERVAL, "volume_ceiling": -6.0})
    async with running_node(config) as node:
        health = node.node.health
        await until(lambda: health()["playback"].get("sounding"), 60, "the engine sounding on the null sink")
        # The steady state: a piece cut from the sound played is out, so the next ones are cut with a known lead (the
        # first cut has none: it is late by its render's time, by design) and the start's underruns (a new stream)
        # are not counted.
        await until(lambda: (node.node.media.latest() or {}).get("played"), 30, "a piece cut from the sound played")
        first = node.node.media.last_seq
        before = health()
        t_swap = time.monotonic()
        write_atomic(audio, new_bytes)  # as crack writes it: a new file renamed over the old name
        new_sha = file_hash(audio)
        assert new_sha != old_sha

        def made_by_new() -> bool:
            latest = node.node.media.latest()
            return latest is not None and latest["checkpoints"]["audio"] == new_sha

        await until(made_by_new, 60, "a piece made by the new checkpoint",
                    lambda: str(health()["hot_swap"]) + str(health()["playback"]))
        swapped_at = node.node.media.last_seq
        await _pieces_after(node, swapped_at, 2)
        t_end = time.monotonic()
        after_swap = health()

        # A damaged replacement (one byte flipped), then one of the other kind: each refused in one line.
        broken = bytearray(new_bytes)
        broken[len(broken) // 2] ^= 0x40
        write_atomic(audio, bytes(broken))
        await until(lambda: _lines(caplog, "refused the new audio checkpoint"), 20, "the damaged file refused")
        write_atomic(audio, SHIPPED[1].read_bytes())
        await until(lambda: len(_lines(caplog, "refused the new audio checkpoint")) >= 2, 20,
                    "the image checkpoint in the audio file's place refused")
        refused_at = node.node.media.last_seq
        await _pieces_after(node, refused_at, 2)
        end = health()
        await asyncio.to_thread(recorder.wait_until, time.monotonic() + end["playback"]["latency_ms"] / 1000 + 0.1)
        i0, i1 = recorder.index_at(t_swap - 1.0), recorder.index_at(time.monotonic() - 0.2)
        recording = recorder.samples()[i0:i1]
        pieces = list(reversed(node.node.media.recent(100)))

    # The new checkpoint made the pieces from one boundary on (the first of them within two pieces of the file's
    # arrival: loaded while the old one played), and says so once.
    pieces = [p for p in pieces if p["seq"] > first]
    made = [p["checkpoints"]["audio"] for p in pieces]
    k = made.index(new_sha)
    assert made[:k] == [old_sha] * k and made[k:] == [new_sha] * (len(made) - k), made
    assert all(p["checkpoints"]["image"] == image_sha for p in pieces)
    assert all(p["played"] for p in pieces), [(p["seq"], p["played"], p["duration_s"]) for p in pieces]
    assert _lines(caplog, "loaded audio checkpoint") == [
        f"loaded audio checkpoint {audio} (sha256 {new_sha}): playing from piece {pieces[k]['seq']}"]
    assert after_swap["models"]["audio"]["sha256"] == new_sha and after_swap["models"]["audio"]["file"] == "audio.pt"
    assert after_swap["hot_swap"]["swaps"] == 1 and after_swap["playback"]["checkpoint"] == new_sha
    assert t_end - t_swap < 8 * INTERVAL
    # No gap in the speakers: the device never ran dry, and nothing silent longer than 20 ms in the recording.
    assert end["playback"]["underruns"] == before["playback"]["underruns"], end["playback"]
    _no_gap(recorder, recording, i0, end["playback"])
    # No piece missed, the cadence kept: seq continuous, each piece one interval after the one before, none late.
    seqs = [p["seq"] for p in pieces]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    gaps = np.diff([p["created_at"] for p in pieces])
    assert gaps.max() < INTERVAL + 0.25, gaps
    assert end["counters"]["late"] == before["counters"]["late"], (end["counters"], gaps, k, [
        (p["seq"], p["duration_s"], p["render_s"]) for p in pieces])
    assert end["counters"]["publish_errors"] == before["counters"]["publish_errors"] == 0
    # Refused in one line each, naming what is wrong; the new model played on.
    refusals = _lines(caplog, "refused the new audio checkpoint")
    assert len(refusals) == 2, refusals
    assert all(f"sha256 {new_sha}) plays on" in line for line in refusals), refusals
    assert "audio_vae" in refusals[1] or "image" in refusals[1], refusals[1]
    assert end["hot_swap"]["refused"] == 2 and end["hot_swap"]["swaps"] == 1
    assert end["models"]["audio"]["sha256"] == new_sha and end["playback"]["checkpoint"] == new_sha


async def test_an_image_swap_in_a_render_thread_and_a_net_of_another_shape_refused(
    tmp_path: Path, tiny_checkpoints: tuple[Path, Path], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ciel_node")
    audio, images = tiny_checkpoints
    old_audio, old_image = file_hash(audio), file_hash(images)
    other = make_checkpoints(tmp_path / "other", seed=1)  # the same shapes, other weights
    wider = tmp_path / "wider.pt"
    SpectralVAE(replace(TINY_AUDIO, hidden=(48,))).save(wider, {"archive": "tiny test model", "steps": 0})
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints, interval=0.5)) as node:
        first = node.node.media.last_seq
        write_atomic(images, other[1].read_bytes())
        new_image = file_hash(images)
        await until(lambda: node.node.media.latest()["checkpoints"]["image"] == new_image, 30,  # type: ignore[index]
                    "a piece made by the new image checkpoint", lambda: str(node.node.health()["hot_swap"]))
        write_atomic(audio, wider.read_bytes())
        await until(lambda: _lines(caplog, "refused the new audio checkpoint"), 30, "the wider net refused")
        refused_at = node.node.media.last_seq
        await _pieces_after(node, refused_at, 2)
        pieces = [p for p in reversed(node.node.media.recent(100)) if p["seq"] > first]
        snapshots = sorted(p.name for p in (tmp_path / "state" / "checkpoints").iterdir())
    made = [p["checkpoints"]["image"] for p in pieces]
    k = made.index(new_image)
    assert made[:k] == [old_image] * k and made[k:] == [new_image] * (len(made) - k), made
    assert [p["checkpoints"]["audio"] for p in pieces] == [old_audio] * len(pieces)
    seqs = [p["seq"] for p in pieces]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    assert _lines(caplog, "loaded image checkpoint") == [
        f"loaded image checkpoint {images} (sha256 {new_image}): playing from piece {pieces[k]['seq']}"]
    [refusal] = _lines(caplog, "refused the new audio checkpoint")
    assert "hidden (32,) -> (48,)" in refusal and "restart the node to load a net of another shape" in refusal
    # What a restarted render process loads: the running nets' snapshots (and the replaced one's, should the load
    # fail), never the refused file.
    assert f"audio-{old_audio}.pt" in snapshots and f"image-{new_image}.pt" in snapshots, snapshots
    assert f"audio-{file_hash(wider)}.pt" not in snapshots and len(snapshots) <= 3, snapshots
