"""The relay routes of nwaku's REST API: ``/relay/v1/...`` and ``/relay/v1/auto/...``.

Follows nwaku's ``waku/rest_api/endpoint/relay/handlers.nim`` and ``types.nim``:
subscriptions make the node relay those topics (:class:`~pystatus.node.shards.RelayedShards`),
publishing to a topic the node does not relay is 400, message bodies are read strictly (an
unknown field or a ``null`` is 400) and a timestamp absent or 0 is stamped with the node's wall
clock. Topics in paths are URL-encoded (``%2Fwaku%2F2%2Frs%2F1%2F0``), as nwaku's clients send
them. Errors answer with a status and a plain-text description, as nwaku's do.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from pystatus.api.errors import ApiError
from pystatus.api.relay_body import documented_body, read_body
from pystatus.node.node import WakuNode
from pystatus.node.shards import RelayedShards, TooManySubscriptions
from pystatus.waku.errors import InvalidTopic, LocalWakuError
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayedMessage

_TOPICS: TypeAdapter[list[str]] = TypeAdapter(
    Annotated[list[str], Field(description="topics", max_length=100)]
)

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_NOT_SUBSCRIBED: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not subscribed", "content": _TEXT}
}
_INT64 = 2**63


class RelayPostMessage(BaseModel):
    """A message to publish, as nwaku's ``RelayWakuMessage`` reads it: bytes in base64,
    ``timestamp`` in nanoseconds since the Unix epoch (absent or 0: now). A field nwaku does
    not know, a ``null`` or a value of the wrong JSON type is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    payload: str = Field(description="base64")
    contentTopic: str = Field(min_length=1)
    version: int = Field(default=0, ge=0, le=0xFFFFFFFF)
    timestamp: int = Field(default=0, ge=-_INT64, le=_INT64 - 1)
    meta: str = Field(default="", description="base64")
    ephemeral: bool = False
    proof: str = Field(default="", description="base64 RLN proof")


class RelayGetMessage(BaseModel):
    """A relayed message as nwaku's ``toRelayWakuMessage`` writes it: ``meta`` only when the
    message has one, ``timestamp`` 0 when it has none, ``proof`` always (empty: "")."""

    payload: str = Field(description="base64")
    contentTopic: str
    version: int
    timestamp: int = Field(description="nanoseconds since the Unix epoch; 0: none")
    meta: str | None = Field(default=None, description="base64; left out when empty")
    ephemeral: bool
    proof: str = Field(description="base64 RLN proof")


