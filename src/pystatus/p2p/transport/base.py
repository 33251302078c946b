"""The narrow interface every transport offers the connection upgrade.

A :class:`RawConnection` is an ordered, reliable byte pipe. ``write`` never blocks: it hands
bytes to the transport's buffer, and ``drain`` waits while that buffer is above its high-water
mark, which is how back-pressure reaches the writer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from typing import Any

from pystatus.p2p.multiaddr import Multiaddr


class RawConnection(ABC):
    local_addr: Multiaddr
    remote_addr: Multiaddr
    is_initiator: bool

    @abstractmethod
    async def read(self) -> bytes:
        """Return the bytes available (waiting for some); ``b""`` at end of stream."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue bytes for sending. Raises ``ConnectionClosed`` once closed."""

    @abstractmethod
    async def drain(self) -> None:
        """Wait until the send buffer is below its high-water mark."""

    @abstractmethod
    def close(self) -> None:
        """Start closing; pending writes are flushed where the transport can."""

    @abstractmethod
    async def wait_closed(self) -> None:
        """Wait until the transport is fully closed."""


ConnectionHandler = Callable[[RawConnection], Coroutine[Any, Any, None]]


class Listener(ABC):
    @property
    @abstractmethod
    def addrs(self) -> list[Multiaddr]:
        """The addresses actually bound (port 0 resolved)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop accepting; connections already accepted are not touched."""


class Transport(ABC):
    name: str

    @abstractmethod
    def can_dial(self, addr: Multiaddr) -> bool: ...

    @abstractmethod
    def can_listen(self, addr: Multiaddr) -> bool: ...

    @abstractmethod
    async def dial(self, addr: Multiaddr) -> RawConnection:
        """Open a connection; raises ``DialError``. The caller applies the deadline."""

    @abstractmethod
    async def listen(self, addr: Multiaddr, handler: ConnectionHandler) -> Listener: ...
