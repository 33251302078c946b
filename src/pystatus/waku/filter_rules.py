"""WAKU2-FILTER v2, the service side's rules (sans-IO): who subscribed to what, and the answer
to one request's bytes.

Nothing here reads a clock, touches a socket or counts a metric: time comes in as ``now``
(monotonic seconds, the adapter's clock) and :func:`answer_request` returns what happened for
the adapter (:mod:`pystatus.waku.filter_server`) to count. Limits follow nwaku's
``waku_filter_v2`` (``subscriptions.nim``): 100 content topics per request, 1,000 subscribers,
1,000 criteria per subscriber, subscriptions dropped 300 s after the subscriber's last request.
Status codes are the RFC's (12/WAKU2-FILTER, "Filter Subscribe Response").
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pystatus.p2p.peer_id import PeerId
from pystatus.waku.errors import DecodeError
from pystatus.waku.filter_codec import (
    MAX_CONTENT_TOPICS_PER_REQUEST,
    Criterion,
    FilterRequest,
    FilterResponse,
    RequestType,
)
from pystatus.waku.rate_limit import PeerRateLimiter


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
    """Who wants what. ``handle`` answers a request; ``match`` finds a message's subscribers.

    Bounded by ``limits``: at most ``max_subscribers`` peers (then 503, as nwaku answers) of
    at most ``max_criteria_per_peer`` (pubsub topic, content topic) pairs each (then 400).
    ``serves_pubsub_topic`` says whether this node relays a pubsub topic (else 400).
    """

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
        """Apply one decoded request from ``peer`` at ``now`` (monotonic seconds); returns the
        response with the RFC's status code (200, 400, 404 or 503). Never raises."""

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

    def next_deadline(self) -> float | None:
        """When the next subscriber expires (monotonic seconds), or None with no subscribers;
        the adapter calls :meth:`expire` then."""
        if not self._subscribers:
            return None
        oldest = min(s.last_seen for s in self._subscribers.values())
        return oldest + self.limits.subscription_timeout

    def expire(self, now: float) -> list[PeerId]:
        """Forget subscribers silent for the timeout or longer at ``now`` (monotonic seconds),
        so a subscriber is gone at its :meth:`next_deadline`; returns who was forgotten."""
        cutoff = now - self.limits.subscription_timeout
        stale = [peer for peer, s in self._subscribers.items() if s.last_seen <= cutoff]
        for peer in stale:
            self.remove(peer)
        return stale

    def match(self, pubsub_topic: str, content_topic: str) -> Iterable[PeerId]:
        return self._index.get((pubsub_topic, content_topic), ())


@dataclass(frozen=True, slots=True)
class FilterAnswer:
    """What :func:`answer_request` decided: the response to send, the request's type (None
    when the bytes did not decode), and ``refusal``, a metric label (``malformed``,
    ``rate_limited`` or ``status_<code>``) when the answer is not 2xx."""

    response: FilterResponse
    request_type: RequestType | None = None
    refusal: str | None = None


def answer_request(
    subscriptions: FilterSubscriptions,
    limiter: PeerRateLimiter,
    peer: PeerId,
    data: bytes,
    now: float,
) -> FilterAnswer:
    """Decode one ``FilterSubscribeRequest`` from ``peer`` and apply the rate limit and the
    rules; ``now`` is monotonic seconds. Malformed bytes are answered 400 (with an empty
    request id, as none could be read), a peer over its rate 429; never raises."""
    try:
        request = FilterRequest.from_bytes(data)
    except DecodeError as exc:
        return FilterAnswer(FilterResponse("", 400, f"bad request: {exc}"), refusal="malformed")
    if not limiter.allow(peer, now):
        return FilterAnswer(
            FilterResponse(request.request_id, 429, "too many requests"),
            request.type,
            "rate_limited",
        )
    response = subscriptions.handle(peer, request, now)
    refusal = None if response.ok else f"status_{response.status_code}"
    return FilterAnswer(response, request.type, refusal)
