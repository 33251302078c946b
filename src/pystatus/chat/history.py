"""Fetching what we missed from a store node, each message at most once.

A window is first listed by hash only (store v3 without data); only the hashes not seen yet
are then fetched, with their messages, by hash. Whether a Waku message we sent reached the
store is asked the same way. Every byte a store answered with is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter

from pystatus.waku.store import MAX_HASHES, MAX_PAGE_SIZE, StoreEntry, StoreQuery, StoreResponse

log = logging.getLogger(__name__)

HISTORY_BYTES = Counter(
    "chat_history_bytes", "Bytes of store answers read for history and store checks", ["purpose"]
)
HISTORY_MESSAGES = Counter(
    "chat_history_messages", "Messages fetched from a store, by whether they were new", ["result"]
)
MAX_LISTED_PAGES = 1_000


class StoreSource(Protocol):
    async def query(self, query: StoreQuery) -> StoreResponse: ...


@dataclass(slots=True)
class HistoryStats:
    queries: int = 0
    hashes_listed: int = 0
    messages_fetched: int = 0
    duplicates: int = 0
    """Fetched messages that had already arrived another way by the time they were handled."""
    bytes: int = 0

    @property
    def duplicate_ratio(self) -> float:
        """Messages downloaded per message that was new (1.0: nothing downloaded twice)."""
        new = self.messages_fetched - self.duplicates
        return self.messages_fetched / new if new else 1.0


def _chunks(items: list[bytes], size: int) -> Iterable[list[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HistoryFetcher:
    def __init__(self, source: StoreSource) -> None:
        self.source = source
        self.stats = HistoryStats()

    async def _ask(self, query: StoreQuery, purpose: str) -> StoreResponse:
        response = await self.source.query(query)
        size = len(response.to_bytes())
        self.stats.queries += 1
        self.stats.bytes += size
        HISTORY_BYTES.labels(purpose).inc(size)
        return response

    async def stored(self, hashes: list[bytes]) -> list[bytes]:
        """Which of ``hashes`` the store holds."""
        found: list[bytes] = []
        for chunk in _chunks(hashes, MAX_HASHES):
            query = StoreQuery(include_data=False, message_hashes=tuple(chunk), limit=len(chunk))
            found += [entry.hash for entry in (await self._ask(query, "store_check")).entries]
        return found

    async def fetch(self, hashes: list[bytes]) -> list[StoreEntry]:
        """The messages with ``hashes``, with their pubsub topics."""
        entries: list[StoreEntry] = []
        for chunk in _chunks(hashes, MAX_HASHES):
            query = StoreQuery(include_data=True, message_hashes=tuple(chunk), limit=len(chunk))
            fetched = [e for e in (await self._ask(query, "history")).entries if e.message]
            self.stats.messages_fetched += len(fetched)
            entries += fetched
        return entries

    async def missed(
        self,
        pubsub_topic: str,
        content_topics: list[str],
        start_ns: int,
        end_ns: int,
        seen: Callable[[bytes], bool],
    ) -> list[StoreEntry]:
        """The messages of a time window that ``seen`` does not know, oldest first."""
        unseen: list[bytes] = []
        cursor: bytes | None = None
        for _ in range(MAX_LISTED_PAGES):
            query = StoreQuery(
                include_data=False,
                pubsub_topic=pubsub_topic,
                content_topics=tuple(content_topics),
                time_start=start_ns,
                time_end=end_ns,
                forward=True,
                limit=MAX_PAGE_SIZE,
                cursor=cursor,
            )
            response = await self._ask(query, "history")
            self.stats.hashes_listed += len(response.entries)
            unseen += [entry.hash for entry in response.entries if not seen(entry.hash)]
            cursor = response.cursor
            if cursor is None:
                break
        return await self.fetch(list(dict.fromkeys(unseen)))

    def count(self, new: bool) -> None:
        """Record whether a fetched message was new when it was handled."""
        if not new:
            self.stats.duplicates += 1
        HISTORY_MESSAGES.labels("new" if new else "duplicate").inc()
