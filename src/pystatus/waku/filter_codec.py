"""WAKU2-FILTER v2's wire messages: ``FilterSubscribeRequest``, ``FilterSubscribeResponse``
and ``MessagePush`` (the RFC's ``filter.proto``), their protocol ids and size limits.

Decoders take bytes from the network and raise :class:`~pystatus.waku.errors.DecodeError`, and
nothing else, for anything malformed. The rules live in :mod:`pystatus.waku.filter_rules`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import IntEnum

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
    """``FilterSubscribeRequest.filter_subscribe_type`` (12/WAKU2-FILTER)."""

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
    """One ``FilterSubscribeRequest``: a ping (no topics), a subscription change for
    ``content_topics`` on ``pubsub_topic``, or unsubscribe-all. ``request_id`` is echoed in
    the response."""

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
        """Raises :class:`DecodeError` for malformed bytes or an unknown request type; the
        topics' presence and counts are the rules' to judge."""
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
    """One ``FilterSubscribeResponse``: the request's id, an HTTP-like ``status_code`` and
    its text."""

    request_id: str
    status_code: int
    status_desc: str = ""

    def to_bytes(self) -> bytes:
        return waku_filter_pb2.FilterSubscribeResponse(
            request_id=self.request_id, status_code=self.status_code, status_desc=self.status_desc
        ).SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> FilterResponse:
        """Raises :class:`DecodeError` for malformed bytes."""
        response = parse(waku_filter_pb2.FilterSubscribeResponse(), data, "filter response")
        return cls(response.request_id, response.status_code, response.status_desc)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def encode_push(pubsub_topic: str, encoded_message: bytes) -> bytes:
    """A ``MessagePush`` of an already encoded Waku message; every push names its pubsub
    topic (js-waku routes by it)."""
    push = waku_filter_pb2.MessagePush(pubsub_topic=pubsub_topic)
    push.waku_message.ParseFromString(encoded_message)
    return push.SerializeToString()


def decode_push(data: bytes) -> tuple[str, WakuMessage]:
    """A push's pubsub topic and message; raises :class:`DecodeError`."""
    push = parse(waku_filter_pb2.MessagePush(), data, "filter push")
    if not push.HasField("waku_message") or not push.pubsub_topic:
        raise DecodeError("a filter push carries a message and its pubsub topic")
    return push.pubsub_topic, WakuMessage.decode(push.waku_message.SerializeToString())
