"""What one OSC message costs the node's loop: the surface's apply (dispatch, validation, clamping, store update,
feedback built) in process, an exact address next to OSC 1.0 patterns, in the same run.

bench/osc.py measures the whole round trip through the kernel at 10,000 messages/s; its p99 is mostly the
scheduling of three busy processes on two cores. This isolates the part the registry and the pattern matcher
add. Medians of 5 rounds of 20,000 messages each.

    python bench/osc_apply.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ciel_node.controls.feedback import FeedbackHub  # noqa: E402
from ciel_node.controls.osc import OscSurface, Peer  # noqa: E402
from ciel_node.state import ControlStore  # noqa: E402

ADDRESSES = ("/ciel/drift", "/ciel/dri?t", "/ciel/{drift,nothing}", "/ciel/[d]rift")


def round_of(surface: OscSurface, peer: Peer, address: str, n: int) -> tuple[float, float]:
    took = []
    for k in range(n):
        t = time.perf_counter()
        surface.message(address, [(k % 1000) / 1000], peer)  # a new value each time: a real update and a push
        took.append(time.perf_counter() - t)
    took.sort()
    return took[n // 2] * 1e6, took[int(0.99 * n)] * 1e6


def main() -> int:
    store = ControlStore(None)
    counters: dict[str, int] = {}
    hub = FeedbackHub(counters)
    surface = OscSurface(store, lambda: None, hub, counters)
    peer = Peer("127.0.0.1", 9, hub)
    results: dict[str, list[tuple[float, float]]] = {a: [] for a in ADDRESSES}
    for _ in range(5):
        for address in ADDRESSES:  # interleaved: a busy moment of the machine hits them all alike
            results[address].append(round_of(surface, peer, address, 20_000))
    base = statistics.median(p50 for p50, _ in results[ADDRESSES[0]])
    print(f"{'address':24s} {'p50 us':>8s} {'p99 us':>8s} {'p50 vs exact':>13s}")
    for address, rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds)
        p99 = statistics.median(r[1] for r in rounds)
        print(f"{address:24s} {p50:8.1f} {p99:8.1f} {p50 / base:12.2f}x")
    print("target: apply p99 <= 2 ms (2000 us) at 10,000 messages/s (bench/osc.py for the round trip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
