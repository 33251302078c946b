"""The node's DNS discovery: read its ENR trees now and then, and dial the nodes they list.

Records of another cluster (by their ``rs``/``rsv`` field) are left out, as nwaku's peer
manager leaves them; the rest are remembered, so peer exchange offers them too, and dialed
when not connected already. When the node runs discv5 too, every record read also seeds
discv5's routing table as a bootstrap node (those with an ip and udp port), as nwaku passes
the records DNS discovery found to discv5 beside ``--discv5-bootstrap-node``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pystatus.node.peer_manager_rules import Origin
from pystatus.p2p.errors import P2PError
from pystatus.waku import metrics
from pystatus.waku.dns_discovery import DnsDiscovery
from pystatus.waku.enr import Enr

if TYPE_CHECKING:
    from pystatus.node.node import WakuNode

log = logging.getLogger(__name__)

CONCURRENT_DIALS = 8
DIAL_TIMEOUT = 10.0
"""Seconds one dial may take."""


def dns_discovery(node: WakuNode) -> DnsDiscovery:
    """The discovery the node's config asks for. Raises
    :class:`~pystatus.waku.enrtree.InvalidEnrTree` or
    :class:`~pystatus.waku.dns_discovery.InvalidNameServer` for a bad URL or server."""
    config = node.config
    return DnsDiscovery(config.dns_discovery_urls, config.dns_discovery_name_servers)


async def dial_records(node: WakuNode, records: list[Enr]) -> int:
    """Remember and dial ``records`` of the node's cluster; returns how many were reached."""
    limit = asyncio.Semaphore(CONCURRENT_DIALS)
    cluster = node.config.cluster_id

    async def dial(enr: Enr) -> bool:
        async with limit:
            try:
                async with asyncio.timeout(DIAL_TIMEOUT):
                    await node.host.connect(enr.peer_id)
            except (P2PError, OSError, TimeoutError) as exc:
                log.debug("peer %s from DNS discovery unreachable: %s", enr.peer_id, exc)
                return False
            return True

    wanted = []
    for enr in records:
        if enr.peer_id == node.peer_id:
            continue
        shards = enr.relay_shards
        if shards is not None and shards[0] != cluster:
            metrics.DNSDISC_REFUSED.labels("other_cluster").inc()
            continue
        node.add_enr(enr, Origin.DNS)
        if not node.host.connections(enr.peer_id):
            wanted.append(enr)
    return sum(await asyncio.gather(*(dial(enr) for enr in wanted)))


async def dns_discovery_loop(node: WakuNode, discovery: DnsDiscovery) -> None:
    """Reads the trees and dials their nodes every ``dns_discovery_interval`` seconds."""
    seeded: set[tuple[bytes, int]] = set()
    while True:
        records = await discovery.resolve()
        # node.discv5 is set before start() first yields, so the first resolve finds it
        # (started or not: the service keeps records given before its start).
        if node.discv5 is not None:
            # Only records new since the last reading: the table keeps the others already.
            fresh = [r for r in records if (r.peer_id.to_bytes(), r.seq) not in seeded]
            seeded = {(r.peer_id.to_bytes(), r.seq) for r in records}
            taken = node.discv5.add_bootstrap(fresh)
            log.debug("DNS discovery: %d records seed discv5", taken)
        reached = await dial_records(node, records)
        log.info("DNS discovery: %d records, %d new peers reached", len(records), reached)
        await asyncio.sleep(node.config.dns_discovery_interval)
