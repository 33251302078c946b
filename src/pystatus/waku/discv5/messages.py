"""discv5 v5.1 messages (discv5-wire.md, "Protocol Messages"): ``message-type || rlp(data)``.

PING 0x01, PONG 0x02, FINDNODE 0x03, NODES 0x04, TALKREQ 0x05, TALKRESP 0x06. The topic
messages (0x07..0x0a) are not spoken: :func:`decode_message` refuses them as ``message``.
NODES keeps its records as raw bytes; the session core verifies each one separately so that
one bad record costs only itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pystatus.waku import rlp
from pystatus.waku.discv5.errors import PacketError
from pystatus.waku.errors import DecodeError

PING, PONG, FINDNODE, NODES, TALKREQ, TALKRESP = 1, 2, 3, 4, 5, 6
MAX_REQUEST_ID_SIZE = 8
MAX_DISTANCES = 257  # every distance, 0 to 256


@dataclass(frozen=True, slots=True)
class Ping:
    request_id: bytes
    enr_seq: int


@dataclass(frozen=True, slots=True)
class Pong:
    """``ip`` and ``port`` are the UDP envelope address the responder saw us at."""

    request_id: bytes
    enr_seq: int
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class FindNode:
    """``distances``: log2 distances from the recipient, 0 (its own record) to 256."""

    request_id: bytes
    distances: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Nodes:
    """One of ``total`` NODES answers to a request; ``records`` are raw ENRs, unverified."""

    request_id: bytes
    total: int
    records: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TalkReq:
    request_id: bytes
    protocol: bytes
    request: bytes


@dataclass(frozen=True, slots=True)
class TalkResp:
    request_id: bytes
    response: bytes


Message = Ping | Pong | FindNode | Nodes | TalkReq | TalkResp
REQUESTS = (Ping, FindNode, TalkReq)


def encode_message(message: Message) -> bytes:
    """``message-type || rlp([request-id, ...])``, the plaintext a packet seals."""
    u = rlp.encode_uint
    body: list[rlp.Item]
    match message:
        case Ping(rid, seq):
            kind, body = PING, [rid, u(seq)]
        case Pong(rid, seq, ip, port):
            kind, body = PONG, [rid, u(seq), ipaddress.ip_address(ip).packed, u(port)]
        case FindNode(rid, distances):
            kind, body = FINDNODE, [rid, [u(d) for d in distances]]
        case Nodes(rid, total, records):
            # An ENR is itself an RLP list: splice its encoding in rather than wrapping it.
            enrs = b"".join(records)
            head = rlp.encode(rid) + rlp.encode(u(total))
            listed = _list_prefix(len(enrs)) + enrs
            return bytes([NODES]) + _list_prefix(len(head) + len(listed)) + head + listed
        case TalkReq(rid, protocol, request):
            kind, body = TALKREQ, [rid, protocol, request]
        case TalkResp(rid, response):
            kind, body = TALKRESP, [rid, response]
    return bytes([kind]) + rlp.encode(body)


def pack_nodes(request_id: bytes, records: list[bytes], budget: int) -> list[Nodes]:
    """NODES answers carrying ``records`` (raw ENRs), at most ``budget`` record bytes each,
    every one naming the total; one empty answer when there is nothing (discv5-wire.md)."""
    packs: list[list[bytes]] = [[]]
    used = 0
    for raw in records:
        if packs[-1] and used + len(raw) > budget:
            packs.append([])
            used = 0
        packs[-1].append(raw)
        used += len(raw)
    return [Nodes(request_id, len(packs), tuple(pack)) for pack in packs]


def _list_prefix(length: int) -> bytes:
    if length < 56:
        return bytes([0xC0 + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(encoded)]) + encoded


def _uint(item: rlp.Item, what: str, limit: int) -> int:
    if not isinstance(item, bytes) or len(item) > 8:
        raise PacketError("message", f"{what} is not an integer")
    try:
        value = rlp.decode_uint(item)
    except DecodeError:
        raise PacketError("message", f"{what} has leading zeros") from None
    if value > limit:
        raise PacketError("message", f"{what} out of range")
    return value


def _bytes(item: rlp.Item, what: str) -> bytes:
    if not isinstance(item, bytes):
        raise PacketError("message", f"{what} is not a byte string")
    return item


def decode_message(plaintext: bytes) -> Message:
    """Parse a message plaintext; :class:`PacketError` (``message``) on any deviation."""
    if not plaintext:
        raise PacketError("message", "empty message")
    kind = plaintext[0]
    try:
        items = rlp.decode(plaintext[1:])
    except DecodeError as exc:
        raise PacketError("message", f"not RLP: {exc}") from None
    if not isinstance(items, list) or not items:
        raise PacketError("message", "message-data is not a list")
    rid = _bytes(items[0], "request-id")
    if len(rid) > MAX_REQUEST_ID_SIZE:
        raise PacketError("message", "request-id over 8 bytes")
    arity = {PING: 2, PONG: 4, FINDNODE: 2, NODES: 3, TALKREQ: 3, TALKRESP: 2}.get(kind)
    if arity is None:
        raise PacketError("message", f"unknown message type {kind}")
    # Extra trailing elements are tolerated, as EIP-8-style forward compatibility.
    if len(items) < arity:
        raise PacketError("message", f"type {kind} needs {arity} elements")
    u64 = 2**64 - 1
    if kind == PING:
        return Ping(rid, _uint(items[1], "enr-seq", u64))
    if kind == PONG:
        raw_ip = _bytes(items[2], "recipient-ip")
        if len(raw_ip) not in (4, 16):
            raise PacketError("message", "recipient-ip is 4 or 16 bytes")
        ip = str(ipaddress.ip_address(raw_ip))
        return Pong(rid, _uint(items[1], "enr-seq", u64), ip, _uint(items[3], "port", 65535))
    if kind == FINDNODE:
        raw = items[1]
        if not isinstance(raw, list) or len(raw) > MAX_DISTANCES:
            raise PacketError("message", "distances is not a list of at most 257")
        return FindNode(rid, tuple(_uint(d, "distance", 256) for d in raw))
    if kind == NODES:
        raw = items[2]
        if not isinstance(raw, list):
            raise PacketError("message", "ENRs is not a list")
        records = tuple(rlp.encode(record) for record in raw)
        return Nodes(rid, _uint(items[1], "total", 255), records)
    if kind == TALKREQ:
        return TalkReq(rid, _bytes(items[1], "protocol"), _bytes(items[2], "request"))
    return TalkResp(rid, _bytes(items[1], "response"))
