"""Prometheus metrics read from the relays' gossipsub routers at scrape time.

The router is sans-IO and keeps plain counts (``GossipsubRouter.counters``) and bounded tables
(``table_sizes()``); this collector sums them over the process's routers when scraped, so the
hot path pays nothing for them.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pystatus.p2p.gossipsub.router import GossipsubRouter


class _RouterMetrics(Collector):
    def __init__(self) -> None:
        self.routers: weakref.WeakSet[GossipsubRouter] = weakref.WeakSet()

    def collect(self) -> Iterable[Metric]:
        events: collections.Counter[str] = collections.Counter()
        tables: collections.Counter[str] = collections.Counter()
        for router in list(self.routers):
            events.update(router.counters)
            tables.update(router.table_sizes())
        counted = CounterMetricFamily(
            "waku_relay_gossipsub_events",
            "What the gossipsub router counted (RPCs, messages, GRAFTs during back-off, "
            "back-offs evicted, ...), by kind",
            labels=["kind"],
        )
        for kind, value in sorted(events.items()):
            counted.add_metric([kind], value)
        sizes = GaugeMetricFamily(
            "waku_relay_gossipsub_table_entries",
            "Entries in the gossipsub router's bounded tables, by table",
            labels=["table"],
        )
        for table, value in sorted(tables.items()):
            sizes.add_metric([table], value)
        return [counted, sizes]


_COLLECTOR = _RouterMetrics()
REGISTRY.register(_COLLECTOR)


def watch(router: GossipsubRouter) -> None:
    """Count ``router`` in the metrics while it lives (held weakly)."""
    _COLLECTOR.routers.add(router)
