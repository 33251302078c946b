"""py-libp2p 0.8.1 gossipsub, measured the way bench/relay.py measures pystatus relay.

Runs under its own virtualenv (``make bench`` creates .venv-pylibp2p): py-libp2p is trio-only
and pins its own dependencies. Its gossipsub is run as close to a Waku relay as its public
options allow: content-addressed (sha256) message ids, no signing, Waku's mesh degree, and its
default 10 msg/s per-topic cap switched off. Prints one JSON line.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from typing import Any

import multiaddr
import trio
import trio.lowlevel
from libp2p import new_host
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pubsub import ContentAddressedMessageIDGenerator, Pubsub
from libp2p.tools.anyio_service import background_trio_service

TOPIC = "/waku/2/rs/1/0"
GOSSIPSUB = "/meshsub/1.1.0"  # py-libp2p's gossipsub refuses Waku's protocol id
PAYLOAD = 1024


class Node:
    def __init__(self) -> None:
        self.host = new_host(key_pair=create_new_key_pair(), muxer_preference="YAMUX")
        self.router = GossipSub(
            protocols=[GOSSIPSUB],
            degree=6,
            degree_low=4,
            degree_high=8,
            heartbeat_interval=1,
            heartbeat_initial_delay=0.1,
            spam_protection_enabled=False,
            max_messages_per_topic_per_second=1e9,
        )
        self.pubsub = Pubsub(
            self.host,
            self.router,
            strict_signing=False,
            msg_id_constructor=ContentAddressedMessageIDGenerator(),
        )
        self.received = 0
        self.arrivals: list[float] = []


async def _with_line(count: int, body: Any) -> Any:
    nodes = [Node() for _ in range(count)]
    listen = [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]

    async def nest(index: int) -> Any:
        if index == count:
            return await run_body()
        node = nodes[index]
        async with (
            node.host.run(listen_addrs=listen),
            background_trio_service(node.pubsub),
            background_trio_service(node.router),
        ):
            await node.pubsub.wait_until_ready()
            return await nest(index + 1)

    async def run_body() -> Any:
        async with trio.open_nursery() as nursery:
            for node in nodes:
                subscription = await node.pubsub.subscribe(TOPIC)
                nursery.start_soon(_receive, node, subscription)
            for left, right in itertools.pairwise(nodes):
                addr = right.host.get_addrs()[0]
                await left.host.connect(info_from_p2p_addr(addr))
            with trio.fail_after(30):
                while any(
                    len(node.router.mesh.get(TOPIC, ())) < (1 if i in (0, count - 1) else 2)
                    for i, node in enumerate(nodes)
                ):
                    await trio.sleep(0.05)
            result = await body(nodes)
            nursery.cancel_scope.cancel()
            return result

    return await nest(0)


async def _receive(node: Node, subscription: Any) -> None:
    while True:
        await subscription.get()
        node.received += 1
        node.arrivals.append(time.perf_counter())


def _payload(index: int) -> bytes:
    return index.to_bytes(8, "big") + bytes(PAYLOAD - 8)


async def _throughput(nodes: list[Node], total: int) -> dict[str, float]:
    publisher, subscriber = nodes[0], nodes[-1]
    started = time.perf_counter()
    for index in range(total):
        await publisher.pubsub.publish(TOPIC, _payload(index))
        # Yield so the receivers drain their 32-entry subscription queues; without it
        # py-libp2p drops nearly everything (publish still reports success).
        await trio.lowlevel.checkpoint()
        while index - subscriber.received > 16:
            await trio.lowlevel.checkpoint()
    # Wait for deliveries to stop: py-libp2p may drop, so "all arrived" may never happen.
    last = -1
    while subscriber.received != last and subscriber.received < total:
        last = subscriber.received
        await trio.sleep(1.0)
    finished = subscriber.arrivals[-1] if subscriber.arrivals else time.perf_counter()
    return {
        "msgs_per_s": subscriber.received / (finished - started),
        "delivered": subscriber.received / total,
    }


async def _latency(nodes: list[Node], samples: int) -> list[float]:
    subscriber = nodes[-1]
    results: list[float] = []
    for index in range(samples + 50):
        before = subscriber.received
        started = time.perf_counter()
        await nodes[0].pubsub.publish(TOPIC, _payload(10**6 + index))
        with trio.fail_after(10):
            while subscriber.received == before:
                await trio.lowlevel.checkpoint()
        if index >= 50:
            results.append((subscriber.arrivals[-1] - started) * 1000)
    return sorted(results)


async def main(messages: int, samples: int) -> None:
    link = await _with_line(2, lambda nodes: _throughput(nodes, messages))
    line5 = await _with_line(5, lambda nodes: _throughput(nodes, messages // 2))
    latencies = await _with_line(4, lambda nodes: _latency(nodes, samples))
    print(
        json.dumps(
            {
                "link_msgs_per_s": link["msgs_per_s"],
                "link_delivered": link["delivered"],
                "line5_msgs_per_s": line5["msgs_per_s"],
                "line5_delivered": line5["delivered"],
                "latency_p50_ms": latencies[len(latencies) // 2],
                "latency_p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 5000, 200)
