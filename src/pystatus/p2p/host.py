"""The libp2p host: listens, dials, upgrades, keeps connections, routes streams by protocol."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from pystatus.p2p import metrics
from pystatus.p2p.bandwidth import Bandwidth, Traffic
from pystatus.p2p.config import HostConfig
from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import (
    ConnectionClosed,
    DialError,
    NegotiationError,
    P2PError,
    P2PTimeoutError,
    ResourceLimitError,
    StreamReset,
)
from pystatus.p2p.identify import (
    IDENTIFY_PROTOCOL_ID,
    IDENTIFY_PUSH_PROTOCOL_ID,
    MAX_IDENTIFY_SIZE,
    IdentifyInfo,
    decode_identify,
    encode_identify,
)
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.multistream import MultistreamDialer, MultistreamListener, Negotiated
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.peerstore import PeerStore
from pystatus.p2p.ping import PING_PROTOCOL_ID, ping_once, serve_ping
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.transport.base import Listener, RawConnection, Transport
from pystatus.p2p.transport.tcp import TcpTransport
from pystatus.p2p.transport.websocket import WebSocketTransport
from pystatus.p2p.upgrade import MuxerOptions, upgrade

log = logging.getLogger(__name__)

StreamHandler = Callable[[Stream], Awaitable[None]]
ConnectionListener = Callable[[Connection], None]


class Host:
    """A libp2p node. Create, ``await start()``, use, ``await stop()``."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.peer_id = PeerId.from_public_key(config.identity.public_key)
        self.peerstore = PeerStore(config.max_peers_in_store)
        self.transports: list[Transport] = [TcpTransport(), WebSocketTransport()]
        self._handlers: dict[str, StreamHandler] = {}
        self._connections: dict[PeerId, list[Connection]] = {}
        self._listeners: list[Listener] = []
        self._tasks = TaskSet("host")
        self._on_connected: list[ConnectionListener] = []
        self._on_disconnected: list[ConnectionListener] = []
        self._on_identified: list[Callable[[PeerId, IdentifyInfo], None]] = []
        self._identified: dict[Connection, asyncio.Event] = {}
        self._pending_dials: dict[PeerId, asyncio.Future[Connection]] = {}
        self._muxer_options = MuxerOptions(max_streams=config.max_streams_per_connection)
        self._started = False
        self._stopping = False
        self.traffic = Traffic()
        self.set_stream_handler(IDENTIFY_PROTOCOL_ID, self._serve_identify)
        self.set_stream_handler(IDENTIFY_PUSH_PROTOCOL_ID, self._receive_identify_push)
        self.set_stream_handler(PING_PROTOCOL_ID, serve_ping)

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        for addr in self.config.listen_addrs:
            transport = self._transport_for(addr, listen=True)
            self._listeners.append(await transport.listen(addr, self._accept))
        self._started = True

    async def stop(self) -> None:
        self._stopping = True
        for listener in self._listeners:
            await listener.close()
        self._listeners.clear()
        connections = [c for conns in self._connections.values() for c in conns]
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        await self._tasks.cancel_all()

    async def __aenter__(self) -> Host:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def listen_addrs(self) -> list[Multiaddr]:
        """Bound addresses (ports resolved), or the announced ones when configured."""
        if self.config.announce_addrs:
            return list(self.config.announce_addrs)
        return [addr for listener in self._listeners for addr in listener.addrs]

    def full_addrs(self) -> list[Multiaddr]:
        """Listen addresses with ``/p2p/<peer id>`` appended, ready to share."""
        return [addr.with_peer_id(str(self.peer_id)) for addr in self.listen_addrs]

    # -- handlers and listeners ---------------------------------------------------------------

    def set_stream_handler(self, protocol: str, handler: StreamHandler) -> None:
        self._handlers[protocol] = handler
        if self._started:
            self._push_identify()

    def remove_stream_handler(self, protocol: str) -> None:
        if self._handlers.pop(protocol, None) is not None and self._started:
            self._push_identify()

    @property
    def protocols(self) -> list[str]:
        return sorted(self._handlers)

    def on_connected(self, listener: ConnectionListener) -> None:
        self._on_connected.append(listener)

    def on_disconnected(self, listener: ConnectionListener) -> None:
        self._on_disconnected.append(listener)

    def on_identified(self, listener: Callable[[PeerId, IdentifyInfo], None]) -> None:
        self._on_identified.append(listener)

    # -- connections --------------------------------------------------------------------------

    def bandwidth(self) -> Bandwidth:
        """This host's bytes on the wire since it was made, by protocol and overhead, over all
        its connections, closed ones included (:mod:`pystatus.p2p.bandwidth`). A
        connection's own: ``connection.traffic.snapshot()``."""
        return self.traffic.snapshot()

    def connections(self, peer: PeerId | None = None) -> list[Connection]:
        if peer is not None:
            return list(self._connections.get(peer, ()))
        return [c for conns in self._connections.values() for c in conns]

    def connected_peers(self) -> list[PeerId]:
        return list(self._connections)

    def _connection_count(self) -> int:
        return sum(len(conns) for conns in self._connections.values())

    def _transport_for(self, addr: Multiaddr, *, listen: bool = False) -> Transport:
        for transport in self.transports:
            if (transport.can_listen if listen else transport.can_dial)(addr):
                return transport
        raise DialError(f"no transport for {addr}")

    async def _accept(self, raw: RawConnection) -> None:
        if self._stopping or self._connection_count() >= self.config.max_connections:
            metrics.REFUSED_CONNECTIONS.labels("max_connections").inc()
            raw.close()
            return
        try:
            await self._upgrade(raw, expected_peer=None)
        except (P2PError, OSError, TimeoutError) as exc:
            log.debug("inbound connection from %s failed: %r", raw.remote_addr, exc)

    async def _upgrade(self, raw: RawConnection, *, expected_peer: PeerId | None) -> Connection:
        try:
            async with asyncio.timeout(self.config.handshake_timeout):
                upgraded = await upgrade(
                    raw,
                    identity=self.config.identity,
                    muxers=self.config.muxers,
                    muxer_options=self._muxer_options,
                    expected_peer=expected_peer,
                )
        except TimeoutError:
            metrics.HANDSHAKE_FAILURES.labels("timeout").inc()
            raw.close()
            raise P2PTimeoutError(f"handshake with {raw.remote_addr} timed out") from None
        except (P2PError, OSError) as exc:
            metrics.HANDSHAKE_FAILURES.labels(type(exc).__name__).inc()
            raw.close()
            raise
        except BaseException:
            raw.close()
            raise
        connection = Connection(
            upgraded.raw,
            upgraded.noise,
            upgraded.session,
            remote_peer=upgraded.remote_peer,
            on_inbound_stream=self._inbound_stream,
            on_closed=self._connection_closed,
            initial_plaintext=upgraded.initial_plaintext,
            traffic=self.traffic,
        )
        connection.count_handshake(upgraded.handshake_in, upgraded.handshake_out)
        self._connections.setdefault(connection.remote_peer, []).append(connection)
        metrics.CONNECTIONS.labels(connection.direction).inc()
        metrics.PEERS.set(len(self._connections))
        if connection.direction == "outbound":
            self.peerstore.add_addrs(connection.remote_peer, [connection.remote_addr])
        self._identified[connection] = asyncio.Event()
        connection.start()
        self._tasks.spawn(self._identify(connection), name=f"identify {connection.remote_peer}")
        for listener in self._on_connected:
            listener(connection)
        return connection

    def _connection_closed(self, connection: Connection) -> None:
        conns = self._connections.get(connection.remote_peer)
        if conns and connection in conns:
            conns.remove(connection)
            metrics.CONNECTIONS.labels(connection.direction).dec()
            if not conns:
                del self._connections[connection.remote_peer]
            metrics.PEERS.set(len(self._connections))
        event = self._identified.pop(connection, None)
        if event is not None:
            event.set()
        for listener in self._on_disconnected:
            listener(connection)

    async def connect(self, target: Multiaddr | str | PeerId) -> Connection:
        """Return a live connection to the peer, dialing if there is none."""
        if isinstance(target, PeerId):
            peer: PeerId | None = target
            record = self.peerstore.get(target)
            addrs = list(record.addrs) if record else []
        else:
            addr = Multiaddr.from_string(target) if isinstance(target, str) else target
            peer = addr.peer_id
            addrs = [addr]
        if peer is not None:
            existing = [c for c in self._connections.get(peer, ()) if not c.is_closed]
            if existing:
                return existing[0]
            pending = self._pending_dials.get(peer)
            if pending is not None:
                return await asyncio.shield(pending)
        if not addrs:
            raise DialError(f"no known address for {peer}")
        future: asyncio.Future[Connection] | None = None
        if peer is not None:
            future = asyncio.get_running_loop().create_future()
            self._pending_dials[peer] = future
        try:
            connection = await self._dial_any(addrs, peer)
        except BaseException as exc:
            if future is not None:
                if not future.done():
                    future.set_exception(
                        exc if isinstance(exc, Exception) else DialError("cancelled")
                    )
                future.exception()  # consumed: waiters get it through shield
            raise
        finally:
            if peer is not None:
                self._pending_dials.pop(peer, None)
        if future is not None and not future.done():
            future.set_result(connection)
        return connection

    async def _dial_any(self, addrs: list[Multiaddr], peer: PeerId | None) -> Connection:
        errors: list[str] = []
        # The last failure becomes the DialError's __cause__: a caller can tell refused, timed
        # out and no route apart (errno) without reading the text.
        last: BaseException | None = None
        for addr in addrs:
            if self._connection_count() >= self.config.max_connections:
                raise ResourceLimitError("connection limit reached")
            try:
                transport = self._transport_for(addr)
                async with asyncio.timeout(self.config.dial_timeout):
                    raw = await transport.dial(addr)
                return await self._upgrade(raw, expected_peer=peer)
            except TimeoutError as exc:
                metrics.DIAL_FAILURES.labels("timeout").inc()
                errors.append(f"{addr}: timed out")
                last = exc
            except (P2PError, OSError) as exc:
                metrics.DIAL_FAILURES.labels(type(exc).__name__).inc()
                errors.append(f"{addr}: {exc}")
                last = exc
        raise DialError(f"dial {peer or addrs[0]} failed: " + "; ".join(errors)) from last

    async def disconnect(self, peer: PeerId) -> None:
        for connection in list(self._connections.get(peer, ())):
            await connection.close()

    # -- streams ------------------------------------------------------------------------------

    async def new_stream(
        self, target: Multiaddr | str | PeerId | Connection, protocols: Sequence[str]
    ) -> Stream:
        """Open a stream to ``target`` speaking the first of ``protocols`` the peer accepts."""
        connection = target if isinstance(target, Connection) else await self.connect(target)
        stream = connection.open_stream()
        try:
            async with asyncio.timeout(self.config.negotiate_timeout):
                result = await _negotiate_stream(stream, MultistreamDialer(list(protocols)))
        except TimeoutError:
            metrics.NEGOTIATION_FAILURES.labels("outbound").inc()
            await stream.reset()
            raise P2PTimeoutError(f"protocol negotiation with {connection.remote_peer}") from None
        except (P2PError, OSError):
            metrics.NEGOTIATION_FAILURES.labels("outbound").inc()
            await stream.reset()
            raise
        stream.negotiated(result.protocol, result.leftover)
        return stream

    def _inbound_stream(self, stream: Stream) -> None:
        self._tasks.spawn(self._handle_inbound_stream(stream), name="inbound stream")

    async def _handle_inbound_stream(self, stream: Stream) -> None:
        try:
            async with asyncio.timeout(self.config.negotiate_timeout):
                result = await _negotiate_stream(stream, MultistreamListener(self._handlers))
        except (TimeoutError, P2PError, OSError) as exc:
            metrics.NEGOTIATION_FAILURES.labels("inbound").inc()
            log.debug("inbound stream negotiation failed: %r", exc)
            await stream.reset()
            return
        stream.negotiated(result.protocol, result.leftover)
        handler = self._handlers.get(result.protocol)
        if handler is None:
            await stream.reset()
            return
        try:
            await handler(stream)
        except (StreamReset, ConnectionClosed):
            pass
        except P2PError as exc:
            log.debug("%s handler failed: %r", result.protocol, exc)
            await stream.reset()
        except Exception:
            log.exception("%s handler crashed", result.protocol)
            await stream.reset()

    # -- identify and ping --------------------------------------------------------------------

    def _identify_message(self, connection: Connection) -> bytes:
        return encode_identify(
            public_key=self.config.identity.public_key,
            listen_addrs=self.listen_addrs,
            protocols=self.protocols,
            observed_addr=connection.remote_addr,
            agent_version=self.config.agent_version,
        )

    async def _serve_identify(self, stream: Stream) -> None:
        await stream.write_message(self._identify_message(stream.connection))
        await stream.close()

    async def _receive_identify_push(self, stream: Stream) -> None:
        data = await stream.read_message(MAX_IDENTIFY_SIZE)
        self._apply_identify(stream.connection, decode_identify(data))
        await stream.close()

    async def _identify(self, connection: Connection) -> None:
        try:
            async with asyncio.timeout(self.config.identify_timeout):
                stream = await self.new_stream(connection, [IDENTIFY_PROTOCOL_ID])
                data = await stream.read_message(MAX_IDENTIFY_SIZE)
                await stream.close()
            info = decode_identify(data)
            self._apply_identify(connection, info)
        except (TimeoutError, P2PError, OSError) as exc:
            log.debug("identify of %s failed: %r", connection.remote_peer, exc)
        finally:
            event = self._identified.get(connection)
            if event is not None:
                event.set()

    def _apply_identify(self, connection: Connection, info: IdentifyInfo) -> None:
        if info.public_key is not None and not connection.remote_peer.matches(info.public_key):
            raise NegotiationError("identify carries a key that is not the peer's")
        metrics.IDENTIFY_RECEIVED.inc()
        self.peerstore.update_from_identify(connection.remote_peer, info)
        for listener in self._on_identified:
            listener(connection.remote_peer, info)

    async def wait_identified(self, connection: Connection) -> None:
        """Wait until the identify exchange on ``connection`` has finished (or failed)."""
        event = self._identified.get(connection)
        if event is not None:
            await event.wait()

    def _push_identify(self) -> None:
        for connection in self.connections():
            self._tasks.spawn(self._send_identify_push(connection), name="identify push")

    async def _send_identify_push(self, connection: Connection) -> None:
        try:
            async with asyncio.timeout(self.config.identify_timeout):
                stream = await self.new_stream(connection, [IDENTIFY_PUSH_PROTOCOL_ID])
                await stream.write_message(self._identify_message(connection))
                await stream.close()
        except (TimeoutError, P2PError, OSError) as exc:
            log.debug("identify push to %s failed: %r", connection.remote_peer, exc)

    async def ping(self, target: Multiaddr | str | PeerId, count: int = 1) -> list[float]:
        """libp2p ping; returns each round trip in seconds."""
        stream = await self.new_stream(target, [PING_PROTOCOL_ID])
        try:
            return [await ping_once(stream) for _ in range(count)]
        finally:
            await stream.close()


async def _negotiate_stream(
    stream: Stream, machine: MultistreamDialer | MultistreamListener
) -> Negotiated:
    while True:
        out = machine.data_to_send()
        if out:
            await stream.write(out)
        data = await stream.read()
        if not data:
            raise NegotiationError("stream ended during protocol negotiation")
        result = machine.receive_data(data)
        if result is not None:
            out = machine.data_to_send()
            if out:
                await stream.write(out)
            return result
