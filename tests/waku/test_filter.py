"""Filter v2: the subscription rules (sans-IO), the codecs under fuzzing, and pushes over hosts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError
from pystatus.waku.filter import (
    FILTER_PUSH_PROTOCOL_ID,
    MAX_CONTENT_TOPICS_PER_REQUEST,
    FilterClient,
    FilterError,
    FilterLimits,
    FilterPush,
    FilterRequest,
    FilterResponse,
    FilterServer,
    FilterSubscriptions,
    RequestType,
    decode_push,
    encode_push,
)
from pystatus.waku.filter_rules import answer_request
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay import WakuRelay
from tests.p2p.hosts import running_host, wait_for, within
from tests.waku.relays import CONTENT_TOPIC, TOPIC, message, relay_node


def peer() -> PeerId:
    return PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


FUZZ_PEER = peer()


def subscribe(topics: tuple[str, ...] = (CONTENT_TOPIC,), pubsub: str = TOPIC) -> FilterRequest:
    return FilterRequest(type=RequestType.SUBSCRIBE, pubsub_topic=pubsub, content_topics=topics)


def test_subscribe_ping_unsubscribe() -> None:
    subs = FilterSubscriptions()
    alice = peer()
    assert subs.handle(alice, FilterRequest(type=RequestType.SUBSCRIBER_PING), 0).status_code == 404
    response = subs.handle(alice, subscribe(("/a/1/x/proto", "/a/1/y/proto")), 0)
    assert (response.status_code, response.request_id) == (200, response.request_id)
    assert set(subs.match(TOPIC, "/a/1/x/proto")) == {alice}
    assert not list(subs.match("/waku/2/rs/1/1", "/a/1/x/proto"))
    assert subs.handle(alice, FilterRequest(type=RequestType.SUBSCRIBER_PING), 1).ok
    unsubscribe = FilterRequest(
        type=RequestType.UNSUBSCRIBE, pubsub_topic=TOPIC, content_topics=("/a/1/x/proto",)
    )
    assert subs.handle(alice, unsubscribe, 2).ok
    assert subs.handle(alice, unsubscribe, 3).status_code == 404
    assert not list(subs.match(TOPIC, "/a/1/x/proto"))
    assert subs.criteria_of(alice) == {(TOPIC, "/a/1/y/proto")}
    assert subs.handle(alice, FilterRequest(type=RequestType.UNSUBSCRIBE_ALL), 4).ok
    assert len(subs) == 0 and subs.criteria_count == 0
    assert subs.handle(alice, FilterRequest(type=RequestType.UNSUBSCRIBE_ALL), 5).status_code == 404


def test_limits_answer_with_their_codes() -> None:
    subs = FilterSubscriptions(
        FilterLimits(max_subscribers=2, max_criteria_per_peer=3),
        serves_pubsub_topic=lambda topic: topic == TOPIC,
    )
    alice, bob, carol = peer(), peer(), peer()
    too_many = tuple(f"/a/1/t{i}/proto" for i in range(MAX_CONTENT_TOPICS_PER_REQUEST + 1))
    assert subs.handle(alice, subscribe(too_many), 0).status_code == 400
    assert subs.handle(alice, subscribe(pubsub="/waku/2/rs/9/0"), 0).status_code == 400
    assert subs.handle(alice, subscribe(()), 0).status_code == 400
    assert subs.handle(alice, subscribe(("",)), 0).status_code == 400
    assert len(subs) == 0
    four = tuple(f"/a/1/t{i}/proto" for i in range(4))
    assert subs.handle(alice, subscribe(four), 0).status_code == 400
    assert len(subs) == 0, "a refused first request leaves no empty subscriber behind"
    assert subs.handle(alice, subscribe(four[:3]), 0).ok
    assert subs.handle(alice, subscribe(four[3:]), 0).status_code == 400
    assert subs.handle(alice, subscribe(four[:2]), 0).ok, "re-subscribing what is held is free"
    assert subs.handle(bob, subscribe(), 0).ok
    response = subs.handle(carol, subscribe(), 0)
    assert response.status_code == 503 and "maximum" in response.status_desc


def test_subscriptions_expire_without_requests() -> None:
    subs = FilterSubscriptions(FilterLimits(subscription_timeout=300))
    alice, bob = peer(), peer()
    subs.handle(alice, subscribe(), 0)
    subs.handle(bob, subscribe(), 0)
    subs.handle(bob, FilterRequest(type=RequestType.SUBSCRIBER_PING), 200)
    assert subs.expire(299) == []
    assert subs.expire(301) == [alice]
    assert set(subs.match(TOPIC, CONTENT_TOPIC)) == {bob}
    assert subs.expire(501) == [bob]
    assert len(subs) == 0


def test_next_deadline_is_the_oldest_subscribers_expiry() -> None:
    subs = FilterSubscriptions(FilterLimits(subscription_timeout=300))
    assert subs.next_deadline() is None
    alice, bob = peer(), peer()
    subs.handle(alice, subscribe(), 10)
    subs.handle(bob, subscribe(), 20)
    assert subs.next_deadline() == 310
    subs.handle(alice, FilterRequest(type=RequestType.SUBSCRIBER_PING), 30)
    assert subs.next_deadline() == 320
    assert subs.expire(320.5) == [bob]
    assert subs.next_deadline() == 330


@given(st.binary(max_size=512))
def test_request_decoder_raises_only_decode_error(data: bytes) -> None:
    try:
        request = FilterRequest.from_bytes(data)
    except DecodeError:
        return
    assert isinstance(request.type, RequestType)
    FilterSubscriptions().handle(FUZZ_PEER, request, 0)


@given(st.binary(max_size=512))
def test_answering_any_bytes_never_raises(data: bytes) -> None:
    answered = answer_request(FilterSubscriptions(), PeerRateLimiter(1, 1), FUZZ_PEER, data, 0)
    assert (answered.request_type is None) == (answered.refusal == "malformed")
    assert answered.response.ok == (answered.refusal is None)


@given(st.binary(max_size=512))
def test_response_and_push_decoders_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        FilterResponse.from_bytes(data)
    with contextlib.suppress(DecodeError):
        decode_push(data)


def test_codecs_round_trip() -> None:
    request = subscribe(("/a/1/x/proto", "/a/1/y/proto"))
    assert FilterRequest.from_bytes(request.to_bytes()) == request
    ping = FilterRequest(type=RequestType.SUBSCRIBER_PING)
    assert FilterRequest.from_bytes(ping.to_bytes()) == ping
    original = message(b"hello")
    assert decode_push(encode_push(TOPIC, original.encode())) == (TOPIC, original)
    with pytest.raises(DecodeError):
        decode_push(b"")  # neither message nor topic


@contextlib.asynccontextmanager
async def filter_service(
    limits: FilterLimits | None = None,
) -> AsyncIterator[tuple[WakuRelay, FilterServer]]:
    async with relay_node() as relay:
        relay.subscribe_topic(TOPIC)
        server = FilterServer(relay.host, limits=limits)
        server.start()
        relay.add_observer(server.on_relayed)
        try:
            yield relay, server
        finally:
            await server.stop()


@contextlib.asynccontextmanager
async def filter_client(muxer: str | None = None) -> AsyncIterator[tuple[Host, FilterClient]]:
    async with running_host(muxer=muxer) as host:
        client = FilterClient(host)
        client.start(keepalive=None)
        try:
            yield host, client
        finally:
            await client.stop()


@pytest.mark.parametrize("muxer", ["yamux", "mplex"])
async def test_pushes_reach_only_subscribers(muxer: str) -> None:
    async with (
        filter_service() as (relay, server),
        filter_client(muxer) as (_, alice),
        filter_client(muxer) as (_, bob),
    ):
        service = relay.host.full_addrs()[0]
        got_alice: list[FilterPush] = []
        got_bob: list[FilterPush] = []
        alice.on_push(got_alice.append)
        bob.on_push(got_bob.append)
        await within(alice.subscribe(service, TOPIC, [CONTENT_TOPIC]))
        await within(bob.subscribe(service, TOPIC, ["/pystatus/1/other/proto"]))
        assert len(server.subscriptions) == 2
        for index in range(50):
            relay.publish(TOPIC, message(b"m%d" % index))
        relay.publish(TOPIC, message(b"not yours", content_topic="/pystatus/1/nobody/proto"))
        await wait_for(lambda: len(got_alice) == 50, what="50 pushes")
        assert [p.message.payload for p in got_alice] == [b"m%d" % i for i in range(50)]
        assert {p.pubsub_topic for p in got_alice} == {TOPIC}
        assert got_alice[0].peer == relay.host.peer_id
        assert got_bob == []
        await within(alice.ping(service))
        await within(alice.unsubscribe(service, TOPIC, [CONTENT_TOPIC]))
        relay.publish(TOPIC, message(b"after"))
        with pytest.raises(FilterError) as refused:
            await within(alice.ping(service))
        assert refused.value.status == 404
        await within(bob.unsubscribe_all(service))
        assert len(server.subscriptions) == 0
        assert [p.message.payload for p in got_alice][-1] == b"m49"


async def test_a_subscription_flood_is_rate_limited_and_others_are_served() -> None:
    limits = FilterLimits(peer_rate=1.0, peer_burst=5.0)
    async with (
        filter_service(limits) as (relay, _),
        filter_client() as (_, flooder),
        filter_client() as (_, patient),
    ):
        service = relay.host.full_addrs()[0]
        before = metrics.PROTOCOL_ERRORS.labels("filter", "rate_limited")._value.get()
        statuses = []
        for index in range(20):
            try:
                await within(flooder.subscribe(service, TOPIC, [f"/f/1/t{index}/proto"]))
                statuses.append(200)
            except FilterError as exc:
                statuses.append(exc.status)
        assert statuses[:5] == [200] * 5
        assert statuses.count(429) >= 14
        after = metrics.PROTOCOL_ERRORS.labels("filter", "rate_limited")._value.get()
        assert after - before == statuses.count(429)
        got: list[FilterPush] = []
        patient.on_push(got.append)
        await within(patient.subscribe(service, TOPIC, [CONTENT_TOPIC]))
        relay.publish(TOPIC, message(b"still served"))
        await wait_for(lambda: len(got) == 1, what="push to the patient client")


async def test_unsolicited_and_malformed_pushes_are_dropped() -> None:
    async with filter_client() as (host, client), running_host() as stranger:
        got: list[FilterPush] = []
        client.on_push(got.append)
        connection = await within(stranger.connect(host.full_addrs()[0]))
        before = metrics.PROTOCOL_ERRORS.labels("filter", "unsolicited_push")._value.get()
        bad_before = metrics.PROTOCOL_ERRORS.labels("filter", "malformed_push")._value.get()
        for payload in (encode_push(TOPIC, message(b"spam").encode()), b"\xff\xff"):
            stream = await within(stranger.new_stream(connection, [FILTER_PUSH_PROTOCOL_ID]))
            await stream.write_message(payload)
            await stream.close()
            await within(stream.read_to_eof(16))
        await wait_for(
            lambda: (
                metrics.PROTOCOL_ERRORS.labels("filter", "unsolicited_push")._value.get() > before
                and metrics.PROTOCOL_ERRORS.labels("filter", "malformed_push")._value.get()
                > bad_before
            ),
            what="both pushes counted",
        )
        assert got == []


async def test_the_server_expires_a_silent_subscriber_at_its_deadline() -> None:
    expired = metrics.FILTER_EXPIRED
    before = expired._value.get()
    async with (
        filter_service(FilterLimits(subscription_timeout=0.3)) as (relay, server),
        filter_client() as (_, client),
    ):
        await within(client.subscribe(relay.host.full_addrs()[0], TOPIC, [CONTENT_TOPIC]))
        await wait_for(lambda: expired._value.get() == before + 1, timeout=5, what="expiry")
        assert len(server.subscriptions) == 0
        assert relay.host.connected_peers(), "expired while still connected"


async def test_a_gone_subscriber_is_forgotten_and_its_pushes_are_not_dialed() -> None:
    async with filter_service() as (relay, server):
        async with filter_client() as (_, client):
            await within(client.subscribe(relay.host.full_addrs()[0], TOPIC, [CONTENT_TOPIC]))
            relay.publish(TOPIC, message(b"while here"))
        await wait_for(lambda: not relay.host.connected_peers(), what="subscriber gone")
        assert len(server.subscriptions) == 0, "dropped with its last connection, not at expiry"
        assert server.queued_pushes() == 0
        relay.publish(TOPIC, message(b"nobody home"))
        assert relay.host.connected_peers() == []


async def test_subscribers_that_disconnect_free_their_places_at_once() -> None:
    # nwaku #3267: subscriptions of a peer that left kept the subscriber limit full.
    limits = FilterLimits(max_subscribers=3)
    gone = metrics.FILTER_DISCONNECTED
    before = gone._value.get()
    async with filter_service(limits) as (relay, server):
        service = relay.host.full_addrs()[0]
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(filter_client()) for _ in range(3)]
            for _, client in clients:
                await within(client.subscribe(service, TOPIC, [CONTENT_TOPIC]))
            async with filter_client() as (_, late):
                with pytest.raises(FilterError) as refused:
                    await within(late.subscribe(service, TOPIC, [CONTENT_TOPIC]))
                assert refused.value.status == 503
        await wait_for(lambda: not relay.host.connected_peers(), what="all subscribers gone")
        assert len(server.subscriptions) == 0
        assert gone._value.get() == before + 3
        async with filter_client() as (_, newcomer):
            got: list[FilterPush] = []
            newcomer.on_push(got.append)
            await within(newcomer.subscribe(service, TOPIC, [CONTENT_TOPIC]))
            relay.publish(TOPIC, message(b"welcome"))
            await wait_for(lambda: len(got) == 1, what="push to the newcomer")


async def test_push_streams_end_even_when_the_subscriber_never_closes_them() -> None:
    # js-waku reads a push and leaves its side open; pushes must keep flowing past any limit.
    async with filter_service() as (relay, _), running_host() as subscriber:
        payloads: list[bytes] = []

        async def read_and_leave_open(stream: Stream) -> None:
            payloads.append(decode_push(await stream.read_message(1 << 20))[1].payload)

        subscriber.set_stream_handler(FILTER_PUSH_PROTOCOL_ID, read_and_leave_open)
        client = FilterClient(subscriber)
        await within(client.subscribe(relay.host.full_addrs()[0], TOPIC, [CONTENT_TOPIC]))
        for index in range(200):
            relay.publish(TOPIC, message(b"%d" % index))
        await wait_for(lambda: len(payloads) == 200, timeout=20, what="200 pushes")
        assert payloads == [b"%d" % i for i in range(200)]
        connection = relay.host.connections(subscriber.peer_id)[0]
        assert len(connection.streams) > 2, "the last pushes wait for the subscriber's close"
        await within(client.unsubscribe_all(relay.host.full_addrs()[0]))
        # Well inside the 5 s grace: leaving ends them at once.
        await wait_for(lambda: len(connection.streams) <= 1, timeout=2, what="push streams ended")
