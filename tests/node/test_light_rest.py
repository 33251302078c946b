"""A node as light client over REST (/filter/v2, /lightpush, /admin) of a pystatus service node."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx

from pystatus.api.server import RestServer
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.enr import Capabilities, Enr
from tests.p2p.hosts import wait_for, within

CONTENT = "/toychat/2/huilong/proto"  # auto-shards to /waku/2/rs/1/3 (shared vectors)
SHARD_TOPIC = "/waku/2/rs/1/3"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 1}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _message(payload: bytes, content_topic: str = CONTENT) -> dict[str, object]:
    return {
        "payload": base64.b64encode(payload).decode(),
        "contentTopic": content_topic,
        "timestamp": time.time_ns(),
    }


@contextlib.asynccontextmanager
async def _network() -> AsyncIterator[tuple[WakuNode, WakuNode, httpx.AsyncClient]]:
    """A filter + light push service node, a relay peer of it, and a light node with REST."""
    async with (
        WakuNode(_config(filter=FilterConfig(), lightpush=True, peer_exchange=True)) as service,
        WakuNode(_config()) as peer,
    ):
        await within(peer.connect(service.host.full_addrs()[0]))
        assert service.relay is not None
        await wait_for(
            lambda: service.relay is not None and service.relay.mesh_size(SHARD_TOPIC) > 0
        )
        addr = service.host.full_addrs()[0]
        light_config = _config(
            relay=False,
            rest=RestConfig(port=0, admin=True),
            filternode=addr,
            lightpushnode=addr,
        )
        async with WakuNode(light_config) as light:
            await wait_for(lambda: bool(light.host.connections(service.peer_id)))
            assert light_config.rest is not None
            server = RestServer(light, light_config.rest)
            await server.start()
            try:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                    yield service, peer, client
            finally:
                await server.stop()


async def test_subscribe_push_receive_ping_unsubscribe() -> None:
    async with _network() as (service, _, api):
        body = {"requestId": "r1", "contentFilters": [CONTENT]}
        response = await api.post("/filter/v2/subscriptions", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"requestId": "r1", "statusDesc": "OK"}
        assert service.filter_server is not None
        assert len(service.filter_server.subscriptions) == 1
        assert (await api.get(f"/filter/v2/messages/{quote(CONTENT, safe='')}")).json() == []

        pushed = await api.post("/lightpush/v3/message", json={"message": _message(b"one")})
        assert pushed.status_code == 200, pushed.text
        assert pushed.json() == {"relayPeerCount": 1}
        legacy = await api.post(
            "/lightpush/v1/message",
            json={"pubsubTopic": SHARD_TOPIC, "message": _message(b"two")},
        )
        assert (legacy.status_code, legacy.text) == (200, "OK")

        received: list[bytes] = []

        async def poll() -> bool:
            path = f"/filter/v2/messages/{quote(SHARD_TOPIC, safe='')}/{quote(CONTENT, safe='')}"
            got = (await api.get(path)).json()
            received.extend(base64.b64decode(m["payload"]) for m in got)
            return len(received) >= 2

        async with asyncio.timeout(10):
            while not await poll():
                pass
        assert received == [b"one", b"two"]

        assert (await api.get("/filter/v2/subscriptions/ping-1")).json() == {
            "requestId": "ping-1",
            "statusDesc": "OK",
        }
        gone = await api.request("DELETE", "/filter/v2/subscriptions", json=body)
        assert gone.status_code == 200
        ping = await api.get("/filter/v2/subscriptions/ping-2")
        assert ping.status_code == 404
        # nwaku answers a poll of a topic not subscribed 400 "Not subscribed to topic: ...".
        assert (await api.get(f"/filter/v2/messages/{quote(CONTENT, safe='')}")).status_code == 400


async def test_refusals_map_to_http_statuses() -> None:
    async with _network() as (_, _, api):
        foreign = await api.post(
            "/lightpush/v3/message",
            json={"pubsubTopic": "/waku/2/rs/9/0", "message": _message(b"x")},
        )
        assert foreign.status_code == 421 and "statusDesc" in foreign.json()
        huge = await api.post(
            "/lightpush/v3/message", json={"message": _message(b"x" * 200 * 1024)}
        )
        assert huge.status_code == 413
        empty = await api.post("/lightpush/v3/message", json={"message": _message(b"")})
        assert empty.status_code == 400
        not_base64 = await api.post(
            "/lightpush/v3/message", json={"message": {"payload": "!!", "contentTopic": CONTENT}}
        )
        assert not_base64.status_code == 400
        too_many = {"requestId": "r", "contentFilters": [f"/a/1/t{i}/proto" for i in range(101)]}
        assert (await api.post("/filter/v2/subscriptions", json=too_many)).status_code == 400
        unsubscribed = await api.request(
            "DELETE", "/filter/v2/subscriptions/all", json={"requestId": "r"}
        )
        assert unsubscribed.status_code == 404


async def test_without_service_peers_light_routes_answer_503() -> None:
    config = _config(relay=False, rest=RestConfig(port=0))
    async with WakuNode(config) as light:
        assert config.rest is not None
        server = RestServer(light, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                body = {"requestId": "r", "contentFilters": [CONTENT]}
                response = await api.post("/filter/v2/subscriptions", json=body)
                assert response.status_code == 503
                # nwaku's wording when no service peer is known.
                assert (
                    response.json()["statusDesc"]
                    == "No suitable service peer & no discovery method"
                )
                push = await api.post("/lightpush/v3/message", json={"message": _message(b"x")})
                assert push.status_code == 503
                assert (await api.get("/admin/v1/peers")).status_code == 404, "admin is off"
        finally:
            await server.stop()


async def test_admin_peers_lists_and_dials_and_feeds_peer_exchange() -> None:
    async with _network() as (service, _, api):
        listed = (await api.get("/admin/v1/peers")).json()
        entry = next(p for p in listed if p["multiaddr"].endswith(str(service.peer_id)))
        assert entry["connected"] == "Connected"
        assert entry["origin"] == "Static"
        protocols = set(entry["protocols"])
        assert "/vac/waku/filter-subscribe/2.0.0-beta1" in protocols
        assert "/vac/waku/lightpush/3.0.0" in protocols
        assert service.enr.capabilities == (
            Capabilities.RELAY | Capabilities.FILTER | Capabilities.LIGHTPUSH
        )
        bad = await api.post("/admin/v1/peers", json=["/ip4/1.2.3.4/tcp/1"])
        assert bad.status_code == 400
        unreachable = Enr.build(
            Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=1, cluster_id=1, shards=[3]
        )
        refused = await api.post("/admin/v1/peers", json=[unreachable.to_text()])
        assert refused.status_code == 400
        assert refused.text == f"Failed to connect to peer at index: 0 - {unreachable.to_text()}"


async def test_peer_exchange_between_nodes() -> None:
    async with (
        WakuNode(_config(peer_exchange=True)) as responder,
        WakuNode(_config()) as known,
        WakuNode(_config()) as asker,
    ):
        await within(responder.connect(known.host.full_addrs()[0]))
        responder.add_enr(known.enr)
        reached = await within(asker.discover(responder.host.full_addrs()[0]))
        assert reached == 1
        assert asker.host.connections(known.peer_id)
        assert known.peer_id in asker.enr_cache
