"""Waku relay (11/WAKU2-RELAY): the gossipsub router driven over the host's streams.

Each peer that speaks ``/vac/waku/relay/2.0.0`` gets one outbound stream we write RPCs on
(varint-length-prefixed) and sends us RPCs on a stream it opens. Messages pass a validation
pipeline before the router forwards them: a per-peer rate limit, the Waku message decoder and
the network's rules (64/WAKU2-NETWORK). A failure rejects the message, which the router scores
against the peer that sent it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError as ProtobufDecodeError
from prometheus_client import Counter

from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import RemoteProtocolError
from pystatus.p2p.faults import FaultCounts, FaultPlan, LinkFaults
from pystatus.p2p.gossipsub.events import Deliver, Graylisted, SendRpc
from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.proto import gossipsub_rpc_pb2 as rpc_pb2
from pystatus.p2p.gossipsub.router import GossipsubRouter, ValidationResult
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IdentifyInfo
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.varint import LengthPrefixedReader
from pystatus.waku import metrics, relay_metrics
from pystatus.waku.errors import InvalidMessage, LocalWakuError, RemoteWakuError
from pystatus.waku.message import MAX_MESSAGE_SIZE, WakuMessage, message_hash, validate_message
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay_writer import PeerWriter

log = logging.getLogger(__name__)

FAULT_KINDS = tuple(f.name for f in dataclasses.fields(FaultCounts))


@dataclass(frozen=True, kw_only=True, slots=True)
class RelayConfig:
    gossipsub: GossipsubParams = field(default_factory=GossipsubParams)
    max_message_size: int = MAX_MESSAGE_SIZE
    max_clock_drift_ns: int | None = 20 * 10**9
    """How far ahead of our clock a message's timestamp may be (64/WAKU2-NETWORK's 20 s);
    None: any, as nwaku's relay off The Waku Network."""
    max_message_age_ns: int | None = 20 * 10**9
    """How old a message's timestamp may be (64/WAKU2-NETWORK's 20 s); None: any age, as
    nwaku's relay off The Waku Network, and as on the Status cluster, whose relays (go-waku in
    status-go) check no age: status-go stamps an envelope when it queues it behind its
    publish throttle, so a burst leaves it older."""
    peer_rate: float = 5000.0
    """Messages per second a peer may send us before its messages are rejected."""
    peer_burst: float = 10000.0
    subscription_queue: int = 10_000
    """Messages buffered per subscriber before the oldest are dropped."""
    faults: FaultPlan | None = None
    """Faults injected on every incoming link (testing only)."""
    stream_retry_min: float = 1.0
    """Seconds before reopening a peer's relay stream that failed (or never opened) while its
    connection stays up; doubled on each failure in a row."""
    stream_retry_max: float = 60.0
    """The longest wait before reopening; a stream that lived this long ends the series."""


@dataclass(frozen=True, slots=True)
class RelayedMessage:
    pubsub_topic: str
    message: WakuMessage
    hash: bytes
    source: PeerId | None
    received_at: float


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    hash: bytes
    peers: int
    """Relay peers the message went to; for a duplicate, the topic's mesh, which has it."""
    duplicate: bool = False


class Subscription:
    """Messages relayed on some pubsub topics, as an async iterator. Bounded: when the
    consumer falls behind by ``maxlen`` messages the oldest are dropped and counted."""

    def __init__(self, relay: WakuRelay, topics: frozenset[str], maxlen: int) -> None:
        self._relay = relay
        self.topics = topics
        self._queue: collections.deque[RelayedMessage] = collections.deque(maxlen=maxlen)
        self._event = asyncio.Event()
        self.dropped = 0
        self._closed = False

    def _put(self, item: RelayedMessage) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(item)
        self._event.set()

    def __aiter__(self) -> AsyncIterator[RelayedMessage]:
        return self

    async def __anext__(self) -> RelayedMessage:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._event.clear()
            await self._event.wait()
        return self._queue.popleft()

    def drain(self) -> list[RelayedMessage]:
        items = list(self._queue)
        self._queue.clear()
        return items

    def close(self) -> None:
        """Stop receiving; topics no other subscriber holds are left."""
        if self._closed:
            return
        self._closed = True
        self._event.set()
        self._relay._subscriptions.discard(self)
        for topic in self.topics:
            self._relay.unsubscribe_topic(topic)


