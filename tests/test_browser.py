"""The audience page in real headless Chromium (playwright-core, tests/browser/driver.mjs) against a real node.

Same origin only, the sky drawn and crossfaded, the program note, sound after a click, the waiting state
while the node is away, the polling fallback, and bounded memory over 200 pieces.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from audiopeers import PulseAudio
from conftest import require_tool
from nodes import node_config, running_node, until
from PIL import Image, ImageStat

from ciel_node.app import Node
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
def _config(state_dir: Path, interval: float, port: int = 0, max_sound_s: float = 8.0) -> RunConfig:
    """The shipped models and the web surface on 127.0.0.1 (a free port, or `port` to come back on the same one);
    no speakers here: the engine would only cost seconds at each stop."""
    return node_config(state_dir, SHIPPED, interval, web=f"127.0.0.1:{port}", max_sound_s=max_sound_s)


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
async def chromium(tmp_path: Path, width: int = 1280, height: int = 720, webgl: bool = True) -> AsyncIterator[Chromium]:
    node_exe = require_tool("node")
    env = {**os.environ, "CHROMIUM": require_tool("chromium")}
    require_web_modules()
    profile = tmp_path / f"chromium-profile-{time.monotonic_ns()}"  # a fresh user-data-dir each time
    log = tmp_path / "driver.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            node_exe, str(DRIVER), str(profile), str(width), str(height), *([] if webgl else ["--no-webgl"]),
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


# --- headless Firefox ESR, over WebDriver BiDi -------------------------------------------------------
# Playwright drives only its own patched Firefox, and geckodriver is not in Debian; Firefox ESR speaks
# WebDriver BiDi itself (--remote-debugging-port), a JSON protocol over one WebSocket. Headless, it
# has no WebGL here: the real browser for the page's no-WebGL sky.
FIREFOX_PREFS = {
    # Nothing but the page: no first-run pages, updates, telemetry, remote settings or safe browsing.
    "browser.shell.checkDefaultBrowser": False, "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore", "startup.homepage_welcome_url": "about:blank",
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True, "app.normandy.enabled": False, "extensions.update.enabled": False,
    "browser.safebrowsing.update.enabled": False, "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False, "services.settings.server": "data:,",
    "browser.newtabpage.enabled": False, "browser.aboutwelcome.enabled": False,
    # Audio starts on the test's click, as for a person.
    "media.autoplay.default": 1,
}


class Firefox:
    """One browsing context of a headless Firefox ESR, driven over WebDriver BiDi (aiohttp's WebSocket)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.context = ""
        self.log: list[dict[str, Any]] = []   # every log.entryAdded: console messages and uncaught errors
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if data.get("method") == "log.entryAdded":
                self.log.append(data["params"])
            elif "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
        for future in self._waiting.values():
            future.set_exception(AssertionError("Firefox closed the WebDriver BiDi connection"))

    async def send(self, method: str, deadline_s: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        await self.ws.send_json({"id": self._next, "method": method, "params": params})
        answer = await asyncio.wait_for(future, deadline_s)
        if answer.get("type") == "error":
            raise AssertionError(f"{method}: {answer.get('error')}: {answer.get('message')}")
        result: dict[str, Any] = answer["result"]
        return result

    async def eval(self, expr: str) -> Any:
        """The value of `expr` in the page (through JSON, so any plain value comes back)."""
        result = await self.send("script.evaluate", expression=f"JSON.stringify({expr})", awaitPromise=True,
                                 target={"context": self.context})
        if result["type"] != "success":
            raise AssertionError(f"{expr}: {result.get('exceptionDetails', {}).get('text')}")
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    async def wait(self, expr: str, deadline_s: float = 10.0) -> Any:
        end = time.monotonic() + deadline_s
        while not (value := await self.eval(expr)):
            if time.monotonic() > end:
                raise AssertionError(f"timed out after {deadline_s} s waiting for {expr}")
            await asyncio.sleep(0.05)
        return value

    async def click(self, selector: str) -> None:
        """A real pointer click in the middle of the element (a user gesture, which audio needs)."""
        box = await self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                              ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        await self.send("input.performActions", context=self.context, actions=[{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "x": int(box[0]), "y": int(box[1])},
                {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}])

    async def screenshot(self, path: Path) -> Image.Image:
        shot = await self.send("browsingContext.captureScreenshot", context=self.context)
        path.write_bytes(base64.b64decode(shot["data"]))
        return Image.open(path).convert("RGB")

    def errors(self) -> list[str]:
        """Uncaught errors and console errors the page logged."""
        return [f"{e.get('type')}: {e.get('text')}" for e in self.log
                if e.get("level") == "error" or e.get("type") == "javascript"]


@contextlib.asynccontextmanager
async def firefox(tmp_path: Path, width: int = 1280, height: int = 720,
                  env: dict[str, str] | None = None) -> AsyncIterator[Firefox]:
    exe = require_tool("firefox-esr")
    profile = tmp_path / f"firefox-profile-{time.monotonic_ns()}"
    profile.mkdir()
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                             for k, v in FIREFOX_PREFS.items()))
    log = tmp_path / "firefox.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            exe, "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port=0",
            "about:blank", stdout=err, stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})},
        )
    try:
        assert proc.stderr is not None
        url = ""
        while not url:  # Firefox says where BiDi listens on stderr
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, f"firefox-esr exited before WebDriver BiDi listened: {log.read_text(errors='replace')}"
            if b"WebDriver BiDi listening on" in line:
                url = line.decode().split()[-1]
        drain = asyncio.create_task(_drain(proc.stderr, log))
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/session", max_msg_size=0) as ws:
            browser = Firefox(ws)
            await browser.send("session.new", capabilities={})
            browser.context = (await browser.send("browsingContext.getTree"))["contexts"][0]["context"]
            await browser.send("browsingContext.setViewport", context=browser.context,
                               viewport={"width": width, "height": height})
            await browser.send("session.subscribe", events=["log.entryAdded"])
            try:
                yield browser
            finally:
                with contextlib.suppress(Exception):
                    await browser.send("browser.close", deadline_s=10)
        drain.cancel()
    finally:
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()  # the Firefox we started
            await proc.wait()


