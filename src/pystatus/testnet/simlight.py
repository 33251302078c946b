"""Light clients in the simulated network (:mod:`pystatus.testnet.simnet`): service nodes
serving filter, light push and store, and each light device's transport.

A light device's transport decides as :class:`pystatus.chat.light.LightTransport` does, with
the same sans-IO parts of :mod:`pystatus.chat.light_core` (not a copy of them): a
:class:`~pystatus.chat.light_core.FilterPlan` for its filter subscriptions (two nodes per
content topic, pings every 60 s, failover, back-off 5 -> 60 s, resubscription after a
reconnection or a 404), :class:`~pystatus.chat.light_core.ServiceNodes` for light push and
store (failover within one request, back-off, a redial loop for light-push nodes after a
disconnection), :class:`~pystatus.chat.light_core.RecentHashes` to drop what a second filter
node pushes too. What this module adds is what the asyncio adapter does: it performs the
requests on the virtual clock, times them out with the adapter's timeouts (5 s pings, 10 s
otherwise, status-go's) and feeds the outcomes back.

Topology: service nodes are relay peers of the hub (the relay node every relay device links
to), over a backbone that loses nothing (:data:`BACKBONE_DELAY`). A light device has no
relay link: each request, each answer and each filter push crosses its own link with the
link's faults, so a request or answer lost is a request that times out. A device dials a node
before its first request to it (and its light-push nodes at start and after each
disconnection, as LightTransport does); a filter push needs that connection (a light client
has no listen address). The hub is also a store node, named :data:`RELAY`.

Service nodes (:mod:`pystatus.testnet.simservice`) publish a light push to the relay and
answer 200, or 503 without a relay peer (the hub down), as nwaku's "no peers to relay", and
push what they relay to the subscribers whose criteria match. :meth:`LightNet.down` stops a
node: a restart closes its connections (clients notice at once), a vanishing one leaves them
half-open (clients learn it by timeouts); either way it forgets its subscribers.

Time: ``now`` is the network's virtual monotonic seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar, cast

from pystatus.chat.actions import Publish
from pystatus.chat.light import REFUSED_FOR_THE_MESSAGE
from pystatus.chat.light_core import (
    Failure,
    FilterAction,
    NodeDown,
    Ping,
    Subscribe,
)
from pystatus.testnet.simclient import LightSetup, Pending, SimLightClient
from pystatus.testnet.simdevice import SimDevice, SimulationError
from pystatus.testnet.simparts import SimStore
from pystatus.testnet.simservice import (
    NOT_FOUND,
    OK,
    UNAVAILABLE,
    SimServiceNode,
)
from pystatus.waku.lightpush import StatusCode
from pystatus.waku.message import WakuMessage, message_hash

if TYPE_CHECKING:
    from pystatus.testnet.simnet import SimNetwork

RELAY = "relay"
"""The hub's name as a store node."""
BACKBONE_DELAY = 0.005
"""Seconds a message takes between the hub and a service node."""

T = TypeVar("T")
Answer = tuple[int, object]
"""A service node's answer: (status code, what it carries)."""


