"""The abuse client: `python tests/sshpeers_abuse.py PORT ATTEMPTS [CONCURRENCY] [SOURCE,...]` makes that many
failed logins against an SSH server (wrong keys, bounded concurrency, several source addresses) and prints a
JSON summary. A separate process, so the server's memory is measured alone."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko


def _abuse(port: int, attempts: int, concurrency: int, sources: list[str]) -> dict[str, object]:
    wrong = [paramiko.ECDSAKey.generate() for _ in range(3)]
    lock = threading.Lock()
    tally = {"attempts": 0, "auth_failed": 0, "hung_up": 0, "logged_in": 0}

    def budget() -> bool:
        with lock:
            if tally["attempts"] >= attempts:
                return False
            tally["attempts"] += 1
            return True

    def one(k: int) -> None:
        if not budget():
            return
        sock = socket.socket()
        sock.bind((sources[k % len(sources)], 0))
        t: paramiko.Transport | None = None
        try:
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            t = paramiko.Transport(sock)
            t.start_client(timeout=10)
            first = True
            while first or budget():
                first = False
                try:
                    t.auth_publickey("op", wrong[k % len(wrong)])
                    tally["logged_in"] += 1  # must never happen
                    return
                except paramiko.AuthenticationException:
                    with lock:
                        tally["auth_failed"] += 1
        except (paramiko.SSHException, OSError, EOFError):
            with lock:
                tally["hung_up"] += 1
        finally:
            if t is not None:
                t.close()
            sock.close()

    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        k = 0
        while tally["attempts"] < attempts:
            list(pool.map(one, range(k, k + 4 * concurrency)))
            k += 4 * concurrency
    return {**tally, "seconds": round(time.monotonic() - start, 2)}


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: sshpeers_abuse.py PORT ATTEMPTS [CONCURRENCY] [SOURCE,...]")
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    sources = sys.argv[4].split(",") if len(sys.argv) > 4 else ["127.0.0.1"]
    print(json.dumps(_abuse(int(sys.argv[1]), int(sys.argv[2]), concurrency, sources)))
