"""Service nodes of the simulated network (:mod:`pystatus.testnet.simlight`): nwaku's
``--filter --lightpush [--store]`` as a light client meets them.

A node keeps each subscriber's filter criteria (bounded as nwaku bounds them), answers pings
200 while it holds criteria for the subscriber and 404 once a restart forgot them, and, with a
store, archives what it relays while up. :class:`ServiceFaults` make it drop, refuse or
swallow light pushes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from pystatus.chat.light_core import MAX_CRITERIA_PER_NODE, Criterion
from pystatus.testnet.simparts import SimStore

MAX_SUBSCRIBERS = 1000
"""Subscribers a filter node serves (nwaku's ``--filter-max-peers-to-serve`` default)."""
SUBSCRIPTION_TIMEOUT = 300.0
"""Seconds without a subscribe or ping after which a subscriber's criteria are dropped
(pystatus's and nwaku's filter subscription timeout)."""
MAX_SEEN = 100_000
"""Message hashes a service node remembers having relayed."""
OK = 200
NOT_FOUND = 404
UNAVAILABLE = 503


@dataclass(frozen=True, slots=True)
class ServiceFaults:
    """What a service node does wrong with each light push it receives (probabilities)."""

    drop_pushes: float = 0.0
    """Taken and never answered: the client times out and tries its next node."""
    refuse_pushes: float = 0.0
    """Answered 503."""
    swallow_pushes: float = 0.0
    """Answered 200 and never relayed: only the store check tells the sender."""

    def __post_init__(self) -> None:
        total = self.drop_pushes + self.refuse_pushes + self.swallow_pushes
        if min(self.drop_pushes, self.refuse_pushes, self.swallow_pushes) < 0 or total > 1:
            raise ValueError("ServiceFaults are probabilities adding up to at most 1")


class SimServiceNode:
    """A service node: filter subscriptions by subscriber (device name), and an archive when
    it stores. ``incarnation`` counts its stops: connections of an earlier one are dead.
    ``now`` arguments are the network's virtual monotonic seconds."""

    def __init__(
        self, name: str, *, serves_filter: bool = True, lightpush: bool = True, store: bool = False
    ) -> None:
        self.name = name
        self.serves_filter = serves_filter
        self.serves_lightpush = lightpush
        self.store: SimStore | None = SimStore() if store else None
        self.up = True
        self.silent = False
        """Down without a trace (its host vanished): dials to it time out."""
        self.incarnation = 0
        self.faults = ServiceFaults()
        self.subscriptions: dict[str, set[Criterion]] = {}
        self._active: dict[str, float] = {}
        """Subscriber -> when it last subscribed or pinged."""
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def stop(self) -> None:
        """Down: what it held in memory (subscribers, the seen cache) is gone."""
        self.up = False
        self.incarnation += 1
        self.forget()
        self._seen.clear()

    def forget(self) -> None:
        """Drop every subscriber (connections stay): their next ping is answered 404."""
        self.subscriptions.clear()
        self._active.clear()

    def _expire(self, now: float) -> None:
        for subscriber, at in list(self._active.items()):
            if at + SUBSCRIPTION_TIMEOUT <= now:
                del self._active[subscriber]
                self.subscriptions.pop(subscriber, None)

    def remember(self, digest: bytes) -> bool:
        """True when ``digest`` is new to it (gossipsub's seen cache, bounded)."""
        if digest in self._seen:
            return False
        self._seen[digest] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return True

    def subscribe(
        self, subscriber: str, pubsub_topic: str, content_topics: Iterable[str], now: float
    ) -> int:
        self._expire(now)
        held = self.subscriptions.get(subscriber)
        if held is None and len(self.subscriptions) >= MAX_SUBSCRIBERS:
            return UNAVAILABLE
        wanted = (held or set()) | {(pubsub_topic, t) for t in content_topics}
        if len(wanted) > MAX_CRITERIA_PER_NODE:
            return UNAVAILABLE
        self.subscriptions[subscriber] = wanted
        self._active[subscriber] = now
        return OK

    def unsubscribe(
        self, subscriber: str, pubsub_topic: str, content_topics: Iterable[str], now: float
    ) -> int:
        self._expire(now)
        held = self.subscriptions.get(subscriber)
        if not held:
            return NOT_FOUND
        held -= {(pubsub_topic, t) for t in content_topics}
        if not held:
            del self.subscriptions[subscriber]
            del self._active[subscriber]
        return OK

    def ping(self, subscriber: str, now: float) -> int:
        self._expire(now)
        if not self.subscriptions.get(subscriber):
            return NOT_FOUND
        self._active[subscriber] = now
        return OK

    def subscribers(self, pubsub_topic: str, content_topic: str, now: float) -> list[str]:
        """Who gets a push of a message on ``content_topic``."""
        self._expire(now)
        criterion = (pubsub_topic, content_topic)
        return [name for name, held in self.subscriptions.items() if criterion in held]
