"""go-waku and pystatus at the edges: large messages, store queries without content topics or
data, and refusals that must reach the other side as errors (never a hang).

Shares its helpers with test_gowaku_interop.py; its own go-waku process serves the module.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pystatus.node.config import FilterConfig
from pystatus.waku.message import WakuMessage, message_hash
from tests.interop.gowaku_peer import GoWakuPeer, GoWakuPeerError, message_json, message_of
from tests.interop.test_gowaku_interop import (
    CHAT,
    CLUSTER,
    OTHER,
    TOPIC,
    _config,
    _go_node,
    _pages,
    _relay_linked,
    _running,
    _stop,
    _store_node,
    gowaku,
)
from tests.p2p.hosts import wait_for, within

pytestmark = [pytest.mark.interop, pytest.mark.asyncio(loop_scope="module")]

__all__ = ["gowaku"]  # the module's go-waku process (a fixture)

STATUS_MAX_MESSAGE = 1024 * 1024  # the Status cluster's cap, as status-go sets it


async def test_large_messages_both_ways(gowaku: GoWakuPeer) -> None:
    """Near the Status cluster's 1 MiB cap: gossipsub frames both ways carry them whole."""
    go = await _go_node(gowaku, maxMessageSize=STATUS_MAX_MESSAGE)
    try:
        async with _running(_config()) as py:
            assert py.relay is not None
            subscription = py.relay.subscribe(TOPIC)
            await gowaku.call("relay_subscribe", go, pubsubTopic=TOPIC)
            await _relay_linked(gowaku, go, py)

            big = WakuMessage(bytes(range(256)) * 3000, CHAT, timestamp=time.time_ns())
            await gowaku.call("relay_publish", go, pubsubTopic=TOPIC, message=message_json(big))
            received = await within(anext(aiter(subscription)), 10)
            assert received.message == big

            back = WakuMessage(bytes(900 * 1024), CHAT, timestamp=time.time_ns())
            since = len(gowaku.events)
            await py.publish(TOPIC, back)
            event = await gowaku.wait_event(
                lambda e: (
                    e.get("event") == "relay" and e["hash"] == message_hash(TOPIC, back).hex()
                ),
                timeout=10,
                since=since,
            )
            assert message_of(event["message"]) == back
    finally:
        await _stop(gowaku, go)


async def test_gowaku_store_client_by_pubsub_topic_alone_and_without_data(
    gowaku: GoWakuPeer, tmp_path: Path
) -> None:
    """nwaku answers a pubsub topic alone, and pages of hashes only (include_data false)."""
    client = await _go_node(gowaku, relay=False)
    try:
        async with _store_node(tmp_path) as (store, messages):
            everything = [m.hash.hex() for m in messages]
            pages = await _pages(
                gowaku, client, store, pubsubTopic=TOPIC, pageSize=25, forward=True
            )
            assert [h for page in pages for h in page] == everything

            addr = str(store.host.full_addrs()[0])
            reply = await gowaku.call(
                "store_query",
                client,
                peer=addr,
                pubsubTopic=TOPIC,
                contentTopics=[OTHER],
                pageSize=5,
                forward=True,
                includeData=False,
            )
            other = [m.hash.hex() for m in messages if m.message.content_topic == OTHER]
            assert [m["hash"] for m in reply["messages"]] == other[:5]
            assert all("message" not in m for m in reply["messages"])
            follow = await gowaku.call(
                "store_query",
                client,
                peer=addr,
                pubsubTopic=TOPIC,
                contentTopics=[OTHER],
                pageSize=5,
                forward=True,
                includeData=False,
                cursor=reply["cursor"],
            )
            assert [m["hash"] for m in follow["messages"]] == other[5:10]
    finally:
        await _stop(gowaku, client)


