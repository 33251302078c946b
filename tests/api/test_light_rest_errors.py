"""Light push and filter REST errors as nwaku answers them: status, body format and wording."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from pystatus.api import light
from pystatus.api.light import NO_SERVICE_PEER
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.rate_limit import ProtocolRateLimits
from tests.api.rest import rest_client
from tests.p2p.hosts import wait_for, within

CONTENT = "/toychat/2/huilong/proto"  # auto-shards to /waku/2/rs/1/3 (shared vectors)
SHARD = "/waku/2/rs/1/3"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 1}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _message(payload: bytes = b"x", **fields: object) -> dict[str, object]:
    return {
        "payload": base64.b64encode(payload).decode(),
        "contentTopic": CONTENT,
        "timestamp": time.time_ns(),
    } | fields


def _nobody() -> Multiaddr:
    """A loopback address nothing listens on, for a peer id nobody has."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    return Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer}")


@contextlib.asynccontextmanager
async def _light(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    config = _config(relay=False, rest=RestConfig(port=0), **overrides)
    async with WakuNode(config) as node, rest_client(node) as client:
        yield client


@contextlib.asynccontextmanager
async def _through_service() -> AsyncIterator[httpx.AsyncClient]:
    """A light node's REST API, pushing through a light push service that has a relay peer."""
    async with (
        WakuNode(_config(lightpush=True, filter=FilterConfig())) as service,
        WakuNode(_config()) as peer,
    ):
        await within(peer.connect(service.host.full_addrs()[0]))
        await wait_for(lambda: service.relay is not None and service.relay.mesh_size(SHARD) > 0)
        addr = service.host.full_addrs()[0]
        async with _light(lightpushnode=addr, filternode=addr) as api:
            yield api


INVALID = [
    ("empty payload", _message(b""), "empty_payload"),
    ("meta over 64 bytes", _message(meta=base64.b64encode(b"m" * 65).decode()), "meta_too_large"),
    ("an hour old on cluster 1", _message(timestamp=time.time_ns() - 3600 * 10**9), "too_old"),
]


@pytest.mark.parametrize(("case", "message", "reason"), INVALID)
async def test_an_invalid_message_is_400_on_both_light_push_versions(
    case: str, message: dict[str, object], reason: str
) -> None:
    if "old" in case:
        message = message | {"timestamp": time.time_ns() - 3600 * 10**9}
    async with _through_service() as api:
        v3 = await api.post("/lightpush/v3/message", json={"message": message})
        assert v3.status_code == 400, v3.text
        assert v3.json()["statusDesc"].startswith("Invalid message!")
        assert reason in v3.json()["statusDesc"]
        v1 = await api.post(
            "/lightpush/v1/message", json={"pubsubTopic": SHARD, "message": message}
        )
        assert (v1.status_code, v1.headers["content-type"].split(";")[0]) == (400, "text/plain")
        assert v1.text.startswith("Invalid message:") and reason in v1.text
        ok = await api.post("/lightpush/v3/message", json={"message": _message()})
        assert ok.status_code == 200 and ok.json()["relayPeerCount"] >= 1


async def test_an_unreachable_light_push_peer_is_nwakus_dial_failure() -> None:
    nobody = _nobody()
    async with _light(lightpushnode=nobody) as api:
        v3 = await api.post("/lightpush/v3/message", json={"message": _message()})
        assert v3.status_code == 505
        assert v3.json() == {"statusDesc": f"dial_failure: {nobody.peer_id} is not accessible"}
        v1 = await api.post(
            "/lightpush/v1/message", json={"pubsubTopic": SHARD, "message": _message()}
        )
        assert (v1.status_code, v1.text) == (503, "Failed to request a message push: dial_failure")


async def test_a_peer_serving_no_light_push_is_nwakus_dial_failure() -> None:
    async with WakuNode(_config()) as relay_only:
        addr = relay_only.host.full_addrs()[0]
        async with _light(lightpushnode=addr) as api:
            v3 = await api.post("/lightpush/v3/message", json={"message": _message()})
            assert v3.status_code == 505
            assert (
                v3.json()["statusDesc"] == f"dial_failure: {relay_only.peer_id} is not accessible"
            )


async def test_without_service_peers_the_answers_are_nwakus() -> None:
    async with _light() as api:
        v3 = await api.post("/lightpush/v3/message", json={"message": _message()})
        assert (v3.status_code, v3.json()) == (503, {"statusDesc": NO_SERVICE_PEER})
        v1 = await api.post(
            "/lightpush/v1/message", json={"pubsubTopic": SHARD, "message": _message()}
        )
        assert (v1.status_code, v1.text) == (503, NO_SERVICE_PEER)
        body = {"requestId": "r1", "contentFilters": [CONTENT], "pubsubTopic": SHARD}
        for method in ("POST", "PUT", "DELETE"):
            reply = await api.request(method, "/filter/v2/subscriptions", json=body)
            assert (reply.status_code, reply.json()) == (
                503,
                {"requestId": "r1", "statusDesc": NO_SERVICE_PEER},
            ), method
        ping = await api.get("/filter/v2/subscriptions/p1")
        assert ping.json() == {"requestId": "p1", "statusDesc": NO_SERVICE_PEER}


async def test_an_unreachable_filter_peer_is_504_with_its_address() -> None:
    nobody = _nobody()
    async with _light(filternode=nobody) as api:
        body = {"requestId": "r2", "contentFilters": [CONTENT], "pubsubTopic": SHARD}
        reply = await api.post("/filter/v2/subscriptions", json=body)
        assert (reply.status_code, reply.json()) == (
            504,
            {"requestId": "r2", "statusDesc": str(nobody)},
        )


async def test_malformed_bodies_answer_in_each_routes_format() -> None:
    async with _light() as api:
        for method, path in (
            ("POST", "/filter/v2/subscriptions"),
            ("PUT", "/filter/v2/subscriptions"),
            ("DELETE", "/filter/v2/subscriptions"),
            ("DELETE", "/filter/v2/subscriptions/all"),
        ):
            reply = await api.request(method, path, json={"contentFilters": "nope"})
            assert reply.status_code == 400, (method, path)
            decoded = reply.json()
            assert decoded["requestId"] == "unknown", (method, path)
            assert decoded["statusDesc"].startswith("Failed to decode request: "), (method, path)
        v3 = await api.post("/lightpush/v3/message", json={"pubsubTopic": SHARD})
        assert v3.status_code == 400
        assert v3.json()["statusDesc"].startswith("Invalid push request! ")
        v1 = await api.post("/lightpush/v1/message", json={"pubsubTopic": SHARD})
        assert (v1.status_code, v1.headers["content-type"].split(";")[0]) == (400, "text/plain")
        poll = await api.get(f"/filter/v2/messages/{quote(CONTENT, safe='')}")
        assert (poll.status_code, poll.text) == (400, f"Not subscribed to topic: {CONTENT}")


async def test_a_silent_service_peer_times_out_in_nwakus_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(light, "SERVICE_TIMEOUT", 0.3)
    held: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
        addr = Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer}")
        async with _light(lightpushnode=addr, filternode=addr) as api:
            started = time.monotonic()
            v3 = await api.post("/lightpush/v3/message", json={"message": _message()})
            assert (v3.status_code, v3.json()) == (503, {"statusDesc": "Push request timed out"})
            assert time.monotonic() - started < 3, "the REST bound, not the protocol's, answered"
            body = {"requestId": "r3", "contentFilters": [CONTENT], "pubsubTopic": SHARD}
            reply = await api.post("/filter/v2/subscriptions", json=body)
            assert (reply.status_code, reply.json()) == (
                503,
                {"requestId": "r3", "statusDesc": "Subscription request timed out"},
            )
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()


