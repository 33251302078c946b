"""The harness and the js peer script themselves: two js-libp2p nodes talking."""

from __future__ import annotations

import os

import pytest

from tests.interop.harness import NodePeer

pytestmark = pytest.mark.interop


@pytest.mark.parametrize(("transport", "muxer"), [("tcp", "yamux"), ("ws", "mplex")])
async def test_two_js_peers(transport: str, muxer: str) -> None:
    server = await NodePeer.start("--transport", transport, "--muxers", muxer)
    client = await NodePeer.start("--transport", transport, "--muxers", muxer)
    try:
        dialed = await client.call("dial", addr=server.addrs[0])
        assert dialed["remotePeer"] == server.peer_id
        assert dialed["muxer"].startswith(f"/{muxer}/")
        info = await client.call("identify", peer=server.peer_id)
        assert "/pystatus/echo/1.0.0" in info["protocols"]
        assert info["publicKeyType"] == "secp256k1"
        assert (await client.call("ping", peer=server.peer_id))["rttMs"] >= 0
        data = os.urandom(5000).hex()
        assert (await client.call("echo", peer=server.peer_id, dataHex=data))["dataHex"] == data
        reply = await client.call("reqresp", peer=server.peer_id, dataHex=b"x".hex())
        assert reply["dataHex"] == b"re:x".hex()
        burst = await client.call(
            "concurrent", timeout=60, peer=server.peer_id, count=100, size=100
        )
        assert burst["failures"] == []
        connections = (await client.call("connections"))["connections"]
        assert [c["remotePeer"] for c in connections] == [server.peer_id]
        await server.call("connections")  # every server event up to here has been read
        assert not client.connection_errors() + server.connection_errors()
    finally:
        await client.stop()
        await server.stop()
    assert client.returncode is not None
    assert server.returncode is not None
