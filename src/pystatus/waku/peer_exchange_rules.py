"""WAKU2-PEER-EXCHANGE, the responder's rules (sans-IO): which records to keep and which to
hand out.

The responder answers from an :class:`EnrCache` of signed records it learned and whose peers it
has reached, sampled at random so answers do not mirror its own neighbourhood, and bounded in
size (34/WAKU2-PEER-EXCHANGE suggests ten times the mesh degree: 60). Time comes in as ``now``
(monotonic seconds); nothing here counts a metric, :func:`answer_query` says what happened and
the adapter (:mod:`pystatus.waku.peer_exchange_server`) counts it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pystatus.p2p.peer_id import PeerId
from pystatus.waku.enr import Enr
from pystatus.waku.errors import DecodeError
from pystatus.waku.peer_exchange_codec import MAX_PEERS_PER_RESPONSE, decode_query, encode_response
from pystatus.waku.rate_limit import PeerRateLimiter

CACHE_SIZE = 60


@dataclass(slots=True)
class _Entry:
    enr: Enr
    added: float
    reached: bool = False


class EnrCache:
    """Signed records by peer, newest sequence number kept, oldest evicted when full."""

    def __init__(self, capacity: int = CACHE_SIZE, *, rng: random.Random | None = None) -> None:
        self.capacity = capacity
        self._entries: dict[PeerId, _Entry] = {}
        self._rng = rng or random.Random()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, peer: object) -> bool:
        return peer in self._entries

    def add(self, enr: Enr, now: float, *, reached: bool = False) -> bool:
        """Keep ``enr`` (its signature must verify); returns whether it was new or newer."""
        enr.verify()
        peer = enr.peer_id
        existing = self._entries.get(peer)
        if existing is not None:
            if enr.seq <= existing.enr.seq:
                existing.reached |= reached
                return False
            existing.enr, existing.added = enr, now
            existing.reached |= reached
            return True
        if len(self._entries) >= self.capacity:
            oldest = min(self._entries, key=lambda p: self._entries[p].added)
            del self._entries[oldest]
        self._entries[peer] = _Entry(enr, now, reached)
        return True

    def mark_reached(self, peer: PeerId) -> None:
        entry = self._entries.get(peer)
        if entry is not None:
            entry.reached = True

    def remove(self, peer: PeerId) -> None:
        self._entries.pop(peer, None)

    def records(self) -> list[Enr]:
        return [entry.enr for entry in self._entries.values()]

    def sample(self, count: int, *, exclude: PeerId | None = None) -> list[Enr]:
        """Up to ``count`` records of reached peers, chosen at random."""
        good = [e.enr for p, e in self._entries.items() if e.reached and p != exclude]
        return self._rng.sample(good, min(count, len(good)))


@dataclass(frozen=True, slots=True)
class PxAnswer:
    """What :func:`answer_query` decided: ``reply`` bytes to send, or None to refuse with a
    reset (the RFC's response has no status field); ``sent`` records in the reply; and
    ``refusal``, a metric label (``malformed``, ``rate_limited``), when the query was refused."""

    reply: bytes | None
    sent: int = 0
    refusal: str | None = None


def answer_query(
    cache: EnrCache, limiter: PeerRateLimiter, peer: PeerId, data: bytes, now: float
) -> PxAnswer:
    """Answer one query's bytes from ``peer`` at ``now`` (monotonic seconds): up to
    ``num_peers`` (at most 60) reached records at random, never the requester's own. A
    malformed query is refused with a reset; a requester over its rate gets an empty
    response. Never raises."""
    try:
        wanted = decode_query(data)
    except DecodeError:
        return PxAnswer(None, refusal="malformed")
    if not limiter.allow(peer, now):
        # The RFC's response has no status field: a rate-limited requester gets no peers.
        return PxAnswer(encode_response([]), refusal="rate_limited")
    records = cache.sample(min(wanted, MAX_PEERS_PER_RESPONSE), exclude=peer)
    return PxAnswer(encode_response([enr.to_bytes() for enr in records]), len(records))
