"""WAKU2-LIGHTPUSH's wire messages: v3's ``LightPushRequest`` and ``LightPushResponse``
(``/vac/waku/lightpush/3.0.0``) and the earlier ``PushRpc`` (``/vac/waku/lightpush/2.0.0-beta1``),
their protocol ids, status codes and size limits.

Decoders take bytes from the network and raise :class:`~pystatus.waku.errors.DecodeError` (or
its :class:`~pystatus.waku.errors.MessageTooLarge`), and nothing else, for anything malformed.
The rules live in :mod:`pystatus.waku.lightpush_rules`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import IntEnum

from pystatus.waku.errors import DecodeError, RequestRefused
from pystatus.waku.message import WakuMessage
from pystatus.waku.proto import waku_lightpush_pb2
from pystatus.waku.wire import parse

LIGHTPUSH_PROTOCOL_ID = "/vac/waku/lightpush/3.0.0"
LIGHTPUSH_V2_PROTOCOL_ID = "/vac/waku/lightpush/2.0.0-beta1"
# Well over the largest message, so an oversized push is answered 413 rather than cut off
# (a server allowing larger messages reads twice its limit).
MAX_REQUEST_SIZE = 1024 * 1024
MAX_RESPONSE_SIZE = 64 * 1024
REQUEST_TIMEOUT = 30.0


class StatusCode(IntEnum):
    """Light push v3's status codes (19/WAKU2-LIGHTPUSH, "Status codes")."""

    SUCCESS = 200
    BAD_REQUEST = 400
    PAYLOAD_TOO_LARGE = 413
    INVALID_MESSAGE = 420
    UNSUPPORTED_PUBSUB_TOPIC = 421
    TOO_MANY_REQUESTS = 429
    INTERNAL_SERVER_ERROR = 500
    NO_PEERS_TO_RELAY = 503


LightPushError = RequestRefused
"""A push was refused (v2 answers map to 500); the old name of
:class:`~pystatus.waku.errors.RequestRefused`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LightPushRequest:
    """One push: ``message`` for ``pubsub_topic`` (None: the service node auto-shards it by
    content topic; v3 only). ``to_v2_bytes``/``from_v2_bytes`` give v2's ``PushRpc`` form."""

    message: WakuMessage | None
    pubsub_topic: str | None = None
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))

    def to_bytes(self) -> bytes:
        request = waku_lightpush_pb2.LightPushRequest(request_id=self.request_id)
        if self.pubsub_topic is not None:
            request.pubsub_topic = self.pubsub_topic
        if self.message is not None:
            request.message.ParseFromString(self.message.encode())
        return request.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> LightPushRequest:
        """Raises :class:`DecodeError` (:class:`~pystatus.waku.errors.MessageTooLarge` for a
        message over the decoder's cap) for malformed bytes."""
        request = parse(waku_lightpush_pb2.LightPushRequest(), data, "light push request")
        message = None
        if request.HasField("message"):
            message = WakuMessage.decode(request.message.SerializeToString())
        return cls(
            request_id=request.request_id,
            pubsub_topic=request.pubsub_topic if request.HasField("pubsub_topic") else None,
            message=message,
        )

    def to_v2_bytes(self) -> bytes:
        rpc = waku_lightpush_pb2.PushRpc(request_id=self.request_id)
        rpc.request.pubsub_topic = self.pubsub_topic or ""
        if self.message is not None:
            rpc.request.message.ParseFromString(self.message.encode())
        return rpc.SerializeToString()

    @classmethod
    def from_v2_bytes(cls, data: bytes) -> LightPushRequest:
        """As :meth:`from_bytes`, from v2's ``PushRpc``; an RPC without a request is malformed."""
        rpc = parse(waku_lightpush_pb2.PushRpc(), data, "light push request")
        if not rpc.HasField("request"):
            raise DecodeError("a light push RPC without a request")
        message = None
        if rpc.request.HasField("message"):
            message = WakuMessage.decode(rpc.request.message.SerializeToString())
        return cls(
            request_id=rpc.request_id,
            pubsub_topic=rpc.request.pubsub_topic or None,
            message=message,
        )


@dataclass(frozen=True, slots=True)
class LightPushResponse:
    """v3's answer: ``status_code`` (see :class:`StatusCode`), its text, and on success how
    many relay peers took the message. v2's form keeps only success and the text (a refusal
    reads back as 500)."""

    request_id: str
    status_code: int
    status_desc: str = ""
    relay_peer_count: int | None = None

    @property
    def ok(self) -> bool:
        return self.status_code == StatusCode.SUCCESS

    def to_bytes(self) -> bytes:
        response = waku_lightpush_pb2.LightPushResponse(
            request_id=self.request_id, status_code=self.status_code
        )
        if self.status_desc:
            response.status_desc = self.status_desc
        if self.relay_peer_count is not None:
            response.relay_peer_count = self.relay_peer_count
        return response.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> LightPushResponse:
        """Raises :class:`DecodeError` for malformed bytes."""
        response = parse(waku_lightpush_pb2.LightPushResponse(), data, "light push response")
        return cls(
            response.request_id,
            response.status_code,
            response.status_desc,
            response.relay_peer_count if response.HasField("relay_peer_count") else None,
        )

    def to_v2_bytes(self) -> bytes:
        rpc = waku_lightpush_pb2.PushRpc(request_id=self.request_id)
        rpc.response.is_success = self.ok
        if not self.ok:
            rpc.response.info = self.status_desc
        return rpc.SerializeToString()

    @classmethod
    def from_v2_bytes(cls, data: bytes) -> LightPushResponse:
        """From v2's ``PushRpc`` (success reads as 200, failure as 500); raises
        :class:`DecodeError` for malformed bytes or an RPC without a response."""
        rpc = parse(waku_lightpush_pb2.PushRpc(), data, "light push response")
        if not rpc.HasField("response"):
            raise DecodeError("a light push RPC without a response")
        status = StatusCode.SUCCESS if rpc.response.is_success else StatusCode.INTERNAL_SERVER_ERROR
        return cls(rpc.request_id, status, rpc.response.info)
