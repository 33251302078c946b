"""The relay routes of nwaku's REST API: ``/relay/v1/...`` and ``/relay/v1/auto/...``.

Topics in paths are URL-encoded (``%2Fwaku%2F2%2Frs%2F1%2F0``), as nwaku's clients send them.
Follows nwaku's ``waku/rest_api/endpoint/relay/handlers.nim``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import PlainTextResponse

from pystatus.api.errors import ApiError
from pystatus.api.messages import RestMessage, from_rest, to_rest
from pystatus.node.node import WakuNode
from pystatus.waku.errors import InvalidTopic, LocalWakuError
from pystatus.waku.relay import RelayedMessage
from pystatus.waku.topics import RelayShard

Topics = Annotated[list[str], Body(description="topics", max_length=100)]

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_NOT_SUBSCRIBED: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not subscribed", "content": _TEXT}
}


def _check_pubsub_topic(node: WakuNode, topic: str) -> None:
    try:
        shard = RelayShard.parse(topic)
    except InvalidTopic as exc:
        raise ApiError(400, f"invalid pubsub topic: {exc}") from None
    if shard.cluster_id != node.config.cluster_id:
        raise ApiError(400, f"{topic} is not in cluster {node.config.cluster_id}")


async def _publish(node: WakuNode, pubsub_topic: str, body: RestMessage) -> PlainTextResponse:
    message = from_rest(body)
    try:
        outcome = await node.publish(pubsub_topic, message)
    except LocalWakuError as exc:
        raise ApiError(400, f"failed to publish: {exc}") from None
    if outcome.peers == 0:
        raise ApiError(503, "failed to publish: no peers to relay the message to")
    return PlainTextResponse("OK")


def relay_routes(node: WakuNode) -> APIRouter:
    """The relay routes of ``node``; none when its relay is off."""
    relay = APIRouter(tags=["relay"])
    topic_cache, content_cache = node.topic_cache, node.content_cache
    if node.relay is None or topic_cache is None or content_cache is None:  # relay is off
        return relay

    def _content_pubsub(content_topic: str) -> str:
        try:
            return node.content_topic_to_pubsub(content_topic)
        except InvalidTopic as exc:
            raise ApiError(400, f"invalid content topic: {exc}") from None

    def _messages(items: list[RelayedMessage] | None, topic: str) -> list[RestMessage]:
        if items is None:
            raise ApiError(404, f"not subscribed to {topic}")
        return [to_rest(item.message) for item in items]

    @relay.post("/relay/v1/subscriptions", response_class=PlainTextResponse)
    async def subscribe(topics: Topics) -> str:
        for topic in topics:
            _check_pubsub_topic(node, topic)
        for topic in topics:
            topic_cache.subscribe(topic, topic)
        return "OK"

    @relay.delete("/relay/v1/subscriptions", response_class=PlainTextResponse)
    async def unsubscribe(topics: Topics) -> str:
        for topic in topics:
            topic_cache.unsubscribe(topic, topic)
        return "OK"

    @relay.get("/relay/v1/messages/{pubsub_topic:path}", responses=_NOT_SUBSCRIBED)
    async def topic_messages(pubsub_topic: str) -> list[RestMessage]:
        return _messages(topic_cache.take(pubsub_topic), pubsub_topic)

    @relay.post("/relay/v1/messages/{pubsub_topic:path}", response_class=PlainTextResponse)
    async def publish(pubsub_topic: str, body: RestMessage) -> PlainTextResponse:
        _check_pubsub_topic(node, pubsub_topic)
        return await _publish(node, pubsub_topic, body)

    @relay.post("/relay/v1/auto/subscriptions", response_class=PlainTextResponse)
    async def auto_subscribe(topics: Topics) -> str:
        shard_topics = [_content_pubsub(topic) for topic in topics]
        for topic, shard_topic in zip(topics, shard_topics, strict=True):
            content_cache.subscribe(topic, shard_topic)
        return "OK"

    @relay.delete("/relay/v1/auto/subscriptions", response_class=PlainTextResponse)
    async def auto_unsubscribe(topics: Topics) -> str:
        for topic in topics:
            content_cache.unsubscribe(topic, _content_pubsub(topic))
        return "OK"

    @relay.get("/relay/v1/auto/messages/{content_topic:path}", responses=_NOT_SUBSCRIBED)
    async def content_messages(content_topic: str) -> list[RestMessage]:
        return _messages(content_cache.take(content_topic), content_topic)

    @relay.post("/relay/v1/auto/messages", response_class=PlainTextResponse)
    async def auto_publish(body: RestMessage) -> PlainTextResponse:
        return await _publish(node, _content_pubsub(body.contentTopic), body)

    return relay
