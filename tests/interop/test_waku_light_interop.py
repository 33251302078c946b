"""Unmodified js-waku light nodes (npm @waku/sdk createLightNode) with a pystatus service node.

One light node pushes (light push v3, and v2 once), another receives by filter, and both
read the messages back by store; over TCP (yamux) and over WebSocket (mplex, as browsers).
The service node relays to a second pystatus node, so light push has a relay peer to count.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from pystatus.waku.message import WakuMessage
from tests.interop.harness import NodePeer
from tests.p2p.hosts import wait_for, within

pytestmark = pytest.mark.interop

TOPIC = "/waku/2/rs/1/3"  # where js-waku auto-shards CHAT on cluster 1 with 8 shards
CHAT = "/toychat/2/huilong/proto"
PUSHES = 20
BURST = 300


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 1,
        "shards": (3,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _service(tmp_path: Path) -> AsyncIterator[tuple[WakuNode, WakuNode]]:
    config = _config(
        websocket_support=True,
        websocket_port=0,
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"),
        filter=FilterConfig(),
        lightpush=True,
    )
    async with WakuNode(config) as service, WakuNode(_config()) as relay_peer:
        await within(relay_peer.connect(service.host.full_addrs()[0]))
        await wait_for(
            lambda: service.relay is not None and service.relay.mesh_size(TOPIC) > 0,
            what="relay mesh",
        )
        yield service, relay_peer


@contextlib.asynccontextmanager
async def _light_node(service: WakuNode, transport: str) -> AsyncIterator[NodePeer]:
    js = await NodePeer.start("--transport", transport, script="waku_light_node.mjs")
    try:
        want_ws = transport == "ws"
        addr = next(
            a for a in service.host.full_addrs() if (a.value_for("ws") is not None) == want_ws
        )
        await js.call("dial", timeout=30, addr=str(addr))
        yield js
    finally:
        await js.stop()


@pytest.mark.parametrize("transport", ["tcp", "ws"])
async def test_push_filter_store_between_js_light_nodes(transport: str, tmp_path: Path) -> None:
    async with (
        _service(tmp_path) as (service, relay_peer),
        _light_node(service, transport) as receiver,
        _light_node(service, transport) as sender,
    ):
        assert relay_peer.relay is not None
        relayed = relay_peer.relay.subscribe(TOPIC)
        await receiver.call("subscribe", timeout=30, contentTopic=CHAT)
        assert service.filter_server is not None
        assert len(service.filter_server.subscriptions) == 1

        payloads = [f"light {transport} {i}".encode().hex() for i in range(PUSHES)]
        for index, payload in enumerate(payloads):
            reply = await sender.call(
                "push", timeout=30, contentTopic=CHAT, payloadHex=payload, legacy=index == 0
            )
            assert reply["failures"] == [] and reply["successes"] == [str(service.peer_id)]

        async def received() -> list[dict[str, str]]:
            return list((await receiver.call("received", contentTopic=CHAT))["messages"])

        async with asyncio.timeout(20):
            while len(got := await received()) < PUSHES:
                await asyncio.sleep(0.05)
        assert sorted(m["payloadHex"] for m in got) == sorted(payloads)
        assert {m["pubsubTopic"] for m in got} == {TOPIC}
        assert len(got) == PUSHES, "each message pushed once"

        relayed_payloads: set[str] = set()
        async with asyncio.timeout(20):
            while len(relayed_payloads) < PUSHES:
                item = await relayed.__anext__()
                relayed_payloads.add(item.message.payload.hex())
        assert relayed_payloads == set(payloads)

        stored = (await sender.call("query", timeout=60, contentTopic=CHAT))["messages"]
        assert sorted(m["hash"] for m in stored) == sorted(m["hash"] for m in got)

        # A burst far past js-waku's 100 open push streams: each push stream must end.
        assert service.relay is not None
        for index in range(BURST):
            service.relay.publish(
                TOPIC, WakuMessage(b"burst %d" % index, CHAT, timestamp=time.time_ns())
            )
        async with asyncio.timeout(30):
            while len(got := await received()) < PUSHES + BURST:
                await asyncio.sleep(0.05)
        assert len(got) == PUSHES + BURST
        assert receiver.connection_errors() == [] and sender.connection_errors() == []


async def test_js_waku_discovers_peers_by_peer_exchange(tmp_path: Path) -> None:
    async with (
        WakuNode(_config(peer_exchange=True)) as responder,
        WakuNode(_config()) as other,
    ):
        await within(responder.connect(other.host.full_addrs()[0]))
        responder.add_enr(other.enr)
        js = await NodePeer.start("--px", "1", script="waku_light_node.mjs")
        try:
            await js.call(
                "dial", timeout=30, addr=str(responder.host.full_addrs()[0]), protocols=[]
            )
            async with asyncio.timeout(20):
                while str(other.peer_id) not in (peers := (await js.call("discovered"))["peers"]):
                    await asyncio.sleep(0.1)
            assert any(str(a).startswith("/ip4/127.0.0.1/tcp/") for a in peers[str(other.peer_id)])
        finally:
            await js.stop()
