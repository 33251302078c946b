"""Light-client benchmarks: filter fan-out from one service node, and light push requests/s.

Filter fan-out: one relayed message pushed to 100 filter subscribers, each push on a new
stream as the protocol requires; all hosts in one process. js-waku has no filter service, so
its reference side (tests/interop/bench_light.mjs) is js-libp2p doing the same wire work: a
node that pushes @waku/proto MessagePush frames on new filter-push streams to 100 subscribers.

Light push: one pystatus service node (with a relay peer, so every push is answered 200)
served to concurrent clients: pystatus LightPushClients, then js-waku light nodes
(createLightNode, lightPush.send) against the same service in the same run.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.filter import FilterClient, FilterLimits, FilterPush, FilterServer
from pystatus.waku.lightpush import LightPushClient, LightPushServer
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import WakuRelay

TOPIC = "/waku/2/rs/1/3"
CONTENT = "/toychat/2/huilong/proto"  # js-waku auto-shards it to TOPIC (cluster 1, 8 shards)
PAYLOAD = 1024
INTEROP = Path(__file__).resolve().parent.parent / "tests" / "interop"


@dataclass(frozen=True)
class FanoutResult:
    impl: str
    msgs_per_s: float
    """Messages per second delivered to every one of the subscribers."""
    latency_p50_ms: float
    """From publish until the last subscriber has the message."""
    latency_p99_ms: float


@dataclass(frozen=True)
class LightPushResult:
    client: str
    requests_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float


def _host() -> Host:
    return Host(
        HostConfig(
            identity=Secp256k1PrivateKey.generate(),
            listen_addrs=(Multiaddr.from_string("/ip4/127.0.0.1/tcp/0"),),
        )
    )


def _message(index: int, sender: int = 0) -> WakuMessage:
    payload = sender.to_bytes(4, "big") + index.to_bytes(8, "big") + bytes(PAYLOAD - 12)
    return WakuMessage(payload, CONTENT, timestamp=time.time_ns())


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


async def run_fanout(
    subscribers: int = 100, messages: int = 500, samples: int = 100
) -> FanoutResult:
    service = _host()
    relay = WakuRelay(service)
    await service.start()
    await relay.start()
    relay.subscribe_topic(TOPIC)
    server = FilterServer(service, limits=FilterLimits(peer_rate=1e9, peer_burst=1e9))
    server.start()
    relay.add_observer(server.on_relayed)
    clients: list[tuple[Host, FilterClient]] = []
    try:
        received: list[int] = [0]
        waiter: list[tuple[int, asyncio.Future[float]]] = []

        def on_push(push: FilterPush) -> None:
            received[0] += 1
            if waiter and received[0] >= waiter[0][0] and not waiter[0][1].done():
                waiter[0][1].set_result(time.perf_counter())

        for _ in range(subscribers):
            host = _host()
            await host.start()
            client = FilterClient(host)
            client.start(keepalive=None)
            client.on_push(on_push)
            await client.subscribe(service.full_addrs()[0], TOPIC, [CONTENT])
            clients.append((host, client))

        async def deliver(count: int, start_index: int) -> float:
            """Publish ``count`` messages; the time until every subscriber has all of them."""
            future = asyncio.get_running_loop().create_future()
            waiter[:] = [(received[0] + count * subscribers, future)]
            started = time.perf_counter()
            for index in range(count):
                relay.publish(TOPIC, _message(start_index + index))
                if index % 16 == 15:
                    while server.queued_pushes() > subscribers * 32:
                        await asyncio.sleep(0.0005)
            async with asyncio.timeout(300):
                finished: float = await future
            return finished - started

        await deliver(20, 0)  # warm-up: streams, buffers, caches
        elapsed = await deliver(messages, 100)
        latencies = [await deliver(1, 10_000 + i) * 1000 for i in range(samples)]
        p50, p99 = _percentiles(latencies)
        return FanoutResult("pystatus", messages / elapsed, p50, p99)
    finally:
        for host, client in clients:
            await client.stop()
            await host.stop()
        await server.stop()
        await relay.stop()
        await service.stop()


async def _lightpush_service() -> tuple[list[Host], list[WakuRelay], LightPushServer]:
    hosts = [_host(), _host()]
    relays = [WakuRelay(host) for host in hosts]
    for host, relay in zip(hosts, relays, strict=True):
        await host.start()
        await relay.start()
        relay.subscribe_topic(TOPIC)
    await hosts[1].connect(hosts[0].full_addrs()[0])
    async with asyncio.timeout(30):
        while relays[0].mesh_size(TOPIC) < 1:
            await asyncio.sleep(0.05)

    async def publish(topic: str, message: WakuMessage) -> int:
        return relays[0].publish(topic, message).peers

    server = LightPushServer(
        hosts[0],
        publish=publish,
        resolve_topic=lambda topic, message: topic or TOPIC,
        peer_rate=1e9,
        peer_burst=1e9,
    )
    server.start()
    return hosts, relays, server


async def _pystatus_pushes(service: Multiaddr, clients: int, each: int) -> LightPushResult:
    hosts = [_host() for _ in range(clients)]
    for host in hosts:
        await host.start()
        await host.connect(service)
    latencies: list[float] = []

    async def pusher(host: Host, sender: int) -> None:
        client = LightPushClient(host)
        for index in range(each):
            started = time.perf_counter()
            await client.push(service, _message(index, sender), TOPIC)
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        await pusher(hosts[0], clients)  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(pusher(h, i) for i, h in enumerate(hosts)))
        elapsed = time.perf_counter() - started
    finally:
        for host in hosts:
            await host.stop()
    p50, p99 = _percentiles(latencies)
    return LightPushResult("pystatus", clients * each / elapsed, p50, p99)


async def _js_pushes(service: Multiaddr, clients: int, each: int) -> LightPushResult:
    process = await asyncio.create_subprocess_exec(
        "node",
        "--import",
        str(INTEROP / "polyfill.mjs"),
        str(INTEROP / "bench_light.mjs"),
        "lightpush",
        str(service),
        str(clients),
        str(each),
        cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"js light push benchmark failed: {stderr.decode()[-2000:]}")
    data = json.loads([t for t in stdout.decode().splitlines() if t.startswith("{")][-1])
    return LightPushResult(
        "js-waku", data["requests_per_s"], data["latency_p50_ms"], data["latency_p99_ms"]
    )


async def run_lightpush(clients: int = 10, each: int = 200) -> list[LightPushResult]:
    hosts, relays, server = await _lightpush_service()
    try:
        service = hosts[0].full_addrs()[0]
        ours = await _pystatus_pushes(service, clients, each)
        theirs = await _js_pushes(service, clients, each)
        return [ours, theirs]
    finally:
        server.stop()
        for host, relay in zip(hosts, relays, strict=True):
            await relay.stop()
            await host.stop()
