"""Bad input on relay: rejected, counted, scored against the sender; honest traffic unharmed."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayConfig, Subscription, WakuRelay
from tests.p2p.hosts import wait_for, within
from tests.waku.relays import CONTENT_TOPIC, TOPIC, link, message, relay_node, wait_meshed


def _invalid_count(reason: str) -> float:
    value = REGISTRY.get_sample_value("waku_relay_invalid_messages_total", {"reason": reason})
    return value or 0.0


def _raw_publish(relay: WakuRelay, data: bytes) -> None:
    """Publish bytes as-is, skipping the sender's own validation, as a hostile peer would."""
    relay.router.publish(TOPIC, data, time.monotonic())
    relay._process_events()


BAD_MESSAGES = {
    "empty_payload": WakuMessage(b"", CONTENT_TOPIC).encode(),
    "empty_content_topic": WakuMessage(b"x", "").encode(),
    "too_large": WakuMessage(b"x" * (151 * 1024), CONTENT_TOPIC).encode(),
    "timestamp_in_future": WakuMessage(b"x", CONTENT_TOPIC, timestamp=2**62).encode(),
    "malformed": b"\x0a\xff\xff\xff\x0f",
}


def _rejections(relay: WakuRelay, reason: str) -> float:
    if reason == "too_large":
        # Oversize messages are refused by the router before the Waku validator sees them.
        return relay.router.counters["messages_invalid"]
    return _invalid_count(reason)


# A hostile sender whose own router would publish what no honest one does.
HOSTILE = RelayConfig(gossipsub=GossipsubParams(max_message_size=1 << 20))


@pytest.mark.parametrize("reason", sorted(BAD_MESSAGES))
async def test_invalid_message_is_rejected_counted_and_scored(reason: str) -> None:
    async with relay_node() as target, relay_node(HOSTILE) as sender, relay_node() as bystander:
        received = target.subscribe(TOPIC)
        watched = bystander.subscribe(TOPIC)
        sender.subscribe_topic(TOPIC)
        await link(sender, target)
        await link(bystander, target)
        await wait_meshed(target, peers=2)
        before = _rejections(target, reason)
        _raw_publish(sender, BAD_MESSAGES[reason])
        await wait_for(lambda: _rejections(target, reason) > before, what=f"{reason} counted")
        assert target.peer_score(sender.host.peer_id) < 0
        # The next honest message arrives first: the bad one was neither delivered nor relayed.
        honest = message(b"honest")
        sender.publish(TOPIC, honest)
        assert (await within(anext(received))).message == honest
        assert (await within(anext(watched))).message == honest


async def _collect(subscription: Subscription, count: int) -> list[bytes]:
    return [(await anext(subscription)).message.payload for _ in range(count)]


async def test_flooder_is_graylisted_while_honest_peers_keep_talking() -> None:
    honest_count = 50
    strict = RelayConfig(peer_rate=100.0, peer_burst=100.0)
    async with (
        relay_node(strict) as hub,
        relay_node() as alice,
        relay_node() as bob,
        relay_node() as flooder,
    ):
        hub.subscribe_topic(TOPIC)
        alice_inbox = alice.subscribe(TOPIC)
        bob_inbox = bob.subscribe(TOPIC)
        flooder.subscribe_topic(TOPIC)
        for node in (alice, bob, flooder):
            await link(node, hub)
        await wait_meshed(hub, peers=3)
        await wait_meshed(alice)
        await wait_meshed(bob)
        await wait_meshed(flooder)
        before = _invalid_count("rate_limited")

        async def talk(relay: WakuRelay, name: str, count: int) -> None:
            for index in range(count):
                relay.publish(TOPIC, message(f"{name}-{index}".encode()))
                await asyncio.sleep(0)

        # The flooder sends ten messages for every honest one, interleaved with them.
        await asyncio.gather(
            talk(alice, "alice", honest_count),
            talk(bob, "bob", honest_count),
            talk(flooder, "flood", honest_count * 10),
        )
        expected_alice = {f"alice-{i}".encode() for i in range(honest_count)}
        expected_bob = {f"bob-{i}".encode() for i in range(honest_count)}

        async def honest_payloads(inbox: Subscription, wanted: set[bytes]) -> None:
            while wanted:
                payload = (await anext(inbox)).message.payload
                wanted.discard(payload)

        await within(honest_payloads(bob_inbox, expected_alice), 30)
        await within(honest_payloads(alice_inbox, expected_bob), 30)
        flooder_key = flooder.host.peer_id.to_bytes()
        await wait_for(lambda: hub.router.is_graylisted(flooder_key), timeout=15, what="graylist")
        assert _invalid_count("rate_limited") > before
        assert not hub.router.is_graylisted(alice.host.peer_id.to_bytes())
        assert not hub.router.is_graylisted(bob.host.peer_id.to_bytes())


async def test_an_observer_that_fails_leaves_the_relay_working() -> None:
    async with relay_node() as sender, relay_node() as target:
        received = target.subscribe(TOPIC)
        sender.subscribe_topic(TOPIC)

        def broken(_: object) -> None:
            raise RuntimeError("observer bug")

        target.add_observer(broken)
        await link(sender, target)
        await wait_meshed(target)
        before = REGISTRY.get_sample_value("waku_relay_observer_failures_total") or 0.0
        for payload in (b"first", b"second"):
            sender.publish(TOPIC, message(payload))
        assert await within(_collect(received, 2)) == [b"first", b"second"]
        after = REGISTRY.get_sample_value("waku_relay_observer_failures_total")
        assert after == before + 2
