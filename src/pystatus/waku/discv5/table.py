"""The Kademlia routing table of discv5 (discv5-theory.md, "Node Table"), sans-IO.

256 buckets by log2 distance (1..256) from our node id, ``k`` = 16 entries each, least
recently seen first, and a replacement cache per bucket for nodes that found it full. An entry
is *live* once the node answered us or reached us from the endpoint its record names; FINDNODE
answers carry only live entries, as the spec requires. Bounded by construction (256 x (k +
replacements)); the sizes are the ``waku_discv5_table_*`` gauges.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pystatus.waku.discv5 import metrics as m
from pystatus.waku.discv5.crypto import log_distance
from pystatus.waku.enr import Enr

Endpoint = tuple[str, int]


class Added(Enum):
    NEW = "new"  # entered a bucket
    UPDATED = "updated"  # was there, with an older record
    KNOWN = "known"  # was there already, same or newer record
    REPLACEMENT = "replacement"  # bucket full: waits in its replacement cache
    SELF = "self"


@dataclass(slots=True)
class Entry:
    """One node: its id, record, UDP endpoint (from the record), liveness and check times
    (monotonic seconds)."""

    node_id: bytes
    record: Enr
    endpoint: Endpoint
    added_at: float
    last_checked: float
    live: bool = False
    failures: int = 0
    raw: bytes = b""  # the record's wire form, kept: FINDNODE answers send it again and again

    def __post_init__(self) -> None:
        self.raw = self.record.to_bytes()


def record_endpoint(record: Enr) -> Endpoint | None:
    """The UDP endpoint a record names (ip/udp, else ip6/udp6), or ``None``."""
    try:
        if record.ip is not None and record.udp:
            return record.ip, record.udp
        udp6 = record.get("udp6")
        if record.ip6 is not None and udp6:
            return record.ip6, int.from_bytes(udp6[:2], "big")
    except ValueError:
        return None
    return None


class RoutingTable:
    def __init__(self, local_id: bytes, *, bucket_size: int = 16, replacements: int = 10) -> None:
        self.local_id = local_id
        self.bucket_size = bucket_size
        self.replacement_size = replacements
        self._buckets: list[list[Entry]] = [[] for _ in range(256)]
        self._replacements: list[list[Entry]] = [[] for _ in range(256)]
        self._index: dict[bytes, Entry] = {}

    def __len__(self) -> int:
        return len(self._index)

    def close(self) -> None:
        m.TABLE_NODES.dec(len(self._index))
        m.TABLE_REPLACEMENTS.dec(sum(len(r) for r in self._replacements))
        self._index.clear()
        self._buckets = [[] for _ in range(256)]
        self._replacements = [[] for _ in range(256)]

    def get(self, node_id: bytes) -> Entry | None:
        return self._index.get(node_id)

    def replacement(self, node_id: bytes) -> Entry | None:
        distance = log_distance(self.local_id, node_id)
        if distance == 0:
            return None
        for entry in self._replacements[distance - 1]:
            if entry.node_id == node_id:
                return entry
        return None

    def entries(self) -> list[Entry]:
        return list(self._index.values())

    def add(
        self, node_id: bytes, record: Enr, endpoint: Endpoint, now: float, *, live: bool = False
    ) -> Added:
        """Insert or refresh a node; a full bucket puts it in the replacement cache."""
        distance = log_distance(self.local_id, node_id)
        if distance == 0:
            return Added.SELF
        entry = self._index.get(node_id)
        if entry is not None:
            result = Added.KNOWN
            if record.seq > entry.record.seq:
                entry.record, entry.endpoint, entry.raw = record, endpoint, record.to_bytes()
                result = Added.UPDATED
            if live:
                self.mark_live(node_id, now)
            return result
        fresh = Entry(node_id, record, endpoint, now, now, live)
        bucket = self._buckets[distance - 1]
        if len(bucket) < self.bucket_size:
            bucket.append(fresh)
            self._index[node_id] = fresh
            m.TABLE_NODES.inc()
            self._drop_replacement(distance, node_id)
            return Added.NEW
        cache = self._replacements[distance - 1]
        for index, waiting in enumerate(cache):
            if waiting.node_id == node_id:
                del cache[index]
                m.TABLE_REPLACEMENTS.dec()
                break
        cache.append(fresh)
        m.TABLE_REPLACEMENTS.inc()
        if len(cache) > self.replacement_size:
            cache.pop(0)
            m.TABLE_REPLACEMENTS.dec()
        return Added.REPLACEMENT

    def _drop_replacement(self, distance: int, node_id: bytes) -> None:
        cache = self._replacements[distance - 1]
        for index, waiting in enumerate(cache):
            if waiting.node_id == node_id:
                del cache[index]
                m.TABLE_REPLACEMENTS.dec()
                return

    def mark_live(self, node_id: bytes, now: float) -> None:
        """The node answered: live, failures forgotten, moved to its bucket's tail."""
        entry = self._index.get(node_id)
        if entry is None:
            return
        entry.live, entry.failures, entry.last_checked = True, 0, now
        bucket = self._buckets[log_distance(self.local_id, node_id) - 1]
        bucket.remove(entry)
        bucket.append(entry)

    def remove(self, node_id: bytes) -> Entry | None:
        """Drop a node; the bucket's most recent replacement takes its place (returned)."""
        entry = self._index.pop(node_id, None)
        if entry is None:
            return None
        m.TABLE_NODES.dec()
        distance = log_distance(self.local_id, node_id)
        self._buckets[distance - 1].remove(entry)
        cache = self._replacements[distance - 1]
        if not cache:
            return None
        promoted = cache.pop()
        m.TABLE_REPLACEMENTS.dec()
        self._buckets[distance - 1].append(promoted)
        self._index[promoted.node_id] = promoted
        m.TABLE_NODES.inc()
        return promoted

    def at_distances(self, distances: list[int], limit: int) -> list[Entry]:
        """Live entries at the given log2 distances from us, in that order, at most ``limit``."""
        found: list[Entry] = []
        for distance in distances:
            if 1 <= distance <= 256:
                found += [e for e in self._buckets[distance - 1] if e.live]
            if len(found) >= limit:
                break
        return found[:limit]

    def closest(self, target: bytes, count: int) -> list[Entry]:
        """The ``count`` entries nearest ``target`` by XOR distance, live or not."""
        key = int.from_bytes(target, "big")
        ranked = sorted(self._index.values(), key=lambda e: int.from_bytes(e.node_id, "big") ^ key)
        return ranked[:count]

    def least_recently_checked(self) -> Entry | None:
        """The entry to revalidate next: the one whose liveness is oldest news."""
        return min(self._index.values(), key=lambda e: e.last_checked, default=None)
