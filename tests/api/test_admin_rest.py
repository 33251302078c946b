"""/admin/v1/peers refusals in the words of nwaku's admin handler."""

from __future__ import annotations

import socket

import httpx

from pystatus.api.server import RestServer
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId


async def test_bad_and_unreachable_peers_are_refused_as_nwaku_words_it() -> None:
    config = NodeConfig(
        listen_address="127.0.0.1", tcp_port=0, relay=False, rest=RestConfig(port=0, admin=True)
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    nobody = f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer}"
    async with WakuNode(config) as node:
        assert config.rest is not None
        server = RestServer(node, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as api:
                bad = await api.post("/admin/v1/peers", json=["not an address"])
                assert bad.status_code == 400
                assert bad.text.startswith("Couldn't parse remote peer info: ")
                no_id = await api.post("/admin/v1/peers", json=[f"/ip4/127.0.0.1/tcp/{port}"])
                assert no_id.text.startswith("Couldn't parse remote peer info: ")
                unreachable = await api.post("/admin/v1/peers", json=[nobody])
                assert (unreachable.status_code, unreachable.text) == (
                    400,
                    f"Failed to connect to peer at index: 0 - {nobody}",
                )
        finally:
            await server.stop()