async def _drain(stream: asyncio.StreamReader, log: Path) -> None:
    """Keep reading Firefox's stderr into the log, so a full pipe never blocks it."""
    with log.open("ab") as out:
        while line := await stream.readline():
            out.write(line)


def _box(img: Image.Image, cx: float, cy: float, w: float, h: float) -> Image.Image:
    W, H = img.size
    return img.crop((int((cx - w / 2) * W), int((cy - h / 2) * H), int((cx + w / 2) * W), int((cy + h / 2) * H)))


# --- the tests -----------------------------------------------------------------------------------
async def test_page_is_offline_shows_the_sky_crossfades_and_opens_the_note(tmp_path: Path) -> None:
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, chromium(tmp_path) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
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
        r.node.request_next()
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
    async with running_node(_config(tmp_path / "state", 3), osc=False) as r, chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
        await page.open_page(origin + "/")
        assert await page.eval("ciel.audioState") == "none"  # nothing plays before the gesture
        await page.call("click", selector="#listen")  # a real click: the browser's user gesture
        await page.wait("ciel.audioState === 'running' && ciel.listening")
        t0 = await page.eval("ciel.audioTime")
        await page.wait("ciel.analyserLevel() > 1e-4", 10)
        assert await page.eval("ciel.audioTime") > t0

        # Listen across at least two joins. On the AudioContext clock each piece that is decoded before the
        # sound ahead of it ends starts where that one ends (a short overlap): no gap, whatever the page's
        # main thread is busy with. A piece the node sent too late for that (a busy machine) starts again,
        # faded in, and is not a join; the test then listens on for two that are.
        seq0 = await page.eval("ciel.seq")
        levels: list[tuple[float, float]] = []  # (context time, analyser level)
        end = time.monotonic() + 30
        while True:
            sounds = [s for s in await page.eval("ciel.sounds") if s["seq"] >= seq0]
            if sum(1 for s in sounds if s["how"] == "join") >= 2:
                break
            assert time.monotonic() < end, f"no two joins in 30 s: {sounds}"
            levels.append(tuple(await page.eval("[ciel.audioTime, ciel.analyserLevel()]")))
            await asyncio.sleep(0.05)
        heard_until = sounds[-1]["start"] + 1.0  # and on, into the last join
        while (sample := tuple(await page.eval("[ciel.audioTime, ciel.analyserLevel()]")))[0] < heard_until:
            levels.append(sample)
            assert time.monotonic() < end + 5, "the audio clock stopped"
            await asyncio.sleep(0.05)
        assert (await page.eval("ciel.sounds"))[0]["how"] == "entry"  # the click tuned in
        for before, after in zip(sounds, sounds[1:]):
            # Decoded with room for the 50 ms the page keeps ahead of its clock: a join, never a gap.
            if after["ready"] < before["end"] - 0.06:
                assert after["how"] == "join", (before, after, sounds)
                assert before["end"] - 0.1 <= after["start"] <= before["end"], (before, after)
            elif after["ready"] > before["end"] - 0.04:
                assert after["how"] == "entry", (before, after, sounds)
        # ... and the analyser hears it: hardly a silent sample while a sound is scheduled (past its fade-in
        # and before its fade-out; the page's thread samples the analyser).
        def sounding(t: float) -> bool:
            return any(s["start"] + (1.3 if s["how"] == "entry" else 0.1) < t < s["end"] - 0.1 for s in sounds)
        heard = [v for t, v in levels if sounding(t)]
        silent = sum(1 for v in heard if v < 1e-5) / max(1, len(heard))
        print(f"\nlistening: {len(sounds)} sounds scheduled ({[s['how'] for s in sounds]}), "
              f"{len(heard)} analyser samples under them, {silent:.0%} silent")
        assert len(heard) > 20 and silent < 0.05, f"{silent:.0%} of {len(heard)} analyser samples silent"
        assert await page.eval("ciel.soundErrors") == 0
        assert await page.eval("ciel.voices") <= 3
        # Chromium plays Opus: it fetched the piece's Ogg Opus, the lighter of its two sounds.
        pieces = await get_json(origin + "/api/pieces?limit=20")
        assert await page.eval("ciel.soundUrl") in {p["audio_opus"] for p in pieces}

        # Stop: the context is suspended and the meter falls back.
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'suspended' && !ciel.listening", 5)
        await page.assert_same_origin(origin)


