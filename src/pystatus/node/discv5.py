"""The node's discv5 (33/WAKU2-DISCV5): a discovery service beside the libp2p host whose found
records go to the peer manager, which dials them when a shard or service slot needs a peer.

The node's record gains the UDP port; records of another cluster or of no shard we relay are
filtered out before they reach the peer store (``waku_discv5_filtered_records``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from pystatus.node.config import Discv5NodeConfig
from pystatus.node.peer_manager_rules import Origin
from pystatus.waku.discv5 import Discv5Config, Discv5Service, WakuEnrFilter
from pystatus.waku.enr import Enr

if TYPE_CHECKING:
    from pystatus.node.node import WakuNode

log = logging.getLogger(__name__)


def _primary_ip() -> str:
    """The address this host reaches the internet from (no packet is sent: a UDP socket's
    connect only picks the route); loopback when there is no route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any address, never used
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def advertised_ip(node: WakuNode) -> str:
    """The IP our record offers: ``--nat=extip``, else the listen address, else the route's."""
    if node.config.ext_ip:
        return node.config.ext_ip
    listen = ipaddress.ip_address(node.config.listen_address)
    return _primary_ip() if listen.is_unspecified else str(listen)


def discv5_service(node: WakuNode, config: Discv5NodeConfig) -> Discv5Service:
    """The discovery service of ``node``; its found records are handed to the node's peer
    manager with origin discv5. Raises :class:`~pystatus.errors.ConfigError` at start for an
    unusable port or bootstrap record."""
    if not config.bootstrap and not node.config.dns_discovery_urls:
        log.warning(
            "discv5 has no bootstrap node (--discv5-bootstrap-node, or a DNS tree): it finds "
            "peers only once one finds it"
        )
    shards = node.config.relay_shards if node.relay is not None else None
    return Discv5Service(
        node.config.identity,
        lambda ip, port: node.build_enr(ip=ip, udp=port),
        bind=(node.config.listen_address, config.udp_port),
        bootstrap=config.bootstrap,
        config=Discv5Config(refresh_interval=config.refresh_interval),
        enr_filter=WakuEnrFilter.of(node.config.cluster_id, shards or None),
        advertise_ip=advertised_ip(node),
        on_found=lambda enr: _found(node, enr),
        enr_auto_update=config.enr_auto_update,
    )


def _found(node: WakuNode, enr: Enr) -> None:
    if enr.peer_id != node.peer_id:
        node.add_enr(enr, Origin.DISCV5)
