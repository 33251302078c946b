"""The node's DNS discovery: read its ENR trees now and then, and dial the nodes they list.

Records of another cluster (by their ``rs``/``rsv`` field) are left out, as nwaku's peer
manager leaves them; the rest are remembered, so peer exchange offers them too, and dialed
when not connected already.
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
    while True:
        records = await discovery.resolve()
        reached = await dial_records(node, records)
        log.info("DNS discovery: %d records, %d new peers reached", len(records), reached)
        await asyncio.sleep(node.config.dns_discovery_interval)
