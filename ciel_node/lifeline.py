"""A child process's tie to the node: it ends when the node ends, however the node ends (kill -9 included).

A child that outlives the node holds its memory (a render process: ~300 MB) and, through the pipe it
inherits, keeps multiprocessing's resource tracker alive too: the tracker exits only when every holder
of that pipe has closed it. Two ties, because each misses a case the other covers:

* the spawn pipe: a child made by multiprocessing's spawn holds the read end of a pipe whose write end
  only the parent has, so it reads EOF the moment the parent process is gone. A thread waits on it and
  ends the process. It cannot act while the child is stopped (SIGSTOP), so:
* `PR_SET_PDEATHSIG` (Linux): the kernel sends SIGKILL, which ends even a stopped process. It fires when
  the *thread* that started the child ends, not the process, so the parent asks for it only when that
  thread lives as long as the child should (the main thread, or a thread that owns the child).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def hold(parent_pid: int, kill_with_thread: bool) -> None:
    """Call first thing in a spawned child: exit as soon as the process `parent_pid` is gone.

    `kill_with_thread`: also have the kernel SIGKILL this child when the parent's spawning thread ends.
    """
    if kill_with_thread:
        _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the death signal was asked for
        os._exit(1)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_exit_on_eof, args=(parent.sentinel,), name="ciel-lifeline", daemon=True).start()


def _exit_on_eof(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])  # readable only at EOF: the parent never writes here again
    # os._exit, not sys.exit: no atexit handler may wait on a parent that will never answer.
    os._exit(1)


def _set_pdeathsig(sig: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the spawn pipe still ties the child to the parent
