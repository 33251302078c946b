"""Per-peer token buckets: how the request/response protocols and relay bound a peer's rate."""

from __future__ import annotations

from collections.abc import Hashable

MAX_TRACKED_PEERS = 10_000


class TokenBucket:
    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class PeerRateLimiter:
    """``rate`` requests per second per peer, bursts up to ``burst``; time is passed in."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[Hashable, TokenBucket] = {}

    def allow(self, peer: Hashable, now: float) -> bool:
        bucket = self._buckets.get(peer)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_PEERS:
                self._buckets.clear()  # bounded memory: forgetting buckets only forgives
            bucket = self._buckets[peer] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    def forget(self, peer: Hashable) -> None:
        self._buckets.pop(peer, None)
