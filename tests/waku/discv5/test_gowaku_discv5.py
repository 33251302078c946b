"""discv5 against go-waku's (waku-org/go-discover, go-ethereum's implementation), both ways.

Runs the go-waku peer of ``tests/interop`` (built by ``make gowaku``; skipped without it, or
failed when ``PYSTATUS_REQUIRE_PEERS=1``). Everything runs on the Status cluster (16), shard
32. Each side must learn a node it was never told about through the other side's table: the
handshake, FINDNODE and NODES must all have worked across implementations, under Waku's
protocol-id "d5waku" (33/WAKU2-DISCV5).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import Discv5Config, Discv5Service, WakuEnrFilter
from pystatus.waku.enr import Capabilities, Enr
from tests.interop.gowaku_peer import GoWakuNode, GoWakuPeer, require_gowaku

pytestmark = [pytest.mark.interop, pytest.mark.asyncio(loop_scope="module")]

CLUSTER = 16
SHARD = 32
TOPIC = f"/waku/2/rs/{CLUSTER}/{SHARD}"
LOOPBACK = ("127.0.0.1", 0)
FAST = Discv5Config(refresh_interval=1.0, revalidate_interval=1.0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gowaku() -> AsyncIterator[GoWakuPeer]:
    require_gowaku()
    async with GoWakuPeer(log_level=os.environ.get("GOWAKU_LOG_LEVEL", "error")) as peer:
        yield peer


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _go_node(gowaku: GoWakuPeer, bootnodes: list[str] | None = None) -> GoWakuNode:
    return await gowaku.start_node(
        cluster_id=CLUSTER,
        pubsub_topics=[TOPIC],
        discv5UdpPort=_free_udp_port(),
        bootnodes=bootnodes or [],
    )


async def _stop(gowaku: GoWakuPeer, *nodes: GoWakuNode) -> None:
    for node in nodes:
        with contextlib.suppress(Exception):
            await gowaku.call("stop_node", node)


async def test_pystatus_finds_a_gowaku_node_through_gowaku(gowaku: GoWakuPeer) -> None:
    boot = await _go_node(gowaku)
    other = await _go_node(gowaku, [boot.enr])
    found: set[str] = set()
    seen_other = asyncio.Event()

    def on_found(record: Enr) -> None:
        found.add(str(record.peer_id))
        if other.peer_id in found:
            seen_other.set()

    service = Discv5Service(
        Secp256k1PrivateKey.generate(),
        bind=LOOPBACK,
        bootstrap=[Enr.from_text(boot.enr)],
        config=FAST,
        enr_filter=WakuEnrFilter.of(CLUSTER, [SHARD]),
        on_found=on_found,
    )
    await service.start()
    try:
        # go-discover lists a node in NODES only once it checked it alive: allow for that.
        await asyncio.wait_for(seen_other.wait(), 40)
        record = next(r for r in service.table_records() if str(r.peer_id) == other.peer_id)
        assert record.relay_shards == (CLUSTER, (SHARD,))
    finally:
        await service.stop()
        await _stop(gowaku, other, boot)


async def test_gowaku_finds_a_pystatus_node_through_pystatus(gowaku: GoWakuPeer) -> None:
    boot = Discv5Service(Secp256k1PrivateKey.generate(), bind=LOOPBACK, config=FAST)
    await boot.start()
    key = Secp256k1PrivateKey.generate()

    def waku_record(ip: str, port: int) -> Enr:
        return Enr.build(
            key,
            ip=ip,
            tcp=port,  # nothing listens there: go-waku only has to learn the record
            udp=port,
            capabilities=Capabilities.RELAY,
            cluster_id=CLUSTER,
            shards=[SHARD],
        )

    ours = Discv5Service(key, waku_record, bind=LOOPBACK, bootstrap=[boot.local_enr], config=FAST)
    await ours.start()
    go = await _go_node(gowaku, [boot.local_enr.to_text()])
    try:

        async def learned() -> None:
            while True:
                reply = await gowaku.call("peers", go)
                if str(ours.local_enr.peer_id) in {p["peerId"] for p in reply["peers"] or []}:
                    return
                await asyncio.sleep(0.2)

        await asyncio.wait_for(learned(), 40)
    finally:
        await _stop(gowaku, go)
        await ours.stop()
        await boot.stop()
