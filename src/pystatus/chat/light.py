"""The messenger as a Waku light client, as the Status mobile app runs (status-go's ``wakuv2``
with ``LightClient``): filter v2 to receive, light push to send, store for history.

:class:`LightTransport` is a :class:`~pystatus.chat.transport.Transport` over a host's
:class:`~pystatus.waku.filter.FilterClient`, :class:`~pystatus.waku.lightpush.LightPushClient`
and :class:`~pystatus.waku.store.StoreClient`, spread over several service nodes of each kind.
The decisions (which node holds which subscription, who is due a ping, when to fail over and
try again) are :mod:`pystatus.chat.light_core`'s, on time passed in; this module performs the
requests they ask for and sleeps until the next deadline.

Service nodes are multiaddrs ending in ``/p2p/<peer id>``. Filter pushes arrive over the
connection we opened (a light client has no listen address), so each node is dialed by the
first request to it and again after a disconnection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from pystatus.chat.history import StoreSource
from pystatus.chat.light_core import (
    FILTER_PEERS,
    PING_INTERVAL,
    PING_TIMEOUT,
    RECENT_HASHES,
    REQUEST_TIMEOUT,
    RETRY_MIN,
    Failure,
    FilterAction,
    FilterPlan,
    LightClientError,
    NodeDown,
    Ping,
    PushLedger,
    RecentHashes,
    ServiceNodes,
    Subscribe,
    Unsubscribe,
)
from pystatus.chat.transport import Published, Received, TransportError
from pystatus.errors import PystatusError
from pystatus.p2p.connection import Connection
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.tasks import TaskSet
from pystatus.waku.filter import FilterClient, FilterError, FilterPush
from pystatus.waku.lightpush import LightPushClient, LightPushError, StatusCode
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store import StoreClient, StoreQuery, StoreResponse

log = logging.getLogger(__name__)

LIGHT_REQUESTS = Counter(
    "chat_light_requests",
    "Light client requests to service nodes, by protocol and result",
    ["protocol", "result"],
)
LIGHT_FAILOVERS = Counter(
    "chat_light_failovers",
    "Service nodes given up (their work moved to another node), by protocol",
    ["protocol"],
)
LIGHT_NODES_DOWN = Gauge(
    "chat_light_nodes_down", "Service nodes currently given up, by protocol", ["protocol"]
)
LIGHT_CRITERIA = Gauge(
    "chat_light_filter_criteria", "Filter subscriptions (pubsub, content topic) held at nodes"
)
LIGHT_RECEIVED = Counter(
    "chat_light_received", "Filter pushes received, by what became of them", ["result"]
)
LIGHT_PENDING_PUSHES = Gauge("chat_light_pending_pushes", "Light pushes waiting for an answer")
LIGHT_RECENT_HASHES = Gauge(
    "chat_light_recent_hashes", "Message hashes kept to drop pushes seen from another node"
)
LIGHT_LISTENER_ERRORS = Counter(
    "chat_light_listener_errors", "Message callbacks that raised (contained)"
)

UNSUBSCRIBE_ON_STOP_TIMEOUT = 2.0
REFUSED_FOR_THE_MESSAGE = {
    StatusCode.BAD_REQUEST,
    StatusCode.PAYLOAD_TOO_LARGE,
    StatusCode.INVALID_MESSAGE,
}
"""Light push answers every node would give the same message: no failover for these."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LightConfig:
    """A light client's numbers (seconds are monotonic); defaults as status-go v1.1.0."""

    filter_peers: int = FILTER_PEERS
    """Filter nodes each content topic is subscribed at (status-go's ``MinPeersForFilter``)."""
    ping_interval: float = PING_INTERVAL
    ping_timeout: float = PING_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    """Subscribe, unsubscribe, light push and store requests (go-waku: 10 s)."""
    push_peers: int = 1
    """Light-push nodes each message goes to (go-waku's publish API uses 2; one, with
    failover to the next, sends half the bytes)."""
    max_pending_pushes: int = 64
    """Pushes awaiting an answer at once; more are refused with :class:`TransportError`."""
    recent_hashes: int = RECENT_HASHES
    retry_min: float = RETRY_MIN
    """First back-off of a node that failed, doubling to a minute while it keeps failing."""

    def __post_init__(self) -> None:
        if self.filter_peers < 1 or self.push_peers < 1 or self.max_pending_pushes < 1:
            raise LightClientError("filter_peers, push_peers and max_pending_pushes must be >= 1")
        if min(self.ping_interval, self.ping_timeout, self.request_timeout, self.retry_min) <= 0:
            raise LightClientError("light client intervals and timeouts must be positive")


def _named(addrs: Sequence[Multiaddr], kind: str) -> dict[str, Multiaddr]:
    named: dict[str, Multiaddr] = {}
    for addr in addrs:
        peer = addr.peer_id
        if peer is None:
            raise LightClientError(f"{kind} {addr} must end in /p2p/<peer id>")
        named[str(peer)] = addr
    return named