async def test_forty_rest_pushes_in_a_row_all_go_out() -> None:
    # The 31st was refused when the service limited light push to bursts of 30.
    async with _through_service() as api:
        for n in range(40):
            body = {"pubsubTopic": SHARD, "message": _message(b"%d" % n)}
            reply = await api.post("/lightpush/v1/message", json=body)
            assert (reply.status_code, reply.text) == (200, "OK"), n


async def test_a_rate_limited_push_is_429_in_nwakus_words() -> None:
    limits = ProtocolRateLimits.parse(["lightpush:1/1h"])
    async with (
        WakuNode(_config(lightpush=True, rate_limits=limits)) as service,
        WakuNode(_config()) as peer,
    ):
        await within(peer.connect(service.host.full_addrs()[0]))
        await wait_for(lambda: service.relay is not None and service.relay.mesh_size(SHARD) > 0)
        async with _light(lightpushnode=service.host.full_addrs()[0]) as api:
            first = await api.post("/lightpush/v3/message", json={"message": _message(b"1")})
            assert first.status_code == 200
            v3 = await api.post("/lightpush/v3/message", json={"message": _message(b"2")})
            assert (v3.status_code, v3.json()) == (429, {"statusDesc": light.TOO_MANY_REQUESTS})
            body = {"pubsubTopic": SHARD, "message": _message(b"3")}
            v1 = await api.post("/lightpush/v1/message", json=body)
            assert (v1.status_code, v1.text) == (429, "Request rate limit reached")
