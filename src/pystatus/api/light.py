"""REST for a node acting as a light client: /filter/v2/... and /lightpush/..., nwaku-shaped.

Filter requests go to ``--filternode``; pushes it sends are kept per topic until polled.
Light push goes to ``--lightpushnode``, or, without one, through this node's own relay under the
same rules a light push service applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.api.messages import RestMessage, from_rest, to_rest
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode
from pystatus.p2p.errors import P2PError
from pystatus.waku.filter import FilterError, FilterRequest, RequestType
from pystatus.waku.lightpush import LightPushError, LightPushRequest, LightPushResponse

MAX_CONTENT_FILTERS = 100


class FilterSubscribeBody(BaseModel):
    requestId: str
    contentFilters: list[str] = Field(max_length=MAX_CONTENT_FILTERS)
    pubsubTopic: str | None = None


class FilterUnsubscribeAllBody(BaseModel):
    requestId: str


class FilterSubscriptionResponse(BaseModel):
    requestId: str
    statusDesc: str


class PushBody(BaseModel):
    pubsubTopic: str | None = None
    message: RestMessage


class PushResponse(BaseModel):
    statusDesc: str | None = None
    relayPeerCount: int | None = None


_FILTER_ERRORS = {400: "bad request", 404: "not found", 429: "too many requests"}
_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": FilterSubscriptionResponse, "description": text}
    for code, text in (
        (400, "Bad request"),
        (404, "Not found"),
        (429, "Rate limited"),
        (503, "No filter service peer, or it failed"),
    )
}


_SHARDED = re.compile(r"^(/waku/2/rs/\d+/\d+)(/.+)$")
_MESSAGES_PREFIX = b"/filter/v2/messages/"


def _split_topics(scope: Mapping[str, Any], decoded: str) -> tuple[str | None, str]:
    """(pubsub topic or None, content topic) from the path after ``/filter/v2/messages/``.

    The router sees the path decoded, where ``%2F`` inside a topic looks like a separator, so
    the raw path decides; a client that did not encode its topics is understood when the
    pubsub topic is a shard (``/waku/2/rs/<cluster>/<shard>``).
    """
    raw = scope.get("raw_path") or b""
    if raw.startswith(_MESSAGES_PREFIX):
        segments = raw[len(_MESSAGES_PREFIX) :].split(b"?", 1)[0].split(b"/")
        if len(segments) == 1:
            return None, unquote(segments[0].decode())
        if len(segments) == 2:
            return unquote(segments[0].decode()), unquote(segments[1].decode())
    path = "/" + decoded.lstrip("/")
    sharded = _SHARDED.match(path)
    if sharded:
        return sharded.group(1), sharded.group(2)
    return None, path


def light_routes(node: WakuNode) -> APIRouter:
    router = APIRouter()

    def filter_answer(request_id: str, status: int, description: str) -> JSONResponse:
        body = FilterSubscriptionResponse(requestId=request_id, statusDesc=description)
        return JSONResponse(body.model_dump(), status_code=status)

    async def filter_request(request: FilterRequest) -> JSONResponse:
        service = node.config.filternode
        if service is None:
            return filter_answer(
                request.request_id, 503, "no filter service peer: start the node with --filternode"
            )
        try:
            await node.filter_client.request(service, request)
        except FilterError as exc:
            status = exc.status if exc.status in _FILTER_ERRORS else 503
            return filter_answer(request.request_id, status, exc.description)
        except (P2PError, PystatusError, TimeoutError) as exc:
            return filter_answer(request.request_id, 503, f"filter service unreachable: {exc}")
        return filter_answer(request.request_id, 200, "OK")

    def pubsub_for(body: FilterSubscribeBody, content_topic: str) -> str:
        if body.pubsubTopic:
            return body.pubsubTopic
        try:
            return node.content_topic_to_pubsub(content_topic)
        except PystatusError as exc:
            raise ApiError(400, f"invalid content topic {content_topic!r}: {exc}") from None

    async def change(body: FilterSubscribeBody, kind: RequestType) -> JSONResponse:
        """Subscribe or unsubscribe ``body``'s content topics, one request per pubsub topic."""
        if not body.contentFilters:
            return filter_answer(body.requestId, 400, "contentFilters is empty")
        by_topic: dict[str, list[str]] = {}
        for content_topic in body.contentFilters:
            by_topic.setdefault(pubsub_for(body, content_topic), []).append(content_topic)
        for pubsub_topic, content_topics in by_topic.items():
            response = await filter_request(
                FilterRequest(
                    type=kind,
                    request_id=body.requestId,
                    pubsub_topic=pubsub_topic,
                    content_topics=tuple(content_topics),
                )
            )
            if response.status_code != 200:
                return response
            for content_topic in content_topics:
                if kind is RequestType.SUBSCRIBE:
                    node.filter_cache.subscribe(pubsub_topic, content_topic)
                else:
                    node.filter_cache.unsubscribe(pubsub_topic, content_topic)
        return filter_answer(body.requestId, 200, "OK")

    filter_v2 = APIRouter(tags=["filter"])

    @filter_v2.post("/filter/v2/subscriptions", responses=_RESPONSES)
    async def subscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.SUBSCRIBE)

    @filter_v2.put("/filter/v2/subscriptions", responses=_RESPONSES)
    async def resubscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.SUBSCRIBE)

    @filter_v2.delete("/filter/v2/subscriptions", responses=_RESPONSES)
    async def unsubscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.UNSUBSCRIBE)

    @filter_v2.delete("/filter/v2/subscriptions/all", responses=_RESPONSES)
    async def unsubscribe_all(body: FilterUnsubscribeAllBody) -> JSONResponse:
        response = await filter_request(
            FilterRequest(type=RequestType.UNSUBSCRIBE_ALL, request_id=body.requestId)
        )
        if response.status_code == 200:
            node.filter_cache.clear()
        return response

    @filter_v2.get("/filter/v2/subscriptions/{requestId}", responses=_RESPONSES)
    async def ping(requestId: str) -> JSONResponse:
        return await filter_request(
            FilterRequest(type=RequestType.SUBSCRIBER_PING, request_id=requestId)
        )

    def pushed(content_topic: str, pubsub_topic: str | None) -> list[RestMessage]:
        items = node.filter_cache.take(content_topic, pubsub_topic)
        if items is None:
            raise ApiError(404, f"not subscribed to {content_topic}")
        return [to_rest(item.message) for item in items]

    @filter_v2.get(
        "/filter/v2/messages/{topics:path}",
        summary="Messages pushed for a content topic",
        description=(
            "`/filter/v2/messages/{contentTopic}` or "
            "`/filter/v2/messages/{pubsubTopic}/{contentTopic}`, each topic URL-encoded. "
            "Returns what was pushed since the last call."
        ),
        responses={404: {"description": "Not subscribed"}},
    )
    async def filter_messages(topics: str, request: Request) -> list[RestMessage]:
        pubsub_topic, content_topic = _split_topics(request.scope, topics)
        return pushed(content_topic, pubsub_topic)

    router.include_router(filter_v2)

    lightpush = APIRouter(tags=["lightpush"])

    async def push(body: PushBody, *, legacy: bool) -> LightPushResponse:
        message = from_rest(body.message)
        service = node.config.lightpushnode
        if service is None:
            server = node.lightpush_server
            if server is None:
                raise ApiError(503, "no light push service: give --lightpushnode or run relay")
            return await server.handle(
                LightPushRequest(message=message, pubsub_topic=body.pubsubTopic), None
            )
        topic = body.pubsubTopic
        if legacy and topic is None:
            topic = node.content_topic_to_pubsub(message.content_topic)
        try:
            return await node.lightpush_client.push(service, message, topic, legacy=legacy)
        except LightPushError as exc:
            return LightPushResponse("", exc.status, exc.description)
        except (P2PError, PystatusError, TimeoutError) as exc:
            raise ApiError(503, f"light push service unreachable: {exc}") from None

    @lightpush.post(
        "/lightpush/v1/message",
        response_class=PlainTextResponse,
        responses={400: {"description": "Bad request"}, 503: {"description": "Not relayed"}},
    )
    async def push_v1(body: PushBody) -> PlainTextResponse:
        response = await push(body, legacy=True)
        if response.ok:
            return PlainTextResponse("OK")
        status = 400 if 400 <= response.status_code < 500 else 503
        return PlainTextResponse(response.status_desc or "not relayed", status_code=status)

    @lightpush.post(
        "/lightpush/v3/message",
        response_model=PushResponse,
        responses={
            code: {"model": PushResponse, "description": text}
            for code, text in (
                (400, "Bad request"),
                (413, "Message too large"),
                (421, "Unsupported pubsub topic"),
                (429, "Rate limited"),
                (500, "Service failed"),
                (503, "No peers to relay"),
            )
        },
    )
    async def push_v3(body: PushBody) -> JSONResponse:
        response = await push(body, legacy=False)
        result = PushResponse(
            statusDesc=response.status_desc or None, relayPeerCount=response.relay_peer_count
        )
        return JSONResponse(result.model_dump(exclude_none=True), status_code=response.status_code)

    router.include_router(lightpush)
    return router
