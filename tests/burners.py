"""CPU burners: a busy machine for the sound engine's load tests and benchmark (issue 18: "an installation laptop also
runs a browser, a projector's player, a backup"). Each burner is a `python -c` busy loop pinned to one core, at the
ordinary priority everything else on the machine has; started and stopped by the caller, by PID, never outliving it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOOP = "while True:\n    pass"


@contextmanager
def burning(count: int | None = None) -> Iterator[list[int]]:
    """`count` busy loops (default: one per core this process may use), each pinned to its core; their PIDs."""
    cores = sorted(os.sched_getaffinity(0))
    count = len(cores) if count is None else count
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(count):
            core = cores[k % len(cores)]
            procs.append(subprocess.Popen([sys.executable, "-c", LOOP], stdin=subprocess.DEVNULL,
                                          preexec_fn=lambda c=core: os.sched_setaffinity(0, {c})))  # noqa: PLW1509
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(10)
