"""WAKU2-FILTER v2 (12/WAKU2-FILTER): light clients receive only the content topics they
subscribed to.

A subscriber sends one ``FilterSubscribeRequest`` per stream on
``/vac/waku/filter-subscribe/2.0.0-beta1`` and reads one response. The service node pushes each
matching message on a new ``/vac/waku/filter-push/2.0.0-beta1`` stream over the subscriber's
existing connection: light clients have no listen address to dial.

The protocol is split by concern, and every name stays importable from here:
:mod:`~pystatus.waku.filter_codec` (wire messages), :mod:`~pystatus.waku.filter_rules`
(subscriptions and limits, sans-IO), :mod:`~pystatus.waku.filter_server` and
:mod:`~pystatus.waku.filter_client` (the asyncio adapters).
"""

from __future__ import annotations

from pystatus.waku.filter_client import FilterClient, FilterPush
from pystatus.waku.filter_codec import (
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
    FilterRequest,
    FilterResponse,
    RequestType,
    decode_push,
    encode_push,
)
from pystatus.waku.filter_rules import FilterAnswer, FilterLimits, FilterSubscriptions
from pystatus.waku.filter_server import FilterServer

__all__ = [
    "FILTER_PUSH_PROTOCOL_ID",
    "FILTER_SUBSCRIBE_PROTOCOL_ID",
    "KEEPALIVE_INTERVAL",
    "MAX_CONTENT_TOPICS_PER_REQUEST",
    "MAX_OPEN_PUSH_STREAMS",
    "MAX_PUSH_SIZE",
    "MAX_REQUEST_SIZE",
    "PUSH_CLOSE_GRACE",
    "REQUEST_TIMEOUT",
    "Criterion",
    "FilterAnswer",
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
