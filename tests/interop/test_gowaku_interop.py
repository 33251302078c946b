"""go-waku (the node inside status-go v1.1.0) and pystatus, each as service and as client.

One go-waku process serves the whole module (``tests/interop/gowaku``, driven through
``gowaku_peer.py``); each test starts the go-waku nodes it needs inside it and its own
pystatus nodes. Everything runs on the Status cluster (16), shard 32.

go-waku at this version serves store only as the legacy ``/vac/waku/store/2.0.0-beta4``
(its store v3 is a client) and light push only as ``/vac/waku/lightpush/2.0.0-beta1``, so
the store runs one way (pystatus serves, go-waku's v3 client pages), and a pystatus store
client asking go-waku is refused with a typed error; light push goes by v2 beta1 both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from pystatus.archive.base import ArchivedMessage
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from pystatus.p2p.errors import P2PError
from pystatus.waku.enr import Enr
from pystatus.waku.filter_client import FilterPush
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store import StoreQuery
from tests.interop.gowaku_peer import (
    GoWakuNode,
    GoWakuPeer,
    message_json,
    message_of,
    require_gowaku,
)
from tests.p2p.hosts import wait_for, within

pytestmark = [pytest.mark.interop, pytest.mark.asyncio(loop_scope="module")]

CLUSTER = 16
SHARD = 32
TOPIC = f"/waku/2/rs/{CLUSTER}/{SHARD}"
CHAT = "/pystatus/1/gowaku/proto"
OTHER = "/pystatus/1/other/proto"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gowaku() -> AsyncIterator[GoWakuPeer]:
    require_gowaku()
    async with GoWakuPeer(log_level=os.environ.get("GOWAKU_LOG_LEVEL", "error")) as peer:
        yield peer


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": CLUSTER,
        "shards": (SHARD,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _running(config: NodeConfig) -> AsyncIterator[WakuNode]:
    """A started pystatus node, stopped within 20 s (a stop that hangs fails the test here,
    by name, rather than at pytest's timeout)."""
    node = WakuNode(config)
    await within(node.start(), 20)
    try:
        yield node
    finally:
        try:
            await within(node.stop(), 20)
        except TimeoutError as exc:
            raise AssertionError(f"WakuNode.stop() of {node.peer_id} hung for 20 s") from exc


async def _go_node(gowaku: GoWakuPeer, *, relay: bool = True, **options: Any) -> GoWakuNode:
    return await gowaku.start_node(
        cluster_id=CLUSTER, pubsub_topics=[TOPIC], relay=relay, **options
    )


async def _stop(gowaku: GoWakuPeer, *nodes: GoWakuNode) -> None:
    for node in nodes:
        with contextlib.suppress(Exception):
            await gowaku.call("stop_node", node)


async def _relay_linked(gowaku: GoWakuPeer, go: GoWakuNode, py: WakuNode) -> None:
    """Connect ``py`` to ``go`` and wait until ``py`` has ``go`` in its ``TOPIC`` mesh and
    ``go`` knows ``py`` on the topic (go-waku publishes to every topic peer: flood publish)."""
    await within(py.connect(go.addr), 20)
    relay = py.relay
    assert relay is not None

    async def go_sees_py() -> bool:
        reply = await gowaku.call("relay_peers", go, pubsubTopic=TOPIC)
        return str(py.peer_id) in reply["peers"]

    await wait_for(lambda: relay.mesh_size(TOPIC) > 0, timeout=20, what="pystatus mesh")
    async with asyncio.timeout(20):
        while not await go_sees_py():
            await asyncio.sleep(0.05)


def _message(text: str, content_topic: str = CHAT, timestamp: int | None = None) -> WakuMessage:
    return WakuMessage(text.encode(), content_topic, timestamp=timestamp or time.time_ns())


def _events(gowaku: GoWakuPeer, name: str, node: GoWakuNode) -> list[dict[str, Any]]:
    return [e for e in gowaku.events_named(name) if e["node"] == node.index]


# -- relay ------------------------------------------------------------------------------------


async def test_relay_both_ways(gowaku: GoWakuPeer) -> None:
    go = await _go_node(gowaku)
    try:
        async with _running(_config()) as py:
            assert py.relay is not None
            subscription = py.relay.subscribe(TOPIC)
            await gowaku.call("relay_subscribe", go, pubsubTopic=TOPIC)
            await _relay_linked(gowaku, go, py)

            sent = _message("from go-waku")
            reply = await gowaku.call(
                "relay_publish", go, pubsubTopic=TOPIC, message=message_json(sent)
            )
            received = await within(anext(aiter(subscription)), 10)
            assert received.message == sent
            assert reply["hash"] == message_hash(TOPIC, sent).hex()

            back = WakuMessage(b"from pystatus", CHAT, timestamp=time.time_ns(), meta=b"m")
            since = len(gowaku.events)
            await py.publish(TOPIC, back)
            event = await gowaku.wait_event(
                lambda e: (
                    e.get("event") == "relay"
                    and e["node"] == go.index
                    and e["hash"] == message_hash(TOPIC, back).hex()
                ),
                timeout=10,
                since=since,
            )
            assert message_of(event["message"]) == back
            assert event["pubsubTopic"] == TOPIC
    finally:
        await _stop(gowaku, go)


# -- store: pystatus serves, go-waku's v3 client pages ----------------------------------------

STORE_COUNT = 60
STEP_NS = 10**9


@contextlib.asynccontextmanager
async def _store_node(tmp_path: Path) -> AsyncIterator[tuple[WakuNode, list[ArchivedMessage]]]:
    config = _config(store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"))
    async with _running(config) as node:
        assert node.store is not None
        base = time.time_ns() - STORE_COUNT * STEP_NS
        messages = [
            ArchivedMessage.of(
                TOPIC,
                _message(f"message {i}", CHAT if i % 4 else OTHER, base + i * STEP_NS),
                received_at=base + i * STEP_NS,
            )
            for i in range(STORE_COUNT)
        ]
        await node.store.archive.insert(messages)
        yield node, messages


async def _pages(
    gowaku: GoWakuPeer, client: GoWakuNode, store: WakuNode, **query: Any
) -> list[list[str]]:
    """Every page of ``query`` as go-waku's client reads them, following its cursors."""
    pages: list[list[str]] = []
    cursor = ""
    peer = str(store.host.full_addrs()[0])
    for _ in range(100):
        reply = await gowaku.call("store_query", client, peer=peer, cursor=cursor, **query)
        assert reply["statusCode"] == 200
        pages.append([m["hash"] for m in reply["messages"]])
        cursor = reply.get("cursor", "")
        if not cursor:
            return pages
    raise AssertionError("go-waku kept paging past 100 pages")


async def test_gowaku_store_client_pages_a_pystatus_store(
    gowaku: GoWakuPeer, tmp_path: Path
) -> None:
    client = await _go_node(gowaku, relay=False)
    try:
        async with _store_node(tmp_path) as (store, messages):
            chat = [m.hash.hex() for m in messages if m.message.content_topic == CHAT]

            forward = await _pages(
                gowaku,
                client,
                store,
                pubsubTopic=TOPIC,
                contentTopics=[CHAT],
                pageSize=7,
                forward=True,
            )
            assert [h for page in forward for h in page] == chat
            assert [len(p) for p in forward[:-1]] == [7] * (len(forward) - 1)

            backward = await _pages(
                gowaku,
                client,
                store,
                pubsubTopic=TOPIC,
                contentTopics=[CHAT],
                pageSize=7,
                forward=False,
            )
            # Newest page first; within a page the store keeps ascending order.
            expected = [chat[max(0, end - 7) : end] for end in range(len(chat), 0, -7)]
            assert backward == expected

            start, end = messages[10].timestamp, messages[30].timestamp
            ranged = await _pages(
                gowaku,
                client,
                store,
                pubsubTopic=TOPIC,
                contentTopics=[CHAT, OTHER],
                timeStart=start,
                timeEnd=end,
                pageSize=50,
                forward=True,
            )
            assert [h for page in ranged for h in page] == [
                m.hash.hex() for m in messages if start <= m.timestamp <= end
            ]

            wanted = [messages[3].hash.hex(), messages[41].hash.hex()]
            reply = await gowaku.call(
                "store_query",
                client,
                peer=str(store.host.full_addrs()[0]),
                hashes=wanted,
                pageSize=10,
            )
            got = {m["hash"]: m for m in reply["messages"]}
            assert sorted(got) == sorted(wanted)
            assert message_of(got[wanted[0]]["message"]) == messages[3].message
            assert got[wanted[0]]["pubsubTopic"] == TOPIC
    finally:
        await _stop(gowaku, client)


async def test_pystatus_store_client_against_gowaku_is_refused_not_hung(
    gowaku: GoWakuPeer, tmp_path: Path
) -> None:
    """go-waku at this version serves only the legacy store: pystatus's v3 client gets a typed
    error at once (protocol negotiation fails), never a hang."""
    store = await _go_node(gowaku, store=True, storeDb=str(tmp_path / "gowaku.sqlite3"))
    try:
        async with _running(_config(relay=False)) as py:
            with pytest.raises(P2PError):
                await within(py.store_client.query(store.addr, StoreQuery(pubsub_topic=TOPIC)), 10)
    finally:
        await _stop(gowaku, store)


# -- filter -----------------------------------------------------------------------------------


async def test_pystatus_filter_client_with_gowaku_service(gowaku: GoWakuPeer) -> None:
    service = await _go_node(gowaku, filter=True)
    try:
        # No --filternode: the subscription itself must mount the push handler.
        async with _running(_config(relay=False)) as py:
            pushes: list[FilterPush] = []
            py.filter_client.on_push(pushes.append)
            await within(py.filter_client.subscribe(service.addr, TOPIC, [CHAT]), 20)

            wanted = _message("pushed by go-waku")
            await gowaku.call(
                "relay_publish",
                service,
                pubsubTopic=TOPIC,
                message=message_json(_message("not for us", OTHER)),
            )
            await gowaku.call(
                "relay_publish", service, pubsubTopic=TOPIC, message=message_json(wanted)
            )
            await wait_for(lambda: len(pushes) >= 1, timeout=10, what="filter push")
            assert [(p.pubsub_topic, p.message) for p in pushes] == [(TOPIC, wanted)]
            assert str(pushes[0].peer) == service.peer_id

            await within(py.filter_client.unsubscribe(service.addr, TOPIC, [CHAT]), 20)
            await gowaku.call(
                "relay_publish",
                service,
                pubsubTopic=TOPIC,
                message=message_json(_message("after unsubscribe")),
            )
            marker = _message("marker")
            # A second subscription on another topic proves the first is gone: its marker
            # arrives, the message published after unsubscribing never did.
            await within(py.filter_client.subscribe(service.addr, TOPIC, [OTHER]), 20)
            await gowaku.call(
                "relay_publish",
                service,
                pubsubTopic=TOPIC,
                message=message_json(WakuMessage(b"marker", OTHER, timestamp=marker.timestamp)),
            )
            await wait_for(lambda: len(pushes) >= 2, timeout=10, what="marker push")
            assert [p.message.content_topic for p in pushes] == [CHAT, OTHER]
    finally:
        await _stop(gowaku, service)


async def test_gowaku_filter_client_with_pystatus_service(gowaku: GoWakuPeer) -> None:
    client = await _go_node(gowaku, relay=False, filterClient=True)
    try:
        async with _running(_config(filter=FilterConfig())) as service:
            addr = str(service.host.full_addrs()[0])
            await gowaku.call(
                "filter_subscribe", client, peer=addr, pubsubTopic=TOPIC, contentTopics=[CHAT]
            )
            wanted = _message("pushed by pystatus")
            since = len(gowaku.events)
            await service.publish(TOPIC, _message("not for go-waku", OTHER))
            await service.publish(TOPIC, wanted)
            event = await gowaku.wait_event(
                lambda e: e.get("event") == "filter" and e["node"] == client.index,
                timeout=10,
                since=since,
            )
            assert message_of(event["message"]) == wanted
            assert event["pubsubTopic"] == TOPIC
            assert event["hash"] == message_hash(TOPIC, wanted).hex()

            await gowaku.call(
                "filter_unsubscribe", client, peer=addr, pubsubTopic=TOPIC, contentTopics=[CHAT]
            )
            server = service.filter_server
            assert server is not None
            await wait_for(
                lambda: server.subscriptions.criteria_count == 0, timeout=10, what="unsubscribed"
            )
    finally:
        await _stop(gowaku, client)


# -- light push (v2 beta1: the only light push go-waku has here) ------------------------------


async def test_pystatus_lightpush_client_with_gowaku_service(gowaku: GoWakuPeer) -> None:
    service = await _go_node(gowaku, lightpush=True)
    try:
        async with _running(_config()) as receiver, _running(_config(relay=False)) as client:
            assert receiver.relay is not None
            subscription = receiver.relay.subscribe(TOPIC)
            await _relay_linked(gowaku, service, receiver)
            pushed = _message("light-pushed through go-waku")
            response = await within(
                client.lightpush_client.push(service.addr, pushed, TOPIC, legacy=True), 20
            )
            assert response.ok
            received = await within(anext(aiter(subscription)), 10)
            assert received.message == pushed
    finally:
        await _stop(gowaku, service)


async def test_gowaku_lightpush_client_with_pystatus_service(gowaku: GoWakuPeer) -> None:
    receiver = await _go_node(gowaku)
    client = await _go_node(gowaku, relay=False)
    try:
        async with _running(_config(lightpush=True)) as service:
            await gowaku.call("relay_subscribe", receiver, pubsubTopic=TOPIC)
            await _relay_linked(gowaku, receiver, service)
            pushed = _message("light-pushed through pystatus")
            since = len(gowaku.events)
            reply = await gowaku.call(
                "lightpush",
                client,
                peer=str(service.host.full_addrs()[0]),
                pubsubTopic=TOPIC,
                message=message_json(pushed),
            )
            assert reply["hash"] == message_hash(TOPIC, pushed).hex()
            event = await gowaku.wait_event(
                lambda e: e.get("event") == "relay" and e["node"] == receiver.index,
                timeout=10,
                since=since,
            )
            assert message_of(event["message"]) == pushed
    finally:
        await _stop(gowaku, receiver, client)


# -- peer exchange ----------------------------------------------------------------------------


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_gowaku_px_client_with_pystatus_server(gowaku: GoWakuPeer) -> None:
    client = await _go_node(gowaku)
    try:
        async with _running(_config()) as known, _running(_config(peer_exchange=True)) as server:
            # pystatus hands out only records of peers it has reached.
            await within(known.connect(server.host.full_addrs()[0]), 10)
            server.add_enr(known.enr)
            await gowaku.call(
                "px_request", client, peer=str(server.host.full_addrs()[0]), numPeers=5
            )

            async def learned() -> bool:
                reply = await gowaku.call("peers", client)
                return str(known.peer_id) in {p["peerId"] for p in reply["peers"] or []}

            async with asyncio.timeout(10):
                while not await learned():
                    await asyncio.sleep(0.05)
    finally:
        await _stop(gowaku, client)


async def test_pystatus_px_client_with_gowaku_server(gowaku: GoWakuPeer) -> None:
    """go-waku's peer exchange serves what its discv5 found: a second go-waku node is its
    discv5 bootnode, and pystatus should learn that node's record."""
    other = await _go_node(gowaku, discv5UdpPort=_free_udp_port())
    server = await _go_node(
        gowaku, peerExchange=True, discv5UdpPort=_free_udp_port(), bootnodes=[other.enr]
    )
    try:
        async with _running(_config(relay=False)) as py:
            records: list[Enr] = []
            async with asyncio.timeout(30):
                # go-waku fills its exchange cache from discv5 walks, a few seconds apart.
                while not records:
                    records = await within(py.px_client.query(server.addr, 5), 10)
                    if not records:
                        await asyncio.sleep(0.2)
            assert other.peer_id in {str(r.peer_id) for r in records}
            record = next(r for r in records if str(r.peer_id) == other.peer_id)
            assert record.relay_shards == (CLUSTER, (SHARD,))
    finally:
        await _stop(gowaku, server, other)
