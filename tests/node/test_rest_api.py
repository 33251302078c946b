"""The nwaku-shaped REST API of a running node, over real HTTP, with a second node to relay."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx

from pystatus.api.server import RestServer
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.waku.enr import Enr
from pystatus.waku.message import WakuMessage
from tests.p2p.hosts import wait_for, within

TOPIC = "/waku/2/rs/1/0"
CONTENT = "/toychat/2/huilong/proto"  # auto-shards to /waku/2/rs/1/3 (shared vectors)


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 1,
        "rest": RestConfig(port=0),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _node_with_api(config: NodeConfig) -> AsyncIterator[tuple[WakuNode, httpx.AsyncClient]]:
    async with WakuNode(config) as node:
        assert config.rest is not None
        server = RestServer(node, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", timeout=10
            ) as client:
                yield node, client
        finally:
            await server.stop()


def _json_message(payload: bytes, content_topic: str = CONTENT) -> dict[str, object]:
    return {
        "payload": base64.b64encode(payload).decode(),
        "contentTopic": content_topic,
        "timestamp": time.time_ns(),
    }


async def test_info_health_and_version() -> None:
    async with _node_with_api(_config()) as (node, client):
        info = (await client.get("/debug/v1/info")).json()
        assert info["listenAddresses"] == [str(a) for a in node.host.full_addrs()]
        assert Enr.from_text(info["enrUri"]).peer_id == node.peer_id
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["nodeHealth"] == "READY"  # nwaku's words (api/health.py)
        relay = health.json()["protocolsHealth"][0]
        assert relay == {"Relay": "NOT_READY", "desc": "No connected peers"}
        assert (await client.get("/debug/v1/version")).text.startswith("v")


async def test_relay_messages_between_two_nodes_over_rest() -> None:
    async with (
        _node_with_api(_config()) as (alice, alice_api),
        _node_with_api(_config()) as (bob, bob_api),
    ):
        assert (await bob_api.post("/relay/v1/subscriptions", json=[TOPIC])).text == "OK"
        await alice.connect(bob.host.full_addrs()[0])
        assert alice.relay is not None and bob.relay is not None
        await wait_for(lambda: alice.relay is not None and alice.relay.mesh_size(TOPIC) > 0)
        sent = _json_message(b"hello over rest")
        reply = await alice_api.post(f"/relay/v1/messages/{quote(TOPIC, safe='')}", json=sent)
        assert reply.status_code == 200, reply.text
        path = f"/relay/v1/messages/{quote(TOPIC, safe='')}"

        async def received() -> list[dict[str, object]]:
            while True:
                messages: list[dict[str, object]] = (await bob_api.get(path)).json()
                if messages:
                    return messages

        messages = await within(received())
        assert messages[0]["payload"] == sent["payload"]
        assert messages[0]["contentTopic"] == CONTENT
        assert messages[0]["timestamp"] == sent["timestamp"]
        assert (await bob_api.get(path)).json() == []  # GET drains the cache
        health = (await alice_api.get("/health")).json()
        assert health["protocolsHealth"][0] == {"Relay": "READY"}


async def test_auto_sharded_endpoints() -> None:
    async with (
        _node_with_api(_config()) as (alice, alice_api),
        _node_with_api(_config()) as (bob, bob_api),
    ):
        reply = await bob_api.post("/relay/v1/auto/subscriptions", json=[CONTENT])
        assert reply.status_code == 200
        assert bob.relay is not None and "/waku/2/rs/1/3" in bob.relay.topics
        await alice.connect(bob.host.full_addrs()[0])
        await wait_for(
            lambda: alice.relay is not None and alice.relay.mesh_size("/waku/2/rs/1/3") > 0
        )
        sent = _json_message(b"auto")
        assert (await alice_api.post("/relay/v1/auto/messages", json=sent)).status_code == 200
        path = f"/relay/v1/auto/messages/{quote(CONTENT, safe='')}"

        async def received() -> list[dict[str, object]]:
            while True:
                messages: list[dict[str, object]] = (await bob_api.get(path)).json()
                if messages:
                    return messages

        assert (await within(received()))[0]["payload"] == sent["payload"]
        reply = await bob_api.request("DELETE", "/relay/v1/auto/subscriptions", json=[CONTENT])
        assert reply.status_code == 200
        assert (await bob_api.get(path)).status_code == 404


async def test_bad_requests_get_400_with_a_description() -> None:
    async with _node_with_api(_config()) as (_, client):
        path = f"/relay/v1/messages/{quote(TOPIC, safe='')}"
        cases = [
            ("not base64", {"payload": "***", "contentTopic": CONTENT}, "base64"),
            # On a named shard any content topic goes ("nope" too, as nwaku): only empty fails.
            ("empty content topic", _json_message(b"x", ""), "contentTopic"),
            ("empty payload", _json_message(b""), "empty_payload"),
            ("missing field", {"payload": "eA=="}, "contentTopic"),
            ("future", {**_json_message(b"x"), "timestamp": 2**62}, "future"),
        ]
        for name, body, expected in cases:
            reply = await client.post(path, json=body)
            assert reply.status_code == 400, name
            assert expected in reply.text, (name, reply.text)
        foreign = f"/relay/v1/messages/{quote('/waku/2/rs/7/0', safe='')}"
        reply = await client.post(foreign, json=_json_message(b"x"))
        assert reply.status_code == 400 and "cluster" in reply.text
        reply = await client.post("/relay/v1/subscriptions", json=["/not/a/topic"])
        assert reply.status_code == 400
        reply = await client.post("/relay/v1/subscriptions", content=b"{not json")
        assert reply.status_code == 400
        assert (await client.get(path)).status_code == 404
        # A valid message with nobody to relay it to is not silently dropped.
        reply = await client.post(path, json=_json_message(b"alone"))
        assert reply.status_code == 503 and "no peers" in reply.text


async def test_other_cluster_peers_are_dropped() -> None:
    async with (
        WakuNode(_config(rest=None)) as ours,
        WakuNode(NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=2)) as theirs,
    ):
        await within(ours.connect(theirs.host.full_addrs()[0]))
        await wait_for(lambda: not ours.host.connections(theirs.peer_id), what="drop")


async def test_published_message_decodes_identically() -> None:
    """What REST publishes is exactly the Waku message a relay peer receives."""
    async with (
        _node_with_api(_config()) as (alice, alice_api),
        WakuNode(_config(rest=None)) as bob,
    ):
        assert bob.relay is not None
        inbox = bob.relay.subscribe(TOPIC)
        await alice.connect(bob.host.full_addrs()[0])
        await wait_for(lambda: alice.relay is not None and alice.relay.mesh_size(TOPIC) > 0)
        body = {**_json_message(b"exact"), "meta": base64.b64encode(b"m").decode(), "version": 1}
        path = f"/relay/v1/messages/{quote(TOPIC, safe='')}"
        assert (await alice_api.post(path, json=body)).status_code == 200
        got = await within(anext(inbox))
        assert got.message == WakuMessage(
            payload=b"exact",
            content_topic=CONTENT,
            version=1,
            timestamp=int(str(body["timestamp"])),
            meta=b"m",
        )
