"""DNS discovery seeds discv5 (as nwaku adds the tree's records to discv5's bootstrap nodes),
and a preset names the fleet's discv5 bootstrap records (status-go v1.1.0
``params/cluster.go`` ``DiscV5BootstrapNodes``)."""

from __future__ import annotations

import contextlib

from prometheus_client import REGISTRY

from pystatus.cli.node_options import _discv5_bootstrap
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import Discv5NodeConfig
from pystatus.node.presets import preset
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import Discv5Service
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import build_tree
from tests.p2p.hosts import wait_for
from tests.waku.dns_server import TxtServer


def _config(bootstrap: tuple[Enr, ...] = (), **options: object) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32,),
        discv5=Discv5NodeConfig(udp_port=0, bootstrap=bootstrap, refresh_interval=1.0),
        **options,  # type: ignore[arg-type]
    )


async def test_a_tree_s_records_bootstrap_discv5() -> None:
    """The tree lists one node; a node known only to that one over discv5 is found by a node
    given nothing but the tree, which it can only do through discv5 seeded by the tree."""
    async with contextlib.AsyncExitStack() as stack:
        listed = await stack.enter_async_context(WakuNode(_config()))
        hidden = await stack.enter_async_context(WakuNode(_config((listed.enr,))))
        link, records = build_tree(
            Secp256k1PrivateKey.generate(), "nodes.example.org", [listed.enr]
        )
        server = await stack.enter_async_context(TxtServer(records).running())
        node = await stack.enter_async_context(
            WakuNode(
                _config(
                    dns_discovery_urls=(link.to_url(),),
                    dns_discovery_name_servers=(server.address,),
                )
            )
        )
        assert node.discv5 is not None

        def found(peer: WakuNode) -> bool:
            assert node.discv5 is not None
            return any(r.peer_id == peer.peer_id for r in node.discv5.table_records())

        await wait_for(lambda: found(listed), timeout=15, what="the tree's node in discv5's table")
        await wait_for(lambda: found(hidden), timeout=15, what="a node only discv5 knows, found")


def _skipped() -> float:
    labels = {"kind": "bootstrap_skipped"}
    return REGISTRY.get_sample_value("waku_discv5_errors_total", labels) or 0.0


async def test_records_discv5_cannot_use_are_skipped_and_counted() -> None:
    """A tree may list TCP-only nodes, and ourselves: neither seeds the table, and neither
    stops the service, before its start or after."""
    key = Secp256k1PrivateKey.generate()
    service = Discv5Service(key, bind=("127.0.0.1", 0))
    usable = Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", udp=9)
    tcp_only = Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=9)
    before = _skipped()
    assert service.add_bootstrap([usable, tcp_only]) == 1
    await service.start()
    try:
        assert _skipped() == before + 1
        assert [r.peer_id for r in service.table_records()] == [usable.peer_id]
        later = Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", udp=10)
        assert service.add_bootstrap([service.local_enr, tcp_only, later]) == 1
        assert _skipped() == before + 3
        assert {r.peer_id for r in service.table_records()} == {usable.peer_id, later.peer_id}
    finally:
        await service.stop()


def test_a_status_preset_bootstraps_discv5_from_the_fleet() -> None:
    for name in ("status.prod", "status.staging"):
        records = _discv5_bootstrap(None, preset(name))
        assert len(records) == 3, name
        for record in records:
            assert record.udp is not None and record.ip is not None
            assert record.relay_shards is not None and record.relay_shards[0] == 16
    given = preset("status.prod").discv5_bootstrap_nodes[0]
    assert _discv5_bootstrap([given], preset("status.staging")) == (Enr.from_text(given),)
    assert _discv5_bootstrap(None, None) == ()
