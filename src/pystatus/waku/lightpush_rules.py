"""WAKU2-LIGHTPUSH, the service side's rules (sans-IO): which status code a push earns.

Light push v3 (the RFC's "Light Push Response" status codes) is answered from one rule set
whether a request came over v3, over v2 (whose reply keeps only success and a text) or from
this node's own REST API. Nothing here reads a clock, touches a socket or counts a metric: the
adapter (:mod:`pystatus.waku.lightpush_server`) passes ``now`` (monotonic seconds), does the
relaying in between :meth:`LightPushRules.admit` and :meth:`LightPushRules.published`, and
counts what comes back. js-waku 0.0.36 counts only 200 as success and retries the rest, so a
push that can never succeed must be answered with a 4xx, not 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pystatus.p2p.peer_id import PeerId
from pystatus.waku.errors import (
    DecodeError,
    InvalidMessage,
    InvalidTopic,
    LocalWakuError,
    MessageTooLarge,
)
from pystatus.waku.lightpush_codec import LightPushRequest, LightPushResponse, StatusCode
from pystatus.waku.message import MAX_MESSAGE_SIZE, WakuMessage
from pystatus.waku.rate_limit import PeerRateLimiter

Publish = Callable[[str, WakuMessage], Awaitable[int]]
"""Relay a message on a pubsub topic and return how many relay peers took it.

Raises :class:`InvalidMessage` or :class:`LocalWakuError` for a message the network's rules
refuse.
"""

ResolveTopic = Callable[[str | None, WakuMessage], str]
"""The pubsub topic a push goes to (the request's, or auto-sharded from its content topic).

Raises :class:`InvalidTopic` for one the node does not serve.
"""


@dataclass(frozen=True, slots=True)
class Admitted:
    """A push that passed the rules: relay ``message`` on ``pubsub_topic``."""

    pubsub_topic: str
    message: WakuMessage


def decode_request(data: bytes, *, v2: bool) -> LightPushRequest | LightPushResponse:
    """The request in ``data`` (v3's form, or v2's ``PushRpc``), or the response refusing it:
    413 for a message over the decoder's size cap, 400 for anything else malformed (with an
    empty request id, as none could be read). Never raises."""
    try:
        return LightPushRequest.from_v2_bytes(data) if v2 else LightPushRequest.from_bytes(data)
    except DecodeError as exc:
        status = (
            StatusCode.PAYLOAD_TOO_LARGE
            if isinstance(exc, MessageTooLarge)
            else StatusCode.BAD_REQUEST
        )
        return LightPushResponse("", status, f"bad request: {exc}")


class LightPushRules:
    """The checks a push passes before it is relayed, and the answer after.

    ``max_message_size`` is in bytes (the encoded Waku message); ``peer_rate`` requests per
    second per peer with bursts of ``peer_burst`` (a rate of zero or less: no limit).
    """

    def __init__(
        self,
        *,
        resolve_topic: ResolveTopic,
        max_message_size: int = MAX_MESSAGE_SIZE,
        peer_rate: float = 10.0,
        peer_burst: float = 30.0,
    ) -> None:
        self.max_message_size = max_message_size
        self.limiter = PeerRateLimiter(peer_rate, peer_burst)
        self._resolve_topic = resolve_topic

    def admit(
        self, request: LightPushRequest, peer: PeerId | None, now: float
    ) -> Admitted | LightPushResponse:
        """Where to relay ``request``, or the response refusing it (429, 400, 413, 421).

        ``peer`` None is a local caller (the REST API), which no rate limit applies to; ``now``
        is monotonic seconds. Never raises.
        """
        if peer is not None and not self.limiter.allow(peer, now):
            return self._refuse(request, StatusCode.TOO_MANY_REQUESTS, "too many requests")
        message = request.message
        if message is None:
            return self._refuse(request, StatusCode.BAD_REQUEST, "the request carries no message")
        size = len(message.encode())
        if size > self.max_message_size:
            return self._refuse(
                request,
                StatusCode.PAYLOAD_TOO_LARGE,
                f"message is {size} bytes, more than {self.max_message_size}",
            )
        try:
            topic = self._resolve_topic(request.pubsub_topic, message)
        except InvalidTopic as exc:
            return self._refuse(request, StatusCode.UNSUPPORTED_PUBSUB_TOPIC, str(exc))
        return Admitted(topic, message)

    def published(self, request: LightPushRequest, peers: int) -> LightPushResponse:
        """The answer once the relay took the message to ``peers`` relay peers: 200 with the
        count, or 503 when no peer was there to take it."""
        if peers == 0:
            return self._refuse(
                request, StatusCode.NO_PEERS_TO_RELAY, "no relay peers on the message's shard"
            )
        return LightPushResponse(request.request_id, StatusCode.SUCCESS, "", peers)

    def refused_by_relay(
        self, request: LightPushRequest, exc: InvalidMessage | LocalWakuError
    ) -> LightPushResponse:
        """The answer when the relay's validation refused the message: the client's fault."""
        return self._refuse(request, StatusCode.BAD_REQUEST, f"invalid message: {exc}")

    @staticmethod
    def _refuse(request: LightPushRequest, status: StatusCode, why: str) -> LightPushResponse:
        return LightPushResponse(request.request_id, status, why)
