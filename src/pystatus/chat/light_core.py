"""The light client's decisions, sans-IO: which service node holds which filter subscription,
who is due a ping, when to fail over and when to try a node again, and which light-push or
store node to ask first.

Time is passed in (monotonic seconds, ``time.monotonic`` in the adapter); nothing here reads a
clock or touches the network. :class:`FilterPlan` hands out :data:`FilterAction` s to perform
and takes their outcomes; :class:`ServiceNodes` orders nodes for one-at-a-time requests (light
push, store) with failover. :mod:`pystatus.chat.light` is the asyncio adapter around them.

The numbers follow status-go v1.1.0 in light mode (``wakuv2/config.go``) and the go-waku it
builds on (``waku/v2/api/filter/filter.go``, ``filter_manager.go``,
``waku/v2/protocol/filter/filter_health_check.go``):

- every content topic is subscribed at :data:`FILTER_PEERS` (2, status-go's
  ``MinPeersForFilter``) service nodes at once, so losing one loses no message;
- subscribed nodes are pinged every :data:`PING_INTERVAL` (go-waku's ``peerPingInterval``,
  1 min); a ping that fails or takes over :data:`PING_TIMEOUT` (5 s) is tried once more at
  once, and a second failure closes that node's subscriptions, which are then made at another
  node (go-waku's ``PingPeer`` then ``checkAndResubscribe`` excluding the failed peer);
- a request carries at most :data:`TOPICS_PER_REQUEST` content topics (90, go-waku's
  ``filterSubBatchSize``, under the protocol's limit of 100);
- a node that failed is tried again after a back-off from :data:`RETRY_MIN` (5 s, go-waku's
  subscription loop tick) doubling to :data:`RETRY_MAX`; after a reconnection or a ping
  answered 404 (the node restarted and forgot us) everything it held is subscribed again.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from pystatus.errors import ChatError

FILTER_PEERS = 2
PING_INTERVAL = 60.0
PING_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
TOPICS_PER_REQUEST = 90
MAX_CRITERIA_PER_NODE = 1000
"""nwaku's and pystatus's default ``--filter-max-criteria``: a service node refuses more."""
RETRY_MIN = 5.0
RETRY_MAX = 60.0
RECENT_HASHES = 10_000

Criterion = tuple[str, str]
"""(pubsub topic, content topic)."""


class LightClientError(ChatError):
    """A light client's request cannot be met (too many content topics for its nodes)."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    node: str
    pubsub_topic: str
    content_topics: tuple[str, ...]
    seq: int
    """Pass back to :meth:`FilterPlan.done` / :meth:`FilterPlan.failed`."""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    node: str
    pubsub_topic: str
    content_topics: tuple[str, ...]
    seq: int


@dataclass(frozen=True, slots=True)
class Ping:
    node: str
    seq: int


FilterAction = Subscribe | Unsubscribe | Ping


class Failure(Enum):
    """Why a filter request failed."""

    ERROR = "error"
    """Refused (non-2xx other than 404), or the stream or connection failed."""
    TIMEOUT = "timeout"
    NOT_SUBSCRIBED = "not_subscribed"
    """A ping answered 404: the node no longer knows our subscriptions."""


@dataclass(frozen=True, slots=True)
class NodeDown:
    """A node stopped answering and its subscriptions moved elsewhere (report once)."""

    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeUp:
    """A node that was down answered again."""

    node: str


NodeEvent = NodeDown | NodeUp


class _Node:
    __slots__ = (
        "backoff",
        "deadline",
        "down_until",
        "in_flight",
        "next_ping",
        "pending",
        "ping_failures",
        "subscribed",
        "unneeded",
    )

    def __init__(self, backoff: float) -> None:
        self.subscribed: set[Criterion] = set()
        self.pending: set[Criterion] = set()
        """Criteria of the subscribe request in flight (counted as held, to not over-assign)."""
        self.in_flight: FilterAction | None = None
        self.deadline = 0.0
        self.down_until: float | None = None
        self.backoff = backoff
        self.next_ping = 0.0
        self.ping_failures = 0
        self.unneeded = False
        """Down, its back-off over, and nothing to ask it: no deadline until new input."""

    def holds(self) -> set[Criterion]:
        return self.subscribed | self.pending


