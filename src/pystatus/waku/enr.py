"""Ethereum Node Records (EIP-778) with the Waku fields (31/WAKU2-ENR).

A record is ``rlp([signature, seq, k1, v1, ...])`` with keys sorted, signed with the "v4"
identity scheme: secp256k1 over keccak256 of the record without its signature. Waku adds
``waku2`` (capability bits), ``multiaddrs`` (addresses ip/tcp cannot express, such as ws or dns)
and ``rs``/``rsv`` (relay shards).
"""

from __future__ import annotations

import base64
import ipaddress
import struct
from dataclasses import dataclass
from enum import IntFlag

import coincurve
from Crypto.Hash import keccak

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey, Secp256k1PublicKey
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import rlp
from pystatus.waku.errors import DecodeError, InvalidEnr, RemoteWakuError
from pystatus.waku.topics import decode_relay_shards, encode_relay_shards

MAX_RECORD_SIZE = 300
TEXT_PREFIX = "enr:"


class Capabilities(IntFlag):
    """The ``waku2`` field: which Waku protocols the node serves."""

    RELAY = 1
    STORE = 2
    FILTER = 4
    LIGHTPUSH = 8
    SYNC = 16


def keccak256(data: bytes) -> bytes:
    return keccak.new(data=data, digest_bits=256).digest()


def _encode_multiaddrs(addrs: list[Multiaddr]) -> bytes:
    return b"".join(struct.pack(">H", len(a.to_bytes())) + a.to_bytes() for a in addrs)


def _decode_multiaddrs(data: bytes) -> tuple[Multiaddr, ...]:
    addrs: list[Multiaddr] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InvalidEnr("truncated multiaddrs field")
        (length,) = struct.unpack_from(">H", data, offset)
        raw = data[offset + 2 : offset + 2 + length]
        if len(raw) != length:
            raise InvalidEnr("truncated multiaddr in the multiaddrs field")
        try:
            addrs.append(Multiaddr.from_bytes(raw))
        except P2PError as exc:
            raise InvalidEnr(f"bad multiaddr in the multiaddrs field: {exc}") from None
        offset += 2 + length
    return tuple(addrs)


