"""WAKU2-FILTER v2: light clients receive only the content topics they subscribed to.

A subscriber sends one ``FilterSubscribeRequest`` per stream on
``/vac/waku/filter-subscribe/2.0.0-beta1`` and reads one response. The service node pushes each
matching message on a new ``/vac/waku/filter-push/2.0.0-beta1`` stream over the subscriber's
existing connection: light clients have no listen address to dial.

:class:`FilterSubscriptions` holds the rules and the state (sans-IO: time is passed in);
:class:`FilterServer` and :class:`FilterClient` are the asyncio adapters. Limits follow nwaku:
100 content topics per request, 1,000 criteria per subscriber, subscriptions expire 5 minutes
after the subscriber's last request, a per-peer request rate.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.waku import metrics, wire
from pystatus.waku.errors import DecodeError, WakuProtocolError
from pystatus.waku.message import MAX_DECODE_SIZE, WakuMessage
from pystatus.waku.proto import waku_filter_pb2
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay import RelayedMessage
from pystatus.waku.wire import parse

log = logging.getLogger(__name__)

FILTER_SUBSCRIBE_PROTOCOL_ID = "/vac/waku/filter-subscribe/2.0.0-beta1"
FILTER_PUSH_PROTOCOL_ID = "/vac/waku/filter-push/2.0.0-beta1"
MAX_CONTENT_TOPICS_PER_REQUEST = 100
MAX_REQUEST_SIZE = 64 * 1024
MAX_PUSH_SIZE = MAX_DECODE_SIZE + 64 * 1024
REQUEST_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 60.0
MAX_OPEN_PUSH_STREAMS = 32
PUSH_CLOSE_GRACE = 5.0


class RequestType(IntEnum):
    SUBSCRIBER_PING = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2
    UNSUBSCRIBE_ALL = 3


class FilterError(WakuProtocolError):
    """A filter request failed; ``status`` is the code the service node answered."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


Criterion = tuple[str, str]
"""(pubsub topic, content topic)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterRequest:
    type: RequestType
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    pubsub_topic: str | None = None
    content_topics: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        request = waku_filter_pb2.FilterSubscribeRequest(
            request_id=self.request_id,
            filter_subscribe_type=int(self.type),  # type: ignore[arg-type]
            content_topics=self.content_topics,
        )
        if self.pubsub_topic is not None:
            request.pubsub_topic = self.pubsub_topic
        return request.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> FilterRequest:
        request = parse(waku_filter_pb2.FilterSubscribeRequest(), data, "filter request")
        try:
            kind = RequestType(request.filter_subscribe_type)
        except ValueError:
            raise DecodeError(
                f"unknown filter request type {request.filter_subscribe_type}"
            ) from None
        return cls(
            type=kind,
            request_id=request.request_id,
            pubsub_topic=request.pubsub_topic if request.HasField("pubsub_topic") else None,
            content_topics=tuple(request.content_topics),
        )


@dataclass(frozen=True, slots=True)
class FilterResponse:
    request_id: str
    status_code: int
    status_desc: str = ""

    def to_bytes(self) -> bytes:
        return waku_filter_pb2.FilterSubscribeResponse(
            request_id=self.request_id, status_code=self.status_code, status_desc=self.status_desc
        ).SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> FilterResponse:
        response = parse(waku_filter_pb2.FilterSubscribeResponse(), data, "filter response")
        return cls(response.request_id, response.status_code, response.status_desc)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def encode_push(pubsub_topic: str, encoded_message: bytes) -> bytes:
    push = waku_filter_pb2.MessagePush(pubsub_topic=pubsub_topic)
    push.waku_message.ParseFromString(encoded_message)
    return push.SerializeToString()


def decode_push(data: bytes) -> tuple[str, WakuMessage]:
    """A push's pubsub topic and message; raises :class:`DecodeError`."""
    push = parse(waku_filter_pb2.MessagePush(), data, "filter push")
    if not push.HasField("waku_message") or not push.pubsub_topic:
        raise DecodeError("a filter push carries a message and its pubsub topic")
    return push.pubsub_topic, WakuMessage.decode(push.waku_message.SerializeToString())


# -- the service side's rules and state (sans-IO) ----------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterLimits:
    max_subscribers: int = 1000
    max_criteria_per_peer: int = 1000
    subscription_timeout: float = 300.0
    peer_rate: float = 10.0
    """Subscribe, unsubscribe and ping requests per second a peer may make (then 429)."""
    peer_burst: float = 50.0
    push_queue: int = 1000
    """Pushes waiting per subscriber before the oldest are dropped."""