def _b64encode(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode()


def _relayed(message: WakuMessage) -> RelayGetMessage:
    return RelayGetMessage(
        payload=_b64encode(message.payload),
        contentTopic=message.content_topic,
        version=message.version,
        timestamp=message.timestamp or 0,
        meta=_b64encode(message.meta) if message.meta else None,
        ephemeral=message.ephemeral,
        proof=_b64encode(message.rate_limit_proof),
    )


_MESSAGE: TypeAdapter[RelayPostMessage] = TypeAdapter(RelayPostMessage)
_TOPICS_BODY = documented_body(_TOPICS)
_MESSAGE_BODY = documented_body(_MESSAGE)


def _b64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{field} is not valid base64") from None


def _message(body: RelayPostMessage) -> WakuMessage:
    """The Waku message ``body`` describes, stamped now (wall clock, ns) when its timestamp is
    absent or 0, as nwaku's ``toWakuMessage``. The content topic is taken as it is: only
    auto-sharding needs ``/app/version/name/encoding``."""
    if not body.contentTopic.strip():
        raise ApiError(400, "Field `contentTopic` is missing or empty")
    meta = _b64(body.meta, "meta")
    proof = _b64(body.proof, "proof")
    return WakuMessage(
        payload=_b64(body.payload, "payload"),
        content_topic=body.contentTopic,
        version=body.version,
        timestamp=body.timestamp or time.time_ns(),
        meta=meta or None,
        ephemeral=body.ephemeral,
        rate_limit_proof=proof or None,
    )


def _check_pubsub_topics(shards: RelayedShards, topics: list[str]) -> None:
    bad = []
    for topic in topics:
        try:
            shards.check_pubsub_topic(topic)
        except InvalidTopic as exc:
            bad.append(str(exc))
    if bad:
        raise ApiError(400, f"Invalid pubsub topic(s): {'; '.join(bad)}")


def _content_pubsub(shards: RelayedShards, content_topic: str) -> str:
    try:
        return shards.content_pubsub_topic(content_topic)
    except InvalidTopic as exc:
        raise ApiError(400, f"Autosharding error: {exc}") from None


async def _publish(node: WakuNode, pubsub_topic: str, body: RelayPostMessage) -> PlainTextResponse:
    message = _message(body)
    try:
        outcome = await node.publish(pubsub_topic, message)
    except LocalWakuError as exc:
        raise ApiError(400, f"Failed to publish: {exc}") from None
    if outcome.peers == 0:
        raise ApiError(503, "Failed to publish: no peers to relay the message to")
    return PlainTextResponse("OK")


def _subscription_routes(
    router: APIRouter,
    path: str,
    what: str,
    check: Callable[[list[str]], None],
    follow: Callable[[str], None],
    leave: Callable[[str], None],
) -> None:
    """POST and DELETE ``path``, each with a JSON list of topics (``what`` they are, for the
    documentation): every topic is checked first (400 for a bad one, nothing changed), then
    each is followed (relayed, archived, served, its messages kept for GET) or left."""

    @router.post(
        path,
        response_class=PlainTextResponse,
        openapi_extra=_TOPICS_BODY,
        description=f"Relay these {what} (join their meshes, archive and serve them) and keep"
        " their messages for GET.",
    )
    async def subscribe(request: Request) -> str:
        topics = await read_body(request, _TOPICS)
        check(topics)
        for topic in topics:
            follow(topic)
        return "OK"

    @router.delete(
        path,
        response_class=PlainTextResponse,
        openapi_extra=_TOPICS_BODY,
        description=f"Stop relaying these {what} and keeping their messages.",
    )
    async def unsubscribe(request: Request) -> str:
        topics = await read_body(request, _TOPICS)
        check(topics)
        for topic in topics:
            leave(topic)
        return "OK"


def relay_routes(node: WakuNode) -> APIRouter:
    """The relay routes of ``node``; none when its relay is off."""
    relay = APIRouter(tags=["relay"])
    shards, topic_cache, content_cache = node.shards, node.topic_cache, node.content_cache
    if shards is None or topic_cache is None or content_cache is None:  # relay is off
        return relay

    def _messages(items: list[RelayedMessage] | None, topic: str) -> list[RelayGetMessage]:
        if items is None:
            raise ApiError(404, f"Not subscribed to topic: {topic}")
        return [_relayed(item.message) for item in items]

    def check_pubsub(topics: list[str]) -> None:
        _check_pubsub_topics(shards, topics)

    def follow_pubsub(topic: str) -> None:
        shards.subscribe_pubsub_topic(topic)
        topic_cache.subscribe(topic)

    def leave_pubsub(topic: str) -> None:
        topic_cache.unsubscribe(topic)
        shards.unsubscribe_pubsub_topic(topic)

    _subscription_routes(
        relay,
        "/relay/v1/subscriptions",
        "pubsub topics",
        check_pubsub,
        follow_pubsub,
        leave_pubsub,
    )

    @relay.get(
        "/relay/v1/messages/{pubsub_topic:path}",
        responses=_NOT_SUBSCRIBED,
        response_model_exclude_none=True,
    )
    async def topic_messages(pubsub_topic: str) -> list[RelayGetMessage]:
        return _messages(topic_cache.take(pubsub_topic), pubsub_topic)

    @relay.post(
        "/relay/v1/messages/{pubsub_topic:path}",
        response_class=PlainTextResponse,
        openapi_extra=_MESSAGE_BODY,
    )
    async def publish(pubsub_topic: str, request: Request) -> PlainTextResponse:
        """Publish on a pubsub topic the node relays (else 400, as nwaku: with no mesh the
        message would go nowhere, and it is not archived)."""
        _check_pubsub_topics(shards, [pubsub_topic])
        if not shards.relays(pubsub_topic):
            raise ApiError(400, f"Failed to publish: Node not subscribed to topic: {pubsub_topic}")
        return await _publish(node, pubsub_topic, await read_body(request, _MESSAGE))

    def check_content(topics: list[str]) -> None:
        for topic in topics:
            _content_pubsub(shards, topic)

    def follow_content(topic: str) -> None:
        try:
            shards.subscribe_content_topic(topic)
        except TooManySubscriptions as exc:
            raise ApiError(503, str(exc)) from None
        content_cache.subscribe(topic)

    def leave_content(topic: str) -> None:
        content_cache.unsubscribe(topic)
        shards.unsubscribe_content_topic(topic)

    _subscription_routes(
        relay,
        "/relay/v1/auto/subscriptions",
        "content topics' auto-shards",
        check_content,
        follow_content,
        leave_content,
    )

    @relay.get(
        "/relay/v1/auto/messages/{content_topic:path}",
        responses=_NOT_SUBSCRIBED,
        response_model_exclude_none=True,
    )
    async def content_messages(content_topic: str) -> list[RelayGetMessage]:
        return _messages(content_cache.take(content_topic), content_topic)

    @relay.post(
        "/relay/v1/auto/messages", response_class=PlainTextResponse, openapi_extra=_MESSAGE_BODY
    )
    async def auto_publish(request: Request) -> PlainTextResponse:
        """Publish on the content topic's auto-shard; as nwaku, whether or not the node
        relays it (then it goes out by fanout and is not archived)."""
        body = await read_body(request, _MESSAGE)
        return await _publish(node, _content_pubsub(shards, body.contentTopic), body)

    return relay
