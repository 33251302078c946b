"""One iterative lookup (discv5-theory.md, "Lookup"), sans-IO bookkeeping only.

Holds the nodes heard of, nearest the target first (at most ``seen_limit``), which were asked
and which answered. :meth:`Lookup.next_to_query` hands out up to ``alpha`` nodes at a time
among the ``k`` nearest not yet asked; the lookup is done when nothing is in flight and the
``k`` nearest have all been asked. The core sends the FINDNODEs and feeds the answers back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pystatus.waku.discv5.crypto import log_distance
from pystatus.waku.enr import Enr


def lookup_distances(target: bytes, dest_id: bytes, count: int = 3) -> tuple[int, ...]:
    """The log2 distances to ask ``dest_id`` for when looking for ``target``: the target's own
    distance from it, then the ones beside it (go-ethereum's choice; discv5 leaves it open)."""
    distance = max(log_distance(target, dest_id), 1)
    found = [distance]
    step = 1
    while len(found) < count and step < 256:
        for candidate in (distance + step, distance - step):
            if 1 <= candidate <= 256 and len(found) < count:
                found.append(candidate)
        step += 1
    return tuple(found)


@dataclass(slots=True)
class Lookup:
    lookup_id: int
    target: bytes
    k: int = 16
    alpha: int = 3
    seen_limit: int = 256
    seen: dict[bytes, Enr] = field(default_factory=dict)
    asked: set[bytes] = field(default_factory=set)
    answered: set[bytes] = field(default_factory=set)
    in_flight: int = 0

    def _key(self, node_id: bytes) -> int:
        return int.from_bytes(node_id, "big") ^ int.from_bytes(self.target, "big")

    def add(self, node_id: bytes, record: Enr) -> None:
        """A node heard of (from the table or a NODES answer)."""
        if node_id in self.seen:
            return
        self.seen[node_id] = record
        if len(self.seen) > self.seen_limit:
            # Forget the farthest node no one asked: the answer cannot move toward it.
            spare = [n for n in self.seen if n not in self.asked]
            if spare:
                del self.seen[max(spare, key=self._key)]

    def nearest(self) -> list[bytes]:
        return sorted(self.seen, key=self._key)[: self.k]

    def next_to_query(self) -> list[bytes]:
        """Node ids to send FINDNODE to now (each counted in flight)."""
        chosen: list[bytes] = []
        for node_id in self.nearest():
            if self.in_flight + len(chosen) >= self.alpha:
                break
            if node_id not in self.asked:
                chosen.append(node_id)
        for node_id in chosen:
            self.asked.add(node_id)
        self.in_flight += len(chosen)
        return chosen

    def finished(self, node_id: bytes, answered: bool) -> None:
        """A FINDNODE to ``node_id`` completed (``answered``) or failed."""
        self.in_flight = max(0, self.in_flight - 1)
        if answered:
            self.answered.add(node_id)

    @property
    def done(self) -> bool:
        return self.in_flight == 0 and all(n in self.asked for n in self.nearest())

    def result(self) -> tuple[Enr, ...]:
        """The nearest nodes that answered, nearest first."""
        ranked = sorted(self.answered & self.seen.keys(), key=self._key)
        return tuple(self.seen[n] for n in ranked[: self.k])
