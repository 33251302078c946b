"""66/WAKU2-METADATA, the answering side's asyncio adapter: tell a peer our cluster and shards,
then read what it says about itself into the :class:`~pystatus.waku.metadata_rules.MetadataBook`.

Unlike the other services this one does not use :func:`~pystatus.waku.wire.serve_one`: js-waku
answers before it reads and may write its request after ours, so we answer at once and read
afterwards (read first, and the two sides could each wait for the other).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.errors import RemoteWakuError
from pystatus.waku.metadata_codec import (
    MAX_METADATA_SIZE,
    METADATA_PROTOCOL_ID,
    METADATA_TIMEOUT,
    decode_metadata,
    encode_metadata,
)
from pystatus.waku.metadata_rules import MetadataBook

log = logging.getLogger(__name__)

__all__ = ["MetadataServer"]


class MetadataServer:
    """Answers metadata requests on ``host`` with ``cluster_id`` and ``shards()``; records
    each requester's own shard info in ``book``."""

    def __init__(
        self,
        host: Host,
        book: MetadataBook,
        *,
        cluster_id: int,
        shards: Callable[[], Iterable[int]],
    ) -> None:
        self.host = host
        self.book = book
        self.cluster_id = cluster_id
        self._shards = shards

    def start(self) -> None:
        self.host.set_stream_handler(METADATA_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(METADATA_PROTOCOL_ID)

    async def _serve(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(METADATA_TIMEOUT):
                await stream.write_message(
                    encode_metadata(self.cluster_id, self._shards(), request=False)
                )
                await stream.close()
                request = await stream.read_message(MAX_METADATA_SIZE)
            info = decode_metadata(request)
        except (TimeoutError, P2PError, RemoteWakuError) as exc:
            metrics.PROTOCOL_ERRORS.labels("metadata", type(exc).__name__).inc()
            log.debug("metadata request from %s failed: %r", peer, exc)
            await stream.reset()
            return
        metrics.PROTOCOL_MESSAGES.labels("metadata", "in").inc()
        self.book.record(peer, info)
        metrics.METADATA_PEERS.set(len(self.book))
