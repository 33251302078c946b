"""The discovery bench (issue 16): how long a new node takes to reach its target of relay
peers from one bootstrap node, by discv5, by a DNS tree and by peer exchange, pystatus and
go-waku side by side.

The network: ``size`` relay nodes on loopback (cluster 16, shard 32), pystatus's in this
process and, when asked, some go-waku nodes in the go-waku peer (tests/interop/gowaku), each
running discv5 from one pystatus bootstrap node (which also serves peer exchange), so the
bootstrap node's discv5 and peer exchange know the network as a live one's would. A local
authoritative DNS server (dnspython, ``tests/waku/dns_server.py``) serves a signed tree of
every node's record.

A trial starts one new node, pystatus's in this process or go-waku's in the go-waku peer
(tests/interop/gowaku), given only the bootstrap node's record (discv5), the tree's URL and
the name server (DNS) or the bootstrap node's address (peer exchange), and times it, from
just before its start to the moment ``target`` peers of the network are connected to it
(monotonic seconds). pystatus's count is taken on each connection event; go-waku's by asking
its peer store every 50 ms (so its times are up to 50 ms late). The new node stops before
the next trial. The figure is the median of ``trials``. pystatus's and go-waku's trials
alternate (pystatus first in even trials, go-waku first in odd ones) so that both meet the
network in the same state: go-waku's nodes walk discv5 without pause while their peer managers
want peers, and the network is busiest just after it formed.

Every node of the network but go-waku's lives in this one process, the new pystatus node
too. The table's caption gives the share of the pystatus trials' wall time this process spent
waiting for a CPU (Linux's schedstat run-queue wait): on a loaded machine that wait, not the
protocol, is most of a slow trial.

go-waku's DNS discovery is driven by the peer's ``dns_discover`` command (go-waku's
``dnsdisc.RetrieveNodes`` with a resolver that asks our server's port, then each node handed to
its peer manager to connect now, as go-waku's own command does at start). go-waku's peer
exchange is its client asking the bootstrap node (``px_request``), whose records its peer
manager then dials. go-waku's DNS client is go-ethereum's ``p2p/dnsdisc``, which asks at
most 3 names a second after a burst of 10 (its ``RateLimit`` default): a tree of 50 records
takes it about 15 s whatever the network.

The network's nodes walk their discv5 tables every 30 s (the default); the new pystatus node
every second, as go-waku's discv5 iterator walks without pause while it wants peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich.table import Table

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import Discv5NodeConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import build_tree
from tests.interop.gowaku_peer import GoWakuNode, GoWakuPeer, gowaku_binary
from tests.waku.dns_server import TxtServer

CLUSTER = 16
SHARD = 32
TOPIC = f"/waku/2/rs/{CLUSTER}/{SHARD}"
RELAY = "/vac/waku/relay/2.0.0"
DOMAIN = "nodes.bench.example"
METHODS = ("discv5", "dns", "px")
TRIAL_LIMIT = 60.0
"""Seconds a new node may take before its trial fails."""
READY_LIMIT = 120.0
"""Seconds the network may take to form."""
GOWAKU_POLL = 0.05
"""Seconds between go-waku peer store reads."""
NETWORK_REFRESH = 30.0
"""Seconds between the network's discv5 random walks (nwaku's and pystatus's default): fifty
nodes walking every second would keep this one process busy and slow the new node down."""
NEW_NODE_REFRESH = 1.0
"""Seconds between the new pystatus node's random walks (go-waku's discv5 iterator walks
without pause while its peer manager wants peers)."""


After = Callable[[GoWakuNode], Awaitable[object]]
"""What a go-waku trial does once its node started (a discovery command)."""


@dataclass
class DiscoveryResult:
    """Seconds to reach the target, per method and implementation (one entry per trial)."""

    size: int
    target: int
    gowaku_nodes: int = 0
    """How many of the network's nodes are go-waku's (the rest pystatus's)."""
    pystatus: dict[str, list[float]] = field(default_factory=dict)
    gowaku: dict[str, list[float]] = field(default_factory=dict)
    gowaku_missing: str = ""
    """Why go-waku did not run, when it did not."""
    cpu_wait: float | None = None
    """Share of the pystatus trials' wall time this process waited for a CPU (None where the
    kernel does not say)."""


def _config(
    *,
    bootstrap: tuple[Enr, ...] = (),
    discv5: bool = True,
    refresh: float = NETWORK_REFRESH,
    **options: object,
) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=CLUSTER,
        shards=(SHARD,),
        discv5=(
            Discv5NodeConfig(udp_port=0, bootstrap=bootstrap, refresh_interval=refresh)
            if discv5
            else None
        ),
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Network:
    boot: WakuNode
    records: list[Enr]
    """Every node's record, the bootstrap node's first."""
    peer_ids: frozenset[str]


async def _network(
    stack: contextlib.AsyncExitStack, size: int, target: int, peer: GoWakuPeer | None, go: int
) -> Network:
    """``size`` nodes, ``go`` of them go-waku's (in ``peer``), the first a pystatus bootstrap
    node; returns once every other node reached the bootstrap node and its peer exchange can
    offer twice the target (what its discv5 found: its routing table keeps 16 nodes a
    distance, so not all of a large network)."""
    boot = await stack.enter_async_context(WakuNode(_config(peer_exchange=True)))
    records = [boot.enr]
    for _ in range(size - 1 - go):
        node = await stack.enter_async_context(WakuNode(_config(bootstrap=(boot.enr,))))
        records.append(node.enr)
    for _ in range(go):
        assert peer is not None
        started = await peer.start_node(
            cluster_id=CLUSTER,
            pubsub_topics=[TOPIC],
            discv5UdpPort=_free_udp(),
            bootnodes=[boot.enr.to_text()],
        )
        records.append(Enr.from_text(started.enr))
    others = {str(r.peer_id) for r in records[1:]}
    offered = min(size - 1, 2 * target)

    def formed() -> bool:
        connected = {str(p) for p in boot.host.connected_peers()}
        return others <= connected and len(boot.enr_cache) >= offered

    async with asyncio.timeout(READY_LIMIT):
        while not formed():
            await asyncio.sleep(0.05)
    return Network(boot, records, frozenset({str(boot.peer_id), *others}))


def _run_queue_wait() -> float | None:
    """Seconds this process's threads have waited for a CPU so far (Linux schedstat), or None
    where it cannot be read."""
    try:
        total = 0
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


async def _time_pystatus(config: NodeConfig, network: frozenset[str], target: int) -> float:
    node = WakuNode(config)
    reached = asyncio.Event()

    def check(_: object) -> None:
        peers = {str(p) for p in node.host.connected_peers()}
        if len(peers & network) >= target:
            reached.set()

    node.host.on_connected(check)
    start = time.monotonic()
    async with node:
        async with asyncio.timeout(TRIAL_LIMIT):
            await reached.wait()
        return time.monotonic() - start


async def _time_gowaku(
    peer: GoWakuPeer,
    network: frozenset[str],
    target: int,
    begin: Callable[[], Awaitable[GoWakuNode]],
    after: After | None = None,
) -> float:
    start = time.monotonic()
    node = await begin()
    try:
        if after is not None:
            await after(node)
        async with asyncio.timeout(TRIAL_LIMIT):
            while True:
                reply = await peer.call("peers", node)
                connected = {
                    str(p["peerId"])
                    for p in reply.get("peers") or ()
                    if p.get("connected") == "Connected"
                }
                if len(connected & network) >= target:
                    return time.monotonic() - start
                await asyncio.sleep(GOWAKU_POLL)
    finally:
        await peer.call("stop_node", node)


async def run_discovery(
    size: int = 50,
    target: int = 8,
    trials: int = 5,
    *,
    gowaku: bool = True,
    gowaku_nodes: int = 0,
) -> DiscoveryResult:
    """Build the network (``gowaku_nodes`` of its nodes go-waku's) and time ``trials`` new
    nodes per method and implementation (go-waku's only when ``gowaku`` and its peer is
    built). Raises TimeoutError when the network does not form or a new node misses its
    target in time, ValueError for a target the network cannot meet, and RuntimeError when
    go-waku nodes are asked for and its peer is not built."""
    if target >= size:
        raise ValueError("the target must be below the network's size")
    if not 0 <= gowaku_nodes < size:
        raise ValueError("go-waku nodes: from none to all but the bootstrap node")
    result = DiscoveryResult(size=size, target=target, gowaku_nodes=gowaku_nodes)
    binary, why = gowaku_binary()
    if gowaku_nodes and binary is None:
        raise RuntimeError(why)
    async with contextlib.AsyncExitStack() as stack:
        peer = None
        if (gowaku and binary is not None) or gowaku_nodes:
            peer = await stack.enter_async_context(GoWakuPeer())
        network = await _network(stack, size, target, peer, gowaku_nodes)
        boot = network.boot
        key = Secp256k1PrivateKey.generate()
        link, records = build_tree(key, DOMAIN, network.records)
        dns = await stack.enter_async_context(TxtServer(records).running())
        url = link.to_url()
        boot_addr = boot.host.full_addrs()[0]
        configs = {
            "discv5": lambda: _config(bootstrap=(boot.enr,), refresh=NEW_NODE_REFRESH),
            "dns": lambda: _config(
                discv5=False,
                dns_discovery_urls=(url,),
                dns_discovery_name_servers=(dns.address,),
            ),
            "px": lambda: _config(discv5=False, peer_exchange_node=boot_addr),
        }
        plans = None
        if gowaku and peer is not None:
            plans = _gowaku_plans(peer, network, url=url, name_server=dns.address)
        else:
            result.gowaku_missing = "not asked" if not gowaku else why
        waited = wall = 0.0
        for method in METHODS:
            mine = result.pystatus.setdefault(method, [])
            for trial in range(trials):
                if peer is not None and plans is not None and trial % 2 == 1:
                    go = await _time_gowaku(peer, network.peer_ids, target, *plans[method])
                    result.gowaku.setdefault(method, []).append(go)
                before, began = _run_queue_wait(), time.monotonic()
                mine.append(await _time_pystatus(configs[method](), network.peer_ids, target))
                after = _run_queue_wait()
                if before is not None and after is not None:
                    waited, wall = waited + after - before, wall + time.monotonic() - began
                if peer is not None and plans is not None and trial % 2 == 0:
                    go = await _time_gowaku(peer, network.peer_ids, target, *plans[method])
                    result.gowaku.setdefault(method, []).append(go)
        result.cpu_wait = waited / wall if wall > 0 else None
    return result


def _gowaku_plans(
    peer: GoWakuPeer, network: Network, *, url: str, name_server: str
) -> dict[str, tuple[Callable[[], Awaitable[GoWakuNode]], After | None]]:
    """How go-waku's new node starts and discovers, per method (see the module's
    docstring)."""
    boot = network.boot
    boot_addr = str(boot.host.full_addrs()[0])

    async def discv5_node() -> GoWakuNode:
        return await peer.start_node(
            cluster_id=CLUSTER,
            pubsub_topics=[TOPIC],
            discv5UdpPort=_free_udp(),
            bootnodes=[boot.enr.to_text()],
        )

    async def plain_node() -> GoWakuNode:
        return await peer.start_node(cluster_id=CLUSTER, pubsub_topics=[TOPIC])

    async def dns_discover(node: GoWakuNode) -> object:
        return await peer.call("dns_discover", node, url=url, nameServer=name_server)

    async def px_request(node: GoWakuNode) -> object:
        wanted = len(network.records)
        return await peer.call("px_request", node, peer=boot_addr, numPeers=wanted)

    plans: dict[str, tuple[Callable[[], Awaitable[GoWakuNode]], After | None]] = {
        "discv5": (discv5_node, None),
        "dns": (plain_node, dns_discover),
        "px": (plain_node, px_request),
    }
    return plans


def _free_udp() -> int:
    """A UDP port free now (go-waku's discv5 needs a port number, not 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def discovery_table(result: DiscoveryResult) -> Table:
    """The bench's table: p50 (and min, max) seconds per method, and the ratio."""
    table = Table(
        title=f"discovery: a new node to {result.target} peers of a {result.size}-node loopback "
        f"network ({_mix(result)}) from one pystatus bootstrap node, median of "
        f"{len(next(iter(result.pystatus.values()), []))} trials"
    )
    for column in (
        "method",
        "pystatus p50 (s)",
        "range",
        "go-waku p50 (s)",
        "range",
        "ratio (py/go)",
    ):
        table.add_column(column, justify="right")
    for method in METHODS:
        mine = result.pystatus.get(method, [])
        go = result.gowaku.get(method, [])
        mine_p50 = statistics.median(mine) if mine else float("nan")
        go_p50 = statistics.median(go) if go else float("nan")
        table.add_row(
            method,
            f"{mine_p50:.3f}",
            _range(mine),
            f"{go_p50:.3f}" if go else "-",
            _range(go),
            f"{mine_p50 / go_p50:.2f} (lower is better)" if go and go_p50 else "-",
        )
    table.caption = (
        f"go-waku not run: {result.gowaku_missing}"
        if result.gowaku_missing
        else "go-waku read every 50 ms; its DNS client asks at most 3 names a second "
        "(go-ethereum dnsdisc)"
    )
    if result.cpu_wait is not None:
        table.caption += (
            f"; this process waited for a CPU {result.cpu_wait:.0%} of the pystatus trials' time"
        )
    return table


def _mix(result: DiscoveryResult) -> str:
    if not result.gowaku_nodes:
        return "pystatus nodes"
    return f"{result.size - result.gowaku_nodes} pystatus, {result.gowaku_nodes} go-waku nodes"


def _range(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}" if values else "-"
