"""The audience page in real headless Chromium (playwright-core, tests/browser/driver.mjs) against a real node.

Same origin only, the sky drawn and crossfaded, the program note, sound after a click, the waiting state
while the node is away, the polling fallback, and bounded memory over 200 pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import require_tool
from nodes import until
from PIL import Image, ImageStat

from ciel_node.app import Node, audience_surface
from ciel_node.config import RunConfig

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "browser" / "driver.mjs"
SHIPPED = (ROOT / "checkpoints" / "audio.pt", ROOT / "checkpoints" / "images.pt")
WEB_MODULES = ROOT / "web" / "node_modules"


def require_web_modules() -> None:
    """A-Frame and playwright-core come from `npm ci` in web/; skip without them, fail on CI."""
    missing = [p for p in ("aframe/dist/aframe-master.min.js", "playwright-core/package.json")
               if not (WEB_MODULES / p).is_file()]
    if missing:
        message = f"web/node_modules lacks {', '.join(missing)} (run: cd web && npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)


# --- a real node ---------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def running_node(state_dir: Path, interval: float, port: int = 0, max_sound_s: float = 8.0,
                       checkpoints: tuple[Path, Path] = SHIPPED) -> AsyncIterator[tuple[Node, int]]:
    """A node with its web surface on 127.0.0.1 (a free port, or `port` to come back on the same one)."""
    cfg = RunConfig(state_dir=state_dir, audio_checkpoint=checkpoints[0], image_checkpoint=checkpoints[1],
                    controls={"interval": interval}, osc="127.0.0.1:0", web=f"127.0.0.1:{port}",
                    render_process=False, max_sound_s=max_sound_s)
    node = Node(cfg)
    stop = asyncio.Event()
    first = node.media.last_seq + 1
    async with audience_surface(node, cfg) as bound:
        task = asyncio.create_task(node.run(stop))
        try:
            await until(lambda: node.media.last_seq >= first, 30, "the node's first piece")
            yield node, bound
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as s, s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
        assert r.status == 200, (url, r.status)
        return await r.json()


# --- headless Chromium ---------------------------------------------------------------------------
class Chromium:
    """tests/browser/driver.mjs in a subprocess: one JSON command per line in, one answer per line out."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc, self.log = proc, log

    async def call(self, cmd: str, deadline_s: float = 30.0, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), deadline_s)
        except TimeoutError:
            raise AssertionError(f"the browser did not answer {cmd} within {deadline_s} s; {self._tail()}") from None
        if not line:
            raise AssertionError(f"the browser driver exited; {self._tail()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"{cmd} {args}: {answer['error']}")
        return answer.get("value")

    async def eval(self, expr: str) -> Any:
        return await self.call("eval", expr=expr)

    async def wait(self, expr: str, deadline_s: float = 10.0) -> Any:
        """Wait in the page until `expr` is truthy; its value."""
        return await self.call("wait", deadline_s=deadline_s + 5, expr=expr, timeout=int(deadline_s * 1000))

    async def open_page(self, url: str) -> None:
        await self.call("open", url=url)
        await self.wait("window.ciel && ciel.state === 'live' && ciel.sky !== null", 20)

    async def screenshot(self, path: Path) -> Image.Image:
        await self.call("screenshot", path=str(path))
        return Image.open(io.BytesIO(path.read_bytes())).convert("RGB")

    async def assert_same_origin(self, origin: str, allow: str = "") -> list[str]:
        """Every request the page made went to `origin`; no console errors either (but those with `allow`)."""
        requests = await self.call("requests")
        elsewhere = [u for u in requests if not u.startswith(origin + "/") and not u.startswith(("data:", "blob:"))]
        assert not elsewhere, f"requests to other origins: {elsewhere}"
        errors = [e for e in await self.call("console") if not (allow and allow in e)]
        assert not errors, f"console errors: {errors}"
        return list(requests)

    def _tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "driver stderr: " + text[-2000:]


@contextlib.asynccontextmanager
async def chromium(tmp_path: Path, width: int = 1280, height: int = 720) -> AsyncIterator[Chromium]:
    node_exe = require_tool("node")
    env = {**os.environ, "CHROMIUM": require_tool("chromium")}
    require_web_modules()
    profile = tmp_path / f"chromium-profile-{time.monotonic_ns()}"  # a fresh user-data-dir each time
    log = tmp_path / "driver.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            node_exe, str(DRIVER), str(profile), str(width), str(height),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err, env=env,
        )
    browser = Chromium(proc, log)
    try:
        yield browser
    finally:
        with contextlib.suppress(Exception):
            await browser.call("close", deadline_s=10)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()  # our own driver (its Chromium exits with the pipe to it)
            await proc.wait()


