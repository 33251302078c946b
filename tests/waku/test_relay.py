"""Waku relay between pystatus nodes over real connections."""

from __future__ import annotations

import pytest

from pystatus.waku.errors import LocalWakuError
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.relay import RelayedMessage, Subscription
from tests.p2p.hosts import wait_for, within
from tests.waku.relays import TOPIC, link, message, relay_node, wait_meshed


async def _next(subscription: Subscription, timeout: float = 10.0) -> RelayedMessage:
    return await within(anext(subscription), timeout)


async def test_publish_reaches_the_other_node_both_ways() -> None:
    async with relay_node() as a, relay_node() as b:
        sub_a = a.subscribe(TOPIC)
        sub_b = b.subscribe(TOPIC)
        await link(a, b)
        await wait_meshed(a)
        await wait_meshed(b)
        sent = message(b"hello from a")
        outcome = a.publish(TOPIC, sent)
        assert outcome.peers == 1
        got = await _next(sub_b)
        assert got.message == sent
        assert got.hash == outcome.hash == message_hash(TOPIC, sent)
        assert got.source == a.host.peer_id
        assert (await _next(sub_a)).message == sent  # the publisher's own subscriber too
        reply = message(b"hello from b")
        b.publish(TOPIC, reply)
        assert (await _next(sub_a)).message == reply


async def test_line_of_three_delivers_once_everywhere() -> None:
    async with relay_node() as a, relay_node() as b, relay_node() as c:
        subs = [node.subscribe(TOPIC) for node in (a, b, c)]
        await link(a, b)
        await link(b, c)
        await wait_meshed(b, peers=2)
        await wait_meshed(a)
        await wait_meshed(c)
        sent = [message(f"m{i}".encode()) for i in range(50)]
        for item in sent:
            a.publish(TOPIC, item)
        for subscription in subs:
            got = [(await _next(subscription)).message for _ in sent]
            assert got == sent
        # Duplicates would arrive before a later message from the far end: none may.
        sentinel = message(b"sentinel")
        c.publish(TOPIC, sentinel)
        for subscription in subs:
            assert (await _next(subscription)).message == sentinel


async def test_publishing_an_invalid_message_is_refused_locally() -> None:
    async with relay_node() as a:
        with pytest.raises(LocalWakuError, match="empty_payload"):
            a.publish(TOPIC, message(b""))
        with pytest.raises(LocalWakuError, match="too_large"):
            a.publish(TOPIC, message(b"x" * (200 * 1024)))
        with pytest.raises(LocalWakuError, match="future"):
            a.publish(TOPIC, WakuMessage(b"x", "/a/1/b/c", timestamp=2**62))


async def test_unsubscribed_node_does_not_deliver() -> None:
    async with relay_node() as a, relay_node() as b:
        sub_b = b.subscribe(TOPIC)
        a.subscribe_topic(TOPIC)
        await link(a, b)
        await wait_meshed(a)
        sub_b.close()
        await wait_for(lambda: a.mesh_size(TOPIC) == 0)
        assert TOPIC not in b.topics
