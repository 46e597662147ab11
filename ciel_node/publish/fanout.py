"""The audience through nginx's pub/sub module (nchan): each piece published once, pushed by nginx to every listener.

`--publish-to URL` names nchan's publisher location (deploy/nginx-nchan.conf). The node POSTs each piece's JSON
there once (the same bytes its own /api/events sends) over one kept-alive connection, and nchan fans it out to
every EventSource, WebSocket and long-poll listener of that nginx, and through a shared Redis to every relay's.
The node's cost is one small request per piece whatever the size of the audience.

Never in the way of the pieces: the POST runs in a task of its own with a deadline. A relay that is down or slow
is retried (1 s, doubling up to 30 s) with the newest piece until it answers, said once in the log and once when
it is back; a newer piece replaces an unsent one (listeners want the latest, not a backlog). The node publishes
the latest piece when it starts, and again whenever the channel is found empty (asked every CHECK_S: a relay
restarted without Redis forgets its messages), so a newcomer always gets the newest piece at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

RETRY_S = (1.0, 30.0)  # first retry after a failed publish, doubling up to the second
TIMEOUT_S = 5.0  # a publish (connect, send, answer) that takes longer has failed
CHECK_S = 15.0  # between asking the relay whether its channel still holds a piece
KEEPALIVE_S = 60.0  # an idle connection to the relay is closed by us first (deploy/nginx-nchan.conf keeps it 75 s)

Latest = Callable[[], bytes | None]


class Fanout:
    """Publishes the latest piece's JSON to nchan's publisher URL: at start, at each piece, if the channel is empty."""

    def __init__(self, url: str, latest: Latest) -> None:
        self.url, self.latest = url, latest
        self.counters = {"published": 0, "errors": 0, "republished": 0}
        self.subscribers: int | None = None  # the relay's count of listeners, as it answered the last publish
        self.last_error: str | None = None
        self.publish_ms: float | None = None  # how long the last publish took (request to answer)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def on_piece(self, entry: dict[str, Any]) -> None:
        """A piece was published here (called in the loop): publish it there, now."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ciel-fanout")
        self._wake.set()  # the latest piece, at once: a relay that came up empty has it for newcomers

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def stats(self) -> dict[str, Any]:
        """For /api/health's `audience`."""
        return {"publish_to": self.url, **self.counters, "subscribers": self.subscribers,
                "publish_ms": self.publish_ms, "last_error": self.last_error}

    async def _run(self) -> None:
        delay, wait = RETRY_S[0], CHECK_S
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        # One connection, kept alive: the relay sees one publisher however many pieces and listeners there are.
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=KEEPALIVE_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                woken = self._wake.is_set()
                self._wake.clear()
                if not woken and self.last_error is None:  # quiet for CHECK_S: is the piece still there?
                    if await self._channel_holds_a_piece(http):
                        continue
                    self.counters["republished"] += 1
                body = self.latest()
                if body is None:  # nothing published yet
                    wait = CHECK_S
                    continue
                if await self._publish(http, body):
                    delay, wait = RETRY_S[0], CHECK_S
                else:
                    wait, delay = delay, min(2 * delay, RETRY_S[1])

    async def _publish(self, http: aiohttp.ClientSession, body: bytes, again: bool = True) -> bool:
        t0 = time.perf_counter()
        try:
            async with http.post(self.url, data=body, headers={"Content-Type": "application/json",
                                                               "Accept": "application/json"}) as r:
                answer = await r.read()
                if r.status >= 300:
                    return self._failed(_refusal(r.status))
            info = json.loads(answer) if answer else {}
        except aiohttp.ServerDisconnectedError as e:
            # The relay closed the kept-alive connection as we used it (its keep-alive ran out): once more, anew.
            return await self._publish(http, body, again=False) if again else self._failed(_describe(e))
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return self._failed(_describe(e))
        except ValueError:
            info = {}  # published; the answer was not nchan's JSON (another server?): no listener count
        self.publish_ms = round(1000 * (time.perf_counter() - t0), 2)
        self.counters["published"] += 1
        subscribers = info.get("subscribers") if isinstance(info, dict) else None
        self.subscribers = subscribers if isinstance(subscribers, int) else None
        if self.last_error is not None:
            log.info("publishing pieces to %s again", self.url)
            self.last_error = None
        return True

    async def _channel_holds_a_piece(self, http: aiohttp.ClientSession) -> bool:
        """nchan answers a GET on the publisher location with the channel's info, 404 once it has no message."""
        try:
            async with http.get(self.url, headers={"Accept": "application/json"}) as r:
                answer = await r.read()
                if r.status == 404:
                    return False
                info = json.loads(answer) if r.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
            return True  # the next piece's publish will say what is wrong
        if isinstance(info, dict) and isinstance(info.get("subscribers"), int):
            self.subscribers = info["subscribers"]
        return not (isinstance(info, dict) and info.get("messages") == 0)

    def _failed(self, why: str) -> bool:
        self.counters["errors"] += 1
        if self.last_error is None:
            log.warning("could not publish the piece to %s (%s); the node goes on, and retries with the newest "
                        "piece until it answers", self.url, why)
        self.last_error = why
        return False


def _refusal(status: int) -> str:
    hint = {403: "nginx refuses this address: allow it in the publisher location",
            404: "no publisher location there: check --publish-to against deploy/nginx-nchan.conf",
            502: "nginx is up, the pub/sub behind it (Redis) is not", 503: "the relay is busy or its Redis is down"}
    return f"HTTP {status}" + (f", {hint[status]}" if status in hint else "")


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    return str(e) or type(e).__name__
