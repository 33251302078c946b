"""The asyncio adapter that drives a secured, multiplexed connection.

One read loop feeds transport bytes through the Noise transport into the muxer session and
dispatches the session's events to :class:`Stream` objects. Writes go the other way without a
writer task: a stream operation leaves its frames in the muxer session and asks for a flush,
which runs once per event-loop turn (``loop.call_soon``) and sends everything the session
holds as one Noise transport message. A request, its length prefix, its stream's opening and
negotiation and its close, written in one turn, so cost one 18-byte Noise frame instead of one
each (and one transport write). No latency is added beyond the current loop turn, and the
session never holds more than :data:`FLUSH_LIMIT` bytes of stream data: past it the flush runs
at once, so the transport's own high-water mark (``drain``) is the back-pressure writers see.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable

from pystatus.p2p import metrics
from pystatus.p2p.bandwidth import HANDSHAKE, MUXER, NOISE, OTHER, Traffic
from pystatus.p2p.errors import ConnectionClosed, LocalProtocolError, ProtocolError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import (
    PongReceived,
    SendWindowUpdated,
    SessionClosed,
    StreamData,
    StreamEnded,
    StreamOpened,
    StreamReset,
)
from pystatus.p2p.noise.transport import FRAME_OVERHEAD, MAX_PLAINTEXT, NoiseTransport
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.transport.base import RawConnection

log = logging.getLogger(__name__)

_ping_ids = itertools.count(1)
# Looked up once: labels() costs more than the increment, paid on every read and write.
_BYTES_IN = metrics.NETWORK_BYTES.labels("in")
_BYTES_OUT = metrics.NETWORK_BYTES.labels("out")
_FLUSH_TURN = metrics.CONNECTION_FLUSHES.labels("turn")
_FLUSH_LIMIT = metrics.CONNECTION_FLUSHES.labels("limit")
FLUSH_LIMIT = MAX_PLAINTEXT
"""Bytes of stream data a connection holds for its next flush at most (one full Noise
transport message): a write that reaches it is flushed at once."""


class Connection:
    """A live connection to one peer: secure channel + muxer session + its streams."""

    def __init__(
        self,
        raw: RawConnection,
        noise: NoiseTransport,
        session: MuxerSession,
        *,
        remote_peer: PeerId,
        on_inbound_stream: Callable[[Stream], None],
        on_closed: Callable[[Connection], None],
        initial_plaintext: bytes = b"",
        traffic: Traffic | None = None,
    ) -> None:
        """``traffic``: the host's byte counts, this connection's are added to (see
        :mod:`pystatus.p2p.bandwidth`); the upgrade's bytes are counted by the caller with
        :meth:`count_handshake`."""
        self.traffic = Traffic(traffic)
        # Stream bytes the session took since the last flush: the rest of a flush is framing.
        self._payload_out = 0
        self._flush_pending = False
        self._raw = raw
        self._noise = noise
        self._session = session
        self.remote_peer = remote_peer
        self.muxer = session.protocol_id
        self.encryption = "/noise"
        self.local_addr: Multiaddr = raw.local_addr
        self.remote_addr: Multiaddr = raw.remote_addr
        self.direction = "outbound" if raw.is_initiator else "inbound"
        self.opened_at = time.time()
        self.streams: dict[int, Stream] = {}
        self._on_inbound_stream = on_inbound_stream
        self._on_closed = on_closed
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._closed = False
        self._close_reason: str | None = None
        self._tasks = TaskSet("connection")
        self._initial_plaintext = initial_plaintext
        self._reader: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.direction} {self.remote_peer} {self.remote_addr} {self.muxer}>"

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def close_reason(self) -> str | None:
        return self._close_reason

    def start(self) -> None:
        self._reader = self._tasks.spawn(self._read_loop(), name=f"read {self.remote_peer}")

    # -- streams ------------------------------------------------------------------------------

    def open_stream(self) -> Stream:
        if self._closed:
            raise ConnectionClosed(f"connection to {self.remote_peer} is closed")
        stream_id = self._session.open_stream()
        stream = Stream(self, stream_id, inbound=False)
        self.streams[stream_id] = stream
        metrics.STREAMS_OPENED.labels("outbound").inc()
        self._flush()
        return stream

    def _send(self, stream_id: int, data: bytes) -> int:
        if self._closed:
            raise LocalProtocolError("connection is closed")
        accepted = self._session.send(stream_id, data)
        self._payload_out += accepted
        self._flush()
        return accepted

    def _consumed(self, stream_id: int, amount: int) -> None:
        if not self._closed:
            self._session.consumed(stream_id, amount)
            self._flush()

    def _close_stream(self, stream_id: int) -> None:
        if self._closed:
            return
        self._session.close_stream(stream_id)
        self._flush()
        self._forget_if_done(stream_id)

    def _reset_stream(self, stream_id: int) -> None:
        self.streams.pop(stream_id, None)
        if self._closed:
            return
        self._session.reset_stream(stream_id)
        self._flush()

    def _forget_if_done(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is not None and stream._write_closed and stream._eof:
            stream._settle_early()
            del self.streams[stream_id]

    async def _drain(self) -> None:
        try:
            await self._raw.drain()
        except ConnectionClosed:
            if not self._closed:
                raise

    def _flush(self) -> None:
        """Send what the session holds at the end of this loop turn (at once past
        :data:`FLUSH_LIMIT`, or with no running loop)."""
        if self._payload_out >= FLUSH_LIMIT:
            _FLUSH_LIMIT.inc()
            self._flush_now()
            return
        if self._flush_pending:
            metrics.COALESCED_WRITES.inc()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush_now()
            return
        self._flush_pending = True
        loop.call_soon(self._flush_turn)

    def _flush_turn(self) -> None:
        if self._flush_pending:
            _FLUSH_TURN.inc()
            self._flush_now()

    def _flush_now(self) -> None:
        self._flush_pending = False
        if self._closed:
            return  # _terminate sent what the session held
        data = self._session.data_to_send()
        if not data:
            return
        frames = self._noise.encrypt(data)
        try:
            self._raw.write(frames)
        except ConnectionClosed:
            self._terminate("transport closed")
            return
        self._count_out(data, frames)

    def _count_out(self, plaintext: bytes, frames: bytes) -> None:
        traffic = self.traffic
        traffic.add(MUXER, False, len(plaintext) - self._payload_out)
        traffic.add(NOISE, False, len(frames) - len(plaintext))
        self._payload_out = 0
        _BYTES_OUT.inc(len(frames))

    def count_handshake(self, inbound: int, outbound: int) -> None:
        """Count the bytes the connection's upgrade exchanged (see :func:`upgrade`)."""
        self.traffic.add(HANDSHAKE, True, inbound)
        self.traffic.add(HANDSHAKE, False, outbound)
        _BYTES_IN.inc(inbound)
        _BYTES_OUT.inc(outbound)

    # -- liveness -----------------------------------------------------------------------------

    async def muxer_ping(self) -> float:
        """A muxer-level ping (yamux); the round trip in seconds. Bound it with a timeout."""
        opaque = next(_ping_ids) & 0xFFFFFFFF
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[opaque] = future
        started = time.perf_counter()
        self._session.ping(opaque)
        self._flush()
        try:
            await future
        finally:
            self._pings.pop(opaque, None)
        return time.perf_counter() - started

    # -- the read loop ------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "closed by peer"
        try:
            if self._initial_plaintext:
                self._handle_plaintext(self._initial_plaintext)
                self._initial_plaintext = b""
            while not self._closed:
                data = await self._raw.read()
                if not data:
                    break
                _BYTES_IN.inc(len(data))
                plaintexts = self._noise.receive_data(data)
                self.traffic.add(NOISE, True, FRAME_OVERHEAD * len(plaintexts))
                if plaintexts:
                    self._handle_plaintext(
                        plaintexts[0] if len(plaintexts) == 1 else b"".join(plaintexts)
                    )
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            metrics.PROTOCOL_ERRORS.labels(type(exc).__name__).inc()
            log.info("connection to %s failed: %s", self.remote_peer, exc)
        except ConnectionClosed:
            pass
        except OSError as exc:
            reason = f"transport error: {exc}"
        finally:
            self._terminate(reason)

    def _handle_plaintext(self, data: bytes) -> None:
        try:
            events = self._session.receive_data(data)
        finally:
            # A failing session may still hold a last go-away frame.
            self._flush()
        streams = self.streams
        framing = len(data)
        for event in events:
            if isinstance(event, StreamData):
                framing -= len(event.data)
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._on_data(event.data)
                else:
                    # Data for a stream already reset or forgotten: still on the wire.
                    self.traffic.add(OTHER, True, len(event.data))
            elif isinstance(event, StreamOpened):
                stream = Stream(self, event.stream_id, inbound=True)
                streams[event.stream_id] = stream
                metrics.STREAMS_OPENED.labels("inbound").inc()
                self._on_inbound_stream(stream)
            elif isinstance(event, StreamEnded):
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._on_eof()
                    self._forget_if_done(event.stream_id)
            elif isinstance(event, StreamReset):
                stream = streams.pop(event.stream_id, None)
                if stream is not None:
                    stream._on_reset()
            elif isinstance(event, SendWindowUpdated):
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._on_window()
            elif isinstance(event, PongReceived):
                waiter = self._pings.get(event.opaque)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif isinstance(event, SessionClosed):
                self.traffic.add(MUXER, True, framing)
                if event.error is not None:
                    raise event.error
                raise ConnectionClosed("peer closed the session")
        self.traffic.add(MUXER, True, framing)

    # -- closing ------------------------------------------------------------------------------

    def _terminate(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason
        if not self._session.is_closed:
            self._session.close()
        try:
            data = self._session.data_to_send()
            if data:
                frames = self._noise.encrypt(data)
                self._raw.write(frames)
                self._count_out(data, frames)
        except ConnectionClosed:
            pass
        self._raw.close()
        for stream in list(self.streams.values()):
            stream._on_reset()
        self.streams.clear()
        for waiter in self._pings.values():
            if not waiter.done():
                waiter.set_exception(ConnectionClosed(reason))
        self._pings.clear()
        self._on_closed(self)

    async def close(self) -> None:
        """Close the session and the transport; every stream is reset."""
        self._terminate("closed locally")
        await self._raw.wait_closed()
        if self._reader is not None and self._reader is not asyncio.current_task():
            await asyncio.gather(self._reader, return_exceptions=True)
