"""Prometheus metrics of the waku layer (nwaku's ``waku_*`` names where they exist)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RELAY_MESSAGES = Counter(
    "waku_relay_messages", "Relay messages by pubsub topic and direction", ["topic", "direction"]
)
RELAY_BYTES = Counter(
    "waku_relay_network_bytes",
    "Relay message bytes by pubsub topic and direction",
    ["topic", "direction"],
)
RELAY_INVALID = Counter(
    "waku_relay_invalid_messages", "Relay messages rejected by validation", ["reason"]
)
RELAY_DUPLICATES = Counter("waku_relay_duplicate_messages", "Relay messages seen before")
RELAY_PEERS = Gauge("waku_relay_peers", "Peers speaking relay")
RELAY_DROPPED_RPCS = Counter(
    "waku_relay_dropped_rpcs", "RPCs dropped because a peer's send queue was full"
)
RELAY_SEND_QUEUE = Gauge("waku_relay_send_queue_bytes", "Bytes waiting in relay send queues")
RELAY_STREAM_FAILURES = Counter(
    "waku_relay_stream_failures",
    "Outgoing relay streams that failed to open or died (the peer connected), by kind",
    ["kind"],
)
RELAY_STREAM_BACKOFF = Gauge(
    "waku_relay_stream_backoff_peers",
    "Relay peers whose outgoing stream is not open: opening, or waiting to reopen after a failure",
)
RELAY_FAULTS = Counter(
    "waku_relay_injected_faults", "What the testing fault layer did to incoming messages", ["kind"]
)
RELAY_GRAYLISTED = Counter("waku_relay_graylisted_peers", "Peers whose score fell below graylist")

PROTOCOL_MESSAGES = Counter(
    "waku_protocol_messages", "Request/response exchanges by protocol", ["protocol", "direction"]
)
PROTOCOL_ERRORS = Counter(
    "waku_protocol_errors",
    "Failed request/response exchanges by protocol and kind",
    ["protocol", "kind"],
)
PROTOCOL_BYTES = Counter(
    "waku_protocol_bytes",
    "Request/response bytes by protocol and direction",
    ["protocol", "direction"],
)

FILTER_SUBSCRIBERS = Gauge("waku_filter_subscriptions", "Peers with filter subscriptions")
FILTER_CRITERIA = Gauge("waku_filter_criteria", "Filter criteria (pubsub, content topic) served")
FILTER_REQUESTS = Counter("waku_filter_requests", "Filter requests served by type", ["type"])
FILTER_EXPIRED = Counter(
    "waku_filter_subscriptions_expired", "Subscribers forgotten after no request for too long"
)
FILTER_DISCONNECTED = Counter(
    "waku_filter_subscribers_disconnected",
    "Subscribers forgotten when their last connection closed",
)
FILTER_PUSH_QUEUE = Gauge("waku_filter_push_queue", "Filter pushes waiting to be written")
FILTER_PUSHES_DROPPED = Counter(
    "waku_filter_pushes_dropped", "Filter pushes not delivered, by reason", ["reason"]
)

LIGHTPUSH_MESSAGES = Counter(
    "waku_lightpush_messages", "Light push requests served, by status code", ["status"]
)

METADATA_PEERS = Gauge(
    "waku_metadata_peers", "Connected peers whose cluster and shards metadata told us"
)

PX_PEERS_SENT = Counter("waku_px_peers_sent", "ENRs sent to peer exchange requesters")
PX_PEERS_RECEIVED = Counter("waku_px_peers_received", "ENRs received by peer exchange")
PX_PEERS_CACHED = Gauge("waku_px_peers_cached", "ENRs kept to answer peer exchange")
RELAY_OBSERVER_FAILURES = Counter(
    "waku_relay_observer_failures", "Relayed messages an in-process observer failed on"
)

DNSDISC_REFUSED = Counter(
    "waku_dnsdisc_refused",
    "ENR tree roots and entries refused by DNS discovery (EIP-1459)",
    ["reason"],
)
DNSDISC_LOOKUPS = Counter("waku_dnsdisc_lookups", "DNS discovery TXT lookups", ["result"])
DNSDISC_RECORDS = Gauge("waku_dnsdisc_records", "Node records in the last reading of the trees")
DNSDISC_CACHE = Gauge("waku_dnsdisc_cache_entries", "Checked ENR tree entries kept")
