"""pystatus against real js-libp2p 2.8 peers (npm), both directions, every transport and muxer."""

from __future__ import annotations

import asyncio
import os

import pytest

from pystatus.p2p.identify import IDENTIFY_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.ping import PING_PROTOCOL_ID
from pystatus.p2p.stream import Stream
from tests.interop.harness import NodePeer
from tests.p2p.hosts import ECHO, REQRESP, running_host, within

pytestmark = pytest.mark.interop

COMBINATIONS = [("tcp", "yamux"), ("tcp", "mplex"), ("ws", "yamux"), ("ws", "mplex")]


def _hex(data: bytes) -> str:
    return data.hex()


@pytest.mark.parametrize(("transport", "muxer"), COMBINATIONS)
async def test_js_dials_pystatus(transport: str, muxer: str) -> None:
    async with running_host(transport, muxer) as host:
        js = await NodePeer.start("--transport", transport, "--muxers", muxer)
        try:
            addr = str(host.full_addrs()[0])
            dialed = await js.call("dial", addr=addr)
            assert dialed["remotePeer"] == str(host.peer_id)
            assert dialed["muxer"] == f"/{muxer}/{'1.0.0' if muxer == 'yamux' else '6.7.0'}"
            assert dialed["encryption"] == "/noise"

            info = await js.call("identify", peer=str(host.peer_id))
            assert set(info["protocols"]) == set(host.protocols)
            assert str(info["agentVersion"]).startswith("pystatus/")
            assert info["publicKeyType"] == "secp256k1"
            advertised = {
                Multiaddr.from_string(str(a)).decapsulate_p2p() for a in info["listenAddrs"]
            }
            assert host.listen_addrs[0] in advertised

            ping = await js.call("ping", peer=str(host.peer_id))
            assert 0 <= float(str(ping["rttMs"])) < 5000

            payload = os.urandom(100_000)
            echoed = await js.call("echo", peer=str(host.peer_id), dataHex=_hex(payload))
            assert echoed["dataHex"] == _hex(payload)

            reply = await js.call("reqresp", peer=str(host.peer_id), dataHex=_hex(b"hi"))
            assert reply["dataHex"] == _hex(b"re:hi")

            burst = await js.call(
                "concurrent", timeout=60, peer=str(host.peer_id), count=100, size=1000
            )
            assert burst["streams"] == 100 and not burst["failures"]

            # A second burst on the same connection: late close frames must not break mplex.
            burst = await js.call(
                "concurrent", timeout=60, peer=str(host.peer_id), count=100, size=10
            )
            assert not burst["failures"]
            assert len(host.connections(PeerId.from_string(js.peer_id))) == 1
            await js.call("connections")  # every js event up to here has been read
            assert not js.connection_errors()
        finally:
            await js.stop()


@pytest.mark.parametrize(("transport", "muxer"), COMBINATIONS)
async def test_pystatus_dials_js(transport: str, muxer: str) -> None:
    js = await NodePeer.start("--transport", transport, "--muxers", muxer)
    try:
        async with running_host(transport, muxer) as host:
            js_id = PeerId.from_string(js.peer_id)
            connection = await within(host.connect(js.addrs[0]))
            assert connection.remote_peer == js_id
            assert connection.muxer.startswith(f"/{muxer}/")
            await within(host.wait_identified(connection))
            record = host.peerstore.get(js_id)
            assert record is not None and record.identified
            assert {IDENTIFY_PROTOCOL_ID, PING_PROTOCOL_ID, ECHO, REQRESP} <= set(record.protocols)
            assert record.agent_version and "js-libp2p" in record.agent_version
            assert record.public_key is not None and js_id.matches(record.public_key)
            assert record.addrs

            rtts = await within(host.ping(js_id, count=3))
            assert all(0 < rtt < 5 for rtt in rtts)

            stream = await within(host.new_stream(js_id, [ECHO]))
            payload = os.urandom(200_000)
            await stream.write(payload)
            await stream.close()
            assert await within(stream.read_to_eof(1 << 20)) == payload

            stream = await within(host.new_stream(js_id, [REQRESP]))
            await stream.write_message(b"ping")
            assert await within(stream.read_message(100)) == b"re:ping"
            assert await within(stream.read()) == b""

            async def echo_once(index: int) -> None:
                stream = await host.new_stream(js_id, [ECHO])
                data = index.to_bytes(2, "big") * 500
                await stream.write(data)
                await stream.close()
                assert await stream.read_to_eof(1 << 16) == data

            for _ in range(2):
                await within(asyncio.gather(*(echo_once(i) for i in range(100))), 60)
            assert len(host.connections(js_id)) == 1

            # js sees us identified too.
            info = await js.call("identify", peer=str(host.peer_id))
            assert str(info["agentVersion"]).startswith("pystatus/")
            connections = await js.call("connections")
            assert (
                isinstance(connections["connections"], list)
                and len(connections["connections"]) == 1
            )
            assert not js.connection_errors()
    finally:
        await js.stop()


async def test_identify_push_reaches_js() -> None:
    async with running_host("tcp", "yamux") as host:
        js = await NodePeer.start("--transport", "tcp", "--muxers", "yamux")
        try:
            await js.call("dial", addr=str(host.full_addrs()[0]))
            await js.call("identify", peer=str(host.peer_id))

            async def late(stream: Stream) -> None:
                return None

            host.set_stream_handler("/pystatus/late/1.0.0", late)

            async def js_knows() -> None:
                while True:
                    info = await js.call("identify", peer=str(host.peer_id))
                    if "/pystatus/late/1.0.0" in info["protocols"]:
                        return
                    await asyncio.sleep(0.05)

            await within(js_knows(), 10)
        finally:
            await js.stop()
