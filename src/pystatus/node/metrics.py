"""Prometheus metrics of the node layer."""

from __future__ import annotations

from prometheus_client import Counter

PEERS_DROPPED = Counter("pystatus_node_peers_dropped", "Peers disconnected by policy", ["reason"])