class LightNet:
    """The service nodes and the light devices' transports of one :class:`SimNetwork`."""

    def __init__(self, net: SimNetwork) -> None:
        self.net = net
        self.nodes: dict[str, SimServiceNode] = {}
        self.hub = SimServiceNode(RELAY, serves_filter=False, lightpush=False)
        self.hub.store = net.store if net.has_store else None
        self.setups: dict[str, LightSetup] = {}
        self.clients: dict[str, SimLightClient] = {}
        self._seq = 0

    # -- building ---------------------------------------------------------------------------

    def add_node(
        self, name: str, *, serves_filter: bool = True, lightpush: bool = True, store: bool = False
    ) -> SimServiceNode:
        """A service node, up and joined to the hub."""
        if name in self.nodes or name in self.net.devices or name == RELAY:
            raise SimulationError(f"a node or device named {name!r} exists already")
        node = SimServiceNode(name, serves_filter=serves_filter, lightpush=lightpush, store=store)
        self.nodes[name] = node
        return node

    def default_setup(self) -> LightSetup:
        """Every filter node, every light-push node, and the hub's store (if any)."""
        return LightSetup(
            tuple(n for n, node in self.nodes.items() if node.serves_filter),
            tuple(n for n, node in self.nodes.items() if node.serves_lightpush),
            (RELAY,) if self.net.has_store else (),
        )

    def is_light(self, name: str) -> bool:
        return name in self.setups

    def _node(self, name: str) -> SimServiceNode:
        return self.hub if name == RELAY else self.nodes[name]

    # -- faults -----------------------------------------------------------------------------

    def down(self, name: str, *, silent: bool = False) -> None:
        """Stop service node ``name`` (the hub, :data:`RELAY`, with the relay's restart);
        ``silent``: its host vanishes and clients' connections stay half-open until a request
        times out. A node already down stays down (an earlier :meth:`restart` no longer
        brings it back)."""
        node = self._node(name)
        if not node.up:
            node.incarnation += 1
            return
        node.stop()
        node.silent = silent
        if silent:
            return
        for device_name, client in list(self.clients.items()):
            if name in client.conns:
                self._conn_lost(self.net.devices[device_name], client, name)

    def up(self, name: str) -> None:
        node = self._node(name)
        node.up, node.silent = True, False

    def restart(self, name: str, down_for: float, *, silent: bool = False) -> None:
        """Service node ``name`` is down now and back ``down_for`` seconds later (a restart
        while it is down starts the wait over)."""
        self.down(name, silent=silent)
        incarnation = self._node(name).incarnation

        def back() -> None:
            if self._node(name).incarnation == incarnation:  # else stopped again since
                self.up(name)

        self.net.schedule(self.net.now + down_for, back)

    def forget(self, name: str) -> None:
        """Service node ``name`` drops every subscriber but keeps its connections (nwaku's
        subscription timeout): their next ping is answered 404."""
        self._node(name).forget()

    # -- a light device's life --------------------------------------------------------------

    def start(self, device: SimDevice) -> None:
        """The device (re)started: a new transport, listening to what its session listens
        to, dialing its light-push nodes."""
        client = SimLightClient(self.setups[device.name])
        self.clients[device.name] = client
        client.plan.listen(self.net.pubsub_topic, device.topics)
        for name in client.setup.pushnodes:
            self._redial(device, client, name, 0.0)
        self.pump(device)

    def crash(self, device: SimDevice) -> None:
        """Its process died: its connections close (nodes keep its subscriptions)."""
        self.clients.pop(device.name, None)

    def link_down(self, device: SimDevice) -> None:
        client = self.clients.get(device.name)
        if client is not None:
            for name in list(client.conns):
                self._conn_lost(device, client, name)

    def listen(self, device: SimDevice, content_topics: Iterable[str]) -> None:
        client = self.clients.get(device.name)
        if client is not None:
            client.plan.listen(self.net.pubsub_topic, content_topics)
            self.pump(device)

    def connected(self, device: SimDevice) -> bool:
        client = self.clients.get(device.name)
        return client is not None and client.connected()

    # -- time ---------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [c.plan.next_deadline() for c in self.clients.values()]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def due(self, now: float) -> list[str]:
        """Light devices whose filter plan has work at ``now``."""
        return [
            name
            for name, client in self.clients.items()
            if (deadline := client.plan.next_deadline()) is not None and deadline <= now
        ]

    def pump(self, device: SimDevice) -> None:
        """Send what the filter plan asks for now (LightTransport's filter loop)."""
        client = self.clients.get(device.name)
        if client is None:
            return
        for action in client.plan.poll(self.net.now):
            self._filter_request(device, client, action)
        self.net.stats.failovers += sum(isinstance(e, NodeDown) for e in client.plan.events())

    # -- filter -----------------------------------------------------------------------------

    def _filter_request(
        self, device: SimDevice, client: SimLightClient, action: FilterAction
    ) -> None:
        self.net.stats.filter_requests += 1
        plan = client.plan
        subscriber = device.name

        def serve(node: SimServiceNode) -> Answer:
            if not node.serves_filter:
                return UNAVAILABLE, None
            if isinstance(action, Ping):
                return node.ping(subscriber, self.net.now), None
            if isinstance(action, Subscribe):
                topics = action.content_topics
                return node.subscribe(subscriber, action.pubsub_topic, topics, self.net.now), None
            topics = action.content_topics
            return node.unsubscribe(subscriber, action.pubsub_topic, topics, self.net.now), None

        def answered(status: int, _: object) -> None:
            now = self.net.now
            if status == OK or (status == NOT_FOUND and not isinstance(action, Ping | Subscribe)):
                plan.done(action.seq, now)  # an unsubscribe answered 404 had nothing to drop
            else:
                self.net.stats.filter_failures += 1
                plan.failed(
                    action.seq,
                    now,
                    Failure.NOT_SUBSCRIBED if status == NOT_FOUND else Failure.ERROR,
                )
            self.pump(device)

        def failed(failure: Failure) -> None:
            self.net.stats.filter_failures += 1
            plan.failed(action.seq, self.net.now, failure)
            self.pump(device)

        timeout = plan.ping_timeout if isinstance(action, Ping) else plan.request_timeout
        self._request(device, client, action.node, timeout, serve, answered, failed)

    def relayed(self, sender: str, message: WakuMessage, digest: bytes) -> None:
        """The hub forwards a message to every service node but its sender."""
        for name, node in self.nodes.items():
            if name != sender:
                at = self.net.now + BACKBONE_DELAY
                incarnation = node.incarnation
                self.net.schedule(
                    at, functools.partial(self._at_node, node, incarnation, message, digest)
                )

    def _at_node(
        self, node: SimServiceNode, incarnation: int, message: WakuMessage, digest: bytes
    ) -> None:
        """A message reaches service node ``node`` (from the hub or a light push)."""
        if not node.up or node.incarnation != incarnation:
            self.net.stats.dropped_offline += 1
            return
        if not node.remember(digest):
            self.net.stats.relay_duplicates += 1
            return
        if node.store is not None:
            node.store.keep(digest, message)
        pubsub_topic = self.net.pubsub_topic
        for subscriber in node.subscribers(pubsub_topic, message.content_topic, self.net.now):
            device = self.net.devices.get(subscriber)
            client = self.clients.get(subscriber)
            if device is None or client is None or client.conns.get(node.name) != incarnation:
                self.net.stats.filter_undelivered += 1  # no connection to push over
                continue
            arrive = functools.partial(self._pushed, device, client, node, message, digest)
            self.net.cross(subscriber, arrive)

    def _pushed(
        self,
        device: SimDevice,
        client: SimLightClient,
        node: SimServiceNode,
        message: WakuMessage,
        digest: bytes,
    ) -> None:
        """A filter push reaches the light device (LightTransport._on_push)."""
        if self.clients.get(device.name) is not client or not device.link_up:
            self.net.stats.dropped_offline += 1
            return
        if not client.plan.wants(self.net.pubsub_topic, message.content_topic):
            return
        if not client.recent.add(digest):
            self.net.stats.filter_duplicates += 1
            return
        self.net.stats.filter_pushes += 1
        self.net.received(device, message, digest)

    # -- light push -------------------------------------------------------------------------

    def publish(
        self,
        device: SimDevice,
        action: Publish,
        done: Callable[[tuple[bytes, int] | None], None],
    ) -> None:
        """Light-push ``action``'s message to the first ``push_peers`` nodes that take it,
        failing over in :class:`ServiceNodes` order (LightTransport.publish); ``done`` gets
        the outcome for :meth:`ChatSession.published`."""
        client = self.clients[device.name]
        message = WakuMessage(
            action.payload, action.content_topic, version=1, timestamp=action.timestamp_ns
        )
        digest = message_hash(self.net.pubsub_topic, message)
        order = client.push_nodes.order(self.net.now)
        accepted = 0

        def attempt(index: int) -> None:
            if self.clients.get(device.name) is not client:
                return  # the device crashed meanwhile
            if index == len(order) or accepted >= client.setup.config.push_peers:
                done((digest, accepted) if accepted else None)
                return
            name = order[index]

            def answered(status: int, _: object) -> None:
                nonlocal accepted
                if status == OK:
                    self.net.stats.light_pushes += 1
                    client.push_nodes.succeeded(name)
                    client.ledger.took(digest, name)
                    accepted += 1
                    attempt(index + 1)
                    return
                self.net.stats.light_push_failures += 1
                if status in REFUSED_FOR_THE_MESSAGE:
                    done(None)  # every node would refuse it: no failover
                    return
                self._push_failed(device, client, name)
                attempt(index + 1)

            def failed(_: Failure) -> None:
                self.net.stats.light_push_failures += 1
                self._push_failed(device, client, name)
                attempt(index + 1)

            serve = functools.partial(self._serve_push, message, digest)
            timeout = client.setup.config.request_timeout
            self._request(device, client, name, timeout, serve, answered, failed)

        attempt(0)

    def _serve_push(
        self, message: WakuMessage, digest: bytes, node: SimServiceNode
    ) -> Answer | None:
        if not node.serves_lightpush:
            return UNAVAILABLE, None
        roll = self.net.rng.random()
        faults = node.faults
        if roll < faults.drop_pushes:
            self.net.stats.service_dropped += 1
            return None
        roll -= faults.drop_pushes
        if roll < faults.refuse_pushes:
            return StatusCode.NO_PEERS_TO_RELAY, None
        if not self.net.relay_up:
            return StatusCode.NO_PEERS_TO_RELAY, None  # its only relay peer, the hub, is down
        if roll - faults.refuse_pushes < faults.swallow_pushes:
            self.net.stats.service_swallowed += 1
            return OK, None
        self._at_node(node, node.incarnation, message, digest)
        relay = self.net.relay_incarnation
        hub = functools.partial(self.net.at_relay, node.name, relay, message, digest)
        self.net.schedule(self.net.now + BACKBONE_DELAY, hub)
        return OK, None

    def store_verdict(self, device: SimDevice, asked: Iterable[bytes], found: list[bytes]) -> None:
        """LightTransport.store_verdict: a node whose pushes a store keeps missing fails."""
        client = self.clients.get(device.name)
        if client is None:
            return
        for name in client.ledger.verdict(asked, found):
            self.net.stats.light_push_failures += 1
            self._push_failed(device, client, name)

    def _push_failed(self, device: SimDevice, client: SimLightClient, name: str) -> None:
        client.push_nodes.failed(name, self.net.now)
        if not client.push_nodes.answered() and name not in client.redialing:
            # As LightTransport: no node left that answered, so reach this one again once
            # its back-off ends (connected() says whether a send would go out).
            delay = max(0.0, client.push_nodes.retry_at(name) - self.net.now)
            self._redial(device, client, name, delay)
        self.net.tell_connected(device)

    def _redial(self, device: SimDevice, client: SimLightClient, name: str, delay: float) -> None:
        """LightTransport._dial: connect to light-push node ``name`` after ``delay``, again
        after each back-off while it fails."""
        client.redialing.add(name)

        def attempt() -> None:
            if self.clients.get(device.name) is not client:
                return
            self._dial(device, client, name, reached, unreachable)

        def reached() -> None:
            client.redialing.discard(name)
            client.push_nodes.reachable(name)
            self.net.tell_connected(device)

        def unreachable() -> None:
            client.push_nodes.failed(name, self.net.now)
            self.net.tell_connected(device)
            retry = max(self.net.now, client.push_nodes.retry_at(name))
            self.net.schedule(retry, attempt)

        self.net.schedule(self.net.now + delay, attempt)

    # -- store ------------------------------------------------------------------------------

    def store_query(
        self,
        device: SimDevice,
        ask: Callable[[SimStore], T],
        answered: Callable[[T], None],
        failed: Callable[[], None],
    ) -> None:
        """A store query to the first store node that answers (FailoverStore.query)."""
        client = self.clients[device.name]
        order = client.store_nodes.order(self.net.now)

        def attempt(index: int) -> None:
            if self.clients.get(device.name) is not client:
                return
            if index == len(order):
                failed()
                return
            name = order[index]

            def serve(node: SimServiceNode) -> Answer:
                if node.store is None:
                    return UNAVAILABLE, None
                return OK, ask(node.store)

            def got(status: int, value: object) -> None:
                if status != OK:
                    lost(Failure.ERROR)
                    return
                client.store_nodes.succeeded(name)
                answered(cast(T, value))  # what ask() returned

            def lost(_: Failure) -> None:
                client.store_nodes.failed(name, self.net.now)
                attempt(index + 1)

            timeout = client.setup.config.request_timeout
            self._request(device, client, name, timeout, serve, got, lost)

        attempt(0)

    # -- requests and connections -----------------------------------------------------------

    def _request(
        self,
        device: SimDevice,
        client: SimLightClient,
        name: str,
        timeout: float,
        serve: Callable[[SimServiceNode], Answer | None],
        answered: Callable[[int, object], None],
        failed: Callable[[Failure], None],
    ) -> None:
        """One request-response to node ``name``: dialed first if need be; each way crosses
        the device's link; ``failed`` on a timeout or a lost connection, once."""
        self._seq += 1
        token = self._seq
        pending = client.pending[token] = Pending(name, failed)

        def fail(failure: Failure) -> None:
            if client.pending.pop(token, None) is not None:
                _ended(pending)
                failed(failure)

        def answer(reply: Answer) -> None:
            if self.clients.get(device.name) is not client:
                return  # the device crashed meanwhile
            if client.pending.pop(token, None) is not None:
                _ended(pending)
                answered(*reply)

        def send() -> None:
            incarnation = client.conns.get(name)
            if incarnation is None:
                fail(Failure.ERROR)  # the connection closed meanwhile
                return
            arrive = functools.partial(self._at_server, device, client, name, incarnation)
            self.net.cross(device.name, lambda: arrive(serve, answer))

        pending.timeout = self.net.schedule(self.net.now + timeout, lambda: fail(Failure.TIMEOUT))
        if name in client.conns:
            send()
        else:
            self._dial(device, client, name, send, lambda: fail(Failure.ERROR))

    def _at_server(
        self,
        device: SimDevice,
        client: SimLightClient,
        name: str,
        incarnation: int,
        serve: Callable[[SimServiceNode], Answer | None],
        answer: Callable[[Answer], None],
    ) -> None:
        node = self._node(name)
        if not node.up:
            return  # a restart told the client already; a vanished host says nothing
        if node.incarnation != incarnation:
            # A half-open connection to a host that came back: reset.
            if self.clients.get(device.name) is client and client.conns.get(name) == incarnation:
                self._conn_lost(device, client, name)
            return
        reply = serve(node)
        if reply is not None:
            self.net.cross(device.name, lambda: answer(reply))

    def _dial(
        self,
        device: SimDevice,
        client: SimLightClient,
        name: str,
        ok: Callable[[], None],
        fail: Callable[[], None],
    ) -> None:
        """Connect to node ``name`` (dials to one node coalesce): a round trip when it is
        up and the link too; refused as fast when it restarts; a vanished host times out."""
        waiting = client.dialing.get(name)
        if waiting is not None:
            waiting.append((ok, fail))
            return
        client.dialing[name] = [(ok, fail)]
        self.net.stats.dials += 1
        node = self._node(name)
        faults = self.net.faults(device.name)
        vanished = not node.up and node.silent
        wait = client.setup.config.request_timeout if vanished else 2 * faults.delay

        def done() -> None:
            callbacks = client.dialing.pop(name, [])
            if self.clients.get(device.name) is not client:
                return
            if node.up and device.link_up:
                client.conns[name] = node.incarnation
                if name in client.setup.filternodes:
                    client.plan.reconnected(name, self.net.now)
                    self.pump(device)
                for success, _ in callbacks:
                    success()
            else:
                self.net.stats.dial_failures += 1
                for _, failure in callbacks:
                    failure()

        self.net.schedule(self.net.now + wait, done)

    def _conn_lost(self, device: SimDevice, client: SimLightClient, name: str) -> None:
        """The connection to ``name`` closed (LightTransport._on_disconnected)."""
        if name not in client.conns:
            return
        del client.conns[name]
        for token, pending in list(client.pending.items()):
            if pending.node == name:
                del client.pending[token]
                _ended(pending)
                pending.failed(Failure.ERROR)
        if name in client.setup.filternodes:
            client.plan.disconnected(name, self.net.now)
            self.pump(device)
        if name in client.setup.pushnodes and name not in client.redialing:
            self._redial(device, client, name, 0.0)
        self.net.tell_connected(device)


def _ended(pending: Pending) -> None:
    if pending.timeout is not None:
        pending.timeout.cancelled = True
