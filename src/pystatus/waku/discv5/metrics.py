"""Prometheus metrics of discv5 (``waku_discv5_*``; nwaku names ``waku_discv5_discovered`` and
``waku_discv5_errors``). Gauges move by ``inc``/``dec`` so several cores in one process (tests,
simulations) add up instead of overwriting each other."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PACKETS = Counter("waku_discv5_packets", "discv5 datagrams by direction", ["direction"])
BYTES = Counter("waku_discv5_bytes", "discv5 datagram bytes by direction", ["direction"])
MESSAGES = Counter(
    "waku_discv5_messages", "discv5 messages by type and direction", ["type", "direction"]
)
DROPPED = Counter(
    "waku_discv5_dropped_packets", "discv5 datagrams or messages dropped, by reason", ["reason"]
)
ERRORS = Counter("waku_discv5_errors", "discv5 failures by kind", ["kind"])
HANDSHAKES = Counter("waku_discv5_handshakes", "discv5 handshakes completed, by our role", ["role"])
SESSIONS = Gauge("waku_discv5_sessions", "discv5 sessions held in the session cache")
SESSIONS_EVICTED = Counter(
    "waku_discv5_sessions_evicted", "discv5 sessions dropped from the full session cache"
)
CHALLENGES = Gauge("waku_discv5_pending_challenges", "WHOAREYOU challenges awaiting a handshake")
HANDSHAKES_PENDING = Gauge(
    "waku_discv5_pending_handshakes", "Peers we sent a first packet to and await WHOAREYOU from"
)
REQUESTS_PENDING = Gauge("waku_discv5_pending_requests", "discv5 requests awaiting responses")
REQUEST_TIMEOUTS = Counter(
    "waku_discv5_request_timeouts", "discv5 requests that got no response in time", ["type"]
)
TABLE_NODES = Gauge("waku_discv5_table_nodes", "Nodes in the discv5 routing table")
TABLE_REPLACEMENTS = Gauge(
    "waku_discv5_table_replacements", "Nodes waiting in the routing table's replacement caches"
)
LOOKUPS = Counter("waku_discv5_lookups", "discv5 lookups finished")
DISCOVERED = Counter("waku_discv5_discovered", "Records found by discv5 that passed the filter")
FILTERED = Counter(
    "waku_discv5_filtered_records", "Records found by discv5 that the filter refused", ["reason"]
)
FOUND_DROPPED = Counter(
    "waku_discv5_found_dropped", "Found records dropped because no one read them in time"
)
ENR_UPDATES = Counter(
    "waku_discv5_enr_updates", "Our record re-signed with the endpoint peers see us at"
)
