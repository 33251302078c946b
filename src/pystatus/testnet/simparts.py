"""The plain parts of the simulated network (:mod:`pystatus.testnet.simnet`): what a link
does to what crosses it, the counters, a store node's archive and the clock's events."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pystatus.chat.actions import SyncHistory
from pystatus.testnet.simdevice import SimulationError
from pystatus.waku.message import WakuMessage

MAX_ARCHIVE = 1_000_000
"""Messages a store node keeps."""


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """What one device's link does to each message crossing it, either way (relay traffic;
    a light client's requests, answers and filter pushes)."""

    loss: float = 0.0
    """Probability that a crossing is lost."""
    duplicate: float = 0.0
    """Probability that a crossing arrives twice (each copy delayed on its own)."""
    delay: float = 0.01
    """Seconds every crossing takes at least."""
    jitter: float = 0.04
    """Up to this many seconds more, uniformly at random (which reorders)."""
    reorder: float = 0.0
    """Probability that a crossing is held back a further ``reorder_delay`` at most."""
    reorder_delay: float = 2.0

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"LinkFaults.{name} is a probability, not {value}")
        if min(self.delay, self.jitter, self.reorder_delay) < 0:
            raise ValueError("LinkFaults delays are seconds, not negative")


PERFECT = LinkFaults()


@dataclass(slots=True)
class SimStats:
    """What the network did (the simulator's counters)."""

    published: int = 0
    refused: int = 0
    """Publishes while the device was offline (nothing took them)."""
    lost: int = 0
    duplicated: int = 0
    forwarded: int = 0
    dropped_offline: int = 0
    """Crossings that arrived at a link that had gone down, or a relay or device that had."""
    relay_duplicates: int = 0
    archived: int = 0
    store_queries: int = 0
    store_failures: int = 0
    history_fetched: int = 0
    """New messages the store's history answers brought."""
    timers: int = 0
    idle_timers: int = 0
    """Timer calls at a session's deadline that found nothing due (the clock is then nudged
    a microsecond on, as a real one would have moved)."""
    rejected: int = 0
    """Delivered messages the content handlers refused."""
    inbox_dropped: int = 0
    """Messages that arrived while a device's core waited and its inbox was full."""
    # -- light clients (pystatus.testnet.simlight) ------------------------------------------
    light_pushes: int = 0
    """Light pushes a service node answered 200."""
    light_push_failures: int = 0
    """Light push attempts at one node that failed (refused, timed out, connection lost)."""
    light_publish_failures: int = 0
    """Publishes no light-push node took."""
    filter_requests: int = 0
    """Subscribe, unsubscribe and ping requests sent."""
    filter_failures: int = 0
    filter_pushes: int = 0
    """Filter pushes handed to a light client's session (after dropping duplicates)."""
    filter_duplicates: int = 0
    """Filter pushes of a message another node had pushed already."""
    filter_undelivered: int = 0
    """Pushes a service node had no live connection for."""
    failovers: int = 0
    """Filter nodes a light client gave up (its subscriptions moved to another node)."""
    dials: int = 0
    dial_failures: int = 0
    service_dropped: int = 0
    """Light pushes a service node took and never answered (its faults)."""
    service_swallowed: int = 0
    """Light pushes a service node answered 200 and never relayed (its faults)."""


class SimStore:
    """A store node's archive: message hash -> the message, in arrival order."""

    def __init__(self) -> None:
        self.archive: OrderedDict[bytes, WakuMessage] = OrderedDict()

    def keep(self, digest: bytes, message: WakuMessage) -> bool:
        """Archive ``message``; False when it was there. Raises :class:`SimulationError`
        past :data:`MAX_ARCHIVE`."""
        if digest in self.archive:
            return False
        if len(self.archive) >= MAX_ARCHIVE:
            raise SimulationError(f"the simulated store holds {MAX_ARCHIVE} messages already")
        self.archive[digest] = message
        return True

    def holds(self, hashes: Iterable[bytes]) -> list[bytes]:
        return [h for h in hashes if h in self.archive]

    def history(
        self, content_topics: Iterable[str], start_ns: int, end_ns: int
    ) -> list[tuple[bytes, WakuMessage]]:
        """What reached ``content_topics`` with a timestamp in [start_ns, end_ns]."""
        wanted = set(content_topics)
        return [
            (digest, message)
            for digest, message in self.archive.items()
            if message.content_topic in wanted and start_ns <= (message.timestamp or 0) <= end_ns
        ]


def holds_of(hashes: tuple[bytes, ...], store: SimStore) -> list[bytes]:
    """A store check's answer (:class:`~pystatus.chat.actions.CheckStored`)."""
    return store.holds(hashes)


def history_of(query: SyncHistory, store: SimStore) -> list[tuple[bytes, WakuMessage]]:
    """A history query's answer (:class:`~pystatus.chat.actions.SyncHistory`)."""
    return store.history(query.content_topics, query.start_ns, query.end_ns)


@dataclass(order=True, slots=True)
class Event:
    """Something that happens at virtual time ``at`` (ties in scheduling order)."""

    at: float
    seq: int
    run: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    """Set to skip it (a timeout whose request was answered): it costs no clock step."""


class EventQueue:
    """The network's pending :class:`Event` s in time order, at most ``limit`` at once
    (:class:`SimulationError` past it); cancelled ones are skipped without a clock step."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._heap: list[Event] = []
        self._seq = 0

    def schedule(self, at: float, run: Callable[[], None]) -> Event:
        """``run`` at virtual time ``at``; the event, to cancel."""
        if len(self._heap) >= self._limit:
            raise SimulationError(f"{self._limit} simulated events are waiting already")
        self._seq += 1
        event = Event(at, self._seq, run)
        heapq.heappush(self._heap, event)
        return event

    def next_at(self) -> float | None:
        """When the earliest event not cancelled is due."""
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at if self._heap else None

    def run_due(self, now: float) -> bool:
        """Run the earliest event if it is due by ``now``; whether one ran."""
        if self.next_at() is None or self._heap[0].at > now:
            return False
        heapq.heappop(self._heap).run()
        return True
