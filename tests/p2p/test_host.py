"""Two real hosts over loopback sockets: every transport with every muxer."""

from __future__ import annotations

import asyncio
import os

import pytest

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.errors import DialError, NegotiationError, StreamReset
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IDENTIFY_PROTOCOL_ID, IDENTIFY_PUSH_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.ping import PING_PROTOCOL_ID
from pystatus.p2p.stream import Stream
from tests.p2p.hosts import ECHO, REQRESP, SINK, make_config, running_host, wait_for, within

COMBINATIONS = [("tcp", "yamux"), ("tcp", "mplex"), ("ws", "yamux"), ("ws", "mplex")]


@pytest.mark.parametrize(("transport", "muxer"), COMBINATIONS)
async def test_dial_identify_ping_echo(transport: str, muxer: str) -> None:
    async with running_host(transport, muxer) as server, running_host(transport, muxer) as client:
        connection = await within(client.connect(server.full_addrs()[0]))
        assert connection.remote_peer == server.peer_id
        assert connection.muxer.startswith(f"/{muxer}/")
        await within(client.wait_identified(connection))
        record = client.peerstore.get(server.peer_id)
        assert record is not None and record.identified
        assert set(record.protocols) == {
            ECHO,
            REQRESP,
            SINK,
            IDENTIFY_PROTOCOL_ID,
            IDENTIFY_PUSH_PROTOCOL_ID,
            PING_PROTOCOL_ID,
        }
        assert record.agent_version is not None and record.agent_version.startswith("pystatus/")
        assert record.public_key is not None and server.peer_id.matches(record.public_key)
        assert server.listen_addrs[0] in record.addrs
        # The server saw the client's address as the client's socket has it.
        await wait_for(
            lambda: (r := server.peerstore.get(client.peer_id)) is not None and r.identified
        )
        server_record = server.peerstore.get(client.peer_id)
        assert server_record is not None and server_record.observed_addr is not None
        assert server_record.observed_addr.value_for("tcp") == str(
            server.listen_addrs[0].value_for("tcp")
        )

        rtts = await within(client.ping(server.peer_id, count=3))
        assert len(rtts) == 3 and all(0 < rtt < 5 for rtt in rtts)

        stream = await within(client.new_stream(server.peer_id, [ECHO]))
        assert stream.protocol == ECHO
        payload = os.urandom(300_000)
        await stream.write(payload)
        await stream.close()
        assert await within(stream.read_to_eof(1 << 20)) == payload


@pytest.mark.parametrize(("transport", "muxer"), COMBINATIONS)
async def test_request_response_both_ways(transport: str, muxer: str) -> None:
    async with running_host(transport, muxer) as a, running_host(transport, muxer) as b:
        await within(a.connect(b.full_addrs()[0]))
        for source, target in ((a, b), (b, a)):
            stream = await within(source.new_stream(target.peer_id, [REQRESP]))
            await stream.write_message(b"hello")
            reply = await within(stream.read_message(1024))
            assert reply == b"re:hello"
            assert await within(stream.read()) == b""


@pytest.mark.parametrize(("transport", "muxer"), COMBINATIONS)
async def test_hundred_concurrent_streams(transport: str, muxer: str) -> None:
    async with running_host(transport, muxer) as server, running_host(transport, muxer) as client:
        await within(client.connect(server.full_addrs()[0]))

        async def one(index: int) -> bytes:
            stream = await client.new_stream(server.peer_id, [ECHO])
            data = index.to_bytes(4, "big") + os.urandom(2000)
            await stream.write(data)
            await stream.close()
            echoed = await stream.read_to_eof(1 << 16)
            assert echoed == data
            return echoed

        results = await within(asyncio.gather(*(one(i) for i in range(100))), 30)
        assert len({r[:4] for r in results}) == 100
        assert len(client.connections(server.peer_id)) == 1
        # Every finished stream has been forgotten on both sides.
        await wait_for(lambda: not client.connections(server.peer_id)[0].streams)


