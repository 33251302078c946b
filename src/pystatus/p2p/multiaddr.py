"""Multiaddrs (multiformats/multiaddr): binary and text forms of the protocols libp2p uses here.

Binary: a sequence of ``uvarint(code) value``, where the value is fixed-size, absent, or
``uvarint(length) bytes`` depending on the protocol (multiaddr protocols.csv).
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import base58

from pystatus.p2p.errors import DecodeError, DialError
from pystatus.p2p.varint import decode_uvarint, encode_uvarint

if TYPE_CHECKING:
    from pystatus.p2p.peer_id import PeerId

# code -> (name, size): size in bytes, 0 for no value, -1 for a length-prefixed value.
_PROTOCOLS: dict[int, tuple[str, int]] = {
    4: ("ip4", 4),
    6: ("tcp", 2),
    273: ("udp", 2),
    41: ("ip6", 16),
    42: ("ip6zone", -1),
    53: ("dns", -1),
    54: ("dns4", -1),
    55: ("dns6", -1),
    56: ("dnsaddr", -1),
    290: ("p2p-circuit", 0),
    421: ("p2p", -1),
    445: ("onion3", 37),
    448: ("tls", 0),
    449: ("sni", -1),
    460: ("quic", 0),
    461: ("quic-v1", 0),
    465: ("webtransport", 0),
    466: ("certhash", -1),
    477: ("ws", 0),
    478: ("wss", 0),
    480: ("http", 0),
}
_CODES = {name: (code, size) for code, (name, size) in _PROTOCOLS.items()}
_CODES["ipfs"] = _CODES["p2p"]
_MAX_VALUE = 1024
_LIBP2P_KEY_CODEC = 0x72


def _peer_id_to_bytes(text: str) -> bytes:
    try:
        if text.startswith(("Qm", "1")):
            return bytes(base58.b58decode(text))
        if text.startswith("b"):
            raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
            version = decode_uvarint(raw)
            codec = decode_uvarint(raw, version[1]) if version else None
            if version is None or version[0] != 1 or codec is None or codec[0] != _LIBP2P_KEY_CODEC:
                raise DecodeError(f"{text!r} is not a libp2p-key CID")
            return raw[codec[1] :]
    except ValueError as exc:
        raise DecodeError(f"bad peer id {text!r}") from exc
    raise DecodeError(f"bad peer id {text!r}")


def _value_to_bytes(name: str, size: int, text: str) -> bytes:
    try:
        if name == "ip4":
            return ipaddress.IPv4Address(text).packed
        if name == "ip6":
            return ipaddress.IPv6Address(text).packed
        if name in ("tcp", "udp"):
            if not text.isdigit() or int(text) > 0xFFFF:
                raise DecodeError(f"bad port {text!r}")
            return int(text).to_bytes(2, "big")
        if name == "p2p":
            return _peer_id_to_bytes(text)
        if name == "onion3":
            host, _, port = text.partition(":")
            if len(host) != 56 or not port.isdigit() or not 1 <= int(port) <= 0xFFFF:
                raise DecodeError(f"bad onion3 address {text!r}")
            return base64.b32decode(host.upper()) + int(port).to_bytes(2, "big")
        if name == "certhash":
            if not text.startswith("u"):
                raise DecodeError("certhash must be base64url multibase")
            return base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
    except ValueError as exc:
        raise DecodeError(f"bad {name} value {text!r}") from exc
    encoded = text.encode()
    if not encoded or len(encoded) > _MAX_VALUE:
        raise DecodeError(f"bad {name} value")
    return encoded


def _value_to_text(name: str, raw: bytes) -> str:
    if name == "ip4":
        return str(ipaddress.IPv4Address(raw))
    if name == "ip6":
        return str(ipaddress.IPv6Address(raw))
    if name in ("tcp", "udp"):
        return str(int.from_bytes(raw, "big"))
    if name == "p2p":
        return base58.b58encode(raw).decode()
    if name == "certhash":
        return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if name == "onion3":
        port = int.from_bytes(raw[35:], "big")
        if port == 0:
            raise DecodeError("onion3 port 0")
        return base64.b32encode(raw[:35]).decode().lower() + f":{port}"
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{name} value is not UTF-8") from exc
    if "/" in text or not text:
        raise DecodeError(f"bad {name} value")
    return text


@dataclass(frozen=True)
class TcpEndpoint:
    host: str
    port: int
    family: str
    websocket: str | None


class Multiaddr:
    """An immutable multiaddr; equal and hashed by its binary form."""

    __slots__ = ("__dict__", "_bytes", "_parts")

    def __init__(self, parts: tuple[tuple[str, bytes], ...]) -> None:
        self._parts = parts
        out = bytearray()
        for name, raw in parts:
            code, size = _CODES[name]
            out += encode_uvarint(code)
            if size < 0:
                out += encode_uvarint(len(raw))
            out += raw
        self._bytes = bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> Multiaddr:
        parts: list[tuple[str, bytes]] = []
        offset = 0
        if not data:
            raise DecodeError("empty multiaddr")
        while offset < len(data):
            decoded = decode_uvarint(data, offset)
            if decoded is None:
                raise DecodeError("truncated multiaddr code")
            code, offset = decoded
            if code not in _PROTOCOLS:
                raise DecodeError(f"unknown multiaddr protocol {code}")
            name, size = _PROTOCOLS[code]
            if size < 0:
                length_field = decode_uvarint(data, offset)
                if length_field is None:
                    raise DecodeError("truncated multiaddr length")
                size, offset = length_field
                if size > _MAX_VALUE:
                    raise DecodeError(f"{name} value of {size} bytes")
            raw = data[offset : offset + size]
            if len(raw) != size:
                raise DecodeError(f"truncated {name} value")
            offset += size
            if size:
                _value_to_text(name, raw)  # validates
            parts.append((name, raw))
        return cls(tuple(parts))

    @classmethod
    def from_string(cls, text: str) -> Multiaddr:
        if not text.startswith("/"):
            raise DecodeError(f"multiaddr {text!r} must start with '/'")
        tokens = text.split("/")[1:]
        if tokens and tokens[-1] == "":
            tokens.pop()
        if not tokens:
            raise DecodeError("empty multiaddr")
        parts: list[tuple[str, bytes]] = []
        index = 0
        while index < len(tokens):
            name = tokens[index]
            index += 1
            if name not in _CODES:
                raise DecodeError(f"unknown multiaddr protocol {name!r}")
            canonical = _PROTOCOLS[_CODES[name][0]][0]
            size = _CODES[name][1]
            if size == 0:
                parts.append((canonical, b""))
                continue
            if index >= len(tokens):
                raise DecodeError(f"{name} needs a value")
            raw = _value_to_bytes(canonical, size, tokens[index])
            index += 1
            parts.append((canonical, raw))
        return cls(tuple(parts))

    def to_bytes(self) -> bytes:
        return self._bytes

    @cached_property
    def _text(self) -> str:
        out = []
        for name, raw in self._parts:
            out.append(f"/{name}")
            if _CODES[name][1] != 0:
                out.append("/" + _value_to_text(name, raw))
        return "".join(out)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Multiaddr({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Multiaddr) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    @property
    def components(self) -> tuple[tuple[str, str | None], ...]:
        return tuple(
            (name, _value_to_text(name, raw) if _CODES[name][1] != 0 else None)
            for name, raw in self._parts
        )

    def value_for(self, protocol: str) -> str | None:
        """The text value of the first ``protocol`` component; ``""`` for valueless ones."""
        for name, raw in self._parts:
            if name == protocol:
                return _value_to_text(name, raw) if _CODES[name][1] != 0 else ""
        return None

    def encapsulate(self, other: Multiaddr | str) -> Multiaddr:
        tail = Multiaddr.from_string(other) if isinstance(other, str) else other
        return Multiaddr(self._parts + tail._parts)

    def decapsulate_p2p(self) -> Multiaddr:
        if self._parts and self._parts[-1][0] == "p2p":
            return Multiaddr(self._parts[:-1])
        return self

    def with_peer_id(self, peer_id_text: str) -> Multiaddr:
        return self.decapsulate_p2p().encapsulate(f"/p2p/{peer_id_text}")

    @property
    def peer_id_bytes(self) -> bytes | None:
        for name, raw in reversed(self._parts):
            if name == "p2p":
                return raw
        return None

    @property
    def peer_id(self) -> PeerId | None:
        from pystatus.p2p.peer_id import PeerId

        raw = self.peer_id_bytes
        return PeerId.from_bytes(raw) if raw is not None else None


def tcp_endpoint(addr: Multiaddr) -> TcpEndpoint:
    """Where to open a TCP connection for ``addr``, and whether WebSocket rides on it."""
    parts = [name for name, _ in addr.components if name != "p2p"]
    if len(parts) < 2 or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[1] != "tcp":
        raise DialError(f"{addr} is not a TCP address")
    rest = parts[2:]
    websocket: str | None
    if not rest:
        websocket = None
    elif rest == ["ws"]:
        websocket = "ws"
    elif rest in (["wss"], ["tls", "ws"], ["tls", "sni", "ws"]):
        websocket = "wss"
    else:
        raise DialError(f"{addr} has a transport stack pystatus does not speak")
    host = addr.value_for(parts[0])
    port = addr.value_for("tcp")
    if host is None or port is None:
        raise DialError(f"{addr} lacks a host or port")
    return TcpEndpoint(host=host, port=int(port), family=parts[0], websocket=websocket)
