"""66/WAKU2-METADATA (``/vac/waku/metadata/1.0.0``): peers tell each other their cluster and
shards on connection.

Either side may ask; the answer is our cluster id and the shards we relay. A peer from another
cluster is no use to us (it relays nothing we route), so the node drops the connection
(:func:`~pystatus.waku.metadata_rules.other_cluster`).

The protocol is split by concern, and every name stays importable from here:
:mod:`~pystatus.waku.metadata_codec`, :mod:`~pystatus.waku.metadata_rules` (sans-IO),
:mod:`~pystatus.waku.metadata_server` and :mod:`~pystatus.waku.metadata_client`;
:class:`WakuMetadata` puts both sides over one :class:`MetadataBook`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pystatus.p2p.connection import Connection
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics
from pystatus.waku.metadata_client import MetadataClient
from pystatus.waku.metadata_codec import (
    MAX_METADATA_SIZE,
    MAX_SHARDS,
    METADATA_PROTOCOL_ID,
    METADATA_TIMEOUT,
    ShardInfo,
    decode_metadata,
    encode_metadata,
)
from pystatus.waku.metadata_rules import MetadataBook, other_cluster
from pystatus.waku.metadata_server import MetadataServer

__all__ = [
    "MAX_METADATA_SIZE",
    "MAX_SHARDS",
    "METADATA_PROTOCOL_ID",
    "METADATA_TIMEOUT",
    "MetadataBook",
    "MetadataClient",
    "MetadataServer",
    "ShardInfo",
    "WakuMetadata",
    "decode_metadata",
    "encode_metadata",
    "other_cluster",
]


class WakuMetadata:
    """Serves our shard info and asks peers for theirs; ``peers`` holds what each peer said,
    for as long as it stays connected."""

    def __init__(self, host: Host, *, cluster_id: int, shards: Callable[[], Iterable[int]]) -> None:
        self.host = host
        self.cluster_id = cluster_id
        self.peers = MetadataBook()
        self.server = MetadataServer(host, self.peers, cluster_id=cluster_id, shards=shards)
        self.client = MetadataClient(host, self.peers, cluster_id=cluster_id, shards=shards)
        self._listening = False
        self._running = False

    def start(self) -> None:
        self.server.start()
        if not self._listening:
            self.host.on_disconnected(self._disconnected)
            self._listening = True
        self._running = True

    def stop(self) -> None:
        self._running = False
        self.server.stop()

    async def query(self, peer: PeerId) -> ShardInfo:
        """Ask ``peer`` for its cluster and shards; see :meth:`MetadataClient.query`."""
        return await self.client.query(peer)

    def _disconnected(self, connection: Connection) -> None:
        peer = connection.remote_peer
        if self._running and not self.host.connections(peer):
            self.peers.forget(peer)
            metrics.METADATA_PEERS.set(len(self.peers))
