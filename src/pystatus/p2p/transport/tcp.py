"""TCP transport on asyncio's Protocol API (no StreamReader: one less copy and queue hop)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from typing import cast

from pystatus.p2p.errors import ConnectionClosed, DialError
from pystatus.p2p.multiaddr import Multiaddr, tcp_endpoint
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.transport.base import ConnectionHandler, Listener, RawConnection, Transport

# Above this many unread bytes the socket stops being read: the reader is not keeping up.
READ_HIGH_WATER = 4 * 1024 * 1024
WRITE_HIGH_WATER = 1024 * 1024


def sockaddr_to_multiaddr(sockaddr: tuple[object, ...], *, ws: str | None = None) -> Multiaddr:
    host = str(sockaddr[0])
    port = int(str(sockaddr[1]))
    family = "ip6" if ipaddress.ip_address(host.split("%")[0]).version == 6 else "ip4"
    text = f"/{family}/{host.split('%')[0]}/tcp/{port}"
    if ws:
        text += f"/{ws}"
    return Multiaddr.from_string(text)


class _TcpProtocol(asyncio.Protocol):
    def __init__(self, on_made: Callable[[_TcpProtocol], None] | None = None) -> None:
        self._on_made = on_made
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        if self._on_made is not None:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > READ_HIGH_WATER and self.transport and not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake_reader()
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def _wake_reader(self) -> None:
        if self._read_waiter and not self._read_waiter.done():
            self._read_waiter.set_result(None)

    async def read(self) -> bytes:
        while not self._buffer and not self._eof:
            self._read_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._read_waiter
            finally:
                self._read_waiter = None
        data = bytes(self._buffer)
        self._buffer.clear()
        if self._read_paused and self.transport:
            self._read_paused = False
            self.transport.resume_reading()
        return data

    async def drain(self) -> None:
        if (self.transport is None or self.transport.is_closing()) and self.closed.done():
            raise ConnectionClosed("connection closed")
        while self._write_paused and not self.closed.done():
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter


class TcpConnection(RawConnection):
    def __init__(self, protocol: _TcpProtocol, *, is_initiator: bool, ws: str | None = None):
        self._protocol = protocol
        transport = protocol.transport
        if transport is None:
            raise ConnectionClosed("transport not connected")
        self._transport = transport
        self.is_initiator = is_initiator
        self.local_addr = sockaddr_to_multiaddr(transport.get_extra_info("sockname"), ws=ws)
        self.remote_addr = sockaddr_to_multiaddr(transport.get_extra_info("peername"), ws=ws)

    async def read(self) -> bytes:
        return await self._protocol.read()

    def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise ConnectionClosed("connection closed")
        self._transport.write(data)

    async def drain(self) -> None:
        await self._protocol.drain()

    def close(self) -> None:
        self._transport.close()

    async def wait_closed(self) -> None:
        await self._protocol.closed


class TcpListener(Listener):
    def __init__(self, server: asyncio.Server, tasks: TaskSet) -> None:
        self._server = server
        self._tasks = tasks  # keeps accept handlers referenced while they run

    @property
    def addrs(self) -> list[Multiaddr]:
        return [sockaddr_to_multiaddr(sock.getsockname()) for sock in self._server.sockets]

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


class TcpTransport(Transport):
    name = "tcp"

    def can_dial(self, addr: Multiaddr) -> bool:
        try:
            return tcp_endpoint(addr).websocket is None
        except DialError:
            return False

    can_listen = can_dial

    async def dial(self, addr: Multiaddr) -> RawConnection:
        endpoint = tcp_endpoint(addr)
        loop = asyncio.get_running_loop()
        family = {"ip4": socket.AF_INET, "dns4": socket.AF_INET, "ip6": socket.AF_INET6}.get(
            endpoint.family, socket.AF_UNSPEC
        )
        try:
            _, protocol = await loop.create_connection(
                _TcpProtocol, endpoint.host, endpoint.port, family=family
            )
        except OSError as exc:
            raise DialError(f"tcp dial {addr} failed: {exc.strerror or exc}") from exc
        return TcpConnection(protocol, is_initiator=True)

    async def listen(self, addr: Multiaddr, handler: ConnectionHandler) -> Listener:
        endpoint = tcp_endpoint(addr)
        loop = asyncio.get_running_loop()
        tasks = TaskSet("tcp-accept")

        def accepted(protocol: _TcpProtocol) -> None:
            tasks.spawn(handler(TcpConnection(protocol, is_initiator=False)))

        try:
            server = await loop.create_server(
                lambda: _TcpProtocol(accepted), endpoint.host, endpoint.port
            )
        except OSError as exc:
            raise DialError(f"cannot listen on {addr}: {exc.strerror or exc}") from exc
        return TcpListener(server, tasks)
