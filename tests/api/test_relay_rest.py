"""nwaku's relay REST behaviour (issue 15, "Relay (REST)"), over real HTTP against real nodes.

What nwaku does is read from its ``waku/rest_api/endpoint/relay/handlers.nim`` and
``types.nim`` and ``waku/node/kernel_api/relay.nim``.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from prometheus_client import REGISTRY

from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from pystatus.node.shards import RelayedShards, TooManySubscriptions
from pystatus.waku.errors import RequestRefused
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store import StoreQuery
from tests.api.rest import rest_client
from tests.p2p.hosts import wait_for, within

SHARD_0 = "/waku/2/rs/0/0"
SHARD_1 = "/waku/2/rs/0/1"
FREE_FORM = "Hello World!"  # fine on a named shard; only auto-sharding needs /app/v/name/enc
CONTENT = "/toychat/2/huilong/proto"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 0,
        "shards": (0,),
        "rest": RestConfig(port=0),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _path(topic: str) -> str:
    return f"/relay/v1/messages/{quote(topic, safe='')}"


def _body(payload: bytes, content_topic: str = FREE_FORM, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "payload": base64.b64encode(payload).decode(),
        "contentTopic": content_topic,
        "timestamp": time.time_ns(),
    }
    return body | fields


async def _archived(node: WakuNode, topic: str) -> int:
    assert node.store is not None
    entries, _ = await node.store.archive.query(
        StoreQuery(pubsub_topic=topic, content_topics=(FREE_FORM,), limit=100)
    )
    return len(entries)


async def test_a_rest_subscription_relays_archives_and_serves_the_shard(tmp_path: Path) -> None:
    service_config = _config(
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"),
        filter=FilterConfig(),
        lightpush=True,
    )
    async with (
        WakuNode(service_config) as service,
        WakuNode(_config(rest=None, shards=(0, 1))) as peer,
        WakuNode(_config(rest=None)) as light,
        rest_client(service) as api,
    ):
        assert peer.relay is not None and service.relay is not None
        inbox = peer.relay.subscribe(SHARD_1)
        await within(peer.connect(service.host.full_addrs()[0]))
        filter_peer = service.host.full_addrs()[0]
        with pytest.raises(RequestRefused):
            await light.filter_client.subscribe(filter_peer, SHARD_1, [FREE_FORM])

        reply = await api.post("/relay/v1/subscriptions", json=[SHARD_1])
        assert reply.status_code == 200, reply.text
        assert SHARD_1 in service.relay.topics
        assert service.relayed_shards() == (0, 1)
        assert (await within(peer.metadata.query(service.peer_id))).shards == (0, 1)
        # Joined its mesh: the peer relaying shard 1 is meshed with the service node.
        # (Both ends: the peer publishes only to its own mesh.)
        await wait_for(lambda: service.relay is not None and service.relay.mesh_size(SHARD_1) > 0)
        await wait_for(lambda: peer.relay is not None and peer.relay.mesh_size(SHARD_1) > 0)
        # Served: a filter subscription for the shard is accepted, light push publishes on it.
        pushed: list[WakuMessage] = []
        light.filter_client.start()  # what --filternode does
        light.filter_client.on_push(lambda push: pushed.append(push.message))
        await light.filter_client.subscribe(filter_peer, SHARD_1, [FREE_FORM])
        relayed = WakuMessage(b"from the peer", FREE_FORM, timestamp=time.time_ns())
        peer.relay.publish(SHARD_1, relayed)
        await wait_for(lambda: relayed in pushed, what="filter push")
        lightpushed = WakuMessage(b"light pushed", FREE_FORM, timestamp=time.time_ns())
        await light.lightpush_client.push(filter_peer, lightpushed, SHARD_1)
        got = await within(anext(inbox))
        assert got.message in (relayed, lightpushed)
        # Archived: what arrived by relay and what was published through REST.
        published = _body(b"over rest")
        reply = await api.post(_path(SHARD_1), json=published)
        assert reply.status_code == 200, reply.text
        await wait_for(lambda: service.store is not None and service.store.writer.pending == 0)
        assert await _archived(service, SHARD_1) == 3
        items = (await api.get(_path(SHARD_1))).json()
        # As nwaku writes them: no nulls, meta left out when empty, proof always there.
        nwaku_keys = {"payload", "contentTopic", "version", "timestamp", "ephemeral", "proof"}
        assert all(set(item) == nwaku_keys for item in items), items
        kept = {item["payload"] for item in items}
        assert kept == {base64.b64encode(m.payload).decode() for m in (relayed, lightpushed)} | {
            published["payload"]
        }

        reply = await api.request("DELETE", "/relay/v1/subscriptions", json=[SHARD_1])
        assert reply.status_code == 200, reply.text
        assert SHARD_1 not in service.relay.topics
        assert service.relayed_shards() == (0,)
        assert (await within(peer.metadata.query(service.peer_id))).shards == (0,)
        with pytest.raises(RequestRefused):
            await light.filter_client.subscribe(filter_peer, SHARD_1, ["/other/1/t/proto"])
        reply = await api.post(_path(SHARD_1), json=_body(b"after leaving"))
        assert reply.status_code == 400
        assert "not subscribed" in reply.text


async def test_publishing_where_the_node_does_not_relay_is_400_and_not_archived(
    tmp_path: Path,
) -> None:
    config = _config(store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"))
    async with WakuNode(config) as node, rest_client(node) as api:
        reply = await api.post(_path(SHARD_1), json=_body(b"nowhere"))
        assert reply.status_code == 400
        assert reply.text == f"Failed to publish: Node not subscribed to topic: {SHARD_1}"
        assert await _archived(node, SHARD_1) == 0
        # Shard indices outside the cluster's range, and other clusters.
        for topic in ("/waku/2/rs/0/1024", "/waku/2/rs/7/0", "/waku/2/rs/0/x"):
            assert (await api.post(_path(topic), json=_body(b"x"))).status_code == 400, topic
            reply = await api.post("/relay/v1/subscriptions", json=[topic])
            assert reply.status_code == 400, topic
        assert node.relay is not None and node.relay.topics == [SHARD_0]


async def test_message_bodies_are_read_as_nwaku_reads_them() -> None:
    async with (
        WakuNode(_config()) as node,
        WakuNode(_config(rest=None)) as peer,
        rest_client(node) as api,
    ):
        assert peer.relay is not None
        inbox = peer.relay.subscribe(SHARD_0)
        await within(node.connect(peer.host.full_addrs()[0]))
        await wait_for(lambda: node.relay is not None and node.relay.mesh_size(SHARD_0) > 0)
        refused = {
            "unknown field": _body(b"x", color="blue"),
            "null timestamp": _body(b"x", timestamp=None),
            "null meta": _body(b"x", meta=None),
            "null version": _body(b"x", version=None),
            "string timestamp": _body(b"x", timestamp="123"),
            "empty content topic": _body(b"x", ""),
            "blank content topic": _body(b"x", "  "),
        }
        for name, body in refused.items():
            reply = await api.post(_path(SHARD_0), json=body)
            assert reply.status_code == 400, (name, reply.text)
        # A field named twice, a body that is not JSON, a media type nwaku does not read.
        twice = b'{"payload": "eA==", "contentTopic": "a", "contentTopic": "b"}'
        json_type = {"content-type": "application/json"}
        reply = await api.post(_path(SHARD_0), content=twice, headers=json_type)
        assert reply.status_code == 400 and "Multiple `contentTopic`" in reply.text
        reply = await api.post(_path(SHARD_0), content=b"[" * 100_000, headers=json_type)
        assert reply.status_code == 400
        form = {"content-type": "application/x-www-form-urlencoded"}
        reply = await api.post(
            "/relay/v1/subscriptions", content=b'["/waku/2/rs/0/0"]', headers=form
        )
        assert reply.status_code == 400 and "Content-Type" in reply.text
        # nwaku also reads JSON sent as text/plain.
        text = {"content-type": "text/plain"}
        reply = await api.post(
            "/relay/v1/subscriptions", content=b'["/waku/2/rs/0/0"]', headers=text
        )
        assert reply.status_code == 200, reply.text
        # Timestamp 0 and no timestamp: stamped with the node's clock, as nwaku does.
        before = time.time_ns()
        for payload, body in ((b"zero", _body(b"zero", timestamp=0)), (b"none", _body(b"none"))):
            if payload == b"none":
                del body["timestamp"]
            reply = await api.post(_path(SHARD_0), json=body)
            assert reply.status_code == 200, reply.text
            got = await within(anext(inbox))
            assert got.message.payload == payload
            assert got.message.timestamp is not None
            assert before <= got.message.timestamp <= time.time_ns()
        # nwaku's fields all read: meta, version, ephemeral, proof; a free-form content topic.
        body = _body(
            b"full",
            meta=base64.b64encode(b"m").decode(),
            version=1,
            ephemeral=True,
            proof=base64.b64encode(b"p").decode(),
        )
        assert (await api.post(_path(SHARD_0), json=body)).status_code == 200
        got = await within(anext(inbox))
        expected = WakuMessage(
            b"full",
            FREE_FORM,
            version=1,
            timestamp=int(str(body["timestamp"])),
            meta=b"m",
            ephemeral=True,
            rate_limit_proof=b"p",
        )
        assert got.message == expected
        assert got.hash == message_hash(SHARD_0, expected)


@pytest.mark.parametrize(
    ("cluster_id", "accepted"), [(0, True), (16, True), (1, False)], ids=["0", "16", "TWN"]
)
async def test_far_timestamps_are_refused_on_the_waku_network_only(
    cluster_id: int, accepted: bool
) -> None:
    shard = f"/waku/2/rs/{cluster_id}/0"
    config = dict(cluster_id=cluster_id, shards=(0,))
    async with (
        WakuNode(_config(**config)) as node,
        WakuNode(_config(rest=None, **config)) as peer,
        rest_client(node) as api,
    ):
        assert peer.relay is not None
        inbox = peer.relay.subscribe(shard)
        await within(node.connect(peer.host.full_addrs()[0]))
        await wait_for(lambda: node.relay is not None and node.relay.mesh_size(shard) > 0)
        hour = 3600 * 10**9
        stamps = [time.time_ns() - 24 * hour, time.time_ns() + hour]
        for stamp in stamps:
            reply = await api.post(_path(shard), json=_body(b"far", timestamp=stamp))
            assert (reply.status_code == 200) is accepted, reply.text
        if accepted:
            # And the relay peer, with the same rules, takes them in.
            got = [(await within(anext(inbox))).message.timestamp for _ in stamps]
            assert got == stamps


async def test_auto_subscriptions_follow_the_content_topic_shard() -> None:
    config = _config(cluster_id=1, shards=(0,), num_shards_in_network=8)
    async with WakuNode(config) as node, rest_client(node) as api:
        assert node.relay is not None
        shard = "/waku/2/rs/1/3"  # CONTENT's auto-shard of 8 (shared vectors)
        assert (await api.post("/relay/v1/auto/subscriptions", json=[CONTENT])).status_code == 200
        assert shard in node.relay.topics and node.serves_pubsub_topic(shard)
        reply = await api.post("/relay/v1/auto/subscriptions", json=[FREE_FORM])
        assert reply.status_code == 400  # auto-sharding needs /app/version/name/encoding
        reply = await api.request("DELETE", "/relay/v1/auto/subscriptions", json=[CONTENT])
        assert reply.status_code == 200
        assert shard not in node.relay.topics


async def test_content_topic_flag_subscribes_its_auto_shard_at_start() -> None:
    config = _config(
        rest=None, cluster_id=1, shards=(0,), content_topics=(CONTENT,), num_shards_in_network=8
    )
    async with WakuNode(config) as node:
        assert node.relay is not None
        assert node.relay.topics == ["/waku/2/rs/1/0", "/waku/2/rs/1/3"]
        assert node.relayed_shards() == (0, 3)


async def test_leaving_over_rest_keeps_what_an_in_process_consumer_holds() -> None:
    """A Messenger's relay subscription keeps its shard joined when REST leaves it; REST's
    own hold on the shard is what DELETE ends."""
    async with WakuNode(_config(shards=(0, 1))) as node, rest_client(node) as api:
        assert node.relay is not None
        consumer = node.relay.subscribe(SHARD_1)
        reply = await api.request("DELETE", "/relay/v1/subscriptions", json=[SHARD_1])
        assert reply.status_code == 200
        assert SHARD_1 in node.relay.topics  # the consumer still holds it
        consumer.close()
        assert SHARD_1 not in node.relay.topics


async def test_content_topic_subscriptions_are_bounded_and_counted() -> None:
    async with WakuNode(_config(rest=None, cluster_id=1)) as node:
        assert node.relay is not None
        shards = RelayedShards(node.relay, cluster_id=1, shard_count=8, max_content_topics=2)
        shards.subscribe_content_topic("/a/1/x/proto")
        shards.subscribe_content_topic("/a/1/y/proto")
        shards.subscribe_content_topic("/a/1/y/proto")  # again: no new entry
        with pytest.raises(TooManySubscriptions):
            shards.subscribe_content_topic("/a/1/z/proto")
        gauge = REGISTRY.get_sample_value(
            "pystatus_node_relay_subscriptions", {"kind": "content_topic"}
        )
        assert gauge == 2
        shards.unsubscribe_content_topic("/a/1/x/proto")
        shards.subscribe_content_topic("/a/1/z/proto")


async def test_relay_routes_on_a_node_without_relay_answer_404_naming_the_flag() -> None:
    """nwaku installs no relay route with ``--relay=false``, and answers any ``/relay`` path
    404 "/relay endpoints are not available. Please check your configuration: --relay"
    (rest_api/endpoint/builder.nim); a bare "Not Found" left users guessing."""
    words = "/relay endpoints are not available. Please check your configuration: --relay"
    async with WakuNode(_config(relay=False)) as node, rest_client(node) as api:
        for answer in (
            await api.post(_path(SHARD_0), json=_body(b"hi")),
            await api.post("/relay/v1/auto/messages", json=_body(b"hi", CONTENT)),
            await api.get(_path(SHARD_0)),
            await api.post("/relay/v1/subscriptions", json=[SHARD_0]),
        ):
            assert (answer.status_code, answer.text) == (404, words)
        assert (await api.get("/no/such/route")).text == "Not Found"
