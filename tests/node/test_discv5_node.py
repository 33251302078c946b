"""discv5 in the node (33/WAKU2-DISCV5): twenty nodes that know only one bootstrap node find
each other, the peer manager dials them, and the relay mesh carries a message to all twenty;
a node of another cluster, found through the same bootstrap node, is never dialed."""

from __future__ import annotations

import contextlib
import time

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import Discv5NodeConfig
from pystatus.waku.enr import Enr
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayedMessage
from tests.p2p.hosts import wait_for

TOPIC = "/waku/2/rs/16/32"


def _config(bootstrap: Enr | None = None, cluster: int = 16) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=cluster,
        shards=(32,) if cluster == 16 else (0,),
        discv5=Discv5NodeConfig(
            udp_port=0,
            bootstrap=(bootstrap,) if bootstrap is not None else (),
            refresh_interval=1.0,
        ),
    )


async def test_twenty_nodes_find_each_other_and_relay_to_all() -> None:
    async with contextlib.AsyncExitStack() as stack:
        boot = await stack.enter_async_context(WakuNode(_config()))
        assert boot.enr.udp is not None, "the record carries the discv5 port"
        nodes = [await stack.enter_async_context(WakuNode(_config(boot.enr))) for _ in range(20)]
        foreign = await stack.enter_async_context(WakuNode(_config(boot.enr, cluster=1)))

        def meshed() -> bool:
            return all(n.relay is not None and n.relay.mesh_size(TOPIC) > 0 for n in nodes)

        await wait_for(meshed, timeout=60, what="every node in the relay mesh")
        received: set[int] = set()
        for index, node in enumerate(nodes):
            assert node.relay is not None

            def seen(message: RelayedMessage, index: int = index) -> None:
                if message.message.payload == b"to all twenty":
                    received.add(index)

            node.relay.add_observer(seen)
        sender = nodes[0].relay
        assert sender is not None
        sender.publish(
            TOPIC, WakuMessage(b"to all twenty", "/app/1/t/proto", timestamp=time.time_ns())
        )
        await wait_for(lambda: len(received) == 20, timeout=20, what="all twenty received it")
        assert not any(n.host.connections(foreign.peer_id) for n in [boot, *nodes])
