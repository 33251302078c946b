"""Messengers on pystatus relay nodes (cluster 16, shards 32 and 64), shared by the chat
layer's network tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.node import NodeConfig, WakuNode
from tests.p2p.hosts import wait_for, within

FAST = ScryptParams(n=1 << 10)
"""Account keystores quick to unlock (tests only)."""


def node_config() -> NodeConfig:
    """A relay node on loopback, a free port, cluster 16, shards 32 and 64."""
    return NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, shards=(32, 64))


@contextlib.asynccontextmanager
async def relay_nodes(count: int) -> AsyncIterator[list[WakuNode]]:
    """``count`` started nodes, each connected to the first, yielded once every node has a
    mesh on every shard (AssertionError after 20 s); all stopped on leaving."""
    async with contextlib.AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(WakuNode(node_config())) for _ in range(count)]
        for node in nodes[1:]:
            await within(node.connect(nodes[0].host.full_addrs()[0]))

        def meshed() -> bool:
            return all(
                node.relay is not None
                and all(node.relay.mesh_size(t) > 0 for t in node.relay.topics)
                for node in nodes
            )

        await wait_for(meshed, timeout=20, what="every shard meshed")
        yield nodes


def relay_messenger(account: Account, node: WakuNode) -> Messenger:
    """``account``'s Messenger publishing and subscribing through ``node``'s relay."""
    assert node.relay is not None
    return Messenger(account, RelayTransport(node.relay))