class FilterPlan:
    """Filter v2 subscriptions of one light client spread over service nodes.

    ``nodes`` are opaque names (the adapter uses peer ids), in order of preference. Inputs:
    :meth:`listen`, :meth:`unlisten`, :meth:`done`, :meth:`failed`, :meth:`reconnected`,
    :meth:`disconnected`; :meth:`poll` returns what to send now, at most one request in flight
    per node, and :meth:`next_deadline` when to poll again if no input arrives first.
    """

    def __init__(
        self,
        nodes: Sequence[str],
        *,
        peers_per_topic: int = FILTER_PEERS,
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        max_criteria_per_node: int = MAX_CRITERIA_PER_NODE,
        retry_min: float = RETRY_MIN,
    ) -> None:
        if not nodes:
            raise LightClientError("a light client needs at least one filter node")
        self.retry_min = retry_min
        self._nodes = {name: _Node(retry_min) for name in dict.fromkeys(nodes)}
        self.peers_per_topic = max(1, min(peers_per_topic, len(self._nodes)))
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.request_timeout = request_timeout
        self.max_criteria_per_node = max_criteria_per_node
        self._wanted: set[Criterion] = set()
        self._seq = 0
        self._events: list[NodeEvent] = []

    # -- inputs ---------------------------------------------------------------------------

    def listen(self, pubsub_topic: str, content_topics: Iterable[str]) -> None:
        """Want pushes for ``content_topics``; raises :class:`LightClientError` past what a
        service node keeps per subscriber (every node holds up to all criteria)."""
        wanted = self._wanted | {(pubsub_topic, topic) for topic in content_topics}
        if len(wanted) > self.max_criteria_per_node:
            raise LightClientError(
                f"{len(wanted)} content topics: a filter node keeps at most "
                f"{self.max_criteria_per_node} per subscriber"
            )
        self._wanted = wanted

    def unlisten(self, pubsub_topic: str, content_topics: Iterable[str]) -> None:
        self._wanted -= {(pubsub_topic, topic) for topic in content_topics}

    def done(self, seq: int, now: float) -> None:
        """The request ``seq`` was answered 2xx."""
        found = self._take(seq)
        if found is None:
            return
        name, node, action = found
        self._came_up(name, node)
        node.ping_failures = 0
        node.next_ping = now + self.ping_interval
        if isinstance(action, Subscribe):
            node.subscribed |= node.pending
        elif isinstance(action, Unsubscribe):
            node.subscribed -= {(action.pubsub_topic, t) for t in action.content_topics}
        node.pending = set()

    def failed(self, seq: int, now: float, failure: Failure) -> None:
        """The request ``seq`` failed (late answers to requests already timed out are
        ignored)."""
        found = self._take(seq)
        if found is None:
            return
        name, node, action = found
        node.pending = set()
        self._fail(name, node, action, now, failure)

    def reconnected(self, node: str, now: float) -> None:
        """A new connection to ``node``: it may have restarted, so subscribe again to all it
        held, and try it at once if it was down."""
        state = self._nodes.get(node)
        if state is None:
            return
        state.subscribed = set()
        if state.down_until is not None:
            state.down_until = now

    def disconnected(self, node: str, now: float) -> None:
        """The connection to ``node`` closed: its pushes cannot reach us, so fail over."""
        state = self._nodes.get(node)
        if state is None or state.down_until is not None:
            return
        if state.subscribed or state.pending:
            self._down(node, state, now, "disconnected")

    def reset(self) -> None:
        """Forget every node's state, keeping what is wanted: the client stopped (and
        unsubscribed), requests in flight were abandoned; a restart subscribes anew."""
        self._nodes = {name: _Node(self.retry_min) for name in self._nodes}

    # -- outputs --------------------------------------------------------------------------

    def poll(self, now: float) -> list[FilterAction]:
        """Requests to send now (requests past their deadline count as timed out first)."""
        for name, node in self._nodes.items():
            late = node.in_flight
            if late is not None and now >= node.deadline:
                node.in_flight = None
                node.pending = set()
                self._fail(name, node, late, now, Failure.TIMEOUT)
        actions: list[FilterAction] = []
        for name, node in self._nodes.items():
            if node.in_flight is not None:
                continue
            if node.down_until is not None and now < node.down_until:
                continue
            action = self._next_for(name, node, now)
            node.unneeded = action is None and node.down_until is not None
            if action is not None:
                node.in_flight = action
                timeout = self.ping_timeout if isinstance(action, Ping) else self.request_timeout
                node.deadline = now + timeout
                actions.append(action)
        return actions

    def next_deadline(self) -> float | None:
        """When :meth:`poll` may have something new to do, absent other input."""
        times: list[float] = []
        for node in self._nodes.values():
            if node.in_flight is not None:
                times.append(node.deadline)
            elif node.down_until is not None:
                if not node.unneeded:
                    times.append(node.down_until)
            elif node.subscribed:
                times.append(node.next_ping)
        return min(times, default=None)

    def events(self) -> list[NodeEvent]:
        """Nodes that went down or came back since the last call."""
        events, self._events = self._events, []
        return events

    # -- views ----------------------------------------------------------------------------

    @property
    def nodes(self) -> list[str]:
        return list(self._nodes)

    def subscriptions(self) -> dict[str, set[Criterion]]:
        """What each node holds for us (answered subscriptions)."""
        return {name: set(node.subscribed) for name, node in self._nodes.items()}

    def is_down(self, node: str) -> bool:
        return self._nodes[node].down_until is not None

    def holders(self, criterion: Criterion) -> int:
        """Nodes up that answered a subscription to ``criterion``."""
        return sum(
            1
            for node in self._nodes.values()
            if node.down_until is None and criterion in node.subscribed
        )

    def wanted(self) -> set[Criterion]:
        return set(self._wanted)

    def wants(self, pubsub_topic: str, content_topic: str) -> bool:
        return (pubsub_topic, content_topic) in self._wanted

    # -- rules ----------------------------------------------------------------------------

    def _next_for(self, name: str, node: _Node, now: float) -> FilterAction | None:
        stale = node.subscribed - self._wanted
        if stale:
            return self._request(Unsubscribe, name, stale)
        if node.subscribed and (now >= node.next_ping or node.ping_failures):
            self._seq += 1
            return Ping(name, self._seq)
        room = self.max_criteria_per_node - len(node.subscribed)
        short = sorted(
            c for c in self._wanted - node.subscribed if self._holding(c) < self.peers_per_topic
        )
        if not short or room <= 0:
            return None
        action = self._request(Subscribe, name, short[:room])
        node.pending = {(action.pubsub_topic, t) for t in action.content_topics}
        return action

    def _request(
        self, kind: type[Subscribe] | type[Unsubscribe], name: str, criteria: Collection[Criterion]
    ) -> Subscribe | Unsubscribe:
        """One request for the first pubsub topic's content topics, at most
        :data:`TOPICS_PER_REQUEST` of them."""
        by_topic: dict[str, list[str]] = collections.defaultdict(list)
        for pubsub_topic, content_topic in sorted(criteria):
            by_topic[pubsub_topic].append(content_topic)
        pubsub_topic, content_topics = next(iter(by_topic.items()))
        self._seq += 1
        return kind(name, pubsub_topic, tuple(content_topics[:TOPICS_PER_REQUEST]), self._seq)

    def _holding(self, criterion: Criterion) -> int:
        """Nodes that hold ``criterion`` or are being asked to (a node that is down holds
        nothing, but one retried after its back-off may be asked already)."""
        return sum(1 for node in self._nodes.values() if criterion in node.holds())

    def _take(self, seq: int) -> tuple[str, _Node, FilterAction] | None:
        for name, node in self._nodes.items():
            if node.in_flight is not None and node.in_flight.seq == seq:
                action = node.in_flight
                node.in_flight = None
                return name, node, action
        return None

    def _fail(
        self, name: str, node: _Node, action: FilterAction, now: float, failure: Failure
    ) -> None:
        if isinstance(action, Ping):
            if failure is Failure.NOT_SUBSCRIBED:
                # Alive but it forgot us (restart, expiry): subscribe there again at once.
                node.subscribed = set()
                node.ping_failures = 0
                return
            node.ping_failures += 1
            if node.ping_failures < 2:
                return  # go-waku tries a failed ping once more before giving the node up
        self._down(name, node, now, f"{type(action).__name__.lower()} {failure.value}")

    def _down(self, name: str, node: _Node, now: float, reason: str) -> None:
        if node.down_until is None:
            self._events.append(NodeDown(name, reason))
        else:
            node.backoff = min(node.backoff * 2, max(RETRY_MAX, self.retry_min))
        node.down_until = now + node.backoff
        node.subscribed = set()
        node.pending = set()
        node.ping_failures = 0

    def _came_up(self, name: str, node: _Node) -> None:
        if node.down_until is not None:
            node.down_until = None
            node.backoff = self.retry_min
            self._events.append(NodeUp(name))


