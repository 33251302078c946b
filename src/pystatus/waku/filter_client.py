"""WAKU2-FILTER v2, the light client's asyncio adapter: subscribe, unsubscribe and ping at
service nodes with :func:`~pystatus.waku.wire.request`, receive their pushes, and keep the
subscriptions alive with a ping every 60 s (re-subscribing where the node forgot us: 404).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.waku import metrics, wire
from pystatus.waku.errors import DecodeError
from pystatus.waku.filter_codec import (
    FILTER_PUSH_PROTOCOL_ID,
    FILTER_SUBSCRIBE_PROTOCOL_ID,
    KEEPALIVE_INTERVAL,
    MAX_CONTENT_TOPICS_PER_REQUEST,
    MAX_PUSH_SIZE,
    MAX_REQUEST_SIZE,
    REQUEST_TIMEOUT,
    Criterion,
    FilterError,
    FilterRequest,
    FilterResponse,
    RequestType,
    decode_push,
)
from pystatus.waku.message import WakuMessage

log = logging.getLogger(__name__)

__all__ = ["FilterClient", "FilterPush"]


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
        """Send one request; raises :class:`FilterError` for a non-2xx answer.

        A subscription also mounts the push handler when :meth:`start` has not: without it
        every push would be refused at protocol negotiation, and lost without a word (go-waku
        logs "protocols not supported" and drops the message).
        """
        if (
            request.type is RequestType.SUBSCRIBE
            and FILTER_PUSH_PROTOCOL_ID not in self.host.protocols
        ):
            self.host.set_stream_handler(FILTER_PUSH_PROTOCOL_ID, self._receive)
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
