"""The sans-IO interface every stream multiplexer implements.

A session never touches a socket or a clock. Bytes that arrive from the secure channel go in
through :meth:`receive_data`, which returns events; bytes the session wants written out are
collected with :meth:`data_to_send`. Stream ids are opaque integers unique within a session.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pystatus.p2p.muxer.events import MuxerEvent


class MuxerSession(ABC):
    """One multiplexed session over one secure channel."""

    protocol_id: str

    @abstractmethod
    def receive_data(self, data: bytes) -> list[MuxerEvent]:
        """Feed bytes from the peer; return the events they produce.

        A protocol violation raises :class:`RemoteProtocolError` (or a subclass); the session is
        then closed and :meth:`data_to_send` may hold a last go-away frame.
        """

    @abstractmethod
    def data_to_send(self) -> bytes:
        """Drain the bytes the session wants written to the peer."""

    @abstractmethod
    def open_stream(self) -> int:
        """Open an outbound stream; return its id. Raises ``ResourceLimitError`` at the limit."""

    @abstractmethod
    def send(self, stream_id: int, data: bytes) -> int:
        """Queue ``data`` on a stream; return how many bytes were accepted.

        A muxer with flow control accepts at most the current send window; the caller waits for
        :class:`SendWindowUpdated` before sending the rest. Sending on a stream whose write side
        is closed or that was reset raises :class:`LocalProtocolError`.
        """

    @abstractmethod
    def send_window(self, stream_id: int) -> int:
        """How many bytes :meth:`send` would accept now."""

    @abstractmethod
    def consumed(self, stream_id: int, amount: int) -> None:
        """The application has read ``amount`` bytes of the stream (frees receive window)."""

    @abstractmethod
    def close_stream(self, stream_id: int) -> None:
        """Close our write side (half-close). Idempotent."""

    @abstractmethod
    def reset_stream(self, stream_id: int) -> None:
        """Reset the stream in both directions. Idempotent; unknown ids are ignored."""

    @abstractmethod
    def ping(self, opaque: int) -> None:
        """Send a liveness ping where the muxer has one (yamux); a no-op otherwise."""

    @abstractmethod
    def close(self) -> None:
        """Close the session (go-away where the muxer has one); every stream is reset."""

    @property
    @abstractmethod
    def is_closed(self) -> bool:
        """True once the session was closed by either side or by an error."""

    @property
    @abstractmethod
    def stream_count(self) -> int:
        """Streams currently open in either direction."""
