"""Unsigned LEB128 varints (multiformats unsigned-varint) and varint-length-prefixed framing.

The multiformats spec caps a varint at 9 bytes (63 bits) and forbids non-minimal encodings;
both are enforced on decode so a peer cannot make us buffer an unbounded varint.
"""

from __future__ import annotations

from collections.abc import Iterator

from pystatus.p2p.errors import DecodeError, LimitExceeded, LocalProtocolError

MAX_VARINT_BYTES = 9


def encode_uvarint(value: int) -> bytes:
    if value < 0 or value >= 1 << 63:
        raise LocalProtocolError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_uvarint(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int] | None:
    """Decode one varint at ``offset``.

    Returns ``(value, next_offset)``, or ``None`` when ``data`` ends before the varint does.
    Raises :class:`DecodeError` for an over-long or non-minimal varint.
    """
    value = 0
    shift = 0
    end = len(data)
    index = offset
    while index < end:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and index - offset > 1:
                raise DecodeError("non-minimal varint")
            return value, index
        shift += 7
        if index - offset >= MAX_VARINT_BYTES:
            raise DecodeError("varint longer than 9 bytes")
    return None


def decode_uvarint_exact(data: bytes) -> int:
    """Decode a buffer that holds exactly one varint and nothing else."""
    result = decode_uvarint(data)
    if result is None or result[1] != len(data):
        raise DecodeError("expected exactly one varint")
    return result[0]


def length_prefixed(payload: bytes) -> bytes:
    return encode_uvarint(len(payload)) + payload


class LengthPrefixedReader:
    """Sans-IO splitter of a byte stream into varint-length-prefixed messages.

    ``max_size`` bounds each message; a longer declared length raises :class:`LimitExceeded`
    before any of its body is buffered.
    """

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Add ``data`` and yield every message it completes."""
        self._buffer += data
        while True:
            header = decode_uvarint(self._buffer)
            if header is None:
                return
            length, start = header
            if length > self._max_size:
                raise LimitExceeded(f"message of {length} bytes exceeds limit {self._max_size}")
            end = start + length
            if len(self._buffer) < end:
                return
            message = bytes(self._buffer[start:end])
            del self._buffer[:end]
            yield message
