"""WAKU2-FILTER v2: light clients receive only the content topics they subscribed to.

A subscriber sends one ``FilterSubscribeRequest`` per stream on
``/vac/waku/filter-subscribe/2.0.0-beta1`` and reads one response. The service node pushes each
matching message on a new ``/vac/waku/filter-push/2.0.0-beta1`` stream over the subscriber's
existing connection: light clients have no listen address to dial.

:class:`FilterSubscriptions` (in :mod:`pystatus.waku.filter_core`, with the wire messages) holds
the rules and the state (sans-IO: time is passed in); :class:`FilterServer` and
:class:`FilterClient` here are the asyncio adapters. Limits follow nwaku:
100 content topics per request, 1,000 criteria per subscriber, subscriptions expire 5 minutes
after the subscriber's last request, a per-peer request rate.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.waku import metrics, wire
from pystatus.waku.errors import DecodeError
from pystatus.waku.filter_core import (
    FILTER_PUSH_PROTOCOL_ID,
    FILTER_SUBSCRIBE_PROTOCOL_ID,
    KEEPALIVE_INTERVAL,
    MAX_CONTENT_TOPICS_PER_REQUEST,
    MAX_OPEN_PUSH_STREAMS,
    MAX_PUSH_SIZE,
    MAX_REQUEST_SIZE,
    PUSH_CLOSE_GRACE,
    REQUEST_TIMEOUT,
    Criterion,
    FilterError,
    FilterLimits,
    FilterRequest,
    FilterResponse,
    FilterSubscriptions,
    RequestType,
    decode_push,
    encode_push,
)
from pystatus.waku.message import WakuMessage
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay import RelayedMessage

log = logging.getLogger(__name__)

__all__ = [
    "FILTER_PUSH_PROTOCOL_ID",
    "FILTER_SUBSCRIBE_PROTOCOL_ID",
    "MAX_CONTENT_TOPICS_PER_REQUEST",
    "FilterClient",
    "FilterError",
    "FilterLimits",
    "FilterPush",
    "FilterRequest",
    "FilterResponse",
    "FilterServer",
    "FilterSubscriptions",
    "RequestType",
    "decode_push",
    "encode_push",
]

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
        self._running = False

    def start(self) -> None:
        self.host.set_stream_handler(FILTER_SUBSCRIBE_PROTOCOL_ID, self._serve)
        if not self._running:
            self.host.on_disconnected(self._disconnected)
        self._running = True
        self._tasks.spawn(self._expiry_loop(), name="filter expiry")

    async def stop(self) -> None:
        self._running = False
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

    def _disconnected(self, connection: Connection) -> None:
        """Forget a subscriber once its last connection closes, as nwaku does since #3267.

        A light client has no listen address, so nothing could be pushed to it until it
        dials again, and a client that comes back subscribes again; kept until expiry, its
        place would count against ``max_subscribers`` for up to five minutes.
        """
        peer = connection.remote_peer
        if not self._running or self.host.connections(peer):
            return
        if peer in self.subscriptions:
            self.subscriptions.remove(peer)
            metrics.FILTER_DISCONNECTED.inc()
            self._update_gauges()
        self._drop_queue(peer)

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