async def test_waiting_state_while_the_node_is_away_then_resumes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with chromium(tmp_path, 640, 360) as page:
        async with running_node(_config(state, 3600), osc=False) as r:
            port = r.web_port
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
        async with running_node(_config(state, 3600, port=port), osc=False):
            await page.wait(f"ciel.state === 'live' && ciel.seq > {seq}", 25)
            await page.wait("document.querySelector('#waiting').hidden")
            await page.wait("ciel.transport === 'events'", 10)
            await page.assert_same_origin(origin, allow="ERR_CONNECTION_REFUSED")  # the browser's own log


async def test_polling_fallback_revalidates_with_etags(tmp_path: Path) -> None:
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, \
            chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
        await page.open_page(origin + "/?transport=poll")
        assert await page.eval("ciel.transport") == "polling"
        # Nothing new: the polls (every ~2 s) revalidate with the ETag they were given and get 304s.
        end = time.monotonic() + 10
        while (await get_json(origin + "/api/health"))["web"]["not_modified"] < 1:
            assert time.monotonic() < end, "no poll was answered 304 Not Modified"
            await asyncio.sleep(0.2)
        seq = await page.eval("ciel.seq")
        r.node.request_next()
        await page.wait(f"ciel.seq === {seq + 1}", 10)
        await page.wait(f"ciel.sky === {json.dumps((await get_json(origin + '/api/latest'))['sky'])}", 10)
        requests = await page.assert_same_origin(origin)
        assert origin + "/api/events" not in requests


SKY_UNIFORMS = "document.querySelector('#sky').getObject3D('mesh').material.uniforms"


