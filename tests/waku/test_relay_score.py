"""Gossipsub scores of honest relay peers, as /admin/v1/peers and the peer manager read them.

Two local pystatus nodes that relay fine showed scores of -17,960,506 and -143,684,056 (one
and eight shards): the router ran on the wall clock while its readers passed monotonic
seconds, so the time in mesh (P1, weight 0.01 a second) came out as minus the Unix time.
An honest peer's score lies between 0 and what P1 and P2 can give per topic:
time_in_mesh_cap * time_in_mesh_weight + first_message_deliveries_cap * weight.
"""

from __future__ import annotations

import time

import httpx
from prometheus_client import REGISTRY

from pystatus.api.server import RestServer
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.p2p.gossipsub.params import TopicScoreParams
from pystatus.waku.message import WakuMessage
from tests.p2p.hosts import wait_for, within

SHARDS = (32, 64)


def _honest_bound(topics: int) -> float:
    p = TopicScoreParams()
    per_topic = p.time_in_mesh_cap * p.time_in_mesh_weight
    per_topic += p.first_message_deliveries_cap * p.first_message_deliveries_weight
    return topics * per_topic * p.topic_weight


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 16,
        "shards": SHARDS,
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


async def test_admin_peers_shows_an_honest_local_peers_score_within_its_bounds() -> None:
    config = _config(rest=RestConfig(port=0, admin=True))
    async with WakuNode(config) as node, WakuNode(_config()) as other:
        await within(other.host.connect(node.host.full_addrs()[0]))
        relay, other_relay = node.relay, other.relay
        assert relay is not None and other_relay is not None
        topics = [f"/waku/2/rs/16/{shard}" for shard in SHARDS]
        await wait_for(
            lambda: all(relay.mesh_size(topic) == 1 for topic in topics), 15, "meshed on both"
        )
        received = relay.subscribe(*topics)
        for index, topic in enumerate(topics):
            other_relay.publish(
                topic,
                WakuMessage(
                    payload=b"hello %d" % index,
                    content_topic="/pystatus/1/score/proto",
                    timestamp=time.time_ns(),
                ),
            )
        for _ in topics:
            await within(anext(received))
        assert config.rest is not None
        server = RestServer(node, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                listed = (await api.get("/admin/v1/peers")).json()
        finally:
            await server.stop()
        (entry,) = [p for p in listed if p["multiaddr"].endswith(str(other.peer_id))]
        # Two first deliveries, a moment in two meshes: a little above 2.
        assert 2.0 <= entry["score"] <= _honest_bound(len(topics)), entry["score"]
        scores = node.peer_manager._scores()
        assert 2.0 <= scores[other.peer_id] <= _honest_bound(len(topics)), scores


async def test_the_routers_counts_and_tables_are_metrics() -> None:
    async with WakuNode(_config()) as node:
        assert node.relay is not None
        node.relay.router.counters["graft_during_backoff"] += 2
        counted = REGISTRY.get_sample_value(
            "waku_relay_gossipsub_events_total", {"kind": "graft_during_backoff"}
        )
        assert counted is not None and counted >= 2
        tables = REGISTRY.get_sample_value("waku_relay_gossipsub_table_entries", {"table": "seen"})
        assert tables is not None
