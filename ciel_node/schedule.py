"""The node's piece loop: when each piece is due, rendering it a little ahead, holding it until its time, storing
it, and what to do when a piece fails. It owns the schedule's numbers (published, failures, late, next_at)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ciel_node.generate.piece import RenderedPiece
from ciel_node.generate.walk import WalkState, WalkStore
from ciel_node.generate.worker import RenderWorker
from ciel_node.playback.engine import SoundEngine
from ciel_node.publish.media import MediaStore
from ciel_node.state import Controls, ControlStore

log = logging.getLogger("ciel_node")

ON_TIME_S = 0.25  # a piece out within this of its time counts as on time for the schedule
RETRY_S = 2.0  # after a failed piece (disk full, a render that raised...), try again this soon, then back off
RETRY_MAX_S = 60.0  # ... doubling up to the interval, and never waiting longer than this
REMIND_S = 60.0  # while pieces keep failing, one reminder line this often (not one line per attempt)


class FailureStreak:
    """Consecutive failed attempts at a piece: when to try again, and a few log lines instead of one per attempt.

    The first failure of a streak is one line (with its traceback, once, unless it is an OSError, whose message
    says it all: "No space left on device"), a new kind of error is one more, a long streak gets a reminder
    every REMIND_S, and the piece that works again says how long it took.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.since = 0.0
        self._reminded = 0.0
        self._kinds: set[str] = set()

    def failed(self, seq: int, e: BaseException, interval: float) -> float:
        """Count a failed attempt at piece `seq`; returns how long to wait before the next one."""
        now = time.time()
        if self.attempts == 0:
            self.since = self._reminded = now
        self.attempts += 1
        delay = min(RETRY_S * 2 ** min(self.attempts - 1, 16), max(RETRY_S, min(interval, RETRY_MAX_S)))
        kind = type(e).__name__
        if kind not in self._kinds:
            self._kinds.add(kind)
            log.error(
                "could not publish piece %d (%s: %s); the last complete piece stays the latest, retrying in %g s "
                "and backing off up to %g s", seq, kind, e, delay, max(RETRY_S, min(interval, RETRY_MAX_S)),
                exc_info=None if isinstance(e, OSError) else e,
            )
        elif now - self._reminded >= REMIND_S:
            self._reminded = now
            log.error("still no piece %d: %d failed attempts in %.0f s (last: %s: %s); retrying every %g s",
                      seq, self.attempts, now - self.since, kind, e, delay)
        return delay

    def succeeded(self, seq: int) -> None:
        if self.attempts:
            log.warning("piece %d published after %d failed attempt(s) in %.0f s", seq, self.attempts,
                        time.time() - self.since)
        self.attempts = 0
        self._kinds.clear()


