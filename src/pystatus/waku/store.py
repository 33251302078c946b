"""WAKU2-STORE query protocol v3 (/vac/waku/store-query/3.0.0): codec, server and client.

The server answers queries from a :class:`StoreBackend`; the archive layer provides one, so
this module stays below it. Requests and responses are one varint-length-prefixed protobuf
each way; the responder closes its side after answering.

js-waku's client shapes some of what is accepted here: it sends ``pubsub_topic`` along with
message-hash look-ups, and pages by the hash of the last (forward) or first (backward) entry
until a page comes back empty, so an empty page is a success like any other.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Protocol

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError, RemoteWakuError, WakuProtocolError
from pystatus.waku.message import WakuMessage
from pystatus.waku.proto import waku_store_pb2
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.wire import parse, request

log = logging.getLogger(__name__)

STORE_PROTOCOL_ID = "/vac/waku/store-query/3.0.0"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_CONTENT_TOPICS = 100
MAX_HASHES = 100
HASH_SIZE = 32
MAX_REQUEST_SIZE = 64 * 1024
MAX_RESPONSE_SIZE = MAX_PAGE_SIZE * 160 * 1024
REQUEST_TIMEOUT = 30.0


class StatusCode(IntEnum):
    SUCCESS = 200
    BAD_REQUEST = 400
    TOO_MANY_REQUESTS = 429
    INTERNAL_SERVER_ERROR = 500
    SERVICE_UNAVAILABLE = 503


class StoreError(WakuProtocolError):
    """A query failed; ``status`` is the code the peer answered (or would answer)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class StoreBackendError(WakuProtocolError):
    """The backend could not answer (database down, disk full); the query may be retried."""


class CursorNotFound(WakuProtocolError):
    """The cursor names no stored message."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreQuery:
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    include_data: bool = True
    pubsub_topic: str | None = None
    content_topics: tuple[str, ...] = ()
    time_start: int | None = None
    time_end: int | None = None
    message_hashes: tuple[bytes, ...] = ()
    cursor: bytes | None = None
    forward: bool = False
    limit: int | None = None

    @property
    def page_size(self) -> int:
        """The page size served: the request's, clamped to 1..MAX_PAGE_SIZE, else the default."""
        if not self.limit:
            return DEFAULT_PAGE_SIZE
        return max(1, min(self.limit, MAX_PAGE_SIZE))

    def validate(self) -> None:
        """Raise :class:`StoreError` (400) for a query the RFC calls invalid."""
        if self.message_hashes:
            if self.content_topics or self.time_start is not None or self.time_end is not None:
                raise StoreError(400, "message hashes cannot be combined with content filters")
            if len(self.message_hashes) > MAX_HASHES:
                raise StoreError(400, f"at most {MAX_HASHES} message hashes per query")
            if any(len(h) != HASH_SIZE for h in self.message_hashes):
                raise StoreError(400, "a message hash is 32 bytes")
        elif bool(self.content_topics) != bool(self.pubsub_topic):
            raise StoreError(400, "pubsub topic and content topics must be given together")
        if len(self.content_topics) > MAX_CONTENT_TOPICS:
            raise StoreError(400, f"at most {MAX_CONTENT_TOPICS} content topics per query")
        if (
            self.time_start is not None
            and self.time_end is not None
            and self.time_start > self.time_end
        ):
            raise StoreError(400, "time_start is after time_end")
        if self.cursor is not None and len(self.cursor) != HASH_SIZE:
            raise StoreError(400, "a pagination cursor is a 32-byte message hash")

    def to_bytes(self) -> bytes:
        request = waku_store_pb2.StoreQueryRequest(
            request_id=self.request_id,
            include_data=self.include_data,
            content_topics=self.content_topics,
            message_hashes=self.message_hashes,
            pagination_forward=self.forward,
        )
        if self.pubsub_topic is not None:
            request.pubsub_topic = self.pubsub_topic
        if self.time_start is not None:
            request.time_start = self.time_start
        if self.time_end is not None:
            request.time_end = self.time_end
        if self.cursor is not None:
            request.pagination_cursor = self.cursor
        if self.limit is not None:
            request.pagination_limit = self.limit
        return request.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoreQuery:
        request = parse(waku_store_pb2.StoreQueryRequest(), data, "store request")
        return cls(
            request_id=request.request_id,
            include_data=request.include_data,
            pubsub_topic=request.pubsub_topic if request.HasField("pubsub_topic") else None,
            content_topics=tuple(request.content_topics),
            time_start=request.time_start if request.HasField("time_start") else None,
            time_end=request.time_end if request.HasField("time_end") else None,
            message_hashes=tuple(request.message_hashes),
            cursor=(request.pagination_cursor if request.HasField("pagination_cursor") else None),
            forward=request.pagination_forward,
            limit=request.pagination_limit if request.HasField("pagination_limit") else None,
        )


@dataclass(frozen=True, slots=True)
class StoreEntry:
    hash: bytes
    message: WakuMessage | None = None
    pubsub_topic: str | None = None