def _remote_ip(connection: Connection) -> str | None:
    """The peer's IP address, for gossipsub's IP colocation factor (P6)."""
    addr = connection.remote_addr
    return addr.value_for("ip4") or addr.value_for("ip6")


class WakuRelay:
    def __init__(
        self,
        host: Host,
        config: RelayConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (wall-clock Unix seconds) judges message timestamps and stamps
        :attr:`RelayedMessage.received_at`; ``monotonic`` (seconds) drives the router (its
        scores and back-offs), the rate limiter and the stream back-off, which a step of the
        wall clock must not disturb."""
        self.host = host
        self.config = config or RelayConfig()
        self._clock = clock
        self._now = monotonic
        # Gossipsub's own bound on a message must let through what the relay's rules accept.
        params = self.config.gossipsub
        if params.max_message_size < self.config.max_message_size:
            params = dataclasses.replace(params, max_message_size=self.config.max_message_size)
        self.router = GossipsubRouter(params, validator=self._validate)
        relay_metrics.watch(self.router)
        self._writers: dict[bytes, PeerWriter] = {}
        self._stream_failures: dict[bytes, int] = {}
        """Relay stream failures in a row per connected peer (for the reopening back-off)."""
        self._limiter = PeerRateLimiter(self.config.peer_rate, self.config.peer_burst)
        self._subscriptions: set[Subscription] = set()
        self._topic_refs: collections.Counter[str] = collections.Counter()
        self._observers: list[Callable[[RelayedMessage], None]] = []
        self._tasks = TaskSet("relay")
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = False
        self._faults: dict[bytes, LinkFaults] = {}
        self._validated: dict[bytes, WakuMessage] = {}
        """Messages validated during one router call, by their bytes, for delivery to reuse
        (emptied by each :meth:`_process_events`: at most one RPC's messages)."""
        self._metric_children: dict[tuple[str, str], tuple[Counter, Counter]] = {}

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.host.set_stream_handler(RELAY_PROTOCOL_ID, self._inbound)
        self.host.on_identified(self._identified)
        self.host.on_disconnected(self._disconnected)
        for connection in self.host.connections():
            record = self.host.peerstore.get(connection.remote_peer)
            if record is not None and RELAY_PROTOCOL_ID in record.protocols:
                self._add_peer(connection.remote_peer, connection)
        self._heartbeat = self._tasks.spawn(self._heartbeat_loop(), name="relay heartbeat")

    async def stop(self) -> None:
        self._stopping = True  # no stream is reopened from here on
        self.host.remove_stream_handler(RELAY_PROTOCOL_ID)
        for subscription in list(self._subscriptions):
            subscription._closed = True
            subscription._event.set()
        self._subscriptions.clear()
        await self._tasks.cancel_all()

    # -- topics -------------------------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        return sorted(self.router.subscriptions)

    def subscribe_topic(self, pubsub_topic: str) -> None:
        """Join the mesh of ``pubsub_topic`` without a consumer (a service node's shards)."""
        self._topic_refs[pubsub_topic] += 1
        if self._topic_refs[pubsub_topic] == 1:
            self.router.subscribe(pubsub_topic, self._now())
            self._process_events()

    def unsubscribe_topic(self, pubsub_topic: str) -> None:
        if self._topic_refs[pubsub_topic] <= 0:
            return
        self._topic_refs[pubsub_topic] -= 1
        if self._topic_refs[pubsub_topic] == 0:
            del self._topic_refs[pubsub_topic]
            self.router.unsubscribe(pubsub_topic, self._now())
            self._process_events()

    def subscribe(self, *pubsub_topics: str, maxlen: int | None = None) -> Subscription:
        subscription = Subscription(
            self, frozenset(pubsub_topics), maxlen or self.config.subscription_queue
        )
        self._subscriptions.add(subscription)
        for topic in pubsub_topics:
            self.subscribe_topic(topic)
        return subscription

    def add_observer(self, observer: Callable[[RelayedMessage], None]) -> None:
        """Called for every message relayed on a joined topic (the archive uses this)."""
        self._observers.append(observer)

    def remove_observer(self, observer: Callable[[RelayedMessage], None]) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, pubsub_topic: str, message: WakuMessage) -> PublishOutcome:
        """Validate and publish; returns the RFC 14 hash and how many peers it was sent to."""
        data = message.encode()
        now = self._clock()
        try:
            self._apply_rules(message, len(data), now)
        except InvalidMessage as exc:
            raise LocalWakuError(f"refusing to publish: {exc}") from exc
        result = self.router.publish(pubsub_topic, data, self._now())
        digest = message_hash(pubsub_topic, message)
        if result.duplicate:
            # Publishing is idempotent: a retry of what the network already has succeeds,
            # and subscribers are not handed it twice.
            return PublishOutcome(digest, self.mesh_size(pubsub_topic), duplicate=True)
        messages, size = self._topic_metrics(pubsub_topic, "out")
        messages.inc()
        size.inc(len(data))
        self._process_events()
        if pubsub_topic in self.router.subscriptions:
            self._dispatch(RelayedMessage(pubsub_topic, message, digest, None, now))
        return PublishOutcome(digest, result.peers)

    # -- validation pipeline ------------------------------------------------------------------

    def _apply_rules(self, message: WakuMessage, encoded_size: int, now: float) -> None:
        validate_message(
            message,
            now_ns=int(now * 1e9),
            encoded_size=encoded_size,
            max_clock_drift_ns=self.config.max_clock_drift_ns,
            max_age_ns=self.config.max_message_age_ns,
            max_size=self.config.max_message_size,
        )

    def _validate(self, topic: str, data: bytes, peer: bytes | None) -> ValidationResult:
        if peer is not None and not self._limiter.allow(peer, self._now()):
            metrics.RELAY_INVALID.labels("rate_limited").inc()
            return ValidationResult.REJECT
        if topic not in self._topic_refs:
            return ValidationResult.IGNORE
        try:
            message = WakuMessage.decode(data, max_size=self.config.max_message_size)
            self._apply_rules(message, len(data), self._clock())
            # Kept for _deliver, which follows before _process_events ends.
            self._validated[data] = message
        except InvalidMessage as exc:
            metrics.RELAY_INVALID.labels(exc.reason).inc()
            return ValidationResult.REJECT
        except RemoteWakuError:
            metrics.RELAY_INVALID.labels("malformed").inc()
            return ValidationResult.REJECT
        return ValidationResult.ACCEPT

    # -- router events ------------------------------------------------------------------------

    def _process_events(self) -> None:
        for event in self.router.events():
            if isinstance(event, SendRpc):
                self._enqueue(event.peer, event.data)
            elif isinstance(event, Deliver):
                self._deliver(event)
            elif isinstance(event, Graylisted):
                metrics.RELAY_GRAYLISTED.inc()
                log.info("relay peer %s graylisted (score %.1f)", event.peer.hex(), event.score)
        # Accepted but not delivered (the router's own reasons): nothing to keep.
        self._validated.clear()

    def _topic_metrics(self, topic: str, direction: str) -> tuple[Counter, Counter]:
        """The topic's message and byte counters (prometheus_client's labels() lookup costs
        more than the increment); as many as the topics relayed, which the router bounds."""
        key = (topic, direction)
        counters = self._metric_children.get(key)
        if counters is None:
            counters = self._metric_children[key] = (
                metrics.RELAY_MESSAGES.labels(topic, direction),
                metrics.RELAY_BYTES.labels(topic, direction),
            )
        return counters

    def _deliver(self, event: Deliver) -> None:
        message = self._validated.pop(event.data, None)
        messages, size = self._topic_metrics(event.topic, "in")
        messages.inc()
        size.inc(len(event.data))
        if not self._observers and not any(
            event.topic in subscription.topics for subscription in self._subscriptions
        ):
            return  # a node that only relays the topic: no one to hand it to
        if message is None:
            try:
                message = WakuMessage.decode(event.data, max_size=self.config.max_message_size)
            except RemoteWakuError:
                return
        source = None
        if event.source is not None:
            # The writer's PeerId: parsing the key again costs more than the rest of delivery.
            writer = self._writers.get(event.source)
            source = writer.peer if writer is not None else PeerId.from_bytes(event.source)
        self._dispatch(
            RelayedMessage(
                event.topic, message, message_hash(event.topic, message), source, self._clock()
            )
        )

    def _dispatch(self, item: RelayedMessage) -> None:
        for observer in self._observers:
            try:
                observer(item)
            except Exception:
                # One consumer's failure must not end the peer's stream or starve the others.
                metrics.RELAY_OBSERVER_FAILURES.inc()
                log.exception("a relay observer failed on a message of %s", item.pubsub_topic)
        for subscription in self._subscriptions:
            if item.pubsub_topic in subscription.topics:
                subscription._put(item)

    # -- peers and streams --------------------------------------------------------------------

    def _identified(self, peer: PeerId, info: IdentifyInfo) -> None:
        if RELAY_PROTOCOL_ID in info.protocols:
            connections = self.host.connections(peer)
            if connections:
                self._add_peer(peer, connections[0])

    def _add_peer(self, peer: PeerId, connection: Connection) -> None:
        key = peer.to_bytes()
        if key in self._writers:
            return
        outbound = connection.direction == "outbound"
        self._writers[key] = self._writer(peer, outbound=outbound, delay=0.0)
        self.router.add_peer(key, self._now(), outbound=outbound, ip=_remote_ip(connection))
        metrics.RELAY_PEERS.set(len(self._writers))
        self._process_events()

    def _writer(self, peer: PeerId, *, outbound: bool, delay: float) -> PeerWriter:
        return PeerWriter(
            self.host,
            peer,
            outbound=outbound,
            delay=delay,
            tasks=self._tasks,
            clock=self._now,
            on_failed=self._stream_failed,
        )

    def _stream_failed(self, writer: PeerWriter, kind: str) -> None:
        """``writer``'s stream failed to open (``kind`` "open") or died ("reset", "write").

        The peer leaves the router (and so every mesh) with its writer, then comes back at
        once with a new writer that opens its stream after a back-off: what the router sends
        it meanwhile waits in the new writer's bounded queue instead of vanishing into a dead
        stream. Its subscriptions came on its own stream to us, which still stands, so they
        are kept. Streams are reopened only while a connection to the peer stays up.
        """
        key = writer.peer.to_bytes()
        if self._stopping or self._writers.get(key) is not writer:
            return
        metrics.RELAY_STREAM_FAILURES.labels(kind).inc()
        now = self._now()
        failures = self._stream_failures.get(key, 0)
        if writer.opened_at is not None and now - writer.opened_at >= self.config.stream_retry_max:
            failures = 0  # it had worked a good while: a new series starts
        topics = self.router.peer_topics(key)
        del self._writers[key]
        self.router.remove_peer(key, now)
        connections = self.host.connections(writer.peer)
        if not connections:
            # The connection went first: nothing to reopen, and _disconnected finds no writer.
            self._stream_failures.pop(key, None)
            self._limiter.forget(key)
            metrics.RELAY_PEERS.set(len(self._writers))
            metrics.RELAY_STREAM_BACKOFF.set(self.unopened_streams())
            self._process_events()
            return
        self._stream_failures[key] = failures + 1
        delay = min(self.config.stream_retry_min * 2**failures, self.config.stream_retry_max)
        log.debug("relay stream to %s failed (%s); reopening in %.2f s", writer.peer, kind, delay)
        self._writers[key] = self._writer(writer.peer, outbound=writer.outbound, delay=delay)
        self.router.add_peer(key, now, outbound=writer.outbound, ip=_remote_ip(connections[0]))
        metrics.RELAY_STREAM_BACKOFF.set(self.unopened_streams())
        if topics:
            announced = rpc_pb2.RPC(
                subscriptions=[rpc_pb2.RPC.SubOpts(subscribe=True, topicid=t) for t in topics]
            )
            self.router.receive_rpc(key, announced.SerializeToString(), now)
        self._process_events()

    def _disconnected(self, connection: Connection) -> None:
        peer = connection.remote_peer
        if self.host.connections(peer):
            return
        key = peer.to_bytes()
        writer = self._writers.pop(key, None)
        if writer is None:
            return
        writer.cancel()
        self._stream_failures.pop(key, None)
        metrics.RELAY_STREAM_BACKOFF.set(self.unopened_streams())
        self._limiter.forget(key)
        self.router.remove_peer(key, self._now())
        metrics.RELAY_PEERS.set(len(self._writers))
        self._process_events()

    def _enqueue(self, key: bytes, rpc: bytes) -> None:
        writer = self._writers.get(key)
        if writer is None:
            return
        if not writer.enqueue(rpc):
            metrics.RELAY_DROPPED_RPCS.inc()

    async def _inbound(self, stream: Stream) -> None:
        """The peer's stream of RPCs to us. Each chunk is handled as it arrives, in the
        connection's read loop (no task switch per chunk); a framing error (an RPC over
        ``max_rpc_size``, a bad length prefix) comes out of ``read`` and resets the stream."""
        key = stream.connection.remote_peer.to_bytes()
        reader = LengthPrefixedReader(self.config.gossipsub.max_rpc_size)
        router = self.router

        def receive(chunk: bytes) -> None:
            if key not in self._writers:
                self._add_peer(stream.connection.remote_peer, stream.connection)
            try:
                for rpc in reader.feed(chunk):
                    if self.config.faults is not None:
                        self._receive_with_faults(key, rpc)
                        continue
                    try:
                        router.receive_rpc(key, rpc, self._now())
                    except RemoteProtocolError as exc:
                        log.debug("bad RPC from %s: %s", stream.connection.remote_peer, exc)
            finally:
                self._process_events()

        stream.set_receiver(receive)
        while await stream.read():
            pass  # nothing is kept for read(): it returns at the end of the stream
        await stream.close()

    def _receive_with_faults(self, key: bytes, rpc: bytes) -> None:
        """Faults hit the messages an RPC carries; its subscriptions and control pass, as a
        TCP link would never lose them."""
        assert self.config.faults is not None
        faults = self._faults.get(key)
        if faults is None:
            seed = self.config.faults.seed
            rng = random.Random(
                None if seed is None else hashlib.sha256(b"%d" % seed + key).digest()
            )
            faults = self._faults[key] = LinkFaults(self.config.faults, rng)
        try:
            decoded = rpc_pb2.RPC.FromString(rpc)
        except ProtobufDecodeError:
            self._receive_late(key, rpc)  # the router reports it
            return
        messages = list(decoded.publish)
        if not messages:
            self._receive_late(key, rpc)
            return
        del decoded.publish[:]
        if decoded.subscriptions or decoded.HasField("control"):
            self._receive_late(key, decoded.SerializeToString())
        loop = asyncio.get_running_loop()
        for message in messages:
            before = dataclasses.astuple(faults.counts)
            for delay, frame in faults.apply(rpc_pb2.RPC(publish=[message]).SerializeToString()):
                if delay:
                    loop.call_later(delay, self._receive_late, key, frame)
                else:
                    self._receive_late(key, frame)
            after = dataclasses.astuple(faults.counts)
            for name, old, new in zip(FAULT_KINDS, before, after, strict=True):
                if new > old:
                    metrics.RELAY_FAULTS.labels(name).inc(new - old)

    def _receive_late(self, key: bytes, rpc: bytes) -> None:
        if key not in self._writers:
            return  # the peer left meanwhile
        try:
            self.router.receive_rpc(key, rpc, self._now())
        except RemoteProtocolError as exc:
            log.debug("bad RPC: %s", exc)
        self._process_events()

    def fault_counts(self) -> dict[str, int]:
        """What the injected faults did, summed over links."""
        total: collections.Counter[str] = collections.Counter()
        for faults in self._faults.values():
            total.update(dataclasses.asdict(faults.counts))
        return dict(total)

    async def _heartbeat_loop(self) -> None:
        interval = self.config.gossipsub.heartbeat_interval
        while True:
            await asyncio.sleep(interval)
            self.router.heartbeat(self._now())
            self._process_events()
            metrics.RELAY_SEND_QUEUE.set(self.send_queue_bytes())
            metrics.RELAY_STREAM_BACKOFF.set(self.unopened_streams())

    # -- waiting helpers for callers ----------------------------------------------------------

    def mesh_size(self, pubsub_topic: str) -> int:
        return len(self.router.mesh_peers(pubsub_topic))

    def unopened_streams(self) -> int:
        """Relay peers whose outgoing stream is not open yet (opening, or waiting out the
        back-off after a failure)."""
        return sum(1 for writer in self._writers.values() if writer.stream is None)

    def send_queue_bytes(self) -> int:
        """Bytes queued for peers and not yet written: what a fast publisher waits on."""
        return sum(writer.queued_bytes for writer in self._writers.values())

    def relay_peers(self) -> list[PeerId]:
        return [writer.peer for writer in self._writers.values()]

    def peer_score(self, peer: PeerId) -> float:
        """``peer``'s gossipsub score now (gossipsub-v1.1.md "The Score Function"), read on
        the router's own monotonic clock: a caller passing another clock's time gets a
        meaningless time in mesh (P1). 0.0 for a peer the router does not know."""
        return self.router.peer_score(peer.to_bytes(), self._now())

    def peer_scores(self) -> dict[PeerId, float]:
        """The gossipsub score of every relay peer, as :meth:`peer_score`."""
        now = self._now()
        return {w.peer: self.router.peer_score(key, now) for key, w in self._writers.items()}