async def test_the_sky_answers_the_playing_sound_and_keeps_still_for_reduced_motion(tmp_path: Path) -> None:
    """While the sound plays, the shader's pulse follows its loudness and the oval is lit by it (brighter in a
    screenshot than once the sound has stopped); with prefers-reduced-motion the effect is off, and back on without."""
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, chromium(tmp_path, 640, 360) as page:
        await page.open_page(f"http://127.0.0.1:{r.web_port}/")
        await page.wait(SHOWN, 15)
        assert await page.eval(f"[ciel.skyPulse, {SKY_UNIFORMS}.pulse.value]") == [0, 0]  # no sound: still
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running' && ciel.analyserLevel() > 1e-4", 10)
        await page.wait(f"ciel.skyPulse > 0.25 && {SKY_UNIFORMS}.pulse.value > 0.25", 10)

        async def middle(name: str) -> tuple[float, float]:
            """The oval's middle, mean brightness, and the least pulse around the screenshot."""
            before = await page.eval("ciel.skyPulse")
            shot = await page.screenshot(tmp_path / name)
            after = await page.eval("ciel.skyPulse")
            return ImageStat.Stat(_box(shot, 0.5, 0.45, 0.3, 0.3).convert("L")).mean[0], min(before, after)

        lit, pulse = await middle("lit.png")
        await page.call("click", selector="#listen")  # the sound off: the sky lets go
        await page.wait("!ciel.listening && ciel.skyPulse < 0.005", 10)
        still, _ = await middle("still.png")
        # The shader brightens by 16 % at full pulse: at least half of what this pulse gives is seen.
        assert pulse > 0.15 and lit > still * (1 + 0.5 * 0.16 * pulse), (lit, still, pulse)

        await page.call("media", reducedMotion="reduce")
        await page.call("click", selector="#listen")
        await page.wait("ciel.listening && ciel.analyserLevel() > 1e-4", 10)
        for _ in range(10):  # a second of sound: nothing moves
            assert await page.eval(f"[ciel.skyPulse, ciel.skyFlux, {SKY_UNIFORMS}.pulse.value]") == [0, 0, 0]
            await asyncio.sleep(0.1)
        await page.call("media", reducedMotion="no-preference")
        await page.wait(f"{SKY_UNIFORMS}.pulse.value > 0.1", 10)


KEYFRAMES = 4


