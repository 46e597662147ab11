"""Rate-limited logging: a repeated message gets through a few times per window, then one summary.

An error that repeats in a tight loop (out of file descriptors, a hostile client's malformed
requests) must not fill the disk or burn a core on formatting tracebacks. The filter sits on the
root logger's handlers, so it sees every record that reaches the log, asyncio's and aiohttp's too.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections.abc import Callable

BURST = 5  # records of one kind let through per window
WINDOW_S = 10.0
MAX_KINDS = 1024  # kinds tracked at once; the stalest window is closed (and summarised) past it
_DIGITS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Per kind of record (logger, level, message with its numbers blanked): the first `burst` in each
    `window_s` pass, the rest are counted, and one line "… repeated K times" follows when the window ends."""

    def __init__(self, handler: logging.Handler, burst: int = BURST, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.handler, self.burst, self.window_s, self.clock = handler, burst, window_s, clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int, str], list[float]] = {}  # kind -> [window start, records seen]
        self._examples: dict[tuple[str, int, str], logging.LogRecord] = {}
        self._next_sweep = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "ciel_summary", False):
            return True
        now = self.clock()
        kind = (record.name, record.levelno, _DIGITS.sub("#", str(record.msg))[:200])
        with self._lock:
            due = self._sweep(now) if now >= self._next_sweep else []
            window = self._windows.get(kind)
            if window is None or now - window[0] >= self.window_s:
                if window is not None:
                    due.extend(self._close(kind))
                window = self._windows[kind] = [now, 0.0]
                if len(self._windows) > MAX_KINDS:
                    stalest = min(self._windows, key=lambda k: self._windows[k][0])
                    due.extend(self._close(stalest))
            window[1] += 1
            passes = window[1] <= self.burst
            if not passes:
                self._examples[kind] = record
        for summary in due:
            self.handler.handle(summary)
        return passes

    def flush(self) -> None:
        """Write the summaries of every open window (at exit, so the last count is not lost)."""
        with self._lock:
            due = [s for kind in list(self._windows) for s in self._close(kind)]
        for summary in due:
            self.handler.handle(summary)

    def _sweep(self, now: float) -> list[logging.LogRecord]:
        self._next_sweep = now + self.window_s / 2
        return [s for kind, w in list(self._windows.items()) if now - w[0] >= self.window_s for s in self._close(kind)]

    def _close(self, kind: tuple[str, int, str]) -> list[logging.LogRecord]:
        start, seen = self._windows.pop(kind)
        example = self._examples.pop(kind, None)
        suppressed = int(seen) - self.burst
        if suppressed <= 0 or example is None:
            return []
        text = example.getMessage().splitlines()[0][:200] if example.msg else ""
        span = max(self.clock() - float(start), 0.0)
        summary = logging.LogRecord(example.name, example.levelno, example.pathname, example.lineno,
                                    "… repeated %d times in %.0f s: %s", (suppressed, span, text), None)
        setattr(summary, "ciel_summary", True)  # noqa: B010 - passes this filter
        return [summary]


def rate_limit_root_handlers(burst: int = BURST, window_s: float = WINDOW_S) -> list[RepeatFilter]:
    """Put a RepeatFilter on every handler of the root logger (once each); flushed at exit."""
    filters = []
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RepeatFilter) for f in handler.filters):
            continue
        repeat = RepeatFilter(handler, burst, window_s)
        handler.addFilter(repeat)
        atexit.register(repeat.flush)
        filters.append(repeat)
    return filters