def _box(img: Image.Image, cx: float, cy: float, w: float, h: float) -> Image.Image:
    W, H = img.size
    return img.crop((int((cx - w / 2) * W), int((cy - h / 2) * H), int((cx + w / 2) * W), int((cy + h / 2) * H)))


# --- the tests -----------------------------------------------------------------------------------
async def test_page_is_offline_shows_the_sky_crossfades_and_opens_the_note(tmp_path: Path) -> None:
    async with running_node(tmp_path / "state", interval=3600) as (node, port), chromium(tmp_path) as page:
        origin = f"http://127.0.0.1:{port}"
        await page.open_page(origin + "/")
        latest = await get_json(origin + "/api/latest")
        assert await page.eval("ciel.seq") == latest["seq"]
        assert await page.wait("ciel.sky") == latest["sky"]
        await page.wait("!ciel.fading && ciel.texturesLive === 1", 15)  # the first sky has faded in
        assert await page.eval("ciel.transport") == "events"

        # The oval is drawn: its middle differs from the dark field in the corner, and has texture.
        shot = await page.screenshot(tmp_path / "sky.png")
        field = ImageStat.Stat(_box(shot, 0.04, 0.5, 0.03, 0.1)).mean
        middle = ImageStat.Stat(_box(shot, 0.5, 0.45, 0.3, 0.3))
        assert max(field) < 30, f"the field should be dark, got {field}"
        assert sum(abs(m - f) for m, f in zip(middle.mean, field)) > 30, (middle.mean, field)
        assert max(middle.stddev) > 4, f"the sky should not be a flat colour: {middle.stddev}"

        # A new piece: a new texture URL crossfades in, and the old texture is let go.
        before = await page.eval("({seq: ciel.seq, sky: ciel.sky, made: ciel.texturesMade})")
        node.request_next()
        await page.wait(f"ciel.seq === {before['seq'] + 1}", 15)
        new_sky = await page.wait(f"ciel.sky !== {json.dumps(before['sky'])} && ciel.sky")
        assert new_sky == (await get_json(origin + "/api/latest"))["sky"]
        await page.wait("!ciel.fading && ciel.texturesLive === 1", 15)
        assert await page.eval("ciel.texturesMade") == before["made"] + 1

        # The grey circle opens the note, and closes it again.
        assert not await page.call("visible", selector="#note")
        await page.call("click", selector="#about")
        text = await page.wait("document.querySelector('#note article')?.innerText")
        assert "neural noise" in text and "cracked" in text and "all-sky map" in text
        assert await page.call("visible", selector="#note")
        await page.call("click", selector="#about")
        await page.wait("document.querySelector('#note').hidden")

        requests = await page.assert_same_origin(origin)
        assert origin + "/vendor/aframe.min.js" in requests
        assert origin + "/assets/note.html" in requests


async def test_listen_plays_each_piece_through_webaudio(tmp_path: Path) -> None:
    # Short pieces, so the sound joins several of them back to back within the test.
    async with running_node(tmp_path / "state", interval=3) as (node, port), chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{port}"
        await page.open_page(origin + "/")
        assert await page.eval("ciel.audioState") == "none"  # nothing plays before the gesture
        await page.call("click", selector="#listen")  # a real click: the browser's user gesture
        await page.wait("ciel.audioState === 'running' && ciel.listening")
        t0 = await page.eval("ciel.audioTime")
        await page.wait("ciel.analyserLevel() > 1e-4", 10)
        assert await page.eval("ciel.audioTime") > t0

        # Listen across at least two joins. On the AudioContext clock each piece starts where the one
        # before ends (a short overlap): no gap, whatever the page's main thread is busy with.
        seq0 = await page.eval("ciel.seq")
        levels: list[float] = []
        end = time.monotonic() + 15
        while await page.eval(f"ciel.sounds.filter(s => s.seq > {seq0}).length") < 2:
            assert time.monotonic() < end, "the next two pieces were not scheduled"
            levels.append(await page.eval("ciel.analyserLevel()"))
            await asyncio.sleep(0.05)
        sounds = await page.eval("ciel.sounds")
        assert sounds[0]["how"] == "entry", sounds
        for before, after in zip(sounds, sounds[1:]):
            assert after["how"] == "join", sounds
            assert before["end"] - 0.1 <= after["start"] <= before["end"], (before, after)
        # ... and the analyser hears it: hardly a silent sample (the page's thread samples it).
        silent = sum(1 for v in levels if v < 1e-5) / len(levels)
        print(f"\nlistening: {len(sounds)} sounds scheduled, {len(levels)} analyser samples, {silent:.0%} silent")
        assert silent < 0.05, f"{silent:.0%} of {len(levels)} analyser samples silent"
        assert await page.eval("ciel.soundErrors") == 0
        assert await page.eval("ciel.voices") <= 3

        # Stop: the context is suspended and the meter falls back.
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'suspended' && !ciel.listening", 5)
        await page.assert_same_origin(origin)


