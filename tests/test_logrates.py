"""Rate-limited logging: a flood of one line is a few lines and a count; other lines are untouched."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap

from ciel_node.logrates import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _logger(clock: Clock, burst: int = 3, window_s: float = 10.0) -> tuple[logging.Logger, io.StringIO, RepeatFilter]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    repeat = RepeatFilter(handler, burst=burst, window_s=window_s, clock=clock)
    handler.addFilter(repeat)
    logger = logging.getLogger(f"test.logrates.{id(stream)}")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    return logger, stream, repeat


def test_a_flood_is_a_burst_then_one_summary_per_window() -> None:
    clock = Clock()
    logger, stream, _ = _logger(clock)
    for i in range(10_000):
        logger.error("accept failed on fd %d: Too many open files", i)  # the numbers differ, the kind does not
        if i < 2:
            logger.info("piece %d published", i)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 + 2 and lines[0] == f"ERROR {logger.name}: accept failed on fd 0: Too many open files"
    clock.now += 10.0  # the window ends: the next record (of any kind) brings the count out
    logger.warning("something else")
    lines = stream.getvalue().splitlines()[5:]
    assert lines[0].startswith("ERROR") and "… repeated 9997 times in 10 s: accept failed on fd 9999" in lines[0]
    assert lines[1].endswith("something else") and len(lines) == 2


def test_each_kind_has_its_own_budget_and_windows_start_afresh() -> None:
    clock = Clock()
    logger, stream, repeat = _logger(clock, burst=2)
    for _ in range(5):
        logger.warning("a")
        logger.warning("b")
    assert stream.getvalue().splitlines() == [f"WARNING {logger.name}: {m}" for m in "abab"]
    clock.now += 11
    logger.warning("a")
    text = stream.getvalue()
    assert "… repeated 3 times" in text and text.rstrip().endswith(": a")
    repeat.flush()  # at exit: the open windows' counts are written too
    assert stream.getvalue().count("… repeated 3 times") == 2


def test_tracebacks_of_suppressed_records_are_never_formatted() -> None:
    clock = Clock()
    logger, stream, _ = _logger(clock, burst=1)
    for _ in range(100):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource")
    assert stream.getvalue().count("Traceback") == 1


def test_the_cli_rate_limits_the_root_handler() -> None:
    """`ciel-node` installs the filter on the root logger's handler, where asyncio's and aiohttp's lines go."""
    code = textwrap.dedent("""
        import logging, sys
        from ciel_node import __main__ as cli
        sys.argv = ["ciel-node", "devices"]
        import ciel_node.playback.speaker as speaker
        def flood():
            for i in range(5000):
                logging.getLogger("asyncio").error("socket.accept() out of system resource %d", i)
            return 0
        speaker.print_devices = flood
        sys.exit(cli.main())
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 0 and len(lines) <= 10, proc.stderr[:2000]
    assert "… repeated 4995 times" in lines[-1]
