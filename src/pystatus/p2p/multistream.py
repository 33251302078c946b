"""multistream-select 1.0 (multiformats/multistream-select, libp2p/specs connections/).

Every message is ``uvarint(len(line)) line`` where the line is UTF-8 ending in ``\\n``. Both
sides open with the header; the dialer proposes protocols one at a time and the listener
echoes the one it accepts or answers ``na``. The dialer sends its header and first proposal
together, as js-libp2p does, and bytes that arrive after the accepting line belong to the
negotiated protocol (``Negotiated.leftover``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
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


class _Negotiator:
    """What both sides share: the outgoing buffer, the line reader and the header check."""

    def __init__(self, max_line: int) -> None:
        self._reader = _LineReader(max_line)
        self._header_seen = False
        self._result: Negotiated | None = None
        self._out = bytearray()

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def _lines(self, data: bytes) -> Iterator[str]:
        """Protocol lines received, after the multistream header (which is checked)."""
        if self._result is not None:
            raise LocalProtocolError("negotiation already finished")
        self._reader.feed(data)
        while (line := self._reader.next_line()) is not None:
            if not self._header_seen:
                if line != MULTISTREAM_PROTOCOL_ID:
                    raise NegotiationError(f"peer does not speak multistream: {line!r}")
                self._header_seen = True
                self._on_header()
                continue
            yield line

    def _on_header(self) -> None:
        pass


class MultistreamDialer(_Negotiator):
    """The initiating side: proposes ``protocols`` in order until one is accepted."""

    def __init__(self, protocols: Sequence[str], *, max_line: int = 1024) -> None:
        if not protocols:
            raise LocalProtocolError("nothing to negotiate")
        super().__init__(max_line)
        self._protocols = list(protocols)
        self._index = 0
        self._out += encode_line(MULTISTREAM_PROTOCOL_ID) + encode_line(protocols[0])

    def receive_data(self, data: bytes) -> Negotiated | None:
        for line in self._lines(data):
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


class MultistreamListener(_Negotiator):
    """The responding side: accepts the first proposal that ``supported`` admits."""

    def __init__(
        self,
        supported: Callable[[str], bool] | Collection[str],
        *,
        max_line: int = 1024,
        max_attempts: int = 32,
    ) -> None:
        super().__init__(max_line)
        self._supported = supported
        self._attempts = 0
        self._max_attempts = max_attempts

    def _accepts(self, protocol: str) -> bool:
        if callable(self._supported):
            return self._supported(protocol)
        return protocol in self._supported

    def _on_header(self) -> None:
        self._out += encode_line(MULTISTREAM_PROTOCOL_ID)

    def receive_data(self, data: bytes) -> Negotiated | None:
        for line in self._lines(data):
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
