"""Prometheus metrics of the node layer."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PEERS_DROPPED = Counter("pystatus_node_peers_dropped", "Peers disconnected by policy", ["reason"])
RELAY_SUBSCRIPTIONS = Gauge(
    "pystatus_node_relay_subscriptions",
    "Pubsub and content topics the node relays by configuration or REST subscription",
    ["kind"],
)
