"""`pystatus node --discv5-discovery` with nwaku's flags: a node process given one bootstrap
record finds a peer it was never told about through it, and dials it."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import Discv5NodeConfig
from pystatus.waku.enr import Enr
from tests.p2p.hosts import wait_for

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


def _config(bootstrap: Enr | None = None) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32,),
        discv5=Discv5NodeConfig(
            udp_port=0, bootstrap=(bootstrap,) if bootstrap else (), refresh_interval=1.0
        ),
    )


async def test_a_node_process_finds_a_peer_through_its_bootstrap_node() -> None:
    async with contextlib.AsyncExitStack() as stack:
        boot = await stack.enter_async_context(WakuNode(_config()))
        hidden = await stack.enter_async_context(WakuNode(_config(boot.enr)))
        process = await asyncio.create_subprocess_exec(
            PYSTATUS, "node", "--listen-address=127.0.0.1", "--tcp-port=0",
            "--cluster-id=16", "--shard=32", "--discv5-discovery", "--discv5-udp-port=0",
            f"--discv5-bootstrap-node={boot.enr.to_text()}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            # `hidden` is known to the process only through the bootstrap node's table.
            await wait_for(
                lambda: any(c.remote_peer != boot.peer_id for c in hidden.host.connections()),
                timeout=30,
                what="the process dialed the peer discv5 found",
            )
        finally:
            process.terminate()
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
