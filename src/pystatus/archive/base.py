"""The archive interface both backends implement, and the query planning they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from pystatus.archive.retention import RetentionPolicy
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store_codec import CursorNotFound, StoreEntry, StoreQuery


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    hash: bytes
    pubsub_topic: str
    message: WakuMessage
    timestamp: int
    """The message's own timestamp, or its receive time when it has none (nanoseconds)."""
    received_at: int

    @classmethod
    def of(cls, pubsub_topic: str, message: WakuMessage, received_at: int) -> ArchivedMessage:
        return cls(
            hash=message_hash(pubsub_topic, message),
            pubsub_topic=pubsub_topic,
            message=message,
            timestamp=message.timestamp or received_at,
            received_at=received_at,
        )

    def entry(self) -> StoreEntry:
        return StoreEntry(self.hash, self.message, self.pubsub_topic)


@dataclass(frozen=True, slots=True)
class Where:
    """A query's filter as SQL, with ``?`` placeholders that each backend renders its way."""

    clauses: tuple[str, ...]
    params: tuple[object, ...]


def filter_clauses(query: StoreQuery) -> Where:
    """The query's filters, each left out when the query leaves it out (nwaku's archive drivers
    do the same): a pubsub topic alone, content topics across every pubsub topic, or nothing.
    Both ends of the time range are inclusive, as in nwaku's SQLite and PostgreSQL drivers
    (``timestamp >= start AND timestamp <= end``), so ``start == end == ts(m)`` finds m."""
    clauses: list[str] = []
    params: list[object] = []
    if query.message_hashes:
        clauses.append(f"hash IN ({', '.join('?' for _ in query.message_hashes)})")
        params.extend(query.message_hashes)
    if query.pubsub_topic is not None:
        clauses.append("pubsub_topic = ?")
        params.append(query.pubsub_topic)
    if query.content_topics:
        clauses.append(f"content_topic IN ({', '.join('?' for _ in query.content_topics)})")
        params.extend(query.content_topics)
    if query.time_start is not None:
        clauses.append("timestamp >= ?")
        params.append(query.time_start)
    if query.time_end is not None:
        clauses.append("timestamp <= ?")
        params.append(query.time_end)
    return Where(tuple(clauses), tuple(params))


class Archive(ABC):
    """Messages keyed by RFC 14 hash, ordered by (timestamp, hash) as the store RFC sorts them.

    Backends provide SQL execution; the store query's plan is written once, here.
    """

    url: str

    @abstractmethod
    async def _select(self, sql: str, params: list[object]) -> list[tuple[bytes, str, bytes]]:
        """Rows of ``sql`` written with ``?`` placeholders; DB failures as StoreBackendError."""

    @abstractmethod
    async def _cursor_timestamp(self, cursor: bytes) -> int | None: ...

    async def query(self, query: StoreQuery) -> tuple[list[StoreEntry], bytes | None]:
        """One page in forward order and the next cursor, per the store v3 RFC."""
        where = filter_clauses(query)
        clauses, params = list(where.clauses), list(where.params)
        if query.cursor is not None:
            timestamp = await self._cursor_timestamp(query.cursor)
            if timestamp is None:
                raise CursorNotFound("pagination cursor not found")
            clauses.append(f"(timestamp, hash) {'>' if query.forward else '<'} (?, ?)")
            params += [timestamp, query.cursor]
        order = "ASC" if query.forward else "DESC"
        size = query.page_size
        sql = (
            "SELECT hash, pubsub_topic, message FROM messages"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + f" ORDER BY timestamp {order}, hash {order} LIMIT ?"
        )
        rows = await self._select(sql, [*params, size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if not query.forward:
            rows.reverse()
        entries = [
            StoreEntry(bytes(h), WakuMessage.decode(bytes(raw)), topic) for h, topic, raw in rows
        ]
        cursor = None
        if more and entries:
            cursor = entries[-1].hash if query.forward else entries[0].hash
        return entries, cursor

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def insert(self, messages: list[ArchivedMessage]) -> int:
        """Store ``messages`` in one durable transaction; duplicates are skipped. Returns how
        many were new."""

    @abstractmethod
    async def count(self) -> int: ...

    @abstractmethod
    async def size_bytes(self) -> int: ...

    @abstractmethod
    async def newest_timestamp(self) -> int | None:
        """The newest stored timestamp: where a resume asks a store peer to start."""

    @abstractmethod
    async def apply_retention(self, policy: RetentionPolicy, now_ns: int) -> int:
        """Delete what ``policy`` no longer keeps, oldest first; returns how many went."""