class Schedule:
    """One piece every interval, on time: renders through `renderer` (or cuts the live sound from `engine` while it
    plays), writes through `media` in a thread of its own, moves `walks` on, tells `piece_listeners`."""

    def __init__(self, controls: ControlStore, renderer: RenderWorker, engine: SoundEngine | None, media: MediaStore,
                 walks: WalkStore, busy: Callable[[], bool] = lambda: False) -> None:
        self.controls, self.renderer, self.engine, self.media, self.walks = controls, renderer, engine, media, walks
        self.busy = busy  # True while a hot swap loads: the machine is busier, pieces are started earlier
        self._made_by = {"audio": "", "image": ""}  # the last piece's checkpoints (sha256): its manifest names them
        self.counters = {"published": 0, "publish_errors": 0, "late": 0}
        self.piece_listeners: list[Callable[[dict[str, Any]], None]] = []  # called in the loop
        self._next_at: float | None = None  # wall-clock time the next piece is due
        controls.report(last_seq=media.last_seq)
        self.last_published_at: float | None = None
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ciel-io")  # file writes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._now_requested = False
        self._kind = "ahead"  # how the last piece was made: "ahead" (rendered whole) or "cut" (from the live sound)
        self._failures = FailureStreak()
        self._retry_at: float | None = None  # after a failed piece: when to try again
        self._slow_logged = 0.0
        self._listener_errors: set[str] = set()
        controls.subscribe(self._on_controls)

    @property
    def next_at(self) -> float | None:
        return self._next_at

    @next_at.setter
    def next_at(self, value: float | None) -> None:
        """Also the readout /ciel/status/next_at: OSCQuery listeners see the schedule move."""
        self._next_at = value
        self.controls.report(next_at=0.0 if value is None else value)

    def stats(self) -> dict[str, Any]:
        """The schedule's numbers for /api/health."""
        return {"next_at": self.next_at, "counters": dict(self.counters)}

    # --- control hooks (any thread) -------------------------------------------------------
    def request_next(self) -> None:
        """Publish a new piece now (the /ciel/next of the control surfaces)."""
        self._now_requested = True
        self._poke()

    def _on_controls(self, controls: Controls, changed: dict[str, Any]) -> None:
        if "interval" in changed:  # a shorter interval acts now, not after the old one
            self._poke()

    def _poke(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- the loop -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Pieces until `stop`; whatever a piece raises is logged and the next one tried. Waits for the file
        writes under way before it returns."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        publish_at = time.time()  # the first piece: at once
        # Render + store time of the last piece of each kind: the work starts that much early. A piece cut
        # from the live sound only needs its image and files; one rendered ahead needs its sound too.
        leads = {"cut": 0.0, "ahead": 0.0}
        try:
            while not stop.is_set():
                try:
                    publish_at = await self._next_piece(publish_at, leads, stop)
                except Exception as e:  # noqa: BLE001 - whatever a render, a write or a listener raises, the node goes on
                    self._piece_failed(e)
        finally:
            self._io.shutdown(wait=True, cancel_futures=True)

    async def _next_piece(self, publish_at: float, leads: dict[str, float], stop: asyncio.Event) -> float:
        """Wait for the next piece's time (less its lead), render it, hold it until due, publish it.

        Returns the time it was due (the schedule's anchor); raises whatever rendering or storing raised.
        """
        publish_at = self._publish_time(publish_at)
        self.next_at = publish_at
        # A retry starts at its time: with a lead it would start at once on a machine whose renders take
        # the whole interval, and a full disk would be retried back to back again.
        retry = self._retry_at is not None
        lead = 0.0 if retry else leads["cut" if self.engine is not None and self.engine.sounding else "ahead"]
        if lead and self.busy():
            # A hot swap's checks and loads share the CPU with this piece's render (and the renderer may load before
            # it): start it earlier. A piece cut from the live sound is then a little shorter, and the next one
            # longer: the sound stays one stream.
            lead = min(max(3 * lead, 0.5), self.controls.controls.interval / 2)
        # The soonest this piece can be out as the schedule stands now: a shorter interval may set a time that
        # has passed already, and a piece is not late for a time nobody could have met.
        earliest = time.time() + lead
        if not await self._sleep_until(publish_at - lead, stop):
            return publish_at  # woken: a control moved the schedule
        # On the regular schedule (not the first piece, not asked for, not a retry) lateness is the node's fault.
        scheduled = not self._now_requested and not retry and self.last_published_at is not None
        self._now_requested = False
        started = time.time()
        # A stop does not wait for the render (a stopped render process would hold it until the watchdog's
        # bound): the piece is dropped, nothing of it was published.
        render, stopping = asyncio.ensure_future(self._render()), asyncio.ensure_future(stop.wait())
        await asyncio.wait((render, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not render.done():
            render.cancel()
            return publish_at
        rendered = render.result()
        render_s = time.time() - started
        # Hold the piece until its time, so each sound starts as the previous one ends.
        on_time = time.time() <= publish_at
        while not stop.is_set() and not await self._sleep_until(publish_at, stop):
            publish_at = self._publish_time(publish_at)
            self.next_at = publish_at
            earliest = time.time()  # the piece is ready: it can go out now
        if stop.is_set():
            return publish_at
        self._now_requested = False
        stored = time.time()
        # The piece is visible from the write thread before this loop runs again: say when the next one is due.
        self.next_at = max(publish_at, stored) + self.controls.controls.interval
        await self._store_piece(*rendered, due=publish_at, on_time=on_time, scheduled=scheduled, earliest=earliest)
        took = render_s + time.time() - stored  # the work, not the hold
        # A slowly falling maximum for cuts: the cut's time sets the piece's length, so keep it steady.
        fresh = 1.5 * took + 0.02
        interval = self.controls.controls.interval
        leads[self._kind] = min(max(fresh, 0.99 * leads["cut"]) if self._kind == "cut" else fresh, interval)
        # Only on the regular schedule: the first piece's time includes the render process's start-up.
        if scheduled and took > interval and time.time() - self._slow_logged >= REMIND_S:
            self._slow_logged = time.time()
            log.warning(
                "piece %d took %.2f s: rendering takes longer than the %g s interval; "
                "keeping the fastest cadence this machine can", self.media.last_seq, took, interval,
            )
        return publish_at

    def _publish_time(self, scheduled: float) -> float:
        """When the next piece goes out: now if asked for, else one interval after the last one.

        Re-read on every wake-up, so an interval change re-anchors on the last publish at once.
        """
        if self._now_requested:
            return time.time()
        if self._retry_at is not None:  # after a failure, not an interval after the last piece (long past)
            return self._retry_at
        if self.last_published_at is None:
            return scheduled
        return self.last_published_at + self.controls.controls.interval

    async def _sleep_until(self, due: float, stop: asyncio.Event) -> bool:
        """True when `due` is reached; False when woken early by a control or by stop."""
        assert self._wake is not None
        delay = due - time.time()
        if delay <= 0:
            return True
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        done, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        return not done

    async def _render(self) -> tuple[RenderedPiece, WalkState]:
        """The next piece: cut from the live sound while the speakers play it, else rendered ahead."""
        controls = self.controls.controls
        if self.engine is not None and self.engine.sounding:
            cut = await self.engine.cut()
            if cut is not None and len(cut[0]):
                self._kind = "cut"
                samples, played, sounded_by = cut
                made = await self.renderer.assemble(self.walks.state, controls, samples, played)
                self._made_by = {**self.renderer.made_by, "audio": sounded_by}  # the sound is the engine's model's
                return made
        self._kind = "ahead"
        made = await self.renderer.compose(self.walks.state, controls)
        self._made_by = dict(self.renderer.made_by)  # what the renderer says made it
        return made

    async def _store_piece(self, piece: RenderedPiece, walk: WalkState, due: float, on_time: bool,
                           scheduled: bool, earliest: float = 0.0) -> None:
        """Write the piece's files and commit it, then move the walk on and tell the listeners."""
        assert self._loop is not None
        entry = await self._loop.run_in_executor(self._io, self._store, piece)
        published = time.time()
        self._failures.succeeded(entry["seq"])
        self._retry_at = None
        self.walks.advance(walk, entry["seq"])  # saved, and the speakers begin there when they next begin
        self.controls.report(last_seq=entry["seq"])
        self.counters["published"] += 1
        if scheduled and published - max(due, earliest) > ON_TIME_S:
            self.counters["late"] += 1  # out later than its time: a stalled loop, a slow disk, a slow render
        # A piece that was ready and held anchors the next one on when it was due, not on when its files
        # were written: the milliseconds a write takes would otherwise add up, piece after piece.
        self.last_published_at = due if on_time and published - due < ON_TIME_S else published
        for listener in self.piece_listeners:
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a surface's bug must not stop the pieces
                name = getattr(listener, "__qualname__", repr(listener))
                if name not in self._listener_errors:
                    self._listener_errors.add(name)
                    log.exception("%s failed on piece %d (logged once; the node goes on)", name, entry["seq"])
        c = piece.controls
        log.info(
            "piece %d published: %.1f s of sound, rendered in %.2f s (seed %d, drift %g, ceiling %g dBFS)",
            entry["seq"], piece.duration_s, piece.render_s, c.seed, c.drift, c.volume_ceiling,
        )

    def _piece_failed(self, e: Exception) -> None:
        """Nothing was published: the last piece stays the latest; try again after a backoff."""
        self.counters["publish_errors"] += 1
        delay = self._failures.failed(self.media.last_seq + 1, e, self.controls.controls.interval)
        self._retry_at = time.time() + delay

    def _store(self, piece: RenderedPiece) -> dict[str, Any]:
        c = piece.controls
        meta = {
            "created_at": time.time(),
            "duration_s": round(piece.duration_s, 6),
            "step": piece.step,
            # Every declared parameter that shapes the media (params.py): same checkpoints + seed + these ⇒ same bytes.
            "params": self.controls.registry.manifest_params(c.as_dict()),
            "checkpoints": dict(self._made_by),  # what made this piece: after a hot swap, the new one's
            "render_s": round(piece.render_s, 4),
            "played": self._kind == "cut",  # its sound is what the speakers played (else rendered ahead)
            "encoding": piece.image_format.as_dict(),  # how its pictures were written (the sound: MP3, Opus, WAV)
        }
        files = {
            "image": (piece.image, piece.image_format.suffix), "sky": (piece.sky, piece.image_format.suffix),
            "audio": (piece.mp3, ".mp3"), "wav": (piece.wav, ".wav"),
        }
        if piece.opus:
            files["audio_opus"] = (piece.opus, ".opus")
        if piece.keyframes:  # the skies the sound moves the picture through, and when each is shown
            files["keyframes"] = (piece.keyframes, piece.image_format.suffix)
            meta["keyframe_times"] = list(piece.keyframe_times)
        return self.media.publish(files, meta)