class ServiceNodes:
    """Service nodes asked one at a time (light push, store): nodes that answered come first,
    nodes that failed wait out a back-off and are asked last meanwhile."""

    def __init__(self, nodes: Sequence[str], *, retry_min: float = RETRY_MIN) -> None:
        self._order = list(dict.fromkeys(nodes))
        self.retry_min = retry_min
        self._down_until: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._answered: set[str] = set()

    @property
    def nodes(self) -> list[str]:
        return list(self._order)

    def order(self, now: float) -> list[str]:
        """Every node, in the order to try them now."""
        ready = [n for n in self._order if self._down_until.get(n, 0.0) <= now]
        waiting = sorted(
            (n for n in self._order if n not in ready), key=lambda n: self._down_until[n]
        )
        ready.sort(key=lambda n: n not in self._answered)
        return ready + waiting

    def succeeded(self, node: str) -> bool:
        """Record an answer; True if ``node`` was down until now."""
        was_down = node in self._down_until
        self._down_until.pop(node, None)
        self._backoff.pop(node, None)
        self._answered.add(node)
        return was_down

    def reachable(self, node: str) -> bool:
        """Record that ``node`` could be reached again (a dial, not a request): it is tried
        first again, but a next failure backs off twice as long. True if it was down."""
        was_down = node in self._down_until
        self._down_until.pop(node, None)
        self._answered.add(node)
        return was_down

    def failed(self, node: str, now: float) -> bool:
        """Record a failure; True if ``node`` was up until now (report it once)."""
        was_up = node not in self._down_until
        backoff = min(self._backoff.get(node, self.retry_min / 2) * 2, RETRY_MAX)
        self._backoff[node] = backoff
        self._down_until[node] = now + backoff
        self._answered.discard(node)
        return was_up

    def retry_at(self, node: str) -> float:
        """When ``node``'s back-off ends (0.0 when it is not down)."""
        return self._down_until.get(node, 0.0)

    def answered(self) -> list[str]:
        """Nodes whose last request succeeded."""
        return [n for n in self._order if n in self._answered]

    def up(self, now: float) -> list[str]:
        return [n for n in self._order if self._down_until.get(n, 0.0) <= now]


