"""A relay-less node's light-client chat transport, built from its LightChatConfig, sends by
light push, receives by filter and asks the store, through one service node."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pystatus.chat.light import LightConfig
from pystatus.chat.transport import Received
from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, LightChatConfig, StoreConfig
from pystatus.node.light_chat import light_transport
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import StoreQuery
from tests.p2p.hosts import wait_for, within

TOPIC = "/waku/2/rs/16/32"
CONTENT = "/waku/1/0x0a0b0c0d/rfc26"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 16}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


async def test_light_chat_through_one_service_node(tmp_path: Path) -> None:
    service_config = _config(
        shards=(32,),
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False),
        filter=FilterConfig(),
        lightpush=True,
    )
    async with WakuNode(service_config) as service, WakuNode(_config(shards=(32,))) as peer:
        await within(peer.connect(service.host.full_addrs()[0]))
        await wait_for(
            lambda: service.relay is not None and service.relay.mesh_size(TOPIC) > 0,
            what="the service node has a relay peer",
        )
        addr = (service.host.full_addrs()[0],)
        light = LightChatConfig(filternodes=addr, lightpushnodes=addr, storenodes=addr)
        async with WakuNode(_config(relay=False, light_chat=light)) as node:
            with pytest.raises(ConfigError):
                light_transport(WakuNode(_config(relay=False)))
            transport = light_transport(node, config=LightConfig(filter_peers=2))
            assert transport.plan.peers_per_topic == 1  # only one filter node to spread over
            got: list[Received] = []
            transport.on_message(got.append)
            async with transport:
                transport.listen(TOPIC, [CONTENT])
                await wait_for(lambda: bool(transport.plan.subscriptions()[str(service.peer_id)]))
                message = WakuMessage(
                    payload=b"hi", content_topic=CONTENT, timestamp=time.time_ns()
                )
                sent = await within(transport.publish(TOPIC, message))
                assert sent.peers == 1
                await wait_for(lambda: [r.hash for r in got] == [sent.hash], what="own message")
                assert transport.store is not None
                stored = await within(
                    transport.store.query(
                        StoreQuery(include_data=False, message_hashes=(sent.hash,))
                    )
                )
                assert [e.hash for e in stored.entries] == [sent.hash]