class FailoverStore:
    """Store queries to the first store node that answers (a :class:`StoreSource`).

    Raises :class:`TransportError` when none does; a node that failed is asked last until its
    back-off ends."""

    def __init__(
        self,
        client: StoreClient,
        storenodes: Sequence[Multiaddr],
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._addrs = _named(storenodes, "--storenode")
        self._nodes = ServiceNodes(list(self._addrs))
        self._timeout = request_timeout
        self._clock = clock

    async def query(self, query: StoreQuery) -> StoreResponse:
        failures: list[str] = []
        for name in self._nodes.order(self._clock()):
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self.client.query(self._addrs[name], query)
            except (TimeoutError, PystatusError, OSError) as exc:
                LIGHT_REQUESTS.labels("store", "failed").inc()
                failures.append(f"{name}: {_plain(exc)}")
                if self._nodes.failed(name, self._clock()):
                    LIGHT_FAILOVERS.labels("store").inc()
                    log.warning("store node %s failed (%s); asking the next", name, _plain(exc))
                continue
            LIGHT_REQUESTS.labels("store", "ok").inc()
            if self._nodes.succeeded(name):
                log.info("store node %s answers again", name)
            return response
        raise TransportError("no store node answered: " + "; ".join(failures))


class LightTransport:
    """Chat over filter, light push and store service nodes (see the module docstring).

    ``filter_client`` is started here without its own keep-alive (this transport pings);
    whoever made it stops it. Raises :class:`LightClientError` for a node address without a
    peer id or without any filter or light-push node.
    """

    def __init__(
        self,
        host: Host,
        *,
        filter_client: FilterClient,
        lightpush_client: LightPushClient,
        store_client: StoreClient | None = None,
        filternodes: Sequence[Multiaddr],
        lightpushnodes: Sequence[Multiaddr],
        storenodes: Sequence[Multiaddr] = (),
        config: LightConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.config = config or LightConfig()
        self._filter = filter_client
        self._lightpush = lightpush_client
        self._clock = clock
        self._filter_addrs = _named(filternodes, "--filternode")
        self._push_addrs = _named(lightpushnodes, "--lightpushnode")
        if not self._push_addrs:
            raise LightClientError("a light client needs at least one light-push node")
        self.plan = FilterPlan(
            list(self._filter_addrs),
            peers_per_topic=self.config.filter_peers,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
            request_timeout=self.config.request_timeout,
            retry_min=self.config.retry_min,
        )
        self.push_nodes = ServiceNodes(list(self._push_addrs), retry_min=self.config.retry_min)
        self.store: StoreSource | None = None
        if storenodes:
            if store_client is None:
                raise LightClientError("store nodes given without a store client")
            self.store = FailoverStore(
                store_client,
                storenodes,
                request_timeout=self.config.request_timeout,
                clock=clock,
            )
        self._recent = RecentHashes(self.config.recent_hashes)
        self.ledger = PushLedger()
        self._callbacks: list[Callable[[Received], None]] = []
        self._failing_callbacks: set[int] = set()
        self._pending_pushes = 0
        self._wake = asyncio.Event()
        self._tasks = TaskSet("light client")
        self._redialing: set[str] = set()
        self._running = False
        filter_client.on_push(self._on_push)
        host.on_connected(self._on_connected)
        host.on_disconnected(self._on_disconnected)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._filter.start(keepalive=None)
        self._running = True
        self._tasks.spawn(self._filter_loop(), name="light filter")
        for name in self._push_addrs:
            self._tasks.spawn(self._dial(name), name=f"light dial {name}")

    async def stop(self) -> None:
        """Stop, first telling the filter nodes still connected to drop our subscriptions
        (best effort, as go-waku's cleanup; every connected one, since a subscribe may have
        been answered after we stopped listening for the answer: a node that does not answer
        soon is left to expire them)."""
        self._running = False
        await self._tasks.cancel_all()
        connected = [name for name, addr in self._filter_addrs.items() if self._live(addr)]
        await asyncio.gather(*(self._unsubscribe_all(name) for name in connected))
        self.plan.reset()

    async def _unsubscribe_all(self, name: str) -> None:
        try:
            async with asyncio.timeout(UNSUBSCRIBE_ON_STOP_TIMEOUT):
                await self._filter.unsubscribe_all(self._filter_addrs[name])
        except (TimeoutError, PystatusError, OSError) as exc:
            log.debug("unsubscribing at %s on stop failed: %r", name, exc)

    async def __aenter__(self) -> LightTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- Transport --------------------------------------------------------------------------

    def listen(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.plan.listen(pubsub_topic, content_topics)
        self._wake.set()

    def unlisten(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.plan.unlisten(pubsub_topic, content_topics)
        self._wake.set()

    def on_message(self, callback: Callable[[Received], None]) -> None:
        self._callbacks.append(callback)

    def connected(self) -> bool:
        """A light-push node answered its last request or dial and is still connected."""
        return any(self._live(self._push_addrs[name]) for name in self.push_nodes.answered())

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        """Light-push ``message`` to the first node that takes it (``push_peers`` of them),
        failing over in :class:`ServiceNodes` order; raises :class:`TransportError` when none
        did, when a node refused the message itself (400, 413, 420), or when
        ``max_pending_pushes`` are already waiting."""
        if self._pending_pushes >= self.config.max_pending_pushes:
            LIGHT_REQUESTS.labels("lightpush", "refused_pending").inc()
            raise TransportError(f"{self._pending_pushes} light pushes already wait for an answer")
        self._pending_pushes += 1
        LIGHT_PENDING_PUSHES.inc()
        try:
            return await self._push(pubsub_topic, message)
        finally:
            self._pending_pushes -= 1
            LIGHT_PENDING_PUSHES.dec()

    async def _push(self, pubsub_topic: str, message: WakuMessage) -> Published:
        digest = message_hash(pubsub_topic, message)
        accepted = 0
        failures: list[str] = []
        for name in self.push_nodes.order(self._clock()):
            try:
                async with asyncio.timeout(self.config.request_timeout):
                    await self._lightpush.push(self._push_addrs[name], message, pubsub_topic)
            except LightPushError as exc:
                LIGHT_REQUESTS.labels("lightpush", f"status_{exc.status}").inc()
                if exc.status in REFUSED_FOR_THE_MESSAGE:
                    raise TransportError(f"light push refused the message: {exc}") from exc
                failures.append(f"{name}: {exc}")
                self._push_failed(name, exc)
                continue
            except (TimeoutError, PystatusError, OSError) as exc:
                LIGHT_REQUESTS.labels("lightpush", "failed").inc()
                failures.append(f"{name}: {_plain(exc)}")
                self._push_failed(name, exc)
                continue
            LIGHT_REQUESTS.labels("lightpush", "ok").inc()
            self._push_answered(name)
            self.ledger.took(digest, name)
            accepted += 1
            if accepted >= self.config.push_peers:
                break
        if not accepted:
            raise TransportError("no light-push node took the message: " + "; ".join(failures))
        return Published(digest, accepted)

    def store_verdict(self, asked: Collection[bytes], found: Collection[bytes]) -> None:
        """A light-push node whose messages a store keeps missing took them and never relayed
        them: it fails as if it had not answered, so the next node is used."""
        for name in self.ledger.verdict(asked, found):
            LIGHT_REQUESTS.labels("lightpush", "not_stored").inc()
            self._push_failed(name, TransportError("what it took never reached a store"))

    def _push_failed(self, name: str, exc: BaseException) -> None:
        if self.push_nodes.failed(name, self._clock()):
            LIGHT_FAILOVERS.labels("lightpush").inc()
            log.warning("light-push node %s failed (%s); using the next", name, _plain(exc))
        self._count_down()
        if self._running and not self.push_nodes.answered() and name not in self._redialing:
            # No node left that answered: connected() is False, and the messenger holds back
            # what waits for a connection, so reach the node again once its back-off ends.
            self._tasks.spawn(self._dial(name, after_back_off=True), name=f"light dial {name}")

    def _push_answered(self, name: str) -> None:
        if self.push_nodes.succeeded(name):
            log.info("light-push node %s answers again", name)
        self._count_down()

    def _count_down(self) -> None:
        now = self._clock()
        down = len(self.push_nodes.nodes) - len(self.push_nodes.up(now))
        LIGHT_NODES_DOWN.labels("lightpush").set(down)

    # -- receiving ----------------------------------------------------------------------------

    def _on_push(self, push: FilterPush) -> None:
        if not self._running or str(push.peer) not in self._filter_addrs:
            return
        if not self.plan.wants(push.pubsub_topic, push.message.content_topic):
            LIGHT_RECEIVED.labels("not_listened").inc()
            return
        digest = message_hash(push.pubsub_topic, push.message)
        if not self._recent.add(digest):
            LIGHT_RECEIVED.labels("duplicate").inc()
            return
        LIGHT_RECENT_HASHES.set(len(self._recent))
        LIGHT_RECEIVED.labels("delivered").inc()
        received = Received(push.pubsub_topic, push.message, digest)
        for callback in self._callbacks:
            try:
                callback(received)
            except Exception as exc:  # a listener's bug must not stop delivery to the others
                LIGHT_LISTENER_ERRORS.inc()
                if id(callback) not in self._failing_callbacks:
                    self._failing_callbacks.add(id(callback))
                    log.error("message callback %r raised %r (counted from now on)", callback, exc)

    # -- filter subscriptions -------------------------------------------------------------

    async def _filter_loop(self) -> None:
        """Perform what the plan asks, then sleep until its next deadline or new input."""
        while True:
            self._wake.clear()
            for action in self.plan.poll(self._clock()):
                self._tasks.spawn(self._perform(action), name=f"light {type(action).__name__}")
            self._report()
            deadline = self.plan.next_deadline()
            delay = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _perform(self, action: FilterAction) -> None:
        addr = self._filter_addrs[action.node]
        kind = type(action).__name__.lower()
        timeout = self.plan.ping_timeout if isinstance(action, Ping) else self.plan.request_timeout
        try:
            async with asyncio.timeout(timeout):
                if isinstance(action, Ping):
                    await self._filter.ping(addr)
                elif isinstance(action, Subscribe):
                    await self._filter.subscribe(addr, action.pubsub_topic, action.content_topics)
                else:
                    await self._filter.unsubscribe(addr, action.pubsub_topic, action.content_topics)
        except FilterError as exc:
            LIGHT_REQUESTS.labels("filter", f"{kind}_{exc.status}").inc()
            if exc.status == 404 and isinstance(action, Unsubscribe):
                self.plan.done(action.seq, self._clock())  # it had forgotten them already
            else:
                failure = Failure.NOT_SUBSCRIBED if exc.status == 404 else Failure.ERROR
                self.plan.failed(action.seq, self._clock(), failure)
        except TimeoutError:
            LIGHT_REQUESTS.labels("filter", f"{kind}_timeout").inc()
            self.plan.failed(action.seq, self._clock(), Failure.TIMEOUT)
        except (PystatusError, OSError) as exc:
            LIGHT_REQUESTS.labels("filter", f"{kind}_failed").inc()
            log.debug("filter %s at %s failed: %r", kind, action.node, exc)
            self.plan.failed(action.seq, self._clock(), Failure.ERROR)
        else:
            LIGHT_REQUESTS.labels("filter", f"{kind}_ok").inc()
            self.plan.done(action.seq, self._clock())
        self._wake.set()

    def _report(self) -> None:
        for event in self.plan.events():
            if isinstance(event, NodeDown):
                LIGHT_FAILOVERS.labels("filter").inc()
                log.warning(
                    "filter node %s gave up (%s); its topics move to another node",
                    event.node,
                    event.reason,
                )
            else:
                log.info("filter node %s answers again", event.node)
        down = sum(1 for name in self.plan.nodes if self.plan.is_down(name))
        LIGHT_NODES_DOWN.labels("filter").set(down)
        LIGHT_CRITERIA.set(sum(len(c) for c in self.plan.subscriptions().values()))

    # -- connections ----------------------------------------------------------------------

    def _live(self, addr: Multiaddr) -> bool:
        return any(not c.is_closed for c in self.host.connections(addr.peer_id))

    def _on_connected(self, connection: Connection) -> None:
        name = str(connection.remote_peer)
        if self._running and name in self._filter_addrs:
            self.plan.reconnected(name, self._clock())
            self._wake.set()

    def _on_disconnected(self, connection: Connection) -> None:
        if not self._running:
            return
        peer = connection.remote_peer
        if any(c is not connection and not c.is_closed for c in self.host.connections(peer)):
            return
        name = str(peer)
        if name in self._filter_addrs:
            self.plan.disconnected(name, self._clock())
            self._wake.set()
        if name in self._push_addrs and name not in self._redialing:
            self._tasks.spawn(self._dial(name), name=f"light dial {name}")

    async def _dial(self, name: str, *, after_back_off: bool = False) -> None:
        """Connect to light-push node ``name`` (first waiting out its back-off if
        ``after_back_off``), backing off while it fails, so :meth:`connected` tells whether a
        send would go out."""
        self._redialing.add(name)
        try:
            delay = (
                max(0.0, self.push_nodes.retry_at(name) - self._clock()) if after_back_off else 0.0
            )
            while self._running:
                if delay:
                    await asyncio.sleep(delay)
                try:
                    async with asyncio.timeout(self.config.request_timeout):
                        await self.host.connect(self._push_addrs[name])
                except (TimeoutError, PystatusError, OSError) as exc:
                    self._push_failed(name, exc)
                    delay = max(0.0, self.push_nodes.retry_at(name) - self._clock())
                    continue
                if self.push_nodes.reachable(name):
                    log.info("light-push node %s reached again", name)
                self._count_down()
                return
        finally:
            self._redialing.discard(name)


def _plain(exc: BaseException) -> str:
    """An error as words for a log line or a message: its text, else its kind (a bare
    TimeoutError has no text)."""
    return str(exc) or (
        "no answer in time" if isinstance(exc, TimeoutError) else type(exc).__name__
    )
