"""WAKU2-LIGHTPUSH: a light client hands a message to a service node, which relays it.

Version 3 (``/vac/waku/lightpush/3.0.0``) answers with a status code and the number of relay
peers reached; the earlier ``/vac/waku/lightpush/2.0.0-beta1`` answers success and a text.
Both are served from one rule set, :func:`LightPushServer.handle`; js-waku 0.0.36 speaks v3 and
falls back to v2, and counts only status 200 as success.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics, wire
from pystatus.waku.errors import (
    DecodeError,
    InvalidMessage,
    InvalidTopic,
    LocalWakuError,
    MessageTooLarge,
    RequestRefused,
)
from pystatus.waku.message import MAX_MESSAGE_SIZE, WakuMessage
from pystatus.waku.proto import waku_lightpush_pb2
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.wire import parse

log = logging.getLogger(__name__)

LIGHTPUSH_PROTOCOL_ID = "/vac/waku/lightpush/3.0.0"
LIGHTPUSH_V2_PROTOCOL_ID = "/vac/waku/lightpush/2.0.0-beta1"
# Well over the largest message, so an oversized push is answered 413 rather than cut off
# (a server allowing larger messages reads twice its limit).
MAX_REQUEST_SIZE = 1024 * 1024
MAX_RESPONSE_SIZE = 64 * 1024
REQUEST_TIMEOUT = 30.0


class StatusCode(IntEnum):
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
        rpc = parse(waku_lightpush_pb2.PushRpc(), data, "light push response")
        if not rpc.HasField("response"):
            raise DecodeError("a light push RPC without a response")
        status = StatusCode.SUCCESS if rpc.response.is_success else StatusCode.INTERNAL_SERVER_ERROR
        return cls(rpc.request_id, status, rpc.response.info)


Publish = Callable[[str, WakuMessage], Awaitable[int]]
"""Relay a message on a pubsub topic and return how many relay peers took it.

Raises :class:`InvalidMessage` or :class:`LocalWakuError` for a message the network's rules
refuse.
"""

ResolveTopic = Callable[[str | None, WakuMessage], str]
"""The pubsub topic a push goes to (the request's, or auto-sharded from its content topic).

Raises :class:`InvalidTopic` for one the node does not serve.
"""


class LightPushServer:
    def __init__(
        self,
        host: Host,
        *,
        publish: Publish,
        resolve_topic: ResolveTopic,
        max_message_size: int = MAX_MESSAGE_SIZE,
        peer_rate: float = 10.0,
        peer_burst: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self._publish = publish
        self._resolve_topic = resolve_topic
        self._max_message_size = max_message_size
        self._max_request_size = max(MAX_REQUEST_SIZE, 2 * max_message_size)
        self._limiter = PeerRateLimiter(peer_rate, peer_burst)
        self._clock = clock

    def start(self) -> None:
        self.host.set_stream_handler(LIGHTPUSH_PROTOCOL_ID, self._serve_v3)
        self.host.set_stream_handler(LIGHTPUSH_V2_PROTOCOL_ID, self._serve_v2)

    def stop(self) -> None:
        self.host.remove_stream_handler(LIGHTPUSH_PROTOCOL_ID)
        self.host.remove_stream_handler(LIGHTPUSH_V2_PROTOCOL_ID)

    async def handle(self, request: LightPushRequest, peer: PeerId | None) -> LightPushResponse:
        """Apply the rules to one request and relay it; ``peer`` None is a local caller."""

        def answer(
            status: StatusCode, description: str = "", peers: int | None = None
        ) -> LightPushResponse:
            metrics.LIGHTPUSH_MESSAGES.labels(str(int(status))).inc()
            if status != StatusCode.SUCCESS:
                metrics.PROTOCOL_ERRORS.labels("lightpush", status.name.lower()).inc()
            return LightPushResponse(request.request_id, status, description, peers)

        if peer is not None and not self._limiter.allow(peer, self._clock()):
            return answer(StatusCode.TOO_MANY_REQUESTS, "too many requests")
        message = request.message
        if message is None:
            return answer(StatusCode.BAD_REQUEST, "the request carries no message")
        size = len(message.encode())
        if size > self._max_message_size:
            return answer(
                StatusCode.PAYLOAD_TOO_LARGE,
                f"message is {size} bytes, more than {self._max_message_size}",
            )
        try:
            topic = self._resolve_topic(request.pubsub_topic, message)
        except InvalidTopic as exc:
            return answer(StatusCode.UNSUPPORTED_PUBSUB_TOPIC, str(exc))
        try:
            peers = await self._publish(topic, message)
        except (InvalidMessage, LocalWakuError) as exc:
            return answer(StatusCode.BAD_REQUEST, f"invalid message: {exc}")
        if peers == 0:
            return answer(StatusCode.NO_PEERS_TO_RELAY, "no relay peers on the message's shard")
        return answer(StatusCode.SUCCESS, peers=peers)

    async def _serve_v3(self, stream: Stream) -> None:
        await self._serve(stream, v2=False)

    async def _serve_v2(self, stream: Stream) -> None:
        await self._serve(stream, v2=True)

    async def _serve(self, stream: Stream, *, v2: bool) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await stream.read_message(self._max_request_size)
                metrics.PROTOCOL_MESSAGES.labels("lightpush", "in").inc()
                metrics.PROTOCOL_BYTES.labels("lightpush", "in").inc(len(data))
                try:
                    request = (
                        LightPushRequest.from_v2_bytes(data)
                        if v2
                        else LightPushRequest.from_bytes(data)
                    )
                except DecodeError as exc:
                    status = (
                        StatusCode.PAYLOAD_TOO_LARGE
                        if isinstance(exc, MessageTooLarge)
                        else StatusCode.BAD_REQUEST
                    )
                    metrics.PROTOCOL_ERRORS.labels("lightpush", status.name.lower()).inc()
                    metrics.LIGHTPUSH_MESSAGES.labels(str(int(status))).inc()
                    response = LightPushResponse("", status, f"bad request: {exc}")
                else:
                    response = await self.handle(request, peer)
                encoded = response.to_v2_bytes() if v2 else response.to_bytes()
                metrics.PROTOCOL_BYTES.labels("lightpush", "out").inc(len(encoded))
                await stream.write_message(encoded)
                await stream.close()
        except (TimeoutError, P2PError) as exc:
            metrics.PROTOCOL_ERRORS.labels("lightpush", type(exc).__name__).inc()
            log.debug("light push from %s failed: %r", peer, exc)
            await stream.reset()


class LightPushClient:
    def __init__(self, host: Host) -> None:
        self.host = host

    async def push(
        self,
        peer: PeerId | Multiaddr | str,
        message: WakuMessage,
        pubsub_topic: str | None = None,
        *,
        legacy: bool = False,
    ) -> LightPushResponse:
        """Push ``message``; raises :class:`LightPushError` unless the service node took it."""
        request = LightPushRequest(message=message, pubsub_topic=pubsub_topic)
        if legacy and pubsub_topic is None:
            raise LightPushError(400, "light push v2 needs a pubsub topic")
        _, data = await wire.request(
            self.host,
            peer,
            LIGHTPUSH_V2_PROTOCOL_ID if legacy else LIGHTPUSH_PROTOCOL_ID,
            request.to_v2_bytes() if legacy else request.to_bytes(),
            max_response=MAX_RESPONSE_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="lightpush",
        )
        response = (
            LightPushResponse.from_v2_bytes(data) if legacy else LightPushResponse.from_bytes(data)
        )
        if not response.ok:
            raise LightPushError(response.status_code, response.status_desc)
        return response
