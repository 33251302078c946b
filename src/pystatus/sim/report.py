"""The report of one run: a JSON-ready dict, the same bytes for the same seed.

Shapes (times in milliseconds of virtual time, bandwidth in bytes per second of virtual time,
measured from the first honest message to the end of the run):

- ``nodes``, ``relay_nodes``, ``light_nodes``, ``store_nodes``, ``messages``, ``seed``
- ``delivered_fraction``: honest (message, node) arrivals over ``messages * (nodes - 1)``
- ``latency_ms``: ``p50``, ``p95``, ``max``, ``mean`` of publish-to-arrival over every arrival
- ``propagation_ms``: per message, the time to reach 50%, 95% and 100% of the nodes;
  ``mean``, ``p50``, ``max`` of each over the messages (100%: over those that reached all)
- ``hops``: ``mean``, ``max``, ``histogram``; ``path_latency_ratio``: arrival latency over the
  sum of the link latencies along the path it took (1.0 is pure propagation; the rest is
  serialisation and queueing)
- ``bandwidth``: per protocol ``in``/``out`` per node: ``mean``, ``p50``, ``max`` B/s
- ``duplicates``: copies of messages a node had already seen, ``total`` and ``per_delivery``
- ``mesh_degree``: per node and shard at the end: ``mean``, ``min``, ``max``, ``histogram``
- ``messages_lost``: arrivals that never happened, messages that missed at least one node,
  RPCs the links lost
- ``relay``: rejection reasons and graylisting; ``spam`` and ``light`` when configured.
"""

from __future__ import annotations

import collections
import math
from typing import Any

from pystatus.sim.runner import Simulation


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000.0, 3)


def _summary_ms(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered) if ordered else math.nan
    return {
        "p50": _ms(_percentile(ordered, 0.5)),
        "p95": _ms(_percentile(ordered, 0.95)),
        "max": _ms(ordered[-1] if ordered else math.nan),
        "mean": _ms(mean),
    }


def _summary(values: list[float], digits: int = 1) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"mean": 0.0, "p50": 0.0, "max": 0.0}
    return {
        "mean": round(sum(ordered) / len(ordered), digits),
        "p50": round(_percentile(ordered, 0.5), digits),
        "max": round(ordered[-1], digits),
    }


def propagation(sim: Simulation) -> list[tuple[float, float, float]]:
    """Per message: seconds to reach 50%, 95% and 100% of the nodes (NaN: never)."""
    result = []
    count = sim.node_count
    for index, published in enumerate(sim.record.published_at):
        times = sorted(t - published for t in sim.record.arrival[index] if t == t)
        reached = len(times)

        def at(fraction: float, times: list[float] = times, reached: int = reached) -> float:
            needed = max(1, math.ceil(fraction * count))
            return times[needed - 1] if reached >= needed else math.nan

        result.append((at(0.5), at(0.95), at(1.0)))
    return result


def hops_and_paths(sim: Simulation) -> tuple[list[int], list[float]]:
    """Every relayed arrival's hop count and its latency over its path's link latencies."""
    hops: list[int] = []
    ratios: list[float] = []
    latency = sim.links.latency
    for index, published in enumerate(sim.record.published_at):
        arrival = sim.record.arrival[index]
        parent = sim.record.parent[index]
        order = sorted((t, node) for node, t in enumerate(arrival) if t == t)
        depth: dict[int, int] = {}
        path: dict[int, float] = {}
        for t, node in order:
            source = parent[node]
            if source < 0:
                depth[node], path[node] = 0, 0.0
                continue
            depth[node] = depth.get(source, 0) + 1
            path[node] = path.get(source, 0.0) + latency[source][node]
            hops.append(depth[node])
            if path[node] > 0:
                ratios.append((t - published) / path[node])
    return hops, ratios


