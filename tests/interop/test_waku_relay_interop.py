"""pystatus relay nodes and js Waku relay nodes (npm js-libp2p gossipsub + @waku/core) together."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import Subscription, WakuRelay
from tests.interop.harness import NodePeer
from tests.p2p.hosts import wait_for, within

pytestmark = pytest.mark.interop

CONTENT = "/toychat/2/huilong/proto"
TOPIC = "/waku/2/rs/1/3"  # where auto-sharding puts CONTENT on cluster 1 (shared vectors)


def _config() -> NodeConfig:
    return NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=1, shards=(3,))


@contextlib.asynccontextmanager
async def _js_relay(*args: str) -> AsyncIterator[NodePeer]:
    peer = await NodePeer.start(*args, script="waku_relay_peer.mjs")
    try:
        await peer.call("subscribe", topic=TOPIC)
        yield peer
    finally:
        await peer.stop()


async def _js_meshed(js: NodePeer, peer_ids: list[str]) -> None:
    async def meshed() -> None:
        while True:
            peers = (await js.call("meshPeers", topic=TOPIC))["peers"]
            if all(p in peers for p in peer_ids):
                return

    await within(meshed(), 20)


def _js_messages(js: NodePeer) -> list[dict[str, object]]:
    return [e for e in js.events if e.get("event") == "message"]


@pytest.mark.parametrize("dialer", ["pystatus", "js"])
async def test_messages_flow_both_ways_with_equal_hashes(dialer: str) -> None:
    async with WakuNode(_config()) as ours, _js_relay() as js:
        assert ours.relay is not None
        assert ours.content_topic_to_pubsub(CONTENT) == TOPIC
        inbox = ours.relay.subscribe(TOPIC)
        if dialer == "pystatus":
            await within(ours.connect(js.addrs[0]))
        else:
            await js.call("dial", addr=str(ours.host.full_addrs()[0]))
        await wait_for(lambda: ours.relay is not None and ours.relay.mesh_size(TOPIC) > 0, 20)
        await _js_meshed(js, [str(ours.peer_id)])

        sent = WakuMessage(b"from pystatus", CONTENT, timestamp=time.time_ns())
        outcome = ours.relay.publish(TOPIC, sent)
        await wait_for(lambda: bool(_js_messages(js)), what="js received")
        got = _js_messages(js)[0]
        assert got["payloadHex"] == sent.payload.hex()
        assert got["contentTopic"] == CONTENT
        assert got["hash"] == outcome.hash.hex()
        assert got["timestamp"] == str(sent.timestamp)

        reply = await js.call(
            "publish", topic=TOPIC, contentTopic=CONTENT, payloadHex=b"from js".hex()
        )
        assert reply["recipients"] == 1
        while True:
            item = await within(anext(inbox))
            if item.source is not None:
                break
        assert item.message.payload == b"from js"
        assert item.hash.hex() == reply["hash"]
        assert str(item.source) == js.peer_id


async def test_metadata_both_ways() -> None:
    async with WakuNode(_config()) as ours, _js_relay() as js:
        await within(ours.connect(js.addrs[0]))
        theirs = await within(ours.metadata.query(ours.host.connections()[0].remote_peer))
        assert theirs.cluster_id == 1
        mine = await js.call("metadata", peer=str(ours.peer_id))
        assert mine["clusterId"] == 1
        assert mine["shards"] == [3]  # js-waku reads our unpacked shards


async def test_mixed_line_delivers_every_message_exactly_once() -> None:
    """py0 - js0 - py1 - js1 - py2: every node publishes; every other node gets each once."""
    per_node = 10
    async with (
        WakuNode(_config()) as py0,
        WakuNode(_config()) as py1,
        WakuNode(_config()) as py2,
        _js_relay() as js0,
        _js_relay() as js1,
    ):
        pys = [py0, py1, py2]
        inboxes: dict[str, Subscription] = {}
        for node in pys:
            assert node.relay is not None
            inboxes[str(node.peer_id)] = node.relay.subscribe(TOPIC)
        await within(py0.connect(js0.addrs[0]))
        await within(py1.connect(js0.addrs[0]))
        await within(py1.connect(js1.addrs[0]))
        await within(py2.connect(js1.addrs[0]))
        for node in pys:
            relay = node.relay
            assert relay is not None

            def meshed(relay: WakuRelay = relay) -> bool:
                return relay.mesh_size(TOPIC) > 0

            await wait_for(meshed, 20)
        await wait_for(lambda: py1.relay is not None and py1.relay.mesh_size(TOPIC) == 2, 20)
        await _js_meshed(js0, [str(py0.peer_id), str(py1.peer_id)])
        await _js_meshed(js1, [str(py1.peer_id), str(py2.peer_id)])

        expected: dict[str, str] = {}  # hash -> publisher
        for index in range(per_node):
            for node in pys:
                assert node.relay is not None
                message = WakuMessage(
                    f"{node.peer_id}-{index}".encode(), CONTENT, timestamp=time.time_ns()
                )
                expected[node.relay.publish(TOPIC, message).hash.hex()] = str(node.peer_id)
            for js in (js0, js1):
                reply = await js.call(
                    "publish",
                    topic=TOPIC,
                    contentTopic=CONTENT,
                    payloadHex=f"{js.peer_id}-{index}".encode().hex(),
                )
                expected[reply["hash"]] = js.peer_id
        assert len(expected) == 5 * per_node

        def wanted_by(name: str) -> set[str]:
            return {h for h, publisher in expected.items() if publisher != name}

        received: dict[str, Counter[str]] = {name: Counter() for name in inboxes}

        async def drain_py(name: str) -> None:
            inbox = inboxes[name]
            while set(received[name]) < wanted_by(name):
                item = await anext(inbox)
                if item.source is not None:  # not our own publication
                    received[name][item.hash.hex()] += 1

        for name in inboxes:
            await within(drain_py(name), 30)
        for js in (js0, js1):

            def delivered(js: NodePeer = js) -> bool:
                return {str(e["hash"]) for e in _js_messages(js)} >= wanted_by(js.peer_id)

            await wait_for(delivered, timeout=30, what="js deliveries")
        # A last message from one end: duplicates of earlier ones would have come before it.
        sentinel = WakuMessage(b"sentinel", CONTENT, timestamp=time.time_ns())
        assert py0.relay is not None
        sentinel_hash = py0.relay.publish(TOPIC, sentinel).hash.hex()
        for name in (str(py1.peer_id), str(py2.peer_id)):
            while True:
                item = await within(anext(inboxes[name]), 20)
                if item.hash.hex() == sentinel_hash:
                    break
                received[name][item.hash.hex()] += 1
        for js in (js0, js1):

            def got_sentinel(js: NodePeer = js) -> bool:
                return any(e["hash"] == sentinel_hash for e in _js_messages(js))

            await wait_for(got_sentinel, 20)
        for name, counts in received.items():
            assert set(counts) == wanted_by(name), name
            assert all(count == 1 for count in counts.values()), name
        for js in (js0, js1):
            counts = Counter(str(e["hash"]) for e in _js_messages(js))
            del counts[sentinel_hash]
            assert set(counts) == wanted_by(js.peer_id)
            assert all(count == 1 for count in counts.values())