@dataclass(frozen=True, slots=True)
class StoreResponse:
    request_id: str
    status_code: int
    status_desc: str
    entries: tuple[StoreEntry, ...] = ()
    cursor: bytes | None = None

    def to_bytes(self) -> bytes:
        response = waku_store_pb2.StoreQueryResponse(
            request_id=self.request_id, status_code=self.status_code, status_desc=self.status_desc
        )
        for entry in self.entries:
            item = response.messages.add(message_hash=entry.hash)
            if entry.message is not None and entry.pubsub_topic is not None:
                item.message.ParseFromString(entry.message.encode())
                item.pubsub_topic = entry.pubsub_topic
        if self.cursor is not None:
            response.pagination_cursor = self.cursor
        return response.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoreResponse:
        response = parse(waku_store_pb2.StoreQueryResponse(), data, "store response")
        entries = []
        for item in response.messages:
            message = None
            if item.HasField("message"):
                message = WakuMessage.decode(item.message.SerializeToString())
            topic = item.pubsub_topic if item.HasField("pubsub_topic") else None
            entries.append(StoreEntry(item.message_hash, message, topic))
        return cls(
            request_id=response.request_id,
            status_code=response.status_code,
            status_desc=response.status_desc,
            entries=tuple(entries),
            cursor=(response.pagination_cursor if response.HasField("pagination_cursor") else None),
        )


class StoreBackend(Protocol):
    async def query(self, query: StoreQuery) -> tuple[list[StoreEntry], bytes | None]:
        """One page of matches in forward order, and the cursor for the next page (or None).

        Raises :class:`CursorNotFound` or :class:`StoreBackendError`.
        """
        ...


def answer(query: StoreQuery, entries: list[StoreEntry], cursor: bytes | None) -> StoreResponse:
    if not query.include_data:
        entries = [StoreEntry(entry.hash) for entry in entries]
    return StoreResponse(query.request_id, 200, "OK", tuple(entries), cursor)


class StoreServer:
    """Serves store queries from ``backend``, with a per-peer request rate limit."""

    def __init__(
        self,
        host: Host,
        backend: StoreBackend,
        *,
        peer_rate: float = 10.0,
        peer_burst: float = 30.0,
    ) -> None:
        self.host = host
        self.backend = backend
        self._limiter = PeerRateLimiter(peer_rate, peer_burst)

    def start(self) -> None:
        self.host.set_stream_handler(STORE_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(STORE_PROTOCOL_ID)

    async def handle(self, query: StoreQuery) -> StoreResponse:
        """Answer one decoded query (also the REST API's path for local queries)."""
        try:
            query.validate()
        except StoreError as exc:
            return StoreResponse(query.request_id, exc.status, exc.description)
        try:
            entries, cursor = await self.backend.query(query)
        except CursorNotFound:
            return StoreResponse(query.request_id, 400, "pagination cursor not found")
        except StoreBackendError as exc:
            metrics.PROTOCOL_ERRORS.labels("store", "backend").inc()
            log.warning("store query failed: %s", exc)
            return StoreResponse(query.request_id, 503, "store is unavailable, retry later")
        return answer(query, entries, cursor)

    async def _serve(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await stream.read_message(MAX_REQUEST_SIZE)
                try:
                    query = StoreQuery.from_bytes(data)
                except DecodeError as exc:
                    metrics.PROTOCOL_ERRORS.labels("store", "malformed").inc()
                    response = StoreResponse("", 400, f"bad request: {exc}")
                else:
                    if not self._limiter.allow(peer, time.monotonic()):
                        metrics.PROTOCOL_ERRORS.labels("store", "rate_limited").inc()
                        response = StoreResponse(query.request_id, 429, "too many requests")
                    else:
                        response = await self.handle(query)
                metrics.PROTOCOL_MESSAGES.labels("store", "in").inc()
                metrics.PROTOCOL_BYTES.labels("store", "in").inc(len(data))
                encoded = response.to_bytes()
                metrics.PROTOCOL_BYTES.labels("store", "out").inc(len(encoded))
                await stream.write_message(encoded)
                await stream.close()
        except (TimeoutError, P2PError) as exc:
            metrics.PROTOCOL_ERRORS.labels("store", type(exc).__name__).inc()
            log.debug("store request from %s failed: %r", peer, exc)
            await stream.reset()


class StoreClient:
    def __init__(self, host: Host) -> None:
        self.host = host

    async def query(self, peer: PeerId | Multiaddr | str, query: StoreQuery) -> StoreResponse:
        """One request; raises :class:`StoreError` for a non-2xx answer."""
        _, data = await request(
            self.host,
            peer,
            STORE_PROTOCOL_ID,
            query.to_bytes(),
            max_response=MAX_RESPONSE_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="store",
        )
        response = StoreResponse.from_bytes(data)
        if not 200 <= response.status_code < 300:
            raise StoreError(response.status_code, response.status_desc)
        return response

    async def query_all(
        self, peer: PeerId | Multiaddr | str, query: StoreQuery, *, max_pages: int = 10_000
    ) -> AsyncIterator[StoreResponse]:
        """Every page of ``query``, following cursors until the store has no more."""
        for _ in range(max_pages):
            response = await self.query(peer, query)
            yield response
            if response.cursor is None:
                return
            query = replace(query, request_id=secrets.token_hex(16), cursor=response.cursor)
        raise RemoteWakuError(f"store query did not end within {max_pages} pages")
