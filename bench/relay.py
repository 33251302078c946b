"""Relay benchmark: 1 KiB Waku messages through pystatus relay nodes on loopback.

All nodes run in one process on one event loop, the same shape as the js benchmark
(tests/interop/bench_relay.mjs), so the ratio compares like with like.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass

from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayConfig, RelayedMessage, WakuRelay

TOPIC = "/waku/2/rs/1/0"
CONTENT = "/bench/1/relay/proto"
PAYLOAD = 1024
SEND_HIGH_WATER = 1 << 20
# No per-peer message rate limit, as go-waku and nwaku have none: the default (5,000 a second,
# bursts of 10,000) rejects a flood this fast and the sender ends graylisted mid-run.
BENCH_RELAY = RelayConfig(peer_rate=0.0)


@dataclass(frozen=True)
class RelayResult:
    impl: str
    link_msgs_per_s: float
    line5_msgs_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float


async def _line(count: int) -> list[WakuRelay]:
    relays = []
    for _ in range(count):
        host = Host(
            HostConfig(
                identity=Secp256k1PrivateKey.generate(),
                listen_addrs=(Multiaddr.from_string("/ip4/127.0.0.1/tcp/0"),),
            )
        )
        relay = WakuRelay(host, BENCH_RELAY)
        await host.start()
        await relay.start()
        relay.subscribe_topic(TOPIC)
        relays.append(relay)
    for left, right in itertools.pairwise(relays):
        await left.host.connect(right.host.full_addrs()[0])
    async with asyncio.timeout(30):
        while any(
            r.mesh_size(TOPIC) < (1 if i in (0, count - 1) else 2) for i, r in enumerate(relays)
        ):
            await asyncio.sleep(0.05)
    return relays


async def _stop(relays: list[WakuRelay]) -> None:
    for relay in relays:
        await relay.stop()
        await relay.host.stop()


def _message(index: int) -> WakuMessage:
    payload = index.to_bytes(8, "big") + bytes(PAYLOAD - 8)
    return WakuMessage(payload, CONTENT, timestamp=time.time_ns())


async def _throughput(nodes: int, count: int) -> float:
    relays = await _line(nodes)
    try:
        publisher, subscriber = relays[0], relays[-1]
        delivered = 0
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        def on_message(item: RelayedMessage) -> None:
            nonlocal delivered
            delivered += 1
            if delivered == count and not done.done():
                done.set_result(time.perf_counter())

        subscriber.add_observer(on_message)
        started = time.perf_counter()
        for index in range(count):
            publisher.publish(TOPIC, _message(index))
            if index % 64 == 63:
                # Back-pressure: let the writers drain before queueing more.
                await asyncio.sleep(0)
                while publisher.send_queue_bytes() > SEND_HIGH_WATER:
                    await asyncio.sleep(0.0005)
        async with asyncio.timeout(120):
            finished = await done
        return count / (finished - started)
    finally:
        await _stop(relays)


async def _latency(hops: int, samples: int) -> tuple[float, float]:
    relays = await _line(hops + 1)
    try:
        waiter: list[asyncio.Future[float]] = []

        def on_message(item: RelayedMessage) -> None:
            if waiter and not waiter[0].done():
                waiter[0].set_result(time.perf_counter())

        relays[-1].add_observer(on_message)
        results: list[float] = []
        for index in range(samples + 50):
            future = asyncio.get_running_loop().create_future()
            waiter[:] = [future]
            started = time.perf_counter()
            relays[0].publish(TOPIC, _message(index))
            async with asyncio.timeout(10):
                arrived = await future
            if index >= 50:  # warm-up
                results.append((arrived - started) * 1000)
        results.sort()
        return statistics.median(results), results[int(0.99 * (len(results) - 1))]
    finally:
        await _stop(relays)


async def run_relay(messages: int = 20000, samples: int = 500) -> RelayResult:
    link = await _throughput(2, messages)
    line = await _throughput(5, messages // 2)
    p50, p99 = await _latency(3, samples)
    return RelayResult("pystatus", link, line, p50, p99)
