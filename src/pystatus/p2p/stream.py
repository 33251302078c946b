"""An asyncio view of one multiplexed stream.

The stream itself holds no protocol logic: data and end-of-stream are pushed in by its
:class:`~pystatus.p2p.connection.Connection`, and writes go straight to the muxer session.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import TYPE_CHECKING

from pystatus.p2p.bandwidth import MULTISTREAM, protocol_label
from pystatus.p2p.errors import (
    DecodeError,
    LimitExceeded,
    LocalProtocolError,
    StreamClosed,
    StreamReset,
)
from pystatus.p2p.varint import decode_uvarint, encode_uvarint

if TYPE_CHECKING:
    from pystatus.p2p.connection import Connection


class Stream:
    """One stream of a connection: read, write, half-close, reset.

    Its bytes are counted in the connection's :class:`~pystatus.p2p.bandwidth.Traffic`: those
    received when they arrive (read or not), those sent when the muxer takes them; under
    ``multistream`` until :meth:`negotiated`, then under the protocol's bucket.
    """

    def __init__(self, connection: Connection, stream_id: int, *, inbound: bool) -> None:
        self.connection = connection
        self.stream_id = stream_id
        self.inbound = inbound
        self._protocol: str | None = None
        self._traffic = connection.traffic
        self._bucket = MULTISTREAM
        # Before negotiation ends, arrivals wait here: the part multistream consumed is known
        # only once it ends (what it read, less what it read past its last line).
        self._early_in = 0
        self._early_read = 0
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._preconsumed = 0
        self._eof = False
        self._reset = False
        self._write_closed = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._window_waiter: asyncio.Future[None] | None = None
        self._receiver: Callable[[bytes], None] | None = None
        self._receiver_error: Exception | None = None

    def __repr__(self) -> str:
        direction = "in" if self.inbound else "out"
        return (
            f"<Stream {self.stream_id} {direction} {self.protocol} {self.connection.remote_peer}>"
        )

    @property
    def protocol(self) -> str | None:
        return self._protocol

    def negotiated(self, protocol: str, leftover: bytes) -> None:
        """Multistream-select agreed on ``protocol`` and read ``leftover`` past its last line:
        from now on the stream's bytes count under ``protocol``, and ``leftover`` is read
        again first."""
        self._protocol = protocol
        self._bucket = protocol_label(protocol)
        negotiation = self._early_read - len(leftover)
        self._traffic.add(MULTISTREAM, True, negotiation)
        self._traffic.add(self._bucket, True, self._early_in - negotiation)
        self._early_in = self._early_read = 0
        self.unread(leftover)

    @property
    def remote_peer(self) -> object:
        return self.connection.remote_peer

    @property
    def is_reset(self) -> bool:
        return self._reset

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    # -- called by the connection -------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        if self._protocol is None:
            self._early_in += len(data)
        else:
            self._traffic.add(self._bucket, True, len(data))
        if self._receiver is not None:
            self._hand_over(self._receiver, data)
            return
        self._chunks.append(data)
        self._buffered += len(data)
        self._wake_reader()

    def _hand_over(self, receiver: Callable[[bytes], None], data: bytes) -> None:
        self._taken(data)
        try:
            receiver(data)
        except Exception as exc:
            # The connection carries on; the stream's reader learns of it from read().
            self._receiver = None
            self._receiver_error = exc
            self._wake_reader()

    def _on_eof(self) -> None:
        self._eof = True
        self._wake_reader()

    def _on_reset(self) -> None:
        self._settle_early()
        self._reset = True
        self._chunks.clear()
        self._buffered = 0
        self._wake_reader()
        self._wake_writer()

    def _on_window(self) -> None:
        self._wake_writer()

    def _settle_early(self) -> None:
        """A stream that ends unnegotiated carried only negotiation."""
        if self._protocol is None and self._early_in:
            self._traffic.add(MULTISTREAM, True, self._early_in)
            self._early_in = self._early_read = 0

    def _wake_reader(self) -> None:
        if self._read_waiter is not None and not self._read_waiter.done():
            self._read_waiter.set_result(None)

    def _wake_writer(self) -> None:
        if self._window_waiter is not None and not self._window_waiter.done():
            self._window_waiter.set_result(None)

    # -- reading ------------------------------------------------------------------------------

    def unread(self, data: bytes) -> None:
        """Put bytes back in front (what negotiation read past its last line)."""
        if data:
            self._chunks.appendleft(data)
            self._buffered += len(data)
            # They were reported as consumed when first read: don't report them twice.
            self._preconsumed += len(data)

    def set_receiver(self, receiver: Callable[[bytes], None]) -> None:
        """Hand every chunk to ``receiver`` when it arrives, inside the connection's read loop,
        instead of keeping it for :meth:`read`: a protocol that handles each chunk at once
        (relay) saves a task switch per chunk. What is buffered goes first. The window is
        reopened as chunks are handed over, so ``receiver`` must not keep them unbounded.
        :meth:`read` still sees the end of the stream (``b""``) and a reset; if ``receiver``
        raises, the next :meth:`read` raises that error and chunks are kept for it again."""
        self._receiver = receiver
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._buffered = 0
            self._hand_over(receiver, data)

    def _taken(self, data: bytes) -> None:
        """``data`` left the stream's buffer: reopen the window for it, count negotiation."""
        consumed = len(data)
        if self._preconsumed:
            already = min(self._preconsumed, consumed)
            self._preconsumed -= already
            consumed -= already
        if consumed:
            self.connection._consumed(self.stream_id, consumed)
        if self._protocol is None:
            self._early_read += len(data)

    async def read(self, max_bytes: int = -1) -> bytes:
        """Return up to ``max_bytes`` (all buffered when negative); ``b""`` at end of stream."""
        while not self._chunks or self._receiver_error is not None:
            if self._receiver_error is not None:
                error, self._receiver_error = self._receiver_error, None
                raise error
            if self._reset:
                raise StreamReset(f"stream {self.stream_id} was reset")
            if self._eof:
                return b""
            self._read_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._read_waiter
            finally:
                self._read_waiter = None
        if max_bytes < 0:
            if len(self._chunks) == 1:
                data = self._chunks.popleft()
            else:
                data = b"".join(self._chunks)
                self._chunks.clear()
        else:
            data = self._chunks.popleft()
            if len(data) > max_bytes:
                self._chunks.appendleft(data[max_bytes:])
                data = data[:max_bytes]
        self._buffered -= len(data)
        self._taken(data)
        return data

    async def readexactly(self, size: int) -> bytes:
        parts: list[bytes] = []
        remaining = size
        while remaining:
            chunk = await self.read(remaining)
            if not chunk:
                raise DecodeError(f"stream ended {remaining} bytes short of {size}")
            parts.append(chunk)
            remaining -= len(chunk)
        return b"".join(parts)

    async def read_to_eof(self, limit: int) -> bytes:
        """Read until the peer closes its side; more than ``limit`` bytes is LimitExceeded."""
        parts: list[bytes] = []
        total = 0
        while chunk := await self.read():
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"stream carried more than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def read_message(self, max_size: int) -> bytes:
        """Read one varint-length-prefixed message (the libp2p request/response framing)."""
        header = bytearray()
        while True:
            byte = await self.read(1)
            if not byte:
                if header:
                    raise DecodeError("stream ended inside a length prefix")
                raise DecodeError("stream ended before a message")
            header += byte
            decoded = decode_uvarint(header)
            if decoded is not None:
                break
        length = decoded[0]
        if length > max_size:
            raise LimitExceeded(f"message of {length} bytes exceeds {max_size}")
        return await self.readexactly(length)

    # -- writing ------------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        if self._reset:
            raise StreamReset(f"stream {self.stream_id} was reset")
        if self._write_closed:
            raise StreamClosed(f"stream {self.stream_id} is closed for writing")
        connection = self.connection
        offset = 0
        total = len(data)
        while True:
            try:
                accepted = connection._send(self.stream_id, data[offset:] if offset else data)
            except LocalProtocolError as exc:
                if self._reset:
                    raise StreamReset(f"stream {self.stream_id} was reset") from exc
                raise StreamClosed(str(exc)) from exc
            self._traffic.add(self._bucket, False, accepted)
            offset += accepted
            if offset >= total:
                break
            if accepted == 0:
                self._window_waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._window_waiter
                finally:
                    self._window_waiter = None
                if self._reset:
                    raise StreamReset(f"stream {self.stream_id} was reset")
        await connection._drain()

    def write_nowait(self, data: bytes) -> int:
        """Hand ``data`` to the muxer now, as much as its send window takes: the bytes
        taken. Nothing waits, not even the transport's back-pressure: a caller writing this
        way must also ``await`` :meth:`drain` before writing more than a frame or so."""
        if self._reset:
            raise StreamReset(f"stream {self.stream_id} was reset")
        if self._write_closed:
            raise StreamClosed(f"stream {self.stream_id} is closed for writing")
        try:
            accepted = self.connection._send(self.stream_id, data)
        except LocalProtocolError as exc:
            if self._reset:
                raise StreamReset(f"stream {self.stream_id} was reset") from exc
            raise StreamClosed(str(exc)) from exc
        self._traffic.add(self._bucket, False, accepted)
        return accepted

    async def drain(self) -> None:
        """Wait while the connection's transport holds more than its high water mark."""
        await self.connection._drain()

    async def write_message(self, payload: bytes) -> None:
        await self.write(encode_uvarint(len(payload)) + payload)

    async def close(self) -> None:
        """Close our write side; the peer reads end of stream. Reading stays possible."""
        if self._write_closed or self._reset:
            return
        self._write_closed = True
        self.connection._close_stream(self.stream_id)

    async def reset(self) -> None:
        if self._reset:
            return
        self._on_reset()
        self.connection._reset_stream(self.stream_id)