@dataclass(frozen=True, slots=True)
class Enr:
    seq: int
    pairs: tuple[tuple[str, bytes], ...]
    signature: bytes

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        key: Secp256k1PrivateKey,
        *,
        seq: int = 1,
        ip: str | None = None,
        tcp: int | None = None,
        udp: int | None = None,
        capabilities: Capabilities | None = None,
        multiaddrs: list[Multiaddr] | None = None,
        cluster_id: int | None = None,
        shards: list[int] | None = None,
    ) -> Enr:
        fields: dict[str, bytes] = {
            "id": b"v4",
            "secp256k1": key.public_key.to_bytes(),
        }
        if ip is not None:
            address = ipaddress.ip_address(ip)
            fields["ip" if address.version == 4 else "ip6"] = address.packed
            if tcp is not None:
                fields["tcp" if address.version == 4 else "tcp6"] = rlp.encode_uint(tcp)
            if udp is not None:
                fields["udp" if address.version == 4 else "udp6"] = rlp.encode_uint(udp)
        if capabilities is not None:
            fields["waku2"] = bytes([int(capabilities)])
        if multiaddrs:
            fields["multiaddrs"] = _encode_multiaddrs([a.decapsulate_p2p() for a in multiaddrs])
        if cluster_id is not None and shards:
            value = encode_relay_shards(cluster_id, shards)
            fields["rsv" if len(value) > 3 + 2 * 63 else "rs"] = value
        pairs = tuple(sorted(fields.items()))
        signature = key.sign_recoverable(keccak256(rlp.encode(_content(seq, pairs))))[:64]
        record = cls(seq, pairs, signature)
        if len(record.to_bytes()) > MAX_RECORD_SIZE:
            raise InvalidEnr(f"record of {len(record.to_bytes())} bytes exceeds 300")
        return record

    # -- wire forms ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return rlp.encode([self.signature, *_content(self.seq, self.pairs)])

    def to_text(self) -> str:
        return TEXT_PREFIX + base64.urlsafe_b64encode(self.to_bytes()).decode().rstrip("=")

    def __str__(self) -> str:
        return self.to_text()

    @classmethod
    def from_text(cls, text: str) -> Enr:
        if not text.startswith(TEXT_PREFIX):
            raise InvalidEnr("an ENR's text form starts with 'enr:'")
        body = text[len(TEXT_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise InvalidEnr("ENR text is not base64url") from None
        return cls.from_bytes(raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> Enr:
        if len(data) > MAX_RECORD_SIZE:
            raise InvalidEnr(f"record of {len(data)} bytes exceeds 300")
        try:
            items = rlp.decode(data)
        except DecodeError as exc:
            raise InvalidEnr(f"record is not RLP: {exc}") from None
        if not isinstance(items, list) or len(items) < 2 or len(items) % 2:
            raise InvalidEnr("record must be a list of signature, seq and key/value pairs")
        fields = [item for item in items if isinstance(item, bytes)]
        if len(fields) != len(items):
            raise InvalidEnr("record fields must be byte strings")
        signature, raw_seq, *rest = fields
        try:
            seq = rlp.decode_uint(raw_seq)
        except DecodeError as exc:
            raise InvalidEnr(str(exc)) from None
        pairs: list[tuple[str, bytes]] = []
        for index in range(0, len(rest), 2):
            key, value = rest[index], rest[index + 1]
            try:
                name = key.decode()
            except UnicodeDecodeError:
                raise InvalidEnr("record key is not text") from None
            if pairs and name <= pairs[-1][0]:
                raise InvalidEnr("record keys must be sorted and unique")
            pairs.append((name, value))
        record = cls(seq, tuple(pairs), signature)
        record.verify()
        return record

    def verify(self) -> None:
        if self.get("id") != b"v4":
            raise InvalidEnr("only the v4 identity scheme is supported")
        if len(self.signature) != 64:
            raise InvalidEnr("a v4 signature is 64 bytes")
        public = self.get("secp256k1")
        if public is None:
            raise InvalidEnr("record lacks its secp256k1 key")
        digest = keccak256(rlp.encode(_content(self.seq, self.pairs)))
        for recovery in (0, 1):
            try:
                recovered = coincurve.PublicKey.from_signature_and_message(
                    self.signature + bytes([recovery]), digest, hasher=None
                )
            except (ValueError, TypeError):
                continue
            if recovered.format(compressed=True) == public:
                return
        raise InvalidEnr("record signature does not verify")

    # -- fields -------------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        for name, value in self.pairs:
            if name == key:
                return value
        return None

    @property
    def public_key(self) -> Secp256k1PublicKey:
        raw = self.get("secp256k1")
        if raw is None:
            raise InvalidEnr("record lacks its secp256k1 key")
        try:
            return Secp256k1PublicKey.from_bytes(raw)
        except P2PError:
            raise InvalidEnr("record's secp256k1 key is invalid") from None

    @property
    def peer_id(self) -> PeerId:
        return PeerId.from_public_key(self.public_key)

    def _ip(self, key: str, size: int) -> str | None:
        raw = self.get(key)
        if raw is None:
            return None
        if len(raw) != size:
            raise InvalidEnr(f"bad {key} field")
        return str(ipaddress.ip_address(raw))

    def _port(self, key: str) -> int | None:
        raw = self.get(key)
        if raw is None:
            return None
        if len(raw) > 2:
            raise InvalidEnr(f"bad {key} field")
        try:
            return rlp.decode_uint(raw)
        except DecodeError:
            raise InvalidEnr(f"bad {key} field") from None

    @property
    def ip(self) -> str | None:
        return self._ip("ip", 4)

    @property
    def ip6(self) -> str | None:
        return self._ip("ip6", 16)

    @property
    def tcp(self) -> int | None:
        return self._port("tcp")

    @property
    def udp(self) -> int | None:
        return self._port("udp")

    @property
    def capabilities(self) -> Capabilities | None:
        raw = self.get("waku2")
        if raw is None:
            return None
        if len(raw) != 1:
            raise InvalidEnr("bad waku2 field")
        return Capabilities(raw[0] & 0x1F)

    @property
    def multiaddrs(self) -> tuple[Multiaddr, ...]:
        raw = self.get("multiaddrs")
        return _decode_multiaddrs(raw) if raw is not None else ()

    @property
    def relay_shards(self) -> tuple[int, tuple[int, ...]] | None:
        raw = self.get("rs") or self.get("rsv")
        if raw is None:
            return None
        try:
            return decode_relay_shards(raw)
        except RemoteWakuError as exc:
            raise InvalidEnr(f"bad relay shard field: {exc}") from None

    def dial_addrs(self) -> list[Multiaddr]:
        """Every address the record gives, with ``/p2p/<peer id>``: ip/tcp first."""
        peer = str(self.peer_id)
        addrs: list[Multiaddr] = []
        for family, ip, port in (("ip4", self.ip, self.tcp), ("ip6", self.ip6, self._port("tcp6"))):
            if ip is not None and port:
                addrs.append(Multiaddr.from_string(f"/{family}/{ip}/tcp/{port}/p2p/{peer}"))
        addrs += [addr.with_peer_id(peer) for addr in self.multiaddrs]
        return addrs


def _content(seq: int, pairs: tuple[tuple[str, bytes], ...]) -> list[rlp.Item]:
    content: list[rlp.Item] = [rlp.encode_uint(seq)]
    for name, value in pairs:
        content += [name.encode(), value]
    return content
