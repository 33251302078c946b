"""A node given only a tree's URL and a name server finds and dials every node of its cluster
in the tree, and picks up a new tree without a restart."""

from __future__ import annotations

import contextlib

import pytest
from prometheus_client import REGISTRY

from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, WakuNode
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.enrtree import build_tree
from tests.p2p.hosts import wait_for
from tests.waku.dns_server import TxtServer


def _config(cluster: int = 16, **options: object) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=cluster,
        shards=(32,) if cluster == 16 else (0,),
        **options,  # type: ignore[arg-type]
    )


def _other_cluster() -> float:
    labels = {"reason": "other_cluster"}
    return REGISTRY.get_sample_value("waku_dnsdisc_refused_total", labels) or 0.0


async def test_a_node_dials_what_the_tree_lists_and_follows_a_new_root() -> None:
    key = Secp256k1PrivateKey.generate()
    before = _other_cluster()
    async with contextlib.AsyncExitStack() as stack:
        listed = [await stack.enter_async_context(WakuNode(_config())) for _ in range(3)]
        foreign = await stack.enter_async_context(WakuNode(_config(cluster=1)))
        link, records = build_tree(
            key, "nodes.example.org", [n.enr for n in listed] + [foreign.enr]
        )
        server = await stack.enter_async_context(TxtServer(records).running())
        node = await stack.enter_async_context(
            WakuNode(
                _config(
                    dns_discovery_urls=(link.to_url(),),
                    dns_discovery_name_servers=(server.address,),
                    dns_discovery_interval=0.2,
                )
            )
        )

        def connected(nodes: list[WakuNode]) -> bool:
            return all(node.host.connections(n.peer_id) for n in nodes)

        await wait_for(lambda: connected(listed), timeout=15, what="every listed node dialed")
        assert not node.host.connections(foreign.peer_id), "another cluster's node was dialed"
        assert _other_cluster() > before, "another cluster's node was not even seen"

        late = await stack.enter_async_context(WakuNode(_config()))
        _, newer = build_tree(key, "nodes.example.org", [n.enr for n in [*listed, late]], seq=2)
        server.records.update(newer)
        await wait_for(lambda: connected([late]), timeout=15, what="the new tree's node dialed")
        assert not node.host.connections(foreign.peer_id)


@pytest.mark.parametrize(
    "options",
    [
        {"dns_discovery_urls": ("enrtree://nodes.example.org",)},
        {"dns_discovery_urls": ("https://example.org",)},
        {"dns_discovery_name_servers": ("dns.google",)},
    ],
)
def test_bad_urls_and_servers_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="DNS discovery"):
        _config(**options)  # type: ignore[arg-type]
