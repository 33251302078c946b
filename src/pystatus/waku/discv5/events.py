"""What the discv5 core hands its caller (frozen dataclasses; discv5-wire.md names)."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.waku.enr import Enr

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class SendDatagram:
    """Send ``data`` (at most 1280 bytes) as one UDP datagram to ``endpoint`` (ip, port)."""

    data: bytes
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class NodeFound:
    """A record passed the ENR filter: seen for the first time, or with a higher seq."""

    record: Enr


@dataclass(frozen=True, slots=True)
class LookupFinished:
    """A lookup ended: ``records`` are the closest to ``target`` that answered, nearest first,
    unfiltered (the filter decides what :class:`NodeFound` announces, not routing)."""

    lookup_id: int
    target: bytes
    records: tuple[Enr, ...]


@dataclass(frozen=True, slots=True)
class PongReceived:
    """A PONG: ``ip``/``port`` is where ``node_id`` saw our packets come from (for ENR
    auto-update behind NAT, discv5-theory.md "Maintaining The Local Node Record")."""

    node_id: bytes
    ip: str
    port: int


Event = SendDatagram | NodeFound | LookupFinished | PongReceived