async def test_waiting_state_while_the_node_is_away_then_resumes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with chromium(tmp_path, 640, 360) as page:
        async with running_node(state, interval=3600) as (_, port):
            origin = f"http://127.0.0.1:{port}"
            await page.open_page(origin + "/")
            seq = await page.eval("ciel.seq")
            assert not await page.call("visible", selector="#waiting")
        # The node is gone: the page says so, quietly, and keeps the last sky.
        await page.wait("ciel.state === 'waiting'", 10)
        await page.wait("!document.querySelector('#waiting').hidden", 5)
        assert await page.eval("ciel.sky") is not None
        shot = await page.screenshot(tmp_path / "waiting.png")
        assert max(ImageStat.Stat(_box(shot, 0.5, 0.45, 0.3, 0.3)).mean) > 8, "the last sky stays, dimmed"
        # Back on the same port (seq continues): the page finds it by itself and shows the new piece.
        async with running_node(state, interval=3600, port=port):
            await page.wait(f"ciel.state === 'live' && ciel.seq > {seq}", 25)
            await page.wait("document.querySelector('#waiting').hidden")
            await page.wait("ciel.transport === 'events'", 10)
            await page.assert_same_origin(origin, allow="ERR_CONNECTION_REFUSED")  # the browser's own log


async def test_polling_fallback_revalidates_with_etags(tmp_path: Path) -> None:
    async with running_node(tmp_path / "state", interval=3600) as (node, port), \
            chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{port}"
        await page.open_page(origin + "/?transport=poll")
        assert await page.eval("ciel.transport") == "polling"
        # Nothing new: the polls (every ~2 s) revalidate with the ETag they were given and get 304s.
        end = time.monotonic() + 10
        while (await get_json(origin + "/api/health"))["web"]["not_modified"] < 1:
            assert time.monotonic() < end, "no poll was answered 304 Not Modified"
            await asyncio.sleep(0.2)
        seq = await page.eval("ciel.seq")
        node.request_next()
        await page.wait(f"ciel.seq === {seq + 1}", 10)
        await page.wait(f"ciel.sky === {json.dumps((await get_json(origin + '/api/latest'))['sky'])}", 10)
        requests = await page.assert_same_origin(origin)
        assert origin + "/api/events" not in requests


async def test_two_hundred_pieces_keep_memory_bounded(tmp_path: Path) -> None:
    """200 pieces at a 0.5 s interval, listening: heap and textures after ~50 and after ~200 pieces."""
    async with running_node(tmp_path / "state", interval=0.5, max_sound_s=1.0) as (node, port), \
            chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{port}"
        await page.open_page(origin + "/")
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running'")
        first = node.media.last_seq

        async def sample_after(pieces: int) -> dict[str, Any]:
            await until(lambda: node.media.last_seq >= first + pieces, pieces * 0.5 + 60, f"{pieces} pieces")
            await page.wait(f"ciel.seq >= {first + pieces}", 10)
            heap = await page.call("heap")
            view = await page.eval(
                "({live: ciel.texturesLive, gpu: ciel.gpuTextures, made: ciel.texturesMade, voices: ciel.voices,"
                " pieces: ciel.pieces, errors: ciel.soundErrors,"
                # what three.js and A-Frame remember by URL: nothing should pile up there
                " cached: Object.keys(AFRAME.THREE.Cache.files).length"
                "   + Object.keys(document.querySelector('a-scene').systems.material.sourceCache).length})")
            return {**view, "heap": heap["usedSize"]}

        early = await sample_after(50)
        late = await sample_after(200)
        print(f"\nafter ~50 pieces: {early}\nafter ~200 pieces: {late}")
        assert late["pieces"] >= 190, late  # the page kept up
        assert late["made"] > early["made"] + 100
        assert early["live"] <= 2 and late["live"] <= 2, (early, late)
        assert late["gpu"] <= early["gpu"] + 1, (early, late)
        assert late["voices"] <= 4 and late["errors"] == 0, late
        assert late["cached"] <= early["cached"] <= 2, (early, late)
        assert late["heap"] <= early["heap"] * 1.25 + 2_000_000, (early, late)
        await page.assert_same_origin(origin)
