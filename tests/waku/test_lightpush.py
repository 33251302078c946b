"""Light push v3 and v2: status codes for every refusal, relaying over hosts, fuzzed codecs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError, InvalidTopic
from pystatus.waku.lightpush import (
    LIGHTPUSH_V2_PROTOCOL_ID,
    Admitted,
    LightPushClient,
    LightPushError,
    LightPushRequest,
    LightPushResponse,
    LightPushRules,
    LightPushServer,
    ResolveTopic,
    StatusCode,
    decode_request,
)
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import WakuRelay
from pystatus.waku.topics import RelayShard
from tests.p2p.hosts import running_host, within
from tests.waku.relays import TOPIC, link, message, relay_node, wait_meshed


def _resolver(served: set[str]) -> ResolveTopic:
    def resolve(pubsub_topic: str | None, msg: WakuMessage) -> str:
        topic = pubsub_topic or TOPIC
        if topic not in served:
            RelayShard.parse(topic)  # a malformed topic raises InvalidTopic itself
            raise InvalidTopic(f"{topic} is not served here")
        return topic

    return resolve


def _server_for(relay: WakuRelay, **options: float) -> LightPushServer:
    async def publish(topic: str, msg: WakuMessage) -> int:
        return relay.publish(topic, msg).peers

    return LightPushServer(
        relay.host,
        publish=publish,
        resolve_topic=_resolver({TOPIC}),
        **options,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def service_with_peer(
    **options: float,
) -> AsyncIterator[tuple[WakuRelay, WakuRelay, LightPushServer]]:
    async with relay_node() as service, relay_node() as other:
        for relay in (service, other):
            relay.subscribe_topic(TOPIC)
        await link(service, other)
        await wait_meshed(service)
        server = _server_for(service, **options)
        server.start()
        yield service, other, server


@contextlib.asynccontextmanager
async def light_client() -> AsyncIterator[tuple[Host, LightPushClient]]:
    async with running_host() as host:
        yield host, LightPushClient(host)


@pytest.mark.parametrize("legacy", [False, True], ids=["v3", "v2"])
async def test_push_is_relayed_and_counts_peers(legacy: bool) -> None:
    async with service_with_peer() as (service, other, _), light_client() as (_, client):
        received = other.subscribe(TOPIC)
        response = await within(
            client.push(service.host.full_addrs()[0], message(b"pushed"), TOPIC, legacy=legacy)
        )
        assert response.ok
        if not legacy:
            assert response.relay_peer_count == 1
        item = await within(received.__anext__())
        assert item.message.payload == b"pushed"


async def test_refusals_carry_the_rfc_status_codes() -> None:
    async with service_with_peer() as (service, _, server), light_client() as (_, client):
        addr = service.host.full_addrs()[0]

        async def status(msg: WakuMessage, topic: str | None = TOPIC) -> int:
            try:
                await within(client.push(addr, msg, topic))
            except LightPushError as exc:
                return exc.status
            return 200

        now = time.time_ns()
        assert await status(message(b"x" * (200 * 1024))) == StatusCode.PAYLOAD_TOO_LARGE
        assert await status(message(b"")) == StatusCode.BAD_REQUEST
        assert await status(message(b"old", timestamp=now - 3600 * 10**9)) == 400
        assert await status(message(b"x"), "/waku/2/rs/7/0") == 421
        assert await status(message(b"x"), "not a topic") == 421
        assert await status(message(b"auto"), None) == 200
        none = await within(server.handle(LightPushRequest(message=None), None))
        assert none.status_code == StatusCode.BAD_REQUEST
        counted = metrics.LIGHTPUSH_MESSAGES.labels("421")._value.get()
        assert counted >= 2


async def test_no_relay_peers_is_503() -> None:
    async with relay_node() as lonely, light_client() as (_, client):
        lonely.subscribe_topic(TOPIC)
        _server_for(lonely).start()
        with pytest.raises(LightPushError) as refused:
            await within(client.push(lonely.host.full_addrs()[0], message(b"x"), TOPIC))
        assert refused.value.status == StatusCode.NO_PEERS_TO_RELAY


async def test_a_push_flood_is_rate_limited() -> None:
    async with (
        service_with_peer(peer_rate=1.0, peer_burst=3.0) as (service, _, _server),
        light_client() as (_, flooder),
        light_client() as (_, patient),
    ):
        addr = service.host.full_addrs()[0]
        codes = []
        for index in range(10):
            try:
                await within(flooder.push(addr, message(b"%d" % index), TOPIC))
                codes.append(200)
            except LightPushError as exc:
                codes.append(exc.status)
        assert codes[:3] == [200] * 3 and codes.count(429) >= 6
        assert (await within(patient.push(addr, message(b"fine"), TOPIC))).ok


async def test_malformed_request_is_answered_400() -> None:
    async with service_with_peer() as (service, _, _), running_host() as raw:
        stream = await within(
            raw.new_stream(service.host.full_addrs()[0], [LIGHTPUSH_V2_PROTOCOL_ID])
        )
        await stream.write_message(b"\x12\x03\xff\xff\xff")
        await stream.close()
        data = await within(stream.read_message(4096))
        assert not LightPushResponse.from_v2_bytes(data).ok


@given(st.binary(max_size=512))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for decode in (
        LightPushRequest.from_bytes,
        LightPushRequest.from_v2_bytes,
        LightPushResponse.from_bytes,
        LightPushResponse.from_v2_bytes,
    ):
        with contextlib.suppress(DecodeError):
            decode(data)


def test_rules_answer_without_io() -> None:
    rules = LightPushRules(
        resolve_topic=_resolver({TOPIC}), max_message_size=1024, peer_rate=1.0, peer_burst=2.0
    )
    someone = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)

    def status(request: LightPushRequest, peer: PeerId | None = None) -> int:
        answer = rules.admit(request, peer, 0.0)
        assert isinstance(answer, LightPushResponse)
        assert answer.request_id == request.request_id
        return answer.status_code

    assert status(LightPushRequest(message=None)) == StatusCode.BAD_REQUEST
    assert status(LightPushRequest(message=message(b"x" * 2000))) == 413
    assert status(LightPushRequest(message=message(b"x"), pubsub_topic="/waku/2/rs/9/9")) == 421
    small = message(b"x")
    fine = LightPushRequest(message=small, pubsub_topic=TOPIC)
    assert rules.admit(fine, None, 0.0) == Admitted(TOPIC, small)
    assert isinstance(rules.admit(fine, someone, 0.0), Admitted)
    assert isinstance(rules.admit(fine, someone, 0.0), Admitted)
    assert status(fine, someone) == StatusCode.TOO_MANY_REQUESTS
    assert isinstance(rules.admit(fine, None, 0.0), Admitted), "local callers are not limited"
    assert rules.published(fine, 0).status_code == StatusCode.NO_PEERS_TO_RELAY
    assert rules.published(fine, 3) == LightPushResponse(fine.request_id, 200, "", 3)


@given(st.binary(max_size=512), st.booleans())
def test_request_decoding_answers_bad_bytes_and_never_raises(data: bytes, v2: bool) -> None:
    decoded = decode_request(data, v2=v2)
    if isinstance(decoded, LightPushResponse):
        assert decoded.status_code in (400, 413) and decoded.request_id == ""


def test_codecs_round_trip() -> None:
    request = LightPushRequest(message=message(b"hi"), pubsub_topic=TOPIC)
    assert LightPushRequest.from_bytes(request.to_bytes()) == request
    assert LightPushRequest.from_v2_bytes(request.to_v2_bytes()) == request
    response = LightPushResponse("id", 200, "", 4)
    assert LightPushResponse.from_bytes(response.to_bytes()) == response
    refused = LightPushResponse("id", 503, "no peers")
    assert LightPushResponse.from_v2_bytes(refused.to_v2_bytes()) == LightPushResponse(
        "id", 500, "no peers"
    )


async def test_counted_flood_does_not_leak_peer_ids() -> None:
    # Metric labels are status codes, never peer ids (no cardinality blow-up, nothing to trace).
    async with (
        service_with_peer(peer_rate=1.0, peer_burst=1.0) as (service, _, _),
        light_client() as (host, client),
    ):
        for _ in range(3):
            with contextlib.suppress(LightPushError):
                await within(client.push(service.host.full_addrs()[0], message(b"x"), TOPIC))
        peer_text = str(PeerId.from_public_key(host.config.identity.public_key))
        assert peer_text not in generate_latest().decode()


async def test_a_retried_push_succeeds_and_is_relayed_once() -> None:
    async with service_with_peer() as (service, other, _), light_client() as (_, client):
        received = other.subscribe(TOPIC)
        seen_by_service: list[bytes] = []
        service.add_observer(lambda item: seen_by_service.append(item.message.payload))
        same = message(b"retried")
        addr = service.host.full_addrs()[0]
        first = await within(client.push(addr, same, TOPIC))
        second = await within(client.push(addr, same, TOPIC))
        assert first.ok and second.ok and second.relay_peer_count == 1
        assert (await within(received.__anext__())).message == same
        assert seen_by_service == [b"retried"], "observers (filter, archive) see it once"
        assert received.drain() == []
