"""WebSocket transport (`/ws`): libp2p bytes carried in binary WebSocket messages.

Browser js-waku light nodes reach service nodes this way. ``wss`` needs a TLS certificate the
browser trusts and is left to a reverse proxy in front of the node.
"""

from __future__ import annotations

import asyncio
import collections

from websockets.asyncio.client import connect
from websockets.asyncio.connection import Connection as WsProtocolConnection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import InvalidHandshake, InvalidURI

from pystatus.p2p.errors import ConnectionClosed, DialError
from pystatus.p2p.multiaddr import Multiaddr, tcp_endpoint
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.transport.base import ConnectionHandler, Listener, RawConnection, Transport
from pystatus.p2p.transport.tcp import sockaddr_to_multiaddr

MAX_MESSAGE_SIZE = 4 * 1024 * 1024
WRITE_HIGH_WATER = 1024 * 1024
_OPTIONS: dict[str, object] = {
    "compression": None,
    "max_size": MAX_MESSAGE_SIZE,
    # A WebSocket ping every 20 s keeps NATs and proxies from dropping idle light clients.
    "ping_interval": 20,
    "ping_timeout": 20,
    "close_timeout": 2,
}


class WebSocketConnection(RawConnection):
    def __init__(self, ws: WsProtocolConnection, *, is_initiator: bool) -> None:
        self._ws = ws
        self.is_initiator = is_initiator
        self.local_addr = sockaddr_to_multiaddr(ws.local_address, ws="ws")
        self.remote_addr = sockaddr_to_multiaddr(ws.remote_address, ws="ws")
        self._outgoing: collections.deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._wake_writer = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closed = False
        self._tasks = TaskSet("ws-writer")
        self._writer = self._tasks.spawn(self._write_loop())

    async def read(self) -> bytes:
        try:
            message = await self._ws.recv()
        except WsConnectionClosed:
            return b""
        if isinstance(message, str):
            # libp2p only ever sends binary messages; a text one is a broken peer.
            self.close()
            return b""
        return message

    def write(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionClosed("websocket closed")
        self._outgoing.append(data)
        self._queued_bytes += len(data)
        if self._queued_bytes > WRITE_HIGH_WATER:
            self._drained.clear()
        self._wake_writer.set()

    async def drain(self) -> None:
        await self._drained.wait()
        if self._closed and self._outgoing:
            raise ConnectionClosed("websocket closed")

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake_writer.wait()
                self._wake_writer.clear()
                while self._outgoing:
                    data = self._outgoing.popleft()
                    self._queued_bytes -= len(data)
                    if self._queued_bytes <= WRITE_HIGH_WATER:
                        self._drained.set()
                    await self._ws.send(data)
                if self._closed:
                    return
        except WsConnectionClosed:
            pass
        finally:
            self._closed = True
            self._outgoing.clear()
            self._drained.set()
            await self._ws.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake_writer.set()

    async def wait_closed(self) -> None:
        await self._ws.wait_closed()
        await asyncio.gather(self._writer, return_exceptions=True)


class WebSocketListener(Listener):
    def __init__(self, server: Server, tasks: TaskSet) -> None:
        self._server = server
        self._tasks = tasks

    @property
    def addrs(self) -> list[Multiaddr]:
        return [sockaddr_to_multiaddr(sock.getsockname(), ws="ws") for sock in self._server.sockets]

    async def close(self) -> None:
        # The server waits for its handlers, which last as long as their connections: close
        # them here (the host is closing every connection anyway) rather than wait forever.
        self._server.close(close_connections=True)
        await self._server.wait_closed()


class WebSocketTransport(Transport):
    name = "ws"

    def can_dial(self, addr: Multiaddr) -> bool:
        try:
            return tcp_endpoint(addr).websocket == "ws"
        except DialError:
            return False

    can_listen = can_dial

    async def dial(self, addr: Multiaddr) -> RawConnection:
        endpoint = tcp_endpoint(addr)
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        try:
            ws = await connect(f"ws://{host}:{endpoint.port}/", proxy=None, **_OPTIONS)  # type: ignore[arg-type]
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise DialError(f"websocket dial {addr} failed: {exc}") from exc
        return WebSocketConnection(ws, is_initiator=True)

    async def listen(self, addr: Multiaddr, handler: ConnectionHandler) -> Listener:
        endpoint = tcp_endpoint(addr)
        tasks = TaskSet("ws-accept")

        async def accepted(ws: ServerConnection) -> None:
            connection = WebSocketConnection(ws, is_initiator=False)
            await handler(connection)
            # The websockets server closes a connection when its handler returns.
            await connection.wait_closed()

        try:
            server = await serve(accepted, endpoint.host, endpoint.port, **_OPTIONS)  # type: ignore[arg-type]
        except OSError as exc:
            raise DialError(f"cannot listen on {addr}: {exc.strerror or exc}") from exc
        return WebSocketListener(server, tasks)