async def test_bulk_transfer_respects_flow_control() -> None:
    async with running_host("tcp", "yamux") as server, running_host("tcp", "yamux") as client:
        stream = await within(client.new_stream(server.full_addrs()[0], [SINK]))
        chunk = os.urandom(64 * 1024)
        for _ in range(160):  # 10 MiB, far beyond yamux's 256 KiB initial window
            await stream.write(chunk)
        await stream.close()
        assert await within(stream.read_to_eof(64), 30) == str(160 * len(chunk)).encode()


async def test_unsupported_protocol_is_refused() -> None:
    async with running_host() as server, running_host() as client:
        with pytest.raises(NegotiationError):
            await within(client.new_stream(server.full_addrs()[0], ["/nope/1.0.0"]))
        # The connection survives a refused protocol.
        stream = await within(client.new_stream(server.peer_id, ["/nope/1.0.0", ECHO]))
        assert stream.protocol == ECHO


async def test_dial_with_wrong_peer_id_fails() -> None:
    async with running_host() as server, running_host() as client:
        impostor = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
        addr = server.listen_addrs[0].with_peer_id(str(impostor))
        with pytest.raises(DialError):
            await within(client.connect(addr))
        assert not client.connections()


async def test_dial_refused_port_fails_cleanly() -> None:
    async with running_host() as server:
        port = server.listen_addrs[0].value_for("tcp")
    async with running_host() as client:
        with pytest.raises(DialError):
            await within(client.connect(Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{port}")))


async def test_reset_reaches_the_other_side() -> None:
    opened: asyncio.Queue[Stream] = asyncio.Queue()

    async def hold(stream: Stream) -> None:
        await opened.put(stream)
        await asyncio.Event().wait()

    async with running_host() as server, running_host() as client:
        server.set_stream_handler("/hold/1.0.0", hold)
        stream = await within(client.new_stream(server.full_addrs()[0], ["/hold/1.0.0"]))
        await stream.write(b"x")
        remote = await within(opened.get())
        await stream.reset()
        with pytest.raises(StreamReset):
            await within(remote.read_to_eof(1024))


async def test_identify_push_announces_new_protocols() -> None:
    async with running_host() as server, running_host() as client:
        connection = await within(client.connect(server.full_addrs()[0]))
        await within(client.wait_identified(connection))

        async def noop(stream: Stream) -> None:
            await stream.close()

        server.set_stream_handler("/late/1.0.0", noop)

        def knows_late() -> bool:
            record = client.peerstore.get(server.peer_id)
            return record is not None and "/late/1.0.0" in record.protocols

        await wait_for(knows_late)


async def test_connection_limit_refuses_extra_inbound() -> None:
    async with (
        running_host(max_connections=1) as server,
        running_host() as first,
        running_host() as second,
    ):
        await within(first.connect(server.full_addrs()[0]))
        with pytest.raises(DialError):
            await within(second.connect(server.full_addrs()[0]))
        assert len(server.connections()) == 1


async def test_silent_peer_hits_handshake_timeout() -> None:
    async with running_host(handshake_timeout=0.3) as server:
        port = server.listen_addrs[0].value_for("tcp")
        reader, writer = await asyncio.open_connection("127.0.0.1", int(str(port)))
        try:
            # We never speak; the server must give up and close on its own.
            async def until_eof() -> None:
                while await reader.read(1024):
                    pass

            await within(until_eof(), 5)
        finally:
            writer.close()
        assert not server.connections()


async def test_stop_closes_connections_on_both_sides() -> None:
    async with running_host() as client:
        server = Host(make_config())
        await server.start()
        await within(client.connect(server.full_addrs()[0]))
        await server.stop()
        await wait_for(lambda: not client.connections())


async def test_yamux_muxer_ping_round_trips() -> None:
    async with running_host("tcp", "yamux") as server, running_host("tcp", "yamux") as client:
        connection = await within(client.connect(server.full_addrs()[0]))
        rtt = await within(connection.muxer_ping())
        assert 0 < rtt < 10