async def test_gowaku_store_client_time_range_is_inclusive(
    gowaku: GoWakuPeer, tmp_path: Path
) -> None:
    """nwaku's archive reads [start, end] with both ends inclusive; go-waku's client asking
    pystatus gets the same, down to start == end."""
    client = await _go_node(gowaku, relay=False)
    try:
        async with _store_node(tmp_path) as (store, messages):
            first, last = messages[10], messages[19]
            pages = await _pages(
                gowaku,
                client,
                store,
                pubsubTopic=TOPIC,
                timeStart=first.timestamp,
                timeEnd=last.timestamp,
                pageSize=50,
                forward=True,
            )
            assert [h for page in pages for h in page] == [m.hash.hex() for m in messages[10:20]]
            one = await _pages(
                gowaku,
                client,
                store,
                pubsubTopic=TOPIC,
                timeStart=last.timestamp,
                timeEnd=last.timestamp,
                pageSize=50,
                forward=False,
            )
            assert one == [[last.hash.hex()]]
    finally:
        await _stop(gowaku, client)


async def test_gowaku_lightpush_refused_without_relay_peers(gowaku: GoWakuPeer) -> None:
    """A pystatus service with no relay peer refuses the push; go-waku's client hears the
    refusal as an error, at once."""
    client = await _go_node(gowaku, relay=False)
    try:
        async with _running(_config(lightpush=True)) as service:
            message = WakuMessage(b"nobody to relay to", CHAT, timestamp=time.time_ns())
            with pytest.raises(GoWakuPeerError, match="lightpush failed"):
                await gowaku.call(
                    "lightpush",
                    client,
                    timeout=15,
                    peer=str(service.host.full_addrs()[0]),
                    pubsubTopic=TOPIC,
                    message=message_json(message),
                )
    finally:
        await _stop(gowaku, client)


async def test_gowaku_filter_subscription_to_an_unserved_shard_is_refused(
    gowaku: GoWakuPeer,
) -> None:
    client = await _go_node(gowaku, relay=False, filterClient=True)
    try:
        async with _running(_config(filter=FilterConfig())) as service:
            with pytest.raises(GoWakuPeerError, match="filter_subscribe failed"):
                await gowaku.call(
                    "filter_subscribe",
                    client,
                    timeout=15,
                    peer=str(service.host.full_addrs()[0]),
                    pubsubTopic=f"/waku/2/rs/{CLUSTER}/999",
                    contentTopics=[CHAT],
                )
    finally:
        await _stop(gowaku, client)


async def test_gowaku_filter_ping_and_unsubscribe_all_at_pystatus(gowaku: GoWakuPeer) -> None:
    """go-waku's light node pings its subscriptions; a ping from a peer with none is refused
    (RFC 12: 404), and unsubscribe-all drops every criterion."""
    client = await _go_node(gowaku, relay=False, filterClient=True)
    try:
        async with _running(_config(filter=FilterConfig())) as service:
            addr = str(service.host.full_addrs()[0])
            server = service.filter_server
            assert server is not None
            with pytest.raises(GoWakuPeerError, match="filter_ping failed"):
                await gowaku.call("filter_ping", client, timeout=15, peer=addr)
            await gowaku.call(
                "filter_subscribe",
                client,
                peer=addr,
                pubsubTopic=TOPIC,
                contentTopics=[CHAT, OTHER],
            )
            await gowaku.call("filter_ping", client, timeout=15, peer=addr)
            assert server.subscriptions.criteria_count == 2
            await gowaku.call("filter_unsubscribe_all", client, timeout=15, peer=addr)
            assert server.subscriptions.criteria_count == 0
    finally:
        await _stop(gowaku, client)


async def test_other_cluster_is_disconnected(gowaku: GoWakuPeer) -> None:
    """A pystatus node of another cluster dialing go-waku does not stay connected (go-waku's
    metadata check and pystatus's each drop the link)."""
    go = await _go_node(gowaku)
    try:
        async with _running(_config(cluster_id=1, shards=(0,))) as py:
            peer = await within(py.connect(go.addr), 20)
            await wait_for(lambda: not py.host.connections(peer), timeout=15, what="disconnect")
    finally:
        await _stop(gowaku, go)
