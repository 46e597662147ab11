"""Per-source limits for the SSH server: a token bucket per address (an IPv6 /64 counts as one)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from ciel_node.net import source_key

log = logging.getLogger(__name__)

BUCKET_BURST = 10.0  # per source: new connections and failed logins each spend one token
BUCKET_RATE = 4.0  # tokens back per second
MAX_SOURCES = 4096  # buckets remembered (LRU): a spray of addresses cannot grow memory


class SourceLimiter:
    """A token bucket per source (an IPv4 address or an IPv6 /64): new connections and failed logins spend tokens.

    Failed logins drain the bucket, so a source that keeps failing is delayed: its next connections
    are refused before any key exchange until tokens come back. Never blocks; bounded memory (LRU).
    """

    def __init__(self, burst: float = BUCKET_BURST, rate: float = BUCKET_RATE, max_sources: int = MAX_SOURCES) -> None:
        self.burst, self.rate, self.max_sources = burst, rate, max_sources
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # source -> [tokens, stamp, warned]
        self._lock = threading.Lock()

    def take(self, source: str, cost: float = 1.0) -> bool:
        key = source_key(source)
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.pop(key, None) or [self.burst, now, 0.0]
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            ok = bucket[0] >= cost
            if ok:
                bucket[0] -= cost
            elif not bucket[2]:
                bucket[2] = 1.0
                log.warning("SSH: %s makes too many attempts; throttling it (ssh_rate_limited)", key)
            if bucket[0] >= self.burst / 2:
                bucket[2] = 0.0  # recovered: warn again next time
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
        return ok
