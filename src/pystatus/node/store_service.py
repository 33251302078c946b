"""The node's store service: archive what is relayed, answer store queries, resume, retain."""

from __future__ import annotations

import asyncio
import logging
import time

from pystatus.archive import metrics as archive_metrics
from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.errors import ArchiveUnavailable
from pystatus.archive.open import open_archive
from pystatus.archive.writer import ArchiveWriter
from pystatus.errors import WakuError
from pystatus.node.config import StoreConfig
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.tasks import TaskSet
from pystatus.waku.relay import RelayedMessage, WakuRelay
from pystatus.waku.store import StoreClient, StoreQuery, StoreServer

log = logging.getLogger(__name__)

# Resume asks from a little before the newest archived message: clocks differ between nodes.
RESUME_MARGIN_NS = 20 * 10**9


class StoreService:
    def __init__(
        self,
        config: StoreConfig,
        *,
        relay: WakuRelay | None,
        client: StoreClient,
        archive: Archive | None = None,
    ) -> None:
        self.config = config
        self.archive = archive or open_archive(config.db_url)
        self.writer = ArchiveWriter(self.archive)
        self.server: StoreServer | None = None
        self._relay = relay
        self._client = client
        self._tasks = TaskSet("store")

    async def start(self) -> None:
        await self.archive.open()
        self.writer.start()
        self.server = StoreServer(
            self._client.host,
            self.archive,
            peer_rate=self.config.peer_rate,
            peer_burst=self.config.peer_burst,
        )
        self.server.start()
        if self._relay is not None:
            self._relay.add_observer(self._on_relayed)
        self._tasks.spawn(self._retention_loop(), name="archive retention")

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        if self.server is not None:
            self.server.stop()
        await self.writer.stop()
        await self.archive.close()

    def _on_relayed(self, item: RelayedMessage) -> None:
        if item.message.ephemeral:
            return
        self.writer.submit(
            ArchivedMessage.of(item.pubsub_topic, item.message, int(item.received_at * 1e9))
        )

    async def archive_published(self, pubsub_topic: str, item: RelayedMessage) -> None:
        """Wait until a message this node published is durably archived (its acknowledgement)."""
        if not item.message.ephemeral:
            await self.writer.store(
                ArchivedMessage.of(pubsub_topic, item.message, int(item.received_at * 1e9))
            )

    async def _retention_loop(self) -> None:
        while True:
            try:
                removed = await self.archive.apply_retention(self.config.retention, time.time_ns())
                archive_metrics.RETENTION_DELETED.inc(removed)
                archive_metrics.MESSAGES.set(await self.archive.count())
                archive_metrics.SIZE.set(await self.archive.size_bytes())
            except ArchiveUnavailable as exc:
                archive_metrics.ERRORS.labels("retention").inc()
                log.warning("archive retention failed: %s", exc)
            await asyncio.sleep(self.config.retention_interval)

    async def resume(self, storenode: Multiaddr, pubsub_topics: list[str]) -> int:
        """Archive what ``storenode`` holds since our newest message; returns how many were new.

        Nothing fetched is relayed again: it goes to the archive only.
        """
        newest = await self.archive.newest_timestamp()
        start = None if newest is None else newest - RESUME_MARGIN_NS
        wanted = set(pubsub_topics)
        added = 0
        # The RFC pairs a pubsub topic with content topics, so a time-only query asks for
        # everything and the topics this node relays are kept.
        query = StoreQuery(time_start=start, forward=True, limit=100)
        try:
            async for page in self._client.query_all(storenode, query):
                entries = [
                    ArchivedMessage.of(e.pubsub_topic, e.message, time.time_ns())
                    for e in page.entries
                    if e.message is not None
                    and e.pubsub_topic in wanted
                    and not e.message.ephemeral
                ]
                if entries:
                    added += await self.archive.insert(entries)
        except (P2PError, WakuError, TimeoutError) as exc:
            log.warning("resume from %s stopped early: %s", storenode, exc)
        return added
