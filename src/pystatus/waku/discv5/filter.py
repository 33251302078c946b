"""Which discovered records a Waku node keeps: its cluster, its shards, the protocols it needs.

The filter is a plain callable ``(Enr) -> str | None``: ``None`` keeps the record, a string
refuses it and names why (the ``reason`` label of ``waku_discv5_filtered_records``). The
routing table is never filtered: discv5 is one DHT shared by every Ethereum and Waku node, and
a table emptied of other clusters would route worse for everyone (nwaku filters what it hands
its peer manager the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.errors import InvalidEnr

EnrFilter = Callable[[Enr], str | None]
NO_CAPABILITIES = Capabilities(0)


@dataclass(frozen=True, slots=True)
class WakuEnrFilter:
    """Keep records of ``cluster_id`` (``rs``/``rsv``, 31/WAKU2-ENR and RELAY-SHARDING) that
    share at least one of ``shards`` (all shards if ``None``) and advertise every protocol bit
    of ``capabilities`` in ``waku2``. Records without ``rs``/``rsv`` or ``waku2`` are refused:
    they are not Waku nodes of any cluster."""

    cluster_id: int
    shards: frozenset[int] | None = None
    capabilities: Capabilities = NO_CAPABILITIES

    @classmethod
    def of(
        cls,
        cluster_id: int,
        shards: Iterable[int] | None = None,
        capabilities: Capabilities = NO_CAPABILITIES,
    ) -> WakuEnrFilter:
        return cls(cluster_id, frozenset(shards) if shards is not None else None, capabilities)

    def __call__(self, record: Enr) -> str | None:
        try:
            relay = record.relay_shards
            caps = record.capabilities
        except InvalidEnr:
            return "bad_field"
        if caps is None:
            return "not_waku"
        if caps & self.capabilities != self.capabilities:
            return "capabilities"
        if relay is None:
            return "no_shards"
        cluster, shards = relay
        if cluster != self.cluster_id:
            return "cluster"
        if self.shards is not None and not self.shards.intersection(shards):
            return "shards"
        return None
