"""66/WAKU2-METADATA, the asking side: request a peer's cluster and shards with
:func:`~pystatus.waku.wire.request` (sending ours) and keep the answer in the
:class:`~pystatus.waku.metadata_rules.MetadataBook`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics, wire
from pystatus.waku.errors import DecodeError
from pystatus.waku.metadata_codec import (
    MAX_METADATA_SIZE,
    METADATA_PROTOCOL_ID,
    METADATA_TIMEOUT,
    ShardInfo,
    decode_metadata,
    encode_metadata,
)
from pystatus.waku.metadata_rules import MetadataBook

__all__ = ["MetadataClient"]


class MetadataClient:
    """Asks peers reached over ``host`` for their shard info, telling ours."""

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

    async def query(self, peer: PeerId) -> ShardInfo:
        """Ask ``peer`` for its cluster and shards (within ``METADATA_TIMEOUT`` seconds).

        Raises :class:`~pystatus.waku.errors.DecodeError` for a malformed answer, and
        ``TimeoutError`` or :class:`~pystatus.p2p.errors.P2PError` when the exchange fails;
        each is counted in ``waku_protocol_errors``.
        """
        _, reply = await wire.request(
            self.host,
            peer,
            METADATA_PROTOCOL_ID,
            encode_metadata(self.cluster_id, self._shards(), request=True),
            max_response=MAX_METADATA_SIZE,
            time_limit=METADATA_TIMEOUT,
            label="metadata",
        )
        try:
            info = decode_metadata(reply)
        except DecodeError:
            metrics.PROTOCOL_ERRORS.labels("metadata", "DecodeError").inc()
            raise
        self.book.record(peer, info)
        metrics.METADATA_PEERS.set(len(self.book))
        return info
