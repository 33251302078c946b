"""The relay black hole (issue 15): a peer whose relay stream from us dies, or never opens,
while its connection stays up, must not swallow what we send it for good.

The line a -> b -> c has one path, so b's link from a is the only way to c: whatever a's
writer to b loses is lost to both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

import pytest
from prometheus_client import REGISTRY

from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import P2PError
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku.relay import RelayConfig, RelayedMessage, Subscription, WakuRelay
from tests.p2p.hosts import wait_for, within
from tests.waku.relays import TOPIC, link, message, relay_node, wait_meshed

FAST_RETRY = RelayConfig(stream_retry_min=0.05, stream_retry_max=0.4)


def _failures(*kinds: str) -> float:
    return sum(
        REGISTRY.get_sample_value("waku_relay_stream_failures_total", {"kind": kind}) or 0.0
        for kind in kinds
    )


async def _next(subscription: Subscription) -> RelayedMessage:
    return await within(anext(subscription), 10)


def _reset_first_streams(relay: WakuRelay, count: int) -> list[int]:
    """Make ``relay`` reset the first ``count`` relay streams peers open to it, keeping the
    connections; returns the list its handler appends each stream's number to."""
    handler: Callable[[Stream], Awaitable[None]] = relay._inbound
    opened: list[int] = []

    async def resetting(stream: Stream) -> None:
        opened.append(len(opened))
        if len(opened) <= count:
            await stream.reset()
            return
        await handler(stream)

    relay.host.set_stream_handler(RELAY_PROTOCOL_ID, resetting)
    return opened


async def _publish_and_check(
    a: WakuRelay, b: WakuRelay, sub_b: Subscription, sub_c: Subscription
) -> None:
    await wait_meshed(a)
    await wait_meshed(b, peers=2)
    sent = [message(f"m{i}".encode()) for i in range(20)]
    for item in sent:
        assert a.publish(TOPIC, item).peers == 1
    for subscription in (sub_b, sub_c):
        assert [(await _next(subscription)).message for _ in sent] == sent


@pytest.mark.parametrize("muxer", ["yamux", "mplex"])
async def test_a_reset_relay_stream_is_reopened_and_nothing_is_lost_after(muxer: str) -> None:
    async with (
        relay_node(FAST_RETRY, muxer=muxer) as a,
        relay_node(FAST_RETRY, muxer=muxer) as b,
        relay_node(FAST_RETRY, muxer=muxer) as c,
    ):
        opened = _reset_first_streams(b, 2)
        before = _failures("open", "reset", "write")
        sub_b, sub_c = b.subscribe(TOPIC), c.subscribe(TOPIC)
        a.subscribe_topic(TOPIC)
        await link(b, c)
        await wait_meshed(c)
        await within(a.host.connect(b.host.full_addrs()[0]))
        # b reset a's stream twice with the connection up: a opened a third, and b meshes it.
        await wait_for(lambda: len(opened) >= 3, timeout=10, what="a reopened its stream")
        # Reset during negotiation or after it: either way a counted failure.
        assert _failures("open", "reset", "write") >= before + 2
        assert a.host.connections(b.host.peer_id), "the connection stayed up"
        await _publish_and_check(a, b, sub_b, sub_c)


async def test_a_relay_stream_that_never_opens_is_tried_again() -> None:
    async with (
        relay_node(FAST_RETRY) as a,
        relay_node(FAST_RETRY) as b,
        relay_node(FAST_RETRY) as c,
    ):
        real_new_stream = a.host.new_stream
        refused: list[object] = []

        async def failing_once(
            peer: Multiaddr | str | PeerId | Connection, protocols: Sequence[str]
        ) -> Stream:
            if RELAY_PROTOCOL_ID in protocols and not refused:
                refused.append(peer)
                raise P2PError("the relay stream did not open (test)")
            return await real_new_stream(peer, protocols)

        a.host.new_stream = failing_once  # type: ignore[method-assign,assignment]
        before = _failures("open")
        sub_b, sub_c = b.subscribe(TOPIC), c.subscribe(TOPIC)
        a.subscribe_topic(TOPIC)
        await link(b, c)
        await wait_meshed(c)
        await within(a.host.connect(b.host.full_addrs()[0]))
        await wait_for(lambda: bool(refused), what="the first attempt")
        await _publish_and_check(a, b, sub_b, sub_c)
        assert _failures("open") == before + 1


async def test_a_peer_that_always_resets_backs_off_and_stays_bounded() -> None:
    config = dataclasses.replace(FAST_RETRY, stream_retry_max=0.2)
    async with relay_node(config) as a, relay_node(config) as b:
        opened = _reset_first_streams(b, 10**6)
        a.subscribe_topic(TOPIC)
        b.subscribe_topic(TOPIC)
        await within(a.host.connect(b.host.full_addrs()[0]))
        await wait_for(lambda: len(opened) >= 5, timeout=10, what="retries")
        # One writer at most, whatever the number of failures; its queue stays bounded.
        assert len(a._writers) <= 1 and a.unopened_streams() <= 1
        for i in range(50):
            a.publish(TOPIC, message(f"lost {i}".encode()))
        assert a.send_queue_bytes() <= 8 * 1024 * 1024
        assert a.host.connections(b.host.peer_id)