async def _strip_cells(url: str, count: int) -> list[np.ndarray]:
    """The keyframe strip at `url`, decoded, cut into its `count` skies (RGB, as float)."""
    async with aiohttp.ClientSession() as s, s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/webp", (url, r.status, r.headers)
        strip = Image.open(io.BytesIO(await r.read()))
        strip.load()
    w, h = strip.size
    assert strip.mode == "RGBA" and w == 2 * (h // count) and h % count == 0, (strip.mode, strip.size)  # 2:1 skies
    pixels = np.asarray(strip.convert("RGB"), dtype=np.float64)
    return [pixels[k * h // count:(k + 1) * h // count] for k in range(count)]


async def test_keyframes_move_the_sky_on_the_sounds_clock(tmp_path: Path) -> None:
    """With synaesthesia up, a piece lists K keyframes (one strip, times within the piece). The page shows keyframe k
    from times[k]: by the wall clock with the sound off, by the sound's own clock while it plays; the screen changes
    across a keyframe time; with prefers-reduced-motion the piece's one sky stays."""
    config = node_config(tmp_path / "state", SHIPPED, 3600.0, web="127.0.0.1:0", max_sound_s=8.0,  # a 2 s keyframe
                         controls={"synaesthesia": 1.0, "keyframes": KEYFRAMES})
    async with running_node(config, osc=False) as r, chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
        latest = await get_json(origin + "/api/latest")
        times, duration = latest["keyframe_times"], latest["duration_s"]
        assert len(times) == KEYFRAMES and times[0] == 0 and all(a < b for a, b in zip(times, times[1:]))
        assert times[-1] < duration, (times, duration)
        cells = await _strip_cells(origin + latest["keyframes"], KEYFRAMES)
        # Neighbouring skies that differ plainly in the strip: at least half as much as the two that differ most, and
        # by 8 levels (deterministic: the same nets, seed and parameters).
        steps = [np.abs(cells[i + 1] - cells[i]).mean() for i in range(KEYFRAMES - 1)]
        apart = [i for i, d in enumerate(steps) if d >= max(8.0, max(steps) / 2)]
        assert apart, steps
        cell = f"{latest['keyframes']}#cell={{}}/{KEYFRAMES}"

        def on_time(clock: str) -> str:
            """The page's switches on `clock` to the next keyframe, each no earlier than its time and soon after."""
            return (f"(() => {{ const s = ciel.keyframes, t = {json.dumps(times)}, on = [];"
                    f" for (let i = 1; i < s.length; i++) if (s[i].clock === '{clock}' && s[i - 1].clock === '{clock}'"
                    "   && s[i].k === s[i - 1].k + 1) on.push(s[i].at - t[s[i].k]);"
                    " return on.length >= 1 && on.every(d => d >= 0 && d < 0.5) ? on : null; })()")

        async def settled(among: list[int], name: str) -> tuple[int, Image.Image]:
            """A screenshot while one of the keyframes `among` is shown, with nothing else loaded or fading from a
            few frames before it to after it (a keyframe lasts 2 s here, a quarter of it fading in; on a busy machine
            a screenshot may take a good part of the rest: then the next time one comes). Which keyframe, the shot."""
            shown = f"!ciel.fading && [{', '.join(json.dumps(cell.format(i)) for i in among)}].includes(ciel.sky)"
            for _ in range(10):
                at = await page.wait(f"{shown} && [ciel.sky, ciel.texturesMade, ciel.frames]", 15)
                same = f"!ciel.fading && ciel.sky === {json.dumps(at[0])} && ciel.texturesMade === {at[1]}"
                await page.wait(f"ciel.frames >= {at[2] + 2} || !({same})", 5)  # drawn, not only set
                shot = await page.screenshot(tmp_path / f"{name}.png")
                if await page.eval(same):
                    return among[[cell.format(i) for i in among].index(at[0])], shot
            raise AssertionError(f"none of keyframes {among} was shown long enough for a screenshot")

        def middle(a: np.ndarray) -> np.ndarray:
            """The middle of a sky (60 % of each side), 32 x 16, over its mean: the sound's pulse scales brightness."""
            y, x = a.shape[:2]
            core = np.ascontiguousarray(a[int(0.2 * y):int(0.8 * y), int(0.2 * x):int(0.8 * x)].astype(np.uint8))
            small = np.asarray(Image.fromarray(core).resize((32, 16), Image.Resampling.BOX), dtype=np.float64)
            return small / small.mean()

        def on_screen(shot: Image.Image) -> np.ndarray:
            """The oval as the screenshot shows it: the box of what is lit across its middle row and column."""
            screen = np.asarray(shot, dtype=np.float64)
            luma = screen.mean(axis=2)
            h, w = luma.shape
            xs, ys = np.flatnonzero(luma[int(0.45 * h)] > 45), np.flatnonzero(luma[:, w // 2] > 45)
            return middle(screen[ys.min():ys.max() + 1, xs.min():xs.max() + 1])

        def correlation(a: np.ndarray, b: np.ndarray) -> float:
            a, b = a - a.mean(), b - b.mean()
            return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

        async def across(name: str) -> None:
            """Screenshots before and after a keyframe time: what changed on the screen is what changes from that
            keyframe to the next in the strip (correlated), more than any other neighbouring pair's change."""
            k, before = await settled(apart, name + "-before")
            _, after = await settled([k + 1], name + "-after")
            seen = on_screen(after) - on_screen(before)
            like = [correlation(seen, middle(cells[i + 1]) - middle(cells[i])) for i in range(KEYFRAMES - 1)]
            print(f"{name}: keyframe {k} -> {k + 1}, the screen's change against each pair's in the strip: {like}")
            assert like[k] > 0.4 and like[k] == max(like), (k, like)

        await page.open_page(origin + "/")
        await page.wait(on_time("wall"), 15)  # no sound: the sky moves anyway, at the same times
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running' && ciel.analyserLevel() > 1e-4", 10)
        played = await page.wait(on_time("sound"), 20)
        print(f"\nkeyframe switches after their times on the sound's clock (s): {played}")
        await across("webgl")

        await page.call("media", reducedMotion="reduce")  # less motion: the piece's own sky, whatever the sound does
        await page.wait(f"!ciel.fading && ciel.sky === {json.dumps(latest['sky'])}", 10)
        for _ in range(10):  # longer than a keyframe (2 s): no keyframe comes
            assert await page.eval("ciel.sky") == latest["sky"]
            await asyncio.sleep(0.25)
        await page.call("media", reducedMotion="no-preference")
        await page.wait("/#cell=\\d+\\/4$/.test(ciel.sky)", 10)
        await page.assert_same_origin(origin)

        # Without WebGL: the strip in an <img>, cropped to the keyframe by CSS, on the same times.
        await page.call("open", url=origin + "/?sky=img")
        await page.wait("ciel.renderer === 'img'", 10)

        await across("img")  # the sound off: on the wall clock
        await page.assert_same_origin(origin)


async def test_two_hundred_pieces_keep_memory_bounded(tmp_path: Path) -> None:
    """200 pieces at a 0.5 s interval, listening: heap and textures after ~50 and after ~200 pieces."""
    async with running_node(_config(tmp_path / "state", 0.5, max_sound_s=1.0), osc=False) as r, \
            chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
        await page.open_page(origin + "/")
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running'")
        first = r.node.media.last_seq

        async def sample_after(pieces: int) -> dict[str, Any]:
            await until(lambda: r.node.media.last_seq >= first + pieces, pieces * 0.5 + 60, f"{pieces} pieces")
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


# --- no WebGL, small screens, contrast, screenshots ------------------------------------------------
SHOWN = "ciel.state === 'live' && ciel.sky && !ciel.fading"   # a sky is shown, no fade running
# The picture the page shows: decoded, in the oval, and the newest sky asked for.
SHOWN_IMG = ("(() => { const imgs = [...document.querySelectorAll('#flat img')];"
             " const r = document.querySelector('#flat').getBoundingClientRect();"
             " return imgs.map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight,"
             "  complete: i.complete, box: [r.width, r.height]})); })()")


def assert_oval_drawn(shot: Image.Image) -> None:
    """The oval's middle differs from the dark field in the corner, and is not a flat colour."""
    field = ImageStat.Stat(_box(shot, 0.04, 0.5, 0.03, 0.1)).mean
    middle = ImageStat.Stat(_box(shot, 0.5, 0.45, 0.3, 0.3))
    assert max(field) < 30, f"the field should be dark, got {field}"
    assert sum(abs(m - f) for m, f in zip(middle.mean, field)) > 30, (middle.mean, field)
    assert max(middle.stddev) > 4, f"the sky should not be a flat colour: {middle.stddev}"


async def test_without_webgl_the_sky_is_a_picture_that_crossfades_and_sounds(tmp_path: Path) -> None:
    """Chromium with no 3D APIs at all: the <img> sky, its crossfade and the sound; no uncaught errors."""
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, \
            chromium(tmp_path, webgl=False) as page:
        origin = f"http://127.0.0.1:{r.web_port}"
        await page.call("open", url=origin + "/")
        await page.wait("ciel.state === 'live'", 15)
        assert await page.eval("!!document.createElement('canvas').getContext('webgl2')") is False
        errors = await page.call("console")
        assert not errors, f"uncaught or console errors: {errors}"
        await page.wait(SHOWN, 10)
        assert await page.eval("ciel.renderer") == "img"
        latest = await get_json(origin + "/api/latest")
        [img] = await page.eval(SHOWN_IMG)
        assert img["src"] == latest["sky"] == await page.eval("ciel.sky") and img["complete"], img
        assert img["w"] == 2 * img["h"] > 0 and abs(img["box"][0] - 2 * img["box"][1]) < 2, img  # the 2:1 oval
        assert abs(img["box"][1] - min(0.66 * 720, 0.42 * 1280)) < 2, img  # where the WebGL oval would be
        assert_oval_drawn(await page.screenshot(tmp_path / "flat.png"))

        # A new piece crossfades in: both pictures while it fades, then only the new one.
        before = await page.eval("ciel.texturesMade")
        r.node.request_next()
        fading = await page.wait("ciel.fading && [...document.querySelectorAll('#flat img')].length === 2 && ciel.sky")
        assert fading == (await get_json(origin + "/api/latest"))["sky"] != latest["sky"]
        await page.wait(SHOWN + f" && ciel.sky === {json.dumps(fading)}", 15)
        assert [i["src"] for i in await page.eval(SHOWN_IMG)] == [fading]
        assert await page.eval("[ciel.texturesMade, ciel.texturesLive]") == [before + 1, 1]

        # The sound is the same as with WebGL.
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running' && ciel.analyserLevel() > 1e-4", 10)
        # and its loudness lights the picture, as it lights the WebGL sky
        await page.wait("ciel.skyPulse > 0.1 && getComputedStyle(document.querySelector('#flat img')).filter"
                        " !== 'brightness(1)'", 10)
        requests = await page.assert_same_origin(origin)   # no console errors, no uncaught errors
        assert origin + "/vendor/aframe.min.js" not in requests  # A-Frame could only fail here


async def test_firefox_headless_has_no_webgl_and_shows_the_picture(tmp_path: Path) -> None:
    """Firefox ESR headless (no WebGL here): the <img> sky, its crossfade and the sound; no uncaught errors."""
    with PulseAudio(tmp_path / "pulse") as pulse:   # an output for Firefox's audio: a private null sink
        async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, \
                firefox(tmp_path, env=pulse.client_env) as page:
            await _firefox_shows_the_picture(r.node, r.web_port, page, tmp_path)


async def _firefox_shows_the_picture(node: Node, port: int, page: Firefox, tmp_path: Path) -> None:
    """Firefox's half of the test: the page in its first seconds, a new piece, a click on "listen"."""
    origin = f"http://127.0.0.1:{port}"
    await page.send("browsingContext.navigate", context=page.context, url=origin + "/", wait="complete")
    await page.wait("ciel.state === 'live'", 15)
    assert await page.eval("!!document.createElement('canvas').getContext('webgl2')") is False
    assert not page.errors(), page.errors()
    await page.wait(SHOWN, 10)
    assert await page.eval("ciel.renderer") == "img"
    first = (await get_json(origin + "/api/latest"))["sky"]
    [img] = await page.eval(SHOWN_IMG)
    assert img["src"] == first and img["complete"] and img["w"] == 2 * img["h"] > 0, img
    assert_oval_drawn(await page.screenshot(tmp_path / "firefox.png"))

    node.request_next()
    second = await page.wait(f"ciel.fading && ciel.sky !== {json.dumps(first)} && ciel.sky", 15)
    assert second == (await get_json(origin + "/api/latest"))["sky"]
    await page.wait(SHOWN + f" && ciel.sky === {json.dumps(second)}", 15)
    assert [i["src"] for i in await page.eval(SHOWN_IMG)] == [second]
    assert await page.eval("ciel.transport") == "events"
    await page.click("#listen")
    await page.wait("ciel.audioState === 'running' && ciel.analyserLevel() > 1e-4", 10)
    assert not page.errors(), page.errors()


CONTRAST = (Path(__file__).resolve().parent / "browser" / "contrast.js").read_text()


async def test_small_screen_note_clears_the_footer_and_text_has_aa_contrast(tmp_path: Path) -> None:
    """390x844 (a phone): the open note ends above the footer and below the title; every word ≥ 4.5:1."""
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r, \
            chromium(tmp_path, 390, 844) as page:
        await page.open_page(f"http://127.0.0.1:{r.web_port}/")

        async def low_contrast(*selectors: str) -> list[str]:
            low = []
            for selector in selectors:
                found = await page.eval(f"({CONTRAST})({json.dumps(selector)})")
                assert found["text"].strip(), (selector, found)
                if found["ratio"] < 4.5:
                    low.append(f"{selector} at {found['ratio']:.2f}:1 ({found['color']})")
            return low

        assert not await low_contrast("#title h1", "#caption", "#listen .label", "#care")

        await page.call("click", selector="#about")
        await page.wait("document.querySelector('#note article')?.innerText"
                        " && getComputedStyle(document.querySelector('#note')).opacity === '1'")  # faded in
        boxes = await page.eval(
            "Object.fromEntries(['#note-body', '#controls', '#title'].map(s =>"
            " [s, document.querySelector(s).getBoundingClientRect().toJSON()]))")
        body, footer, title = boxes["#note-body"], boxes["#controls"], boxes["#title"]
        assert body["bottom"] <= footer["top"], f"the note runs under the footer: {boxes}"
        assert body["top"] >= title["bottom"], f"the note runs under the title: {boxes}"
        assert body["height"] > 300, boxes   # and it is still a readable column, scrolling inside
        assert not await low_contrast("#note article h2", "#note article p", "#note article .small")


async def test_virtual_time_screenshot_with_polling(tmp_path: Path) -> None:
    """`chromium --virtual-time-budget --screenshot` of /?transport=poll finishes, with the sky drawn."""
    exe = require_tool("chromium")
    require_web_modules()
    async with running_node(_config(tmp_path / "state", 3600), osc=False) as r:
        shot = tmp_path / "virtual.png"
        proc = await asyncio.create_subprocess_exec(
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'virtual-profile'}", "--window-size=1280,720",
            "--virtual-time-budget=15000", f"--screenshot={shot}", f"http://127.0.0.1:{r.web_port}/?transport=poll",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            # 15 s of virtual time took 7 s of real time in most fresh-clone runs, 34 and 44 s in two (software
            # WebGL drawing every frame on a busy host): the deadline is for a hang, not for a slow machine.
            _, err = await asyncio.wait_for(proc.communicate(), 150)
        except TimeoutError:
            proc.kill()  # the Chromium we started
            await proc.wait()
            raise AssertionError("the virtual-time screenshot never finished") from None
        assert proc.returncode == 0 and shot.is_file(), err.decode(errors="replace")[-2000:]
        assert_oval_drawn(Image.open(shot).convert("RGB"))