class RecentHashes:
    """The last ``capacity`` message hashes seen, to drop what a second node pushes too."""

    def __init__(self, capacity: int = RECENT_HASHES) -> None:
        self._seen: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        self.capacity = capacity

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, digest: bytes) -> bool:
        """True if ``digest`` is new (then remembered, the oldest forgotten past capacity)."""
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return False
        self._seen[digest] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True


PUSH_LEDGER = 10_000
"""Recent light pushes remembered with the node that took them."""
STORE_MISSES = 2
"""Store checks a pushed message may miss before the node that took it is held at fault."""


class PushLedger:
    """Which light-push node took each recent message, so store checks can find a node that
    answers 200 and never relays: its messages never reach a store. Without this, such a
    node stays first in :class:`ServiceNodes` order (it answers) and nothing the client sends
    gets out. A message missed :data:`STORE_MISSES` checks in a row puts its node at fault
    (the store may lag once); one found clears it. Bounded at ``capacity`` (oldest dropped).
    """

    def __init__(self, capacity: int = PUSH_LEDGER, misses: int = STORE_MISSES) -> None:
        self._took: collections.OrderedDict[bytes, tuple[str, int]] = collections.OrderedDict()
        self.capacity = capacity
        self._misses = misses

    def __len__(self) -> int:
        return len(self._took)

    def took(self, digest: bytes, node: str) -> None:
        self._took[digest] = (node, 0)
        if len(self._took) > self.capacity:
            self._took.popitem(last=False)

    def verdict(self, asked: Iterable[bytes], found: Iterable[bytes]) -> list[str]:
        """A store answered a check of ``asked`` holding ``found``: the nodes now at fault,
        each once (their entries forgotten)."""
        held = set(found)
        at_fault: dict[str, None] = {}
        for digest in asked:
            entry = self._took.get(digest)
            if entry is None:
                continue
            if digest in held:
                del self._took[digest]
                continue
            node, missed = entry[0], entry[1] + 1
            if missed >= self._misses:
                del self._took[digest]
                at_fault[node] = None
            else:
                self._took[digest] = (node, missed)
        return list(at_fault)
