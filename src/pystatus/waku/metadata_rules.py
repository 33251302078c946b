"""66/WAKU2-METADATA, the rules (sans-IO): what we keep of each peer's answer, and whether a
peer belongs on our network.

A peer from another cluster relays nothing we route, so the node drops it (nwaku and go-waku
disconnect such peers too); one that names no cluster is given the benefit of the doubt.
Nothing here counts a metric or touches a socket; the adapters read :meth:`MetadataBook.__len__`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pystatus.p2p.peer_id import PeerId
from pystatus.waku.metadata_codec import ShardInfo

MAX_PEERS = 10_000
"""Peers whose shard info is kept at once; well over any connection limit."""


def other_cluster(our_cluster: int, info: ShardInfo) -> bool:
    """Whether ``info`` names a cluster other than ``our_cluster`` (then drop the peer)."""
    return info.cluster_id is not None and info.cluster_id != our_cluster


class MetadataBook:
    """Each peer's last :class:`ShardInfo`, bounded to ``capacity`` peers (the oldest entry
    goes first) and meant to be told when a peer's last connection closes (:meth:`forget`).

    Reads like a mapping: ``peer in book``, ``book[peer]``, ``len(book)``.
    """

    def __init__(self, capacity: int = MAX_PEERS) -> None:
        self.capacity = capacity
        self._peers: dict[PeerId, ShardInfo] = {}

    def __len__(self) -> int:
        return len(self._peers)

    def __contains__(self, peer: object) -> bool:
        return peer in self._peers

    def __getitem__(self, peer: PeerId) -> ShardInfo:
        return self._peers[peer]

    def __iter__(self) -> Iterator[PeerId]:
        return iter(self._peers)

    def get(self, peer: PeerId) -> ShardInfo | None:
        return self._peers.get(peer)

    def record(self, peer: PeerId, info: ShardInfo) -> None:
        """Keep ``info`` as ``peer``'s latest, evicting the oldest entry when full."""
        self._peers.pop(peer, None)
        if len(self._peers) >= self.capacity:
            del self._peers[next(iter(self._peers))]
        self._peers[peer] = info

    def forget(self, peer: PeerId) -> None:
        self._peers.pop(peer, None)
