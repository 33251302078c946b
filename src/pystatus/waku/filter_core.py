"""WAKU2-FILTER v2's messages and the service side's rules (sans-IO).

The wire forms of ``FilterSubscribeRequest``, ``FilterSubscribeResponse`` and ``MessagePush``,
and :class:`FilterSubscriptions`: who subscribed to what, with nwaku's limits, time passed in
(monotonic seconds). :mod:`pystatus.waku.filter` holds the asyncio adapters around them.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from pystatus.p2p.peer_id import PeerId
from pystatus.waku.errors import DecodeError, RequestRefused
from pystatus.waku.message import MAX_DECODE_SIZE, WakuMessage
from pystatus.waku.proto import waku_filter_pb2
from pystatus.waku.wire import parse

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


FilterError = RequestRefused
"""A filter request was refused; the old name of :class:`~pystatus.waku.errors.RequestRefused`."""


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

    def __contains__(self, peer: object) -> bool:
        return peer in self._subscribers

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
