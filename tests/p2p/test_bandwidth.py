"""Byte counts by protocol and overhead add up to what the socket carried.

The socket's bytes are measured outside pystatus: the client dials a counting TCP proxy that
forwards to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from pystatus.p2p import metrics
from pystatus.p2p.bandwidth import (
    HANDSHAKE,
    MULTISTREAM,
    MUXER,
    NOISE,
    OTHER,
    Bandwidth,
    Bytes,
    Traffic,
    protocol_label,
)
from pystatus.p2p.errors import NegotiationError
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IDENTIFY_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.ping import PING_PROTOCOL_ID
from tests.p2p.hosts import ECHO, REQRESP, running_host, wait_for, within


class CountingProxy:
    """Forwards one TCP port to another, counting the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.to_server = 0
        self.to_client = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to_server: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if to_server:
                    self.to_server += len(data)
                else:
                    self.to_client += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        for task in (
            asyncio.create_task(self._pipe(reader, server_writer, True)),
            asyncio.create_task(self._pipe(server_reader, writer, False)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CountingProxy]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        try:
            yield self
        finally:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()


def _via(proxy: CountingProxy, server: Host) -> Multiaddr:
    return Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{proxy.port}/p2p/{server.peer_id}")


@pytest.mark.parametrize("muxer", ["yamux", "mplex"])
async def test_counts_add_up_to_the_socket_bytes(muxer: str) -> None:
    async with running_host("tcp", muxer) as server, running_host("tcp", muxer) as client:
        server_port = int(str(server.listen_addrs[0].value_for("tcp")))
        async with CountingProxy(server_port).running() as proxy:
            connection = await within(client.connect(_via(proxy, server)))
            await within(client.wait_identified(connection))
            await within(client.ping(server.peer_id, count=2))

            payload = os.urandom(100_000)
            stream = await within(client.new_stream(server.peer_id, [ECHO]))
            await stream.write(payload)
            await stream.close()
            assert await within(stream.read_to_eof(1 << 20)) == payload

            request = await within(client.new_stream(server.peer_id, [REQRESP]))
            await request.write_message(b"x" * 1000)
            await request.close()
            assert await within(request.read_message(1 << 20)) == b"re:" + b"x" * 1000

            with pytest.raises(NegotiationError):
                await within(client.new_stream(server.peer_id, ["/pystatus/unknown/1.0.0"]))

            def balanced() -> bool:
                ours, theirs = client.bandwidth().socket, server.bandwidth().socket
                return ours == Bytes(proxy.to_client, proxy.to_server) and theirs == Bytes(
                    proxy.to_server, proxy.to_client
                )

            # The counts are exact, so they meet the proxy's once the last frames are in.
            await wait_for(balanced, timeout=10.0)
            sent = client.bandwidth()
            received = server.bandwidth()
            assert connection.traffic.snapshot() == sent
            # Echo and request/response are not known protocols: their bytes are "other",
            # exactly what the streams carried after negotiation.
            assert sent[OTHER] == Bytes(100_000 + 1003 + 2, 100_000 + 1000 + 2)
            assert received[OTHER] == Bytes(100_000 + 1000 + 2, 100_000 + 1003 + 2)
            for bucket in (HANDSHAKE, NOISE, MUXER, MULTISTREAM, IDENTIFY_PROTOCOL_ID):
                assert sent[bucket].total > 0, bucket
            assert sent[PING_PROTOCOL_ID] == Bytes(64, 64)
            assert received[PING_PROTOCOL_ID] == Bytes(64, 64)
            # The failed negotiation counts as negotiation only.
            assert set(sent.buckets) == {
                HANDSHAKE,
                NOISE,
                MUXER,
                MULTISTREAM,
                OTHER,
                IDENTIFY_PROTOCOL_ID,
                PING_PROTOCOL_ID,
            }


async def test_closed_connections_stay_counted() -> None:
    async with running_host("tcp") as server, running_host("tcp") as client:
        connection = await within(client.connect(server.full_addrs()[0]))
        await within(client.wait_identified(connection))
        before = client.bandwidth()
        assert before.socket.total > 0
        await connection.close()
        await wait_for(lambda: not server.connections(client.peer_id))
        after = client.bandwidth()
        assert after.socket.outbound >= before.socket.outbound
        assert (after - before)[IDENTIFY_PROTOCOL_ID] == Bytes()


def test_labels_are_bounded() -> None:
    assert protocol_label("/vac/waku/relay/2.0.0") == "/vac/waku/relay/2.0.0"
    assert protocol_label("/anything/else/1.0.0") == OTHER


def test_traffic_feeds_its_parent_and_prometheus() -> None:
    def exported() -> float:
        value = metrics.TRANSPORT_OVERHEAD_BYTES.labels(NOISE, "in")._value.get()
        return float(value)

    start = exported()
    host = Traffic()
    connection = Traffic(host)
    connection.add(NOISE, True, 18)
    connection.add(NOISE, True, 0)
    connection.add("/ipfs/ping/1.0.0", False, 32)
    assert connection.snapshot() == host.snapshot()
    assert host.snapshot()[NOISE] == Bytes(18, 0)
    assert host.snapshot().socket == Bytes(18, 32)
    assert host.snapshot().overhead == Bytes(18, 0)
    assert host.snapshot().protocols == {"/ipfs/ping/1.0.0": Bytes(0, 32)}
    assert exported() == start + 18
    total = Bandwidth({NOISE: Bytes(1, 2)}) + Bandwidth({OTHER: Bytes(3, 4)})
    assert total.socket == Bytes(4, 6)
