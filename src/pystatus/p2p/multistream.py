"""multistream-select 1.0 (multiformats/multistream-select, libp2p/specs connections/).

Every message is ``uvarint(len(line)) line`` where the line is UTF-8 ending in ``\\n``. Both
sides open with the header; the dialer proposes protocols one at a time and the listener
echoes the one it accepts or answers ``na``. The dialer sends its header and first proposal
together, as js-libp2p does, and bytes that arrive after the accepting line belong to the
negotiated protocol (``Negotiated.leftover``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from pystatus.p2p.errors import (
    DecodeError,
    LimitExceeded,
    LocalProtocolError,
    NegotiationError,
)
from pystatus.p2p.varint import decode_uvarint, encode_uvarint

MULTISTREAM_PROTOCOL_ID = "/multistream/1.0.0"
NA = "na"
LS = "ls"


@dataclass(frozen=True, slots=True)
class Negotiated:
    protocol: str
    leftover: bytes


def encode_line(text: str) -> bytes:
    payload = text.encode() + b"\n"
    return encode_uvarint(len(payload)) + payload


class _LineReader:
    def __init__(self, max_line: int) -> None:
        self._max_line = max_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_line(self) -> str | None:
        header = decode_uvarint(self._buffer)
        if header is None:
            if len(self._buffer) > 9:
                raise DecodeError("bad multistream length prefix")
            return None
        length, start = header
        if length > self._max_line:
            raise LimitExceeded(f"multistream line of {length} bytes")
        if length == 0:
            raise DecodeError("empty multistream message")
        if len(self._buffer) < start + length:
            return None
        raw = bytes(self._buffer[start : start + length])
        del self._buffer[: start + length]
        if not raw.endswith(b"\n"):
            raise DecodeError("multistream line without trailing newline")
        try:
            return raw[:-1].decode()
        except UnicodeDecodeError as exc:
            raise DecodeError("multistream line is not UTF-8") from exc

    def rest(self) -> bytes:
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


class MultistreamDialer:
    """The initiating side: proposes ``protocols`` in order until one is accepted."""

    def __init__(self, protocols: Sequence[str], *, max_line: int = 1024) -> None:
        if not protocols:
            raise LocalProtocolError("nothing to negotiate")
        self._protocols = list(protocols)
        self._index = 0
        self._reader = _LineReader(max_line)
        self._header_seen = False
        self._result: Negotiated | None = None
        self._out = bytearray(encode_line(MULTISTREAM_PROTOCOL_ID) + encode_line(protocols[0]))

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive_data(self, data: bytes) -> Negotiated | None:
        if self._result is not None:
            raise LocalProtocolError("negotiation already finished")
        self._reader.feed(data)
        while (line := self._reader.next_line()) is not None:
            if not self._header_seen:
                if line != MULTISTREAM_PROTOCOL_ID:
                    raise NegotiationError(f"peer does not speak multistream: {line!r}")
                self._header_seen = True
                continue
            proposed = self._protocols[self._index]
            if line == proposed:
                self._result = Negotiated(proposed, self._reader.rest())
                return self._result
            if line != NA:
                raise NegotiationError(f"peer answered {line!r} to {proposed!r}")
            self._index += 1
            if self._index >= len(self._protocols):
                raise NegotiationError(f"peer supports none of {self._protocols}")
            self._out += encode_line(self._protocols[self._index])
        return None


class MultistreamListener:
    """The responding side: accepts the first proposal that ``supported`` admits."""

    def __init__(
        self,
        supported: Callable[[str], bool] | Collection[str],
        *,
        max_line: int = 1024,
        max_attempts: int = 32,
    ) -> None:
        self._supported = supported
        self._reader = _LineReader(max_line)
        self._header_seen = False
        self._attempts = 0
        self._max_attempts = max_attempts
        self._result: Negotiated | None = None
        self._out = bytearray()

    def _accepts(self, protocol: str) -> bool:
        if callable(self._supported):
            return self._supported(protocol)
        return protocol in self._supported

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive_data(self, data: bytes) -> Negotiated | None:
        if self._result is not None:
            raise LocalProtocolError("negotiation already finished")
        self._reader.feed(data)
        while (line := self._reader.next_line()) is not None:
            if not self._header_seen:
                if line != MULTISTREAM_PROTOCOL_ID:
                    raise NegotiationError(f"peer does not speak multistream: {line!r}")
                self._header_seen = True
                self._out += encode_line(MULTISTREAM_PROTOCOL_ID)
                continue
            self._attempts += 1
            if self._attempts > self._max_attempts:
                raise LimitExceeded("too many protocol proposals")
            if line == LS:
                if callable(self._supported):
                    listing = b""
                else:
                    listing = b"".join(encode_line(p) for p in sorted(self._supported))
                self._out += encode_uvarint(len(listing) + 1) + listing + b"\n"
                continue
            if self._accepts(line):
                self._out += encode_line(line)
                self._result = Negotiated(line, self._reader.rest())
                return self._result
            self._out += encode_line(NA)
        return None
