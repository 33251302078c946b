"""What a store node serves, decided without I/O: no sockets, no clock reads, no metrics.

The asyncio server (:mod:`pystatus.waku.store_server`) hands each request's bytes here with the
time (monotonic seconds) and counts what comes back; the backend's page goes through
:func:`answer`. Refusals carry a short ``reason`` for the server's metric label.

Which queries are served follows nwaku (``waku_store/protocol.nim`` and
``waku_archive/archive.nim``), which answers more than the RFC's SHOULDs: a pubsub topic alone,
content topics alone (matched across every pubsub topic archived) and no filter at all are all
served, and a time range whose start is after its end simply matches nothing. Kept from the
RFC (WAKU2-STORE v3, "Store Query Request"): a hash look-up takes no content or time filter,
hashes and cursors are 32 bytes, and at most 100 hashes and 100 content topics per query bound
the work one request can ask for.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from pystatus.waku.errors import DecodeError
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.store_codec import (
    HASH_SIZE,
    MAX_CONTENT_TOPICS,
    MAX_HASHES,
    StatusCode,
    StoreEntry,
    StoreError,
    StoreQuery,
    StoreResponse,
)


def check_query(query: StoreQuery) -> None:
    """Raise :class:`~pystatus.waku.store_codec.StoreError` (400) for a query a store refuses.

    Everything else is served, including queries the RFC only says SHOULD be refused, as nwaku
    serves them (see the module's docstring).
    """
    if query.message_hashes:
        if query.content_topics or query.time_start is not None or query.time_end is not None:
            raise StoreError(400, "message hashes cannot be combined with content filters")
        if len(query.message_hashes) > MAX_HASHES:
            raise StoreError(400, f"at most {MAX_HASHES} message hashes per query")
        if any(len(h) != HASH_SIZE for h in query.message_hashes):
            raise StoreError(400, "a message hash is 32 bytes")
    if len(query.content_topics) > MAX_CONTENT_TOPICS:
        raise StoreError(400, f"at most {MAX_CONTENT_TOPICS} content topics per query")
    if query.cursor is not None and len(query.cursor) != HASH_SIZE:
        raise StoreError(400, "a pagination cursor is a 32-byte message hash")


@dataclass(frozen=True, slots=True)
class Admitted:
    """Serve ``query`` from the backend, then :func:`answer` it."""

    query: StoreQuery


@dataclass(frozen=True, slots=True)
class Refused:
    """Send ``response`` as it is. ``reason`` is the metric label: ``malformed``,
    ``rate_limited``, ``bad_request``, ``cursor_not_found`` or ``backend``."""

    response: StoreResponse
    reason: str


def refuse(query: StoreQuery, status: int, description: str, reason: str) -> Refused:
    return Refused(StoreResponse(query.request_id, status, description), reason)


def admit(query: StoreQuery) -> Admitted | Refused:
    """The query's own rules, without a rate limit (the node's REST API asking itself)."""
    try:
        check_query(query)
    except StoreError as exc:
        return refuse(query, exc.status, exc.description, "bad_request")
    return Admitted(query)


def answer(query: StoreQuery, entries: list[StoreEntry], cursor: bytes | None) -> StoreResponse:
    """The 200 response for one page from the backend (hashes only unless data was asked for).

    An empty page is a success: js-waku stops paging on it.
    """
    if not query.include_data:
        entries = [StoreEntry(entry.hash) for entry in entries]
    return StoreResponse(query.request_id, StatusCode.SUCCESS, "OK", tuple(entries), cursor)


def cursor_not_found(query: StoreQuery) -> Refused:
    return refuse(query, StatusCode.BAD_REQUEST, "pagination cursor not found", "cursor_not_found")


def backend_failed(query: StoreQuery) -> Refused:
    """The archive could not answer; the details go to the log, not to the peer."""
    return refuse(
        query, StatusCode.SERVICE_UNAVAILABLE, "store is unavailable, retry later", "backend"
    )


class StoreRules:
    """Admission of requests from peers: decode, rate-limit, check.

    ``peer_rate`` is requests per second per peer, ``peer_burst`` the bucket's depth; the
    per-peer table is bounded by :data:`pystatus.waku.rate_limit.MAX_TRACKED_PEERS`.
    """

    def __init__(self, *, peer_rate: float, peer_burst: float) -> None:
        self._limiter = PeerRateLimiter(peer_rate, peer_burst)

    def receive(self, peer: Hashable, data: bytes, now: float) -> Admitted | Refused:
        """Judge one request's bytes from ``peer`` at ``now`` (monotonic seconds)."""
        try:
            query = StoreQuery.from_bytes(data)
        except DecodeError as exc:
            response = StoreResponse("", StatusCode.BAD_REQUEST, f"bad request: {exc}")
            return Refused(response, "malformed")
        if not self._limiter.allow(peer, now):
            return refuse(query, StatusCode.TOO_MANY_REQUESTS, "too many requests", "rate_limited")
        return admit(query)

    def forget(self, peer: Hashable) -> None:
        """Drop ``peer``'s rate-limit bucket (it disconnected)."""
        self._limiter.forget(peer)
