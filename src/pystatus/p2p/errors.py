"""Errors of the p2p layer."""

from __future__ import annotations

from pystatus.errors import P2PError

__all__ = [
    "ConnectionClosed",
    "DecodeError",
    "DialError",
    "HandshakeError",
    "LimitExceeded",
    "LocalProtocolError",
    "NegotiationError",
    "P2PError",
    "P2PTimeoutError",
    "ProtocolError",
    "RemoteProtocolError",
    "ResourceLimitError",
    "StreamClosed",
    "StreamReset",
]


class ProtocolError(P2PError):
    """A protocol rule was broken. After one, the state machine that raised it is unusable."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol forbids (a bug in the caller)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes the protocol forbids."""


class DecodeError(RemoteProtocolError):
    """Bytes from the network could not be decoded (bad length, varint, protobuf, field)."""


class HandshakeError(RemoteProtocolError):
    """A security handshake failed (bad message, bad signature, unexpected peer)."""


class NegotiationError(RemoteProtocolError):
    """multistream-select found no protocol both sides speak."""


class LimitExceeded(RemoteProtocolError):
    """The peer exceeded a limit (frame size, stream count, buffered data)."""


class StreamReset(P2PError):
    """The stream was reset by either side; no more data will flow."""


class StreamClosed(P2PError):
    """Writing to a stream whose write side is closed."""


class ConnectionClosed(P2PError):
    """The connection is gone."""


class DialError(P2PError):
    """A dial failed (refused, timed out, handshake failed, wrong peer id)."""


class P2PTimeoutError(P2PError):
    """An operation did not finish within its deadline."""


class ResourceLimitError(P2PError):
    """A local resource limit (connections, streams) refused the operation."""
