"""Where a relay node's one-off store look-up goes when it has no ``--storenode``.

A chat client on relay asks a store for what it cannot wait for on relay: a community's
description it never saw (status-go's ``FetchCommunity`` asks the store nodes it knows). The
``--storenode`` is asked when given; else any connected peer whose identify lists store v3
(``/vac/waku/store-query/3.0.0``), as a relay peer started with ``--store`` does. Without
either, the caller is told there is none (None), and says so.
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Counter

from pystatus.node.node import StorePeer, WakuNode
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.store import StoreQuery, StoreResponse
from pystatus.waku.store_client import StoreClient
from pystatus.waku.store_codec import STORE_PROTOCOL_ID

LOOKUPS = Counter(
    "node_store_lookups",
    "One-off store look-ups of a relay node without --storenode, by where they went: a"
    " connected store peer (peer) or none known (none)",
    ["found"],
)


class ConnectedStorePeer:
    """Store queries to one connected peer that serves store (``peer``)."""

    def __init__(self, client: StoreClient, peer: PeerId) -> None:
        self.client = client
        self.peer = peer

    async def query(self, query: StoreQuery) -> StoreResponse:
        """One store v3 query; raises what :meth:`StoreClient.query` raises."""
        return await self.client.query(self.peer, query)


async def find_store(node: WakuNode) -> StorePeer | ConnectedStorePeer | None:
    """The ``--storenode``, else a connected peer that serves store, else None. Connections
    whose identify is still under way are waited for (at most the host's identify timeout,
    5 s), so a static node dialled a moment ago counts."""
    configured = node.store_peer()
    if configured is not None:
        return configured
    host = node.host
    pending = [host.wait_identified(c) for c in host.connections()]
    if pending:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(host.config.identify_timeout):
                await asyncio.gather(*pending)
    for peer in host.connected_peers():
        record = host.peerstore.get(peer)
        if record is not None and STORE_PROTOCOL_ID in record.protocols:
            LOOKUPS.labels("peer").inc()
            return ConnectedStorePeer(node.store_client, peer)
    LOOKUPS.labels("none").inc()
    return None
