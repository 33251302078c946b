"""WAKU2-FILTER v2, the service node's asyncio adapter: serves subscribe requests with
:func:`~pystatus.waku.wire.serve_one` over the rules of :mod:`pystatus.waku.filter_rules`, and
pushes what the relay delivers on a new ``/vac/waku/filter-push/2.0.0-beta1`` stream over the
subscriber's existing connection (light clients have no listen address to dial).

A subscriber is forgotten when its last connection closes, as nwaku does since its #3267, and
otherwise 300 s after its last request; the expiry timer sleeps until the rules' next deadline.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.waku import metrics, wire
from pystatus.waku.filter_codec import (
    FILTER_PUSH_PROTOCOL_ID,
    FILTER_SUBSCRIBE_PROTOCOL_ID,
    MAX_OPEN_PUSH_STREAMS,
    MAX_REQUEST_SIZE,
    PUSH_CLOSE_GRACE,
    REQUEST_TIMEOUT,
    FilterResponse,
    encode_push,
)
from pystatus.waku.filter_rules import FilterLimits, FilterSubscriptions, answer_request
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay import RelayedMessage

log = logging.getLogger(__name__)

__all__ = ["FilterServer"]


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
    """Serves subscriptions and pushes what ``relay`` delivers to matching subscribers.

    ``clock`` gives monotonic seconds for the rules; ``serves_pubsub_topic`` says whether this
    node relays a pubsub topic. Feed it relayed messages through :meth:`on_relayed`.
    """

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
        self._timer_changed = asyncio.Event()
        self._idle = True

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
        await wire.serve_one(
            stream,
            self._answer,
            max_request=MAX_REQUEST_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="filter",
        )

    async def _answer(self, peer: PeerId, data: bytes) -> bytes:
        return self.respond(peer, data).to_bytes()

    def respond(self, peer: PeerId, data: bytes) -> FilterResponse:
        """Answer one ``FilterSubscribeRequest``'s bytes from ``peer`` (decoding, rate limit,
        rules), counting the outcome; never raises."""
        answered = answer_request(self.subscriptions, self._limiter, peer, data, self._clock())
        if answered.request_type is not None:
            metrics.FILTER_REQUESTS.labels(answered.request_type.name.lower()).inc()
        if answered.refusal is not None:
            metrics.PROTOCOL_ERRORS.labels("filter", answered.refusal).inc()
        if peer not in self.subscriptions:
            self._drop_queue(peer)
        self._update_gauges()
        if self._idle and len(self.subscriptions):
            # Later requests only push deadlines back: the timer wakes for them anyway.
            self._timer_changed.set()
        return answered.response

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
        """Sleep until the rules' next deadline (or a request that may move it), then expire."""
        while True:
            self._timer_changed.clear()
            deadline = self.subscriptions.next_deadline()
            self._idle = deadline is None
            delay = None if deadline is None else max(0.0, deadline - self._clock())
            now: float | None = None
            try:
                async with asyncio.timeout(delay):
                    await self._timer_changed.wait()
            except TimeoutError:
                # asyncio may wake a timer up to its clock resolution early: the deadline
                # counts as reached, or the loop would spin until the clock catches up.
                now = max(self._clock(), deadline or 0.0)
            for peer in self.subscriptions.expire(now if now is not None else self._clock()):
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