class _Subscriber:
    __slots__ = ("criteria", "last_seen")

    def __init__(self, now: float) -> None:
        self.criteria: set[Criterion] = set()
        self.last_seen = now


class FilterSubscriptions:
    """Who wants what. ``handle`` answers a request; ``match`` finds a message's subscribers."""

    def __init__(
        self,
        limits: FilterLimits | None = None,
        *,
        serves_pubsub_topic: Callable[[str], bool] = lambda topic: True,
    ) -> None:
        self.limits = limits or FilterLimits()
        self._serves = serves_pubsub_topic
        self._subscribers: dict[PeerId, _Subscriber] = {}
        self._index: dict[Criterion, set[PeerId]] = collections.defaultdict(set)

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def criteria_count(self) -> int:
        return sum(len(s.criteria) for s in self._subscribers.values())

    def subscribers(self) -> list[PeerId]:
        return list(self._subscribers)

    def criteria_of(self, peer: PeerId) -> set[Criterion]:
        subscriber = self._subscribers.get(peer)
        return set(subscriber.criteria) if subscriber is not None else set()

    def handle(self, peer: PeerId, request: FilterRequest, now: float) -> FilterResponse:
        def answer(status: int, description: str) -> FilterResponse:
            return FilterResponse(request.request_id, status, description)

        subscriber = self._subscribers.get(peer)
        if request.type is RequestType.SUBSCRIBER_PING:
            if subscriber is None:
                return answer(404, "peer has no subscriptions")
            subscriber.last_seen = now
            return answer(200, "OK")
        if request.type is RequestType.UNSUBSCRIBE_ALL:
            if subscriber is None:
                return answer(404, "peer has no subscriptions")
            self.remove(peer)
            return answer(200, "OK")
        if not request.pubsub_topic or not request.content_topics:
            return answer(400, "pubsub topic and content topics are required")
        if len(request.content_topics) > MAX_CONTENT_TOPICS_PER_REQUEST:
            return answer(
                400, f"at most {MAX_CONTENT_TOPICS_PER_REQUEST} content topics per request"
            )
        wanted = {(request.pubsub_topic, topic) for topic in request.content_topics}
        if request.type is RequestType.UNSUBSCRIBE:
            if subscriber is None or not wanted & subscriber.criteria:
                return answer(404, "peer has no such subscription")
            subscriber.last_seen = now
            for criterion in wanted & subscriber.criteria:
                self._drop(peer, criterion)
            if not subscriber.criteria:
                del self._subscribers[peer]
            return answer(200, "OK")
        if not self._serves(request.pubsub_topic):
            return answer(400, f"this node does not serve {request.pubsub_topic}")
        if any(not topic for topic in request.content_topics):
            return answer(400, "a content topic is empty")
        if subscriber is None:
            if len(self._subscribers) >= self.limits.max_subscribers:
                return answer(503, "node has reached its maximum number of subscribers")
            subscriber = self._subscribers[peer] = _Subscriber(now)
        new = wanted - subscriber.criteria
        if len(subscriber.criteria) + len(new) > self.limits.max_criteria_per_peer:
            if not subscriber.criteria:
                del self._subscribers[peer]
            return answer(
                400, f"at most {self.limits.max_criteria_per_peer} filter criteria per peer"
            )
        subscriber.last_seen = now
        for criterion in new:
            subscriber.criteria.add(criterion)
            self._index[criterion].add(peer)
        return answer(200, "OK")

    def _drop(self, peer: PeerId, criterion: Criterion) -> None:
        subscriber = self._subscribers[peer]
        subscriber.criteria.discard(criterion)
        peers = self._index.get(criterion)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self._index[criterion]

    def remove(self, peer: PeerId) -> None:
        subscriber = self._subscribers.get(peer)
        if subscriber is None:
            return
        for criterion in list(subscriber.criteria):
            self._drop(peer, criterion)
        del self._subscribers[peer]

    def expire(self, now: float) -> list[PeerId]:
        """Forget subscribers silent for longer than the timeout; returns who was forgotten."""
        deadline = now - self.limits.subscription_timeout
        stale = [peer for peer, s in self._subscribers.items() if s.last_seen < deadline]
        for peer in stale:
            self.remove(peer)
        return stale

    def match(self, pubsub_topic: str, content_topic: str) -> Iterable[PeerId]:
        return self._index.get((pubsub_topic, content_topic), ())