def build_report(sim: Simulation) -> dict[str, Any]:
    config = sim.config
    record = sim.record
    count = sim.node_count
    latencies: list[float] = []
    missing_messages = 0
    for index, published in enumerate(record.published_at):
        publisher = record.publisher[index]
        reached = 0
        for node, t in enumerate(record.arrival[index]):
            if node == publisher or t != t:
                continue
            latencies.append(t - published)
            reached += 1
        if reached < count - 1:
            missing_messages += 1
    expected = len(record.published_at) * (count - 1)
    spread = propagation(sim)
    hops, ratios = hops_and_paths(sim)
    window = max(sim.end - sim.first_message_at, 1e-9)
    bandwidth: dict[str, dict[str, dict[str, float]]] = {}
    snapshot = sim.traffic_at_first_message
    for direction, table in (("in", sim.traffic.bytes_in), ("out", sim.traffic.bytes_out)):
        for protocol in sorted(table):
            before = snapshot.get((direction, protocol))
            row = table[protocol]
            rates = [
                (row[i] - (before[i] if before is not None else 0.0)) / window for i in range(count)
            ]
            bandwidth.setdefault(protocol, {})[direction] = _summary(rates)
    duplicates = sum(node.router.counters["messages_duplicate"] for node in sim.nodes)
    degrees = [len(node.router.mesh.get(topic, ())) for node in sim.nodes for topic in sim.topics]
    degree_histogram = collections.Counter(degrees)
    report: dict[str, Any] = {
        "nodes": count,
        "relay_nodes": sim.relay_count,
        "light_nodes": count - sim.relay_count,
        "store_nodes": len(sim.store_nodes),
        "messages": len(record.published_at),
        "seed": config.seed,
        "shards": config.shards,
        "message_rate": config.message_rate,
        "message_size": config.message_size,
        "virtual_seconds": round(sim.end, 3),
        "delivered_fraction": round(len(latencies) / expected, 6) if expected else 1.0,
        "latency_ms": _summary_ms(latencies),
        "propagation_ms": {
            label: _summary_ms([row[column] for row in spread if row[column] == row[column]])
            for column, label in enumerate(("to_50", "to_95", "to_100"))
        },
        "hops": {
            "mean": round(sum(hops) / len(hops), 3) if hops else 0.0,
            "max": max(hops, default=0),
            "histogram": {str(k): v for k, v in sorted(collections.Counter(hops).items())},
        },
        "path_latency_ratio": _summary(ratios, 3),
        "bandwidth": bandwidth,
        "duplicates": {
            "total": duplicates,
            "per_delivery": round(duplicates / len(latencies), 3) if latencies else 0.0,
        },
        "mesh_degree": {
            "mean": round(sum(degrees) / len(degrees), 3) if degrees else 0.0,
            "min": min(degrees, default=0),
            "max": max(degrees, default=0),
            "histogram": {str(k): v for k, v in sorted(degree_histogram.items())},
        },
        "messages_lost": {
            "arrivals": expected - len(latencies),
            "messages_missing_a_node": missing_messages,
            "rpcs_lost_on_links": sim.links.lost,
        },
        "topology": {
            "connections": len(sim.edges),
            "mean_degree": round(2 * len(sim.edges) / max(sim.relay_count, 1), 3),
            "out_relay_target": config.out_relay_target,
            "in_relay_target": config.in_relay_target,
        },
        "relay": {
            "rejected": dict(sorted(sim.rejected.items())),
            "counters": dict(sorted(sim.counters.items())),
        },
    }
    if sim.spammer is not None:
        spammer = sim.nodes[sim.spammer]
        neighbours = [sim.nodes[i] for i in sim.links.latency[sim.spammer]]
        report["spam"] = {
            "rate": config.spam_rate,
            "sent": sim.spam_sent,
            "nodes_reached": len(sim.spam_reach),
            "deliveries": sum(sim.spam_reach.values()),
            "neighbours": len(neighbours),
            "neighbours_graylisting_spammer": sum(
                1 for n in neighbours if n.router.is_graylisted(spammer.key)
            ),
            "neighbours_meshing_spammer": sum(
                1 for n in neighbours for t in sim.topics if spammer.key in n.router.mesh_peers(t)
            ),
        }
    if sim.chat is not None:
        report["chat"] = sim.chat.report()
    if count > sim.relay_count:
        report["light"] = {
            "clients": count - sim.relay_count,
            "service_nodes": len(set(sim.light.service_of.values())),
            "counters": dict(sorted(sim.light.counters.items())),
        }
    return report
