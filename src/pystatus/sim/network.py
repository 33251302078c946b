"""The network model: who is connected to whom, each link's latency, each uplink's queue.

- Topology as discovery builds it: nodes come up in random order and each dials random nodes
  (discv5's random walks find random peers) until it has ``out_relay_target`` outbound relay
  peers; a node refuses inbound relay peers beyond ``in_relay_target`` (nwaku's peer manager,
  ``waku/node/peer_manager/peer_manager.nim``, as :mod:`pystatus.node.peer_manager_rules`).
- A link's one-way latency is drawn once from the configured distribution (seeded), the same
  both ways.
- A node's uplink serialises what it sends in order: an RPC leaves when the bytes queued
  before it are gone, taking ``bytes * 8 / bandwidth`` seconds, then flies for the link's
  latency. Downlinks are not modelled (a node's uplink is the bottleneck gossipsub meets).
- An RPC is lost with ``loss_rate`` (a stream reset); nothing is retransmitted below gossipsub.

Times are virtual seconds; nothing here reads a clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pystatus.sim.config import SimConfig

STREAM_OVERHEAD = 16 + 12
"""Bytes each RPC costs beyond its own: the noise frame's tag (16) and a yamux header (12)."""


@dataclass(frozen=True, slots=True)
class Edge:
    dialer: int
    listener: int
    latency: float
    """One-way seconds."""


class LatencyModel:
    """Draws link latencies (seconds) from the configured distribution, seeded."""

    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng

    def draw(self) -> float:
        config = self._config
        if config.latency_distribution == "constant":
            value = config.latency_ms
        elif config.latency_distribution == "uniform":
            spread = config.latency_ms * min(config.latency_sigma, 1.0)
            value = self._rng.uniform(config.latency_ms - spread, config.latency_ms + spread)
        else:
            value = config.latency_ms * math.exp(self._rng.gauss(0.0, config.latency_sigma))
        return min(max(value, config.latency_min_ms), config.latency_max_ms) / 1000.0


def build_topology(
    count: int, config: SimConfig, rng: random.Random, latency: LatencyModel
) -> list[Edge]:
    """Relay connections among ``count`` nodes, in the order they were made."""
    out_target = min(config.out_relay_target, count - 1)
    in_target = config.in_relay_target
    inbound = [0] * count
    neighbours: list[set[int]] = [set() for _ in range(count)]
    edges: list[Edge] = []
    order = list(range(count))
    rng.shuffle(order)
    for node in order:
        dialled = 0
        tries = 0
        # A walk that keeps finding full or known nodes gives up, as a real node would
        # settle for fewer peers for a while.
        while dialled < out_target and tries < out_target * 20:
            tries += 1
            peer = rng.randrange(count)
            if peer == node or peer in neighbours[node] or inbound[peer] >= in_target:
                continue
            neighbours[node].add(peer)
            neighbours[peer].add(node)
            inbound[peer] += 1
            dialled += 1
            edges.append(Edge(node, peer, latency.draw()))
    return edges


class Links:
    """Per-node uplink queues and per-link latencies; :meth:`transmit` times one RPC."""

    def __init__(self, count: int, config: SimConfig, rng: random.Random) -> None:
        self.latency: list[dict[int, float]] = [{} for _ in range(count)]
        self._uplink_free = [0.0] * count
        self._seconds_per_byte = 8.0 / config.bandwidth_bps
        self._loss = config.loss_rate
        self._rng = rng
        self.lost = 0

    def connect(self, a: int, b: int, latency: float) -> None:
        self.latency[a][b] = latency
        self.latency[b][a] = latency

    def transmit(self, src: int, dst: int, size: int, now: float) -> float | None:
        """When ``size`` bytes sent by ``src`` at ``now`` arrive at ``dst``; None when lost."""
        start = self._uplink_free[src]
        if start < now:
            start = now
        done = start + size * self._seconds_per_byte
        self._uplink_free[src] = done
        if self._loss and self._rng.random() < self._loss:
            self.lost += 1
            return None
        return done + self.latency[src][dst]

    def backlog(self, node: int, now: float) -> float:
        """Seconds of bytes queued on ``node``'s uplink at ``now``."""
        return max(0.0, self._uplink_free[node] - now)