# -- asyncio adapters --------------------------------------------------------------------------


class _PushQueue:
    """One subscriber's pending pushes, written in order by one task.

    Each push is a stream we write and close; the subscriber should close its side once it
    has read (nwaku and pystatus do). js-waku never does, and refuses new push streams once
    100 are open, so a push stream still open after a grace period, or the oldest one when
    too many are, is reset: by then the subscriber has read it.
    """

    __slots__ = ("items", "open", "ready", "task")

    def __init__(self, capacity: int) -> None:
        self.items: collections.deque[bytes] = collections.deque(maxlen=capacity)
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.open: dict[Stream, asyncio.Task[None]] = {}

    def cancel(self) -> list[asyncio.Task[None]]:
        tasks = [*self.open.values(), *([self.task] if self.task is not None else [])]
        for task in tasks:
            task.cancel()
        return tasks


class FilterServer:
    """Serves subscriptions and pushes what ``relay`` delivers to matching subscribers."""

    def __init__(
        self,
        host: Host,
        *,
        limits: FilterLimits | None = None,
        serves_pubsub_topic: Callable[[str], bool] = lambda topic: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.subscriptions = FilterSubscriptions(limits, serves_pubsub_topic=serves_pubsub_topic)
        self.limits = self.subscriptions.limits
        self._clock = clock
        self._limiter = PeerRateLimiter(self.limits.peer_rate, self.limits.peer_burst)
        self._queues: dict[PeerId, _PushQueue] = {}
        self._tasks = TaskSet("filter")

    def start(self) -> None:
        self.host.set_stream_handler(FILTER_SUBSCRIBE_PROTOCOL_ID, self._serve)
        self._tasks.spawn(self._expiry_loop(), name="filter expiry")

    async def stop(self) -> None:
        self.host.remove_stream_handler(FILTER_SUBSCRIBE_PROTOCOL_ID)
        tasks = [task for queue in self._queues.values() for task in queue.cancel()]
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        await self._tasks.cancel_all()

    def queued_pushes(self) -> int:
        return sum(len(q.items) for q in self._queues.values())

    def _update_gauges(self) -> None:
        metrics.FILTER_SUBSCRIBERS.set(len(self.subscriptions))
        metrics.FILTER_CRITERIA.set(self.subscriptions.criteria_count)

    async def _serve(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await stream.read_message(MAX_REQUEST_SIZE)
                metrics.PROTOCOL_MESSAGES.labels("filter", "in").inc()
                metrics.PROTOCOL_BYTES.labels("filter", "in").inc(len(data))
                response = self.respond(peer, data)
                encoded = response.to_bytes()
                metrics.PROTOCOL_BYTES.labels("filter", "out").inc(len(encoded))
                await stream.write_message(encoded)
                await stream.close()
        except (TimeoutError, P2PError) as exc:
            # js-waku closes an unsubscribe stream without reading the reply: not an error.
            metrics.PROTOCOL_ERRORS.labels("filter", type(exc).__name__).inc()
            log.debug("filter request from %s ended early: %r", peer, exc)
            await stream.reset()

    def respond(self, peer: PeerId, data: bytes) -> FilterResponse:
        """Answer one request's bytes from ``peer`` (decoding, rate limit, rules)."""
        try:
            request = FilterRequest.from_bytes(data)
        except DecodeError as exc:
            metrics.PROTOCOL_ERRORS.labels("filter", "malformed").inc()
            return FilterResponse("", 400, f"bad request: {exc}")
        now = self._clock()
        if not self._limiter.allow(peer, now):
            metrics.PROTOCOL_ERRORS.labels("filter", "rate_limited").inc()
            return FilterResponse(request.request_id, 429, "too many requests")
        response = self.subscriptions.handle(peer, request, now)
        metrics.FILTER_REQUESTS.labels(request.type.name.lower()).inc()
        if not response.ok:
            metrics.PROTOCOL_ERRORS.labels("filter", f"status_{response.status_code}").inc()
        if peer not in self.subscriptions.subscribers():
            self._drop_queue(peer)
        self._update_gauges()
        return response

    def _drop_queue(self, peer: PeerId) -> None:
        queue = self._queues.pop(peer, None)
        if queue is not None:
            queue.cancel()

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self.limits.subscription_timeout / 4))
            for peer in self.subscriptions.expire(self._clock()):
                metrics.FILTER_EXPIRED.inc()
                self._drop_queue(peer)
            self._update_gauges()

    # -- pushing --------------------------------------------------------------------------

    def on_relayed(self, item: RelayedMessage) -> None:
        """Relay observer: queue a push to every subscriber of the message's topics."""
        peers = self.subscriptions.match(item.pubsub_topic, item.message.content_topic)
        if not peers:
            return
        push = encode_push(item.pubsub_topic, item.message.encode())
        for peer in peers:
            queue = self._queues.get(peer)
            if queue is None:
                queue = self._queues[peer] = _PushQueue(self.limits.push_queue)
                queue.task = asyncio.get_running_loop().create_task(
                    self._push_loop(peer, queue), name=f"filter push {peer}"
                )
            if len(queue.items) == queue.items.maxlen:
                metrics.FILTER_PUSHES_DROPPED.labels("queue_full").inc()
            queue.items.append(push)
            queue.ready.set()
        metrics.FILTER_PUSH_QUEUE.set(self.queued_pushes())

    async def _push_loop(self, peer: PeerId, queue: _PushQueue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await queue.ready.wait()
            queue.ready.clear()
            while queue.items:
                data = queue.items.popleft()
                connections = self.host.connections(peer)
                if not connections:
                    metrics.FILTER_PUSHES_DROPPED.labels("not_connected").inc()
                    continue
                if len(queue.open) >= MAX_OPEN_PUSH_STREAMS:
                    queue.open.pop(next(iter(queue.open))).cancel()
                try:
                    stream = await self._push(connections[0], data)
                except (TimeoutError, P2PError) as exc:
                    metrics.FILTER_PUSHES_DROPPED.labels("stream_failed").inc()
                    log.debug("filter push to %s failed: %r", peer, exc)
                    continue
                queue.open[stream] = loop.create_task(
                    self._finish(stream, queue), name=f"filter push {peer}"
                )

    async def _push(self, connection: Connection, data: bytes) -> Stream:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            stream = await self.host.new_stream(connection, [FILTER_PUSH_PROTOCOL_ID])
            try:
                await stream.write_message(data)
                await stream.close()
            except BaseException:
                await stream.reset()
                raise
        metrics.PROTOCOL_MESSAGES.labels("filter", "out").inc()
        metrics.PROTOCOL_BYTES.labels("filter", "out").inc(len(data))
        return stream

    async def _finish(self, stream: Stream, queue: _PushQueue) -> None:
        """Wait for the subscriber to close its side of a push stream; reset it if it won't
        (or when this wait is cancelled: too many open, or the subscriber is gone)."""
        closed = False
        try:
            async with asyncio.timeout(PUSH_CLOSE_GRACE):
                await stream.read_to_eof(64)
            closed = True
        except (TimeoutError, P2PError):
            pass
        finally:
            queue.open.pop(stream, None)
            if not closed:
                await stream.reset()


@dataclass(frozen=True, slots=True)
class FilterPush:
    pubsub_topic: str
    message: WakuMessage
    peer: PeerId


class FilterClient:
    """Subscribes at service nodes and hands their pushes to ``on_push`` callbacks.

    Pushes are accepted only from peers this client subscribed at, and only for criteria it
    asked for.
    """

    def __init__(self, host: Host) -> None:
        self.host = host
        self._listeners: list[Callable[[FilterPush], None]] = []
        self._criteria: dict[PeerId, set[Criterion]] = collections.defaultdict(set)
        self._tasks = TaskSet("filter client")

    def start(self, *, keepalive: float | None = KEEPALIVE_INTERVAL) -> None:
        self.host.set_stream_handler(FILTER_PUSH_PROTOCOL_ID, self._receive)
        if keepalive is not None:
            self._tasks.spawn(self._keepalive_loop(keepalive), name="filter keepalive")

    async def stop(self) -> None:
        self.host.remove_stream_handler(FILTER_PUSH_PROTOCOL_ID)
        await self._tasks.cancel_all()

    def on_push(self, listener: Callable[[FilterPush], None]) -> None:
        self._listeners.append(listener)

    def subscriptions(self) -> dict[PeerId, set[Criterion]]:
        return {peer: set(c) for peer, c in self._criteria.items() if c}

    async def request(self, peer: PeerId | Multiaddr | str, request: FilterRequest) -> PeerId:
        """Send one request; raises :class:`FilterError` for a non-2xx answer."""
        remote, data = await wire.request(
            self.host,
            peer,
            FILTER_SUBSCRIBE_PROTOCOL_ID,
            request.to_bytes(),
            max_response=MAX_REQUEST_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="filter",
        )
        response = FilterResponse.from_bytes(data)
        if not response.ok:
            raise FilterError(response.status_code, response.status_desc)
        self._record(remote, request)
        return remote

    def _record(self, peer: PeerId, request: FilterRequest) -> None:
        topic = request.pubsub_topic or ""
        wanted = {(topic, content) for content in request.content_topics}
        if request.type is RequestType.SUBSCRIBE:
            self._criteria[peer] |= wanted
        elif request.type is RequestType.UNSUBSCRIBE:
            self._criteria[peer] -= wanted
        elif request.type is RequestType.UNSUBSCRIBE_ALL:
            self._criteria.pop(peer, None)

    async def subscribe(
        self, peer: PeerId | Multiaddr | str, pubsub_topic: str, content_topics: Iterable[str]
    ) -> PeerId:
        return await self.request(
            peer,
            FilterRequest(
                type=RequestType.SUBSCRIBE,
                pubsub_topic=pubsub_topic,
                content_topics=tuple(content_topics),
            ),
        )

    async def unsubscribe(
        self, peer: PeerId | Multiaddr | str, pubsub_topic: str, content_topics: Iterable[str]
    ) -> PeerId:
        return await self.request(
            peer,
            FilterRequest(
                type=RequestType.UNSUBSCRIBE,
                pubsub_topic=pubsub_topic,
                content_topics=tuple(content_topics),
            ),
        )

    async def unsubscribe_all(self, peer: PeerId | Multiaddr | str) -> PeerId:
        return await self.request(peer, FilterRequest(type=RequestType.UNSUBSCRIBE_ALL))

    async def ping(self, peer: PeerId | Multiaddr | str) -> PeerId:
        return await self.request(peer, FilterRequest(type=RequestType.SUBSCRIBER_PING))

    async def _keepalive_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for peer in [p for p, c in self._criteria.items() if c]:
                try:
                    await self.ping(peer)
                except FilterError as exc:
                    if exc.status == 404:
                        await self._resubscribe(peer)
                except (TimeoutError, P2PError) as exc:
                    log.info("filter ping to %s failed: %r", peer, exc)

    async def _resubscribe(self, peer: PeerId) -> None:
        """The service node forgot us (restart, expiry): ask again for everything."""
        by_topic: dict[str, list[str]] = collections.defaultdict(list)
        for pubsub_topic, content_topic in self._criteria.get(peer, ()):
            by_topic[pubsub_topic].append(content_topic)
        for pubsub_topic, content_topics in by_topic.items():
            for start in range(0, len(content_topics), MAX_CONTENT_TOPICS_PER_REQUEST):
                chunk = content_topics[start : start + MAX_CONTENT_TOPICS_PER_REQUEST]
                try:
                    await self.subscribe(peer, pubsub_topic, chunk)
                except (FilterError, TimeoutError, P2PError) as exc:
                    log.info("filter resubscribe at %s failed: %r", peer, exc)

    async def _receive(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await stream.read_message(MAX_PUSH_SIZE)
            await stream.close()
        except (TimeoutError, P2PError) as exc:
            metrics.PROTOCOL_ERRORS.labels("filter", type(exc).__name__).inc()
            await stream.reset()
            return
        metrics.PROTOCOL_MESSAGES.labels("filter", "in").inc()
        metrics.PROTOCOL_BYTES.labels("filter", "in").inc(len(data))
        try:
            pubsub_topic, message = decode_push(data)
        except DecodeError as exc:
            metrics.PROTOCOL_ERRORS.labels("filter", "malformed_push").inc()
            log.debug("bad filter push from %s: %s", peer, exc)
            return
        if (pubsub_topic, message.content_topic) not in self._criteria.get(peer, ()):
            metrics.PROTOCOL_ERRORS.labels("filter", "unsolicited_push").inc()
            return
        push = FilterPush(pubsub_topic, message, peer)
        for listener in self._listeners:
            listener(push)
