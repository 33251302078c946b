"""pystatus beside go-waku (the node inside status-go v1.1.0): relay and store, one run.

Relay: 1 KiB messages over one link and over a line of 5, each implementation's nodes all in
one process on loopback (pystatus's on one event loop, go-waku's in the go-waku peer,
tests/interop/gowaku). Throughput is messages per second from the first publish to the last
arrival at the far end, with back-pressure on each side (pystatus: its send queue's high
water, as bench/relay.py does; go-waku: at most 32 messages in flight, since
go-libp2p-pubsub drops what overflows a peer's 32-message queue). Latency is one message at
a time, publish to arrival, after 50 warm-up messages.

Store: an archive of N messages (100 content topics, 200-byte payloads, one pubsub topic)
written by direct inserts, then a page of 20, newest first, on one content topic within a
one-hour window at random, asked by go-waku's client over the network in both cases.
go-waku at this version serves only the legacy store (``/vac/waku/store/2.0.0-beta4``,
SQLite); pystatus serves store v3 (SQLite). pystatus's hash look-ups have no go-waku
counterpart here.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from bench.relay import TOPIC, _latency, _throughput
from pystatus.archive.base import ArchivedMessage
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.waku.message import WakuMessage
from tests.interop.gowaku_peer import GoWakuNode, GoWakuPeer, gowaku_binary

CONTENT = "/bench/1/relay/proto"
PAYLOAD = 1024
WINDOW = 32
WARMUP = 50
STORE_CONTENT_TOPICS = [f"/bench/1/chat-{i}/proto" for i in range(100)]
STORE_PAYLOAD = 200
BASE_NS = 1_700_000_000 * 10**9
SPACING_NS = 10**7  # 100 messages a second of simulated history
WINDOW_NS = 3600 * 10**9
INSERT_BATCH = 5000


@dataclass(frozen=True)
class RelayFigures:
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    delivered: float = 1.0
    """The share of flooded messages that arrived (go-libp2p-pubsub drops on full queues)."""
    cpu_us: float = float("nan")
    """CPU microseconds per message of the throughput run, every node of the implementation
    together: what a loaded machine's wall clock blurs (the process's user + system time)."""


@dataclass(frozen=True)
class StoreFigures:
    messages: int
    fill_s: float
    p50_ms: float
    p99_ms: float


def _percentiles(values_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(values_ms)
    return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]


# -- relay ------------------------------------------------------------------------------------


async def _pystatus_relay(nodes: int, messages: int, samples: int) -> RelayFigures:
    started = time.process_time()  # this process: the go-waku peer is another
    rate = await _throughput(nodes, messages)
    cpu_us = (time.process_time() - started) / messages * 1e6
    p50, p99 = await _latency(nodes - 1, samples)
    return RelayFigures(rate, p50, p99, cpu_us=cpu_us)


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, every thread (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _go_line(peer: GoWakuPeer, count: int) -> list[GoWakuNode]:
    cluster = int(TOPIC.split("/")[4])
    nodes = [await peer.start_node(cluster_id=cluster, pubsub_topics=[TOPIC]) for _ in range(count)]
    for left, right in itertools.pairwise(nodes):
        await peer.call("dial", left, addr=right.addr)
    async with asyncio.timeout(30):
        for i, node in enumerate(nodes):
            want = 1 if i in (0, count - 1) else 2
            while len((await peer.call("relay_peers", node, pubsubTopic=TOPIC))["peers"]) < want:
                await asyncio.sleep(0.05)
    await peer.call("bench_listen", nodes[-1], pubsubTopic=TOPIC)
    return nodes


async def _gowaku_relay(peer: GoWakuPeer, nodes: int, messages: int, samples: int) -> RelayFigures:
    line = await _go_line(peer, nodes)
    try:
        common = {"to": line[-1].index, "pubsubTopic": TOPIC, "contentTopic": CONTENT}
        process = peer._process  # the peer's one process: its nodes' CPU is all there
        if process is None:
            raise RuntimeError("the go-waku peer is not running")
        pid = process.pid
        started = _process_cpu_seconds(pid)
        flood = await peer.call(
            "bench_relay",
            line[0],
            timeout=300,
            count=messages,
            size=PAYLOAD,
            window=WINDOW,
            **common,
        )
        cpu_us = (_process_cpu_seconds(pid) - started) / messages * 1e6
        timed = await peer.call(
            "bench_latency",
            line[0],
            timeout=300,
            count=samples,
            warmup=WARMUP,
            size=PAYLOAD,
            **common,
        )
        p50, p99 = _percentiles([us / 1000 for us in timed["latenciesUs"]])
        received = int(flood["received"])
        rate = received / float(flood["seconds"])
        return RelayFigures(rate, p50, p99, received / messages, cpu_us)
    finally:
        for node in line:
            await peer.call("stop_node", node)


# -- store ------------------------------------------------------------------------------------


def _stored(index: int) -> ArchivedMessage:
    timestamp = BASE_NS + index * SPACING_NS
    message = WakuMessage(
        index.to_bytes(8, "big") + bytes(STORE_PAYLOAD - 8),
        STORE_CONTENT_TOPICS[index % len(STORE_CONTENT_TOPICS)],
        timestamp=timestamp,
    )
    return ArchivedMessage.of(TOPIC, message, timestamp)


def _windows(total: int, samples: int) -> list[list[int]]:
    rng = random.Random(7)
    starts = [BASE_NS + rng.randrange(total) * SPACING_NS for _ in range(samples)]
    return [[start, start + WINDOW_NS] for start in starts]


async def _pystatus_store(
    peer: GoWakuPeer, client: GoWakuNode, directory: Path, total: int, samples: int
) -> tuple[StoreFigures, float, float]:
    cluster = int(TOPIC.split("/")[4])
    config = NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=cluster,
        shards=(int(TOPIC.split("/")[5]),),
        store=StoreConfig(db_url=f"sqlite:///{directory}/pystatus.sqlite3", resume=False),
    )
    async with WakuNode(config) as node:
        assert node.store is not None
        began = time.perf_counter()
        for low in range(0, total, INSERT_BATCH):
            batch = [_stored(i) for i in range(low, min(total, low + INSERT_BATCH))]
            await node.store.archive.insert(batch)
        fill = time.perf_counter() - began
        addr = str(node.host.full_addrs()[0])
        topic = [STORE_CONTENT_TOPICS[7]]
        pages = await peer.call(
            "store_bench",
            client,
            timeout=600,
            peer=addr,
            queries=samples,
            pubsubTopic=TOPIC,
            contentTopics=topic,
            windows=_windows(total, samples),
            pageSize=20,
        )
        rng = random.Random(11)
        hashes = [_stored(rng.randrange(total)).hash.hex() for _ in range(samples)]
        looked_up = await peer.call(
            "store_bench",
            client,
            timeout=600,
            peer=addr,
            queries=samples,
            hashes=hashes,
            pageSize=20,
        )
        if looked_up["messages"] != samples:
            raise RuntimeError(f"pystatus found {looked_up['messages']} of {samples} hashes")
    p50, p99 = _percentiles([us / 1000 for us in pages["latenciesUs"]])
    h50, h99 = _percentiles([us / 1000 for us in looked_up["latenciesUs"]])
    return StoreFigures(total, fill, p50, p99), h50, h99


async def _gowaku_store(
    peer: GoWakuPeer, client: GoWakuNode, directory: Path, total: int, samples: int
) -> StoreFigures:
    cluster = int(TOPIC.split("/")[4])
    server = await peer.start_node(
        cluster_id=cluster,
        pubsub_topics=[TOPIC],
        store=True,
        storeDb=str(directory / "gowaku.sqlite3"),
    )
    try:
        began = time.perf_counter()
        await peer.call(
            "legacy_store_fill",
            server,
            timeout=3600,
            pubsubTopic=TOPIC,
            contentTopics=STORE_CONTENT_TOPICS,
            count=total,
            size=STORE_PAYLOAD,
            start=BASE_NS,
            step=SPACING_NS,
        )
        fill = time.perf_counter() - began
        pages = await peer.call(
            "store_bench",
            client,
            timeout=600,
            peer=server.addr,
            legacy=True,
            queries=samples,
            pubsubTopic=TOPIC,
            contentTopics=[STORE_CONTENT_TOPICS[7]],
            windows=_windows(total, samples),
            pageSize=20,
        )
    finally:
        await peer.call("stop_node", server)
    p50, p99 = _percentiles([us / 1000 for us in pages["latenciesUs"]])
    return StoreFigures(total, fill, p50, p99)


# -- the tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoWakuBench:
    relay: dict[str, tuple[RelayFigures, RelayFigures]]  # topology -> (pystatus, go-waku)
    store: tuple[StoreFigures, StoreFigures]
    hash_p50_ms: float
    hash_p99_ms: float


async def run_gowaku(
    messages: int = 20000, samples: int = 500, store_messages: int = 1_000_000
) -> GoWakuBench:
    """Every figure for both implementations; raises RuntimeError if the peer is not built."""
    binary, reason = gowaku_binary()
    if binary is None:
        raise RuntimeError(reason)
    relay: dict[str, tuple[RelayFigures, RelayFigures]] = {}
    async with GoWakuPeer(binary=binary) as peer:
        for name, nodes, count in (("one link", 2, messages), ("line of 5", 5, messages // 2)):
            ours = await _pystatus_relay(nodes, count, samples)
            theirs = await _gowaku_relay(peer, nodes, count, samples)
            relay[name] = (ours, theirs)
        client = await peer.start_node(
            cluster_id=int(TOPIC.split("/")[4]), pubsub_topics=[TOPIC], relay=False
        )
        with tempfile.TemporaryDirectory() as directory:
            ours_store, h50, h99 = await _pystatus_store(
                peer, client, Path(directory), store_messages, samples
            )
            theirs_store = await _gowaku_store(
                peer, client, Path(directory), store_messages, samples
            )
    return GoWakuBench(relay, (ours_store, theirs_store), h50, h99)


def gowaku_tables(messages: int, samples: int, store_messages: int) -> list[Table]:
    result = asyncio.run(run_gowaku(messages, samples, store_messages))
    relay = Table(
        title="relay beside go-waku: 1 KiB messages, loopback, each impl's nodes in one process"
    )
    for column in ("topology", "metric", "pystatus", "go-waku", "ratio (py/go)"):
        relay.add_column(column, justify="right")
    for name, (ours, theirs) in result.relay.items():
        rows = [
            ("msgs/s", ours.msgs_per_s, theirs.msgs_per_s, ""),
            ("delivered (share)", ours.delivered, theirs.delivered, ""),
            ("CPU per message (us)", ours.cpu_us, theirs.cpu_us, " (lower is better)"),
            ("latency p50 (ms)", ours.p50_ms, theirs.p50_ms, " (lower is better)"),
            ("latency p99 (ms)", ours.p99_ms, theirs.p99_ms, " (lower is better)"),
        ]
        for metric, mine, go, hint in rows:
            ratio = mine / go if go else float("nan")
            relay.add_row(name, metric, f"{mine:,.2f}", f"{go:,.2f}", f"{ratio:.2f}{hint}")
    ours_store, theirs_store = result.store
    store = Table(
        title=f"store beside go-waku: {ours_store.messages:,} messages, a page of 20 on one "
        "content topic in a 1 h window, asked by go-waku's client"
    )
    for column in ("metric", "pystatus (store v3)", "go-waku (legacy store)", "ratio (py/go)"):
        store.add_column(column, justify="right")
    for metric, mine, go in (
        ("fill by direct inserts (s)", ours_store.fill_s, theirs_store.fill_s),
        ("query p50 (ms)", ours_store.p50_ms, theirs_store.p50_ms),
        ("query p99 (ms)", ours_store.p99_ms, theirs_store.p99_ms),
    ):
        store.add_row(metric, f"{mine:,.2f}", f"{go:,.2f}", f"{mine / go:.2f} (lower is better)")
    store.add_row("hash look-up p50 (ms)", f"{result.hash_p50_ms:.2f}", "-", "")
    store.add_row("hash look-up p99 (ms)", f"{result.hash_p99_ms:.2f}", "-", "")
    store.caption = (
        "go-waku at the version status-go v1.1.0 uses serves only the legacy store protocol "
        "and has no hash look-up"
    )
    return [relay, store]
