"""A js-waku light node (@waku/sdk, peer exchange discovery) bootstrapping through a pystatus
service node gets the records that node learned by DNS discovery, though it had never reached
them before, and not those of another cluster (issue 16; status-go#6915 met the empty list)."""

from __future__ import annotations

import asyncio

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.peer_manager_rules import Origin
from tests.interop.harness import NodePeer


def _config(cluster: int, **options: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": cluster,
        "shards": (3,),
    }
    return NodeConfig(**(settings | options))  # type: ignore[arg-type]


async def test_js_waku_gets_records_the_service_node_learned_by_dns() -> None:
    # js-waku drops records it cannot dial, so the nodes named are real ones; the service
    # node never met them before DNS discovery named them.
    async with (
        WakuNode(_config(1, peer_exchange=True)) as service,
        WakuNode(_config(1)) as ours,
        WakuNode(_config(2)) as theirs,
    ):
        service.add_enr(ours.enr, Origin.DNS)
        service.add_enr(theirs.enr, Origin.DNS)
        js = await NodePeer.start("--px", "1", script="waku_light_node.mjs")
        try:
            await js.call("dial", timeout=30, addr=str(service.host.full_addrs()[0]), protocols=[])
            async with asyncio.timeout(20):
                while str(ours.peer_id) not in (peers := (await js.call("discovered"))["peers"]):
                    await asyncio.sleep(0.1)
            assert str(theirs.peer_id) not in peers, "another cluster's record was served"
        finally:
            await js.stop()
