"""Events a muxer session hands out after :meth:`MuxerSession.receive_data`."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.p2p.errors import ProtocolError


@dataclass(frozen=True, slots=True)
class StreamOpened:
    """The peer opened a new stream."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamData:
    """Data arrived on a stream. The application reports consumption with ``consumed()``."""

    stream_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The peer closed its write side of the stream: end of stream for reads."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The stream was reset (by the peer, or by the session enforcing a limit)."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class SendWindowUpdated:
    """The peer granted more send credit on a stream (yamux flow control)."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class PongReceived:
    """A reply to our :meth:`MuxerSession.ping` arrived."""

    opaque: int


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session ended: go-away from the peer, or a protocol error (``error`` set)."""

    error: ProtocolError | None = None


MuxerEvent = (
    StreamOpened
    | StreamData
    | StreamEnded
    | StreamReset
    | SendWindowUpdated
    | PongReceived
    | SessionClosed
)
