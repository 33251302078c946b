"""Prometheus metrics of the p2p layer (names follow nim-libp2p's, as nwaku exports them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PEERS = Gauge("libp2p_peers", "Connected peers")
CONNECTIONS = Gauge("libp2p_open_connections", "Open connections", ["direction"])
NETWORK_BYTES = Counter(
    "libp2p_network_bytes", "Bytes on the wire of connections, upgrade included", ["direction"]
)
PROTOCOL_BYTES = Counter(
    "libp2p_protocol_bytes",
    "Bytes carried by streams after negotiation, by protocol id (known ids, else 'other'),"
    " before muxer and encryption framing (pystatus.p2p.bandwidth)",
    ["protocol", "direction"],
)
TRANSPORT_OVERHEAD_BYTES = Counter(
    "libp2p_transport_overhead_bytes",
    "Bytes on the wire that are no protocol's: kind handshake (connection upgrade), noise"
    " (frame length and tag), muxer (yamux/mplex framing), multistream (stream negotiation)",
    ["kind", "direction"],
)
CONNECTION_FLUSHES = Counter(
    "pystatus_p2p_connection_flushes",
    "Connection flushes (one Noise transport message or more each), by cause: turn (end of"
    " the event-loop turn the writes came in), limit (a full Noise message of data waiting)",
    ["reason"],
)
COALESCED_WRITES = Counter(
    "pystatus_p2p_coalesced_writes",
    "Stream operations whose frames joined a flush already due in the same loop turn",
)
STREAMS_OPENED = Counter("libp2p_streams_opened", "Streams opened", ["direction"])
PROTOCOL_ERRORS = Counter(
    "pystatus_p2p_protocol_errors", "Connections ended by a peer's protocol violation", ["kind"]
)
DIAL_FAILURES = Counter("pystatus_p2p_dial_failures", "Failed dials", ["reason"])
REFUSED_CONNECTIONS = Counter(
    "pystatus_p2p_refused_connections", "Inbound connections refused by a limit", ["reason"]
)
HANDSHAKE_FAILURES = Counter(
    "pystatus_p2p_handshake_failures", "Connection upgrades that failed", ["reason"]
)
NEGOTIATION_FAILURES = Counter(
    "pystatus_p2p_negotiation_failures", "Stream protocol negotiations that failed", ["direction"]
)
IDENTIFY_RECEIVED = Counter("pystatus_p2p_identify_received", "Identify messages received")
