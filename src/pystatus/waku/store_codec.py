"""WAKU2-STORE v3 (``/vac/waku/store-query/3.0.0``) on the wire: the request and response
messages as typed values, their limits and status codes.

Shapes follow the RFC's protobuf (vacp2p rfc-index ``waku/standards/core/13/store.md``,
``StoreQueryRequest`` / ``StoreQueryResponse``) as nwaku's ``waku_store/rpc_codec.nim`` reads and
writes it. Decoding raises :class:`~pystatus.waku.errors.DecodeError`; what a decoded query may
ask is judged in :mod:`pystatus.waku.store_rules`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import IntEnum

from pystatus.waku.errors import RequestRefused, WakuProtocolError
from pystatus.waku.message import WakuMessage
from pystatus.waku.proto import waku_store_pb2
from pystatus.waku.wire import parse

STORE_PROTOCOL_ID = "/vac/waku/store-query/3.0.0"
DEFAULT_PAGE_SIZE = 20
"""Entries per page when a query names no limit (nwaku's ``DefaultPageSize``)."""
MAX_PAGE_SIZE = 100
"""Larger limits are served as this many entries (nwaku's ``MaxPageSize``)."""
MAX_CONTENT_TOPICS = 100
MAX_HASHES = 100
HASH_SIZE = 32
MAX_REQUEST_SIZE = 64 * 1024
MAX_RESPONSE_SIZE = MAX_PAGE_SIZE * 160 * 1024
REQUEST_TIMEOUT = 30.0
"""Seconds (the event loop's clock) one exchange may take, on either side."""


class StatusCode(IntEnum):
    """``status_code`` values of a ``StoreQueryResponse`` (the RFC's, as nwaku sends them)."""

    SUCCESS = 200
    BAD_REQUEST = 400
    TOO_MANY_REQUESTS = 429
    INTERNAL_SERVER_ERROR = 500
    SERVICE_UNAVAILABLE = 503


StoreError = RequestRefused
"""A query was refused: ``status`` is the code the peer answered (or would answer)."""


class StoreBackendError(WakuProtocolError):
    """The backend could not answer (database down, disk full); the query may be retried."""


class CursorNotFound(WakuProtocolError):
    """The cursor names no stored message."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreQuery:
    """One ``StoreQueryRequest``.

    ``time_start`` and ``time_end`` are Unix nanoseconds (the messages' own clock), both
    inclusive as nwaku's archive applies them (``timestamp >= start AND timestamp <= end``).
    ``cursor`` is the hash of the last entry already seen; pages continue after it (exclusive).
    Any filter may be left out: nwaku answers a pubsub topic alone, content topics alone
    (across every pubsub topic archived) and no filter at all.
    """

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
        """Decode a request; raises :class:`~pystatus.waku.errors.DecodeError`."""
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
    """One ``WakuMessageKeyValue``: the RFC 14 hash, and the message and its pubsub topic
    when the query asked for data."""

    hash: bytes
    message: WakuMessage | None = None
    pubsub_topic: str | None = None


@dataclass(frozen=True, slots=True)
class StoreResponse:
    """One ``StoreQueryResponse``; ``entries`` are in ascending (timestamp, hash) order in
    either paging direction, and ``cursor`` is None on the last page."""

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
        """Decode a response; raises :class:`~pystatus.waku.errors.DecodeError`."""
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
