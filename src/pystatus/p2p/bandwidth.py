"""Bytes on the wire by libp2p protocol, with the transport's own overhead counted beside them.

Every byte a connection's socket carries lands in exactly one bucket, so the buckets add up to
the socket's bytes once the connection's buffers are empty:

- a **protocol id** (``/vac/waku/relay/2.0.0``, ``/ipfs/id/1.0.0``, ...): what a stream carried
  after multistream-select agreed on that protocol. Ids outside :data:`KNOWN_PROTOCOLS` are
  counted as ``other``, so the metric's labels stay bounded;
- ``multistream``: a stream's protocol negotiation (multistream-select lines);
- ``muxer``: yamux headers, window updates and pings, or mplex headers;
- ``noise``: each Noise transport frame's 2-byte length and 16-byte tag;
- ``handshake``: the connection upgrade (multistream-select for security and muxer, Noise XX).

WebSocket framing sits below the transport's byte stream and is not counted.

Counting happens where the bytes already pass (stream reads and writes, the connection's
flush and read loop) with one dict update per frame, never per byte. A :class:`Traffic` per
connection feeds its host's, which feeds the process-wide Prometheus counters
``libp2p_protocol_bytes_total{protocol,direction}`` and
``libp2p_transport_overhead_bytes_total{kind,direction}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter

from pystatus.p2p import metrics

MULTISTREAM = "multistream"
MUXER = "muxer"
NOISE = "noise"
HANDSHAKE = "handshake"
OTHER = "other"
OVERHEAD = (HANDSHAKE, NOISE, MUXER, MULTISTREAM)
"""The transport's own buckets, in the order a connection pays them."""

KNOWN_PROTOCOLS = frozenset(
    {
        "/vac/waku/relay/2.0.0",
        "/meshsub/1.1.0",
        "/meshsub/1.0.0",
        "/vac/waku/filter-subscribe/2.0.0-beta1",
        "/vac/waku/filter-push/2.0.0-beta1",
        "/vac/waku/lightpush/3.0.0",
        "/vac/waku/lightpush/2.0.0-beta1",
        "/vac/waku/store-query/3.0.0",
        "/vac/waku/metadata/1.0.0",
        "/vac/waku/peer-exchange/2.0.0-alpha1",
        "/ipfs/id/1.0.0",
        "/ipfs/id/push/1.0.0",
        "/ipfs/ping/1.0.0",
    }
)
"""Protocol ids that get their own bucket and label (the codecs of ARCHITECTURE.md's wire
facts, as strings: p2p does not import waku)."""


def protocol_label(protocol: str) -> str:
    """The bucket for a negotiated protocol id: itself when known, else ``other``."""
    return protocol if protocol in KNOWN_PROTOCOLS else OTHER


@dataclass(frozen=True, slots=True)
class Bytes:
    """Bytes received (``inbound``) and sent (``outbound``)."""

    inbound: int = 0
    outbound: int = 0

    @property
    def total(self) -> int:
        return self.inbound + self.outbound

    def __add__(self, other: Bytes) -> Bytes:
        return Bytes(self.inbound + other.inbound, self.outbound + other.outbound)

    def __sub__(self, other: Bytes) -> Bytes:
        return Bytes(self.inbound - other.inbound, self.outbound - other.outbound)


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """A snapshot of byte counts: ``buckets`` maps a protocol id, ``other`` or one of
    :data:`OVERHEAD` to its :class:`Bytes`. Buckets never used are absent."""

    buckets: Mapping[str, Bytes] = field(default_factory=dict)

    def __getitem__(self, bucket: str) -> Bytes:
        return self.buckets.get(bucket, Bytes())

    @property
    def protocols(self) -> dict[str, Bytes]:
        """The protocol buckets (``other`` included), without the transport's overhead."""
        return {k: v for k, v in self.buckets.items() if k not in OVERHEAD}

    @property
    def overhead(self) -> Bytes:
        return sum((self[kind] for kind in OVERHEAD), Bytes())

    @property
    def socket(self) -> Bytes:
        """Everything: what the sockets carried (WebSocket framing aside)."""
        return sum(self.buckets.values(), Bytes())

    def __add__(self, other: Bandwidth) -> Bandwidth:
        keys = self.buckets.keys() | other.buckets.keys()
        return Bandwidth({k: self[k] + other[k] for k in keys})

    def __sub__(self, other: Bandwidth) -> Bandwidth:
        """The traffic between two snapshots of the same counter (``later - earlier``);
        buckets without any are left out."""
        keys = self.buckets.keys() | other.buckets.keys()
        difference = {k: self[k] - other[k] for k in keys}
        return Bandwidth({k: v for k, v in difference.items() if v != Bytes()})


_COUNTERS: dict[tuple[str, bool], Counter] = {}


def _prometheus(bucket: str, inbound: bool) -> Counter:
    counter = _COUNTERS.get((bucket, inbound))
    if counter is None:
        direction = "in" if inbound else "out"
        if bucket in OVERHEAD:
            counter = metrics.TRANSPORT_OVERHEAD_BYTES.labels(bucket, direction)
        else:
            counter = metrics.PROTOCOL_BYTES.labels(bucket, direction)
        _COUNTERS[(bucket, inbound)] = counter
    return counter


class Traffic:
    """Running byte counts by bucket; a connection's adds to its host's (``parent``), and a
    root (host) counter also feeds Prometheus. ``bucket`` must already be a bucket name
    (:func:`protocol_label` or one of :data:`OVERHEAD`): the table is bounded by them."""

    __slots__ = ("_counts", "_parent")

    def __init__(self, parent: Traffic | None = None) -> None:
        self._counts: dict[tuple[str, bool], int] = {}
        self._parent = parent

    def add(self, bucket: str, inbound: bool, amount: int) -> None:
        if amount <= 0:
            return
        key = (bucket, inbound)
        traffic: Traffic | None = self
        while traffic is not None:  # a loop, not recursion: this runs several times a message
            counts = traffic._counts
            counts[key] = counts.get(key, 0) + amount
            if traffic._parent is None:
                _prometheus(bucket, inbound).inc(amount)
            traffic = traffic._parent

    def snapshot(self) -> Bandwidth:
        buckets: dict[str, Bytes] = {}
        for (bucket, inbound), amount in self._counts.items():
            seen = buckets.get(bucket, Bytes())
            buckets[bucket] = seen + (Bytes(amount, 0) if inbound else Bytes(0, amount))
        return Bandwidth(buckets)
