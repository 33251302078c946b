"""REST for a node acting as a light client: /filter/v2/... and /lightpush/..., nwaku-shaped.

Filter requests go to ``--filternode``; pushes it sends are kept per topic until polled.
Light push goes to ``--lightpushnode``, or, without one, through this node's own relay under the
same rules a light push service applies.

Answers follow nwaku's REST handlers (``waku/rest_api/endpoint/filter/handlers.nim``,
``lightpush/handlers.nim``, ``legacy_lightpush/handlers.nim``) and openapi: filter answers are
JSON ``{requestId, statusDesc}`` (no ``statusCode``: nwaku dropped it in its #2529), light push
v3 answers JSON ``{statusDesc, relayPeerCount}``, light push v1 and the filter message poll plain
text. A message the network would refuse is the client's fault (400) and is not sent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
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
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.errors import InvalidMessage, RequestRefused
from pystatus.waku.filter import FilterRequest, RequestType
from pystatus.waku.lightpush import LightPushRequest
from pystatus.waku.message import MAX_CLOCK_DRIFT_NS, TWN_CLUSTER_ID, WakuMessage, validate_message

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


SERVICE_TIMEOUT = 5.0
"""Seconds a filter or light push request may take before the REST answer says it timed out
(nwaku's ``futTimeoutForSubscriptionProcessing`` and ``FutTimeoutForPushRequestProcessing``)."""
TOO_MANY_REQUESTS = "Request rejected due to too many requests"
"""nwaku's light push refusal when a rate limit is reached (``waku_lightpush/common.nim``)."""
NO_SERVICE_PEER = "No suitable service peer & no discovery method"
"""nwaku's answer when no service peer is configured or connected (and no discovery runs)."""
FILTER_SUBSCRIPTIONS = "/filter/v2/subscriptions"
LIGHTPUSH_V3 = "/lightpush/v3/message"
_INT64_MAX = 2**63 - 1

# Statuses a filter service's refusal keeps (nwaku's FilterSubscribeErrorKind); any other code
# is a bad response.
_FILTER_ERRORS = frozenset({400, 404, 429, 503})
_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": FilterSubscriptionResponse, "description": text}
    for code, text in (
        (400, "Bad request"),
        (404, "Not found"),
        (429, "Rate limited"),
        (502, "The filter service answered what cannot be read"),
        (503, "No filter service peer, or it refused or timed out"),
        (504, "The filter service peer cannot be reached"),
    )
}


def json_error_body(path: str, description: str) -> dict[str, object] | None:
    """The JSON body nwaku answers a request to ``path`` it cannot decode with, or None where
    it answers plain text."""
    if path.startswith(FILTER_SUBSCRIPTIONS):
        return {"requestId": "unknown", "statusDesc": f"Failed to decode request: {description}"}
    if path == LIGHTPUSH_V3:
        return {"statusDesc": f"Invalid push request! {description}"}
    return None


@dataclass(frozen=True, slots=True)
class _PushOutcome:
    """What a light push came to: ``status`` as light push v3 counts it (200 relayed)."""

    status: int
    description: str = ""
    peers: int | None = None
    legacy_description: str | None = None
    """The plain-text wording of /lightpush/v1 where it differs from v3's."""


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

    async def filter_request(request: FilterRequest, timed_out: str) -> JSONResponse:
        service = node.config.filternode
        if service is None:
            return filter_answer(request.request_id, 503, NO_SERVICE_PEER)
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT):
                await node.filter_client.request(service, request)
        except RequestRefused as exc:
            status = exc.status if exc.status in _FILTER_ERRORS else 502
            return filter_answer(request.request_id, status, exc.description)
        except TimeoutError:
            return filter_answer(request.request_id, 503, timed_out)
        except P2PError:
            # nwaku answers a dial failure 504 with the peer's address.
            return filter_answer(request.request_id, 504, str(service))
        except PystatusError as exc:
            return filter_answer(request.request_id, 502, f"bad response: {exc}")
        return filter_answer(request.request_id, 200, "OK")

    def pubsub_for(body: FilterSubscribeBody, content_topic: str) -> str:
        if body.pubsubTopic:
            return body.pubsubTopic
        try:
            return node.content_topic_to_pubsub(content_topic)
        except PystatusError as exc:
            description = f"invalid content topic {content_topic!r}: {exc}"
            raise ApiError(
                400,
                description,
                body=FilterSubscriptionResponse(
                    requestId=body.requestId, statusDesc=description
                ).model_dump(),
            ) from None

    async def change(body: FilterSubscribeBody, kind: RequestType) -> JSONResponse:
        """Subscribe or unsubscribe ``body``'s content topics, one request per pubsub topic."""
        if not body.contentFilters:
            return filter_answer(body.requestId, 400, "contentFilters is empty")
        by_topic: dict[str, list[str]] = {}
        for content_topic in body.contentFilters:
            by_topic.setdefault(pubsub_for(body, content_topic), []).append(content_topic)
        timed_out = (
            "Subscription request timed out"
            if kind is RequestType.SUBSCRIBE
            else "Failed to unsubscribe from contentFilters due to timeout!"
        )
        for pubsub_topic, content_topics in by_topic.items():
            response = await filter_request(
                FilterRequest(
                    type=kind,
                    request_id=body.requestId,
                    pubsub_topic=pubsub_topic,
                    content_topics=tuple(content_topics),
                ),
                timed_out,
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

    @filter_v2.post(FILTER_SUBSCRIPTIONS, responses=_RESPONSES)
    async def subscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.SUBSCRIBE)

    @filter_v2.put(FILTER_SUBSCRIPTIONS, responses=_RESPONSES)
    async def resubscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.SUBSCRIBE)

    @filter_v2.delete(FILTER_SUBSCRIPTIONS, responses=_RESPONSES)
    async def unsubscribe(body: FilterSubscribeBody) -> JSONResponse:
        return await change(body, RequestType.UNSUBSCRIBE)

    @filter_v2.delete(f"{FILTER_SUBSCRIPTIONS}/all", responses=_RESPONSES)
    async def unsubscribe_all(body: FilterUnsubscribeAllBody) -> JSONResponse:
        response = await filter_request(
            FilterRequest(type=RequestType.UNSUBSCRIBE_ALL, request_id=body.requestId),
            "Failed to unsubscribe from all contentFilters due to timeout!",
        )
        if response.status_code == 200:
            node.filter_cache.clear()
        return response

    @filter_v2.get(FILTER_SUBSCRIPTIONS + "/{requestId}", responses=_RESPONSES)
    async def ping(requestId: str) -> JSONResponse:
        return await filter_request(
            FilterRequest(type=RequestType.SUBSCRIBER_PING, request_id=requestId), "Ping timed out"
        )

    def pushed(content_topic: str, pubsub_topic: str | None) -> list[RestMessage]:
        items = node.filter_cache.take(content_topic, pubsub_topic)
        if items is None:
            raise ApiError(400, f"Not subscribed to topic: {content_topic}")
        return [to_rest(item.message) for item in items]

    @filter_v2.get(
        "/filter/v2/messages/{topics:path}",
        summary="Messages pushed for a content topic",
        description=(
            "`/filter/v2/messages/{contentTopic}` or "
            "`/filter/v2/messages/{pubsubTopic}/{contentTopic}`, each topic URL-encoded. "
            "Returns what was pushed since the last call."
        ),
        responses={400: {"description": "Not subscribed"}},
    )
    async def filter_messages(topics: str, request: Request) -> list[RestMessage]:
        pubsub_topic, content_topic = _split_topics(request.scope, topics)
        return pushed(content_topic, pubsub_topic)

    router.include_router(filter_v2)

    lightpush = APIRouter(tags=["lightpush"])

    def refused_by_network(message: WakuMessage) -> str | None:
        """Why the network's relay rules refuse ``message`` (RFC 64's timestamp window on The
        Waku Network only), or None. Size is left to the service, which answers 413."""
        twn = node.config.cluster_id == TWN_CLUSTER_ID
        try:
            validate_message(
                message,
                now_ns=time.time_ns(),
                max_size=_INT64_MAX,
                max_clock_drift_ns=MAX_CLOCK_DRIFT_NS if twn else _INT64_MAX,
                max_age_ns=MAX_CLOCK_DRIFT_NS if twn else None,
            )
        except InvalidMessage as exc:
            return str(exc)
        return None

    async def push(body: PushBody, *, legacy: bool) -> _PushOutcome:
        try:
            message = from_rest(body.message)
        except ApiError as exc:
            return _PushOutcome(
                400,
                f"Invalid message! {exc.description}",
                None,
                f"Invalid message: {exc.description}",
            )
        reason = refused_by_network(message)
        if reason is not None:
            return _PushOutcome(
                400, f"Invalid message! {reason}", None, f"Invalid message: {reason}"
            )
        service = node.config.lightpushnode
        if service is None:
            # The node serves the push itself only when it relays (a relay-less node serving
            # light push refuses every push; nwaku's REST then looks for a service peer).
            server = node.lightpush_server if node.relay is not None else None
            if server is None:
                return _PushOutcome(503, NO_SERVICE_PEER)
            request = LightPushRequest(message=message, pubsub_topic=body.pubsubTopic)
            try:
                async with asyncio.timeout(SERVICE_TIMEOUT):
                    response = await server.handle(request, None)
            except TimeoutError:
                return _PushOutcome(503, "Push request timed out")
            return _PushOutcome(
                response.status_code, response.status_desc, response.relay_peer_count
            )
        topic = body.pubsubTopic
        if legacy and topic is None:
            try:
                topic = node.content_topic_to_pubsub(message.content_topic)
            except PystatusError as exc:
                return _PushOutcome(400, f"Invalid message! {exc}")
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT):
                response = await node.lightpush_client.push(service, message, topic, legacy=legacy)
        except RequestRefused as exc:
            if exc.status == 429:
                return _PushOutcome(429, TOO_MANY_REQUESTS)
            return _PushOutcome(exc.status, exc.description)
        except TimeoutError:
            return _PushOutcome(503, "Push request timed out")
        except P2PError:
            # The peer cannot be dialled or speaks no light push: nwaku's dial failure.
            return _PushOutcome(
                505,
                f"dial_failure: {_peer_name(service)} is not accessible",
                None,
                "Failed to request a message push: dial_failure",
            )
        except PystatusError as exc:
            return _PushOutcome(503, f"Failed to request a message push: {exc}")
        return _PushOutcome(response.status_code, response.status_desc, response.relay_peer_count)

    @lightpush.post(
        "/lightpush/v1/message",
        response_class=PlainTextResponse,
        responses={
            code: {"description": text, "content": _TEXT}
            for code, text in (
                (400, "Bad request"),
                (429, "Rate limited"),
                (503, "Not relayed"),
            )
        },
    )
    async def push_v1(body: PushBody) -> PlainTextResponse:
        outcome = await push(body, legacy=True)
        status, text = outcome.status, outcome.legacy_description or outcome.description
        if status == 200:
            return PlainTextResponse("OK")
        # Light push v2 carries no status: a refusal for rate is known by its words, as nwaku's
        # legacy handler knows it.
        if status == 429 or "too many requests" in text.lower():
            return PlainTextResponse("Request rate limit reached", status_code=429)
        if 400 <= status < 500:
            # Refused for the request itself: retrying it cannot help.
            return PlainTextResponse(text or "bad request", status_code=400)
        if outcome.legacy_description is None and text not in _V1_AS_IS:
            text = f"Failed to request a message push: {text or status}"
        return PlainTextResponse(text, status_code=503)

    @lightpush.post(
        LIGHTPUSH_V3,
        response_model=PushResponse,
        responses={
            code: {"model": PushResponse, "description": text}
            for code, text in (
                (400, "Bad request"),
                (413, "Message too large"),
                (421, "Unsupported pubsub topic"),
                (429, "Rate limited"),
                (500, "Service failed"),
                (503, "Service not available"),
                (505, "No peers to relay, or the service peer cannot be reached"),
            )
        },
    )
    async def push_v3(body: PushBody) -> JSONResponse:
        outcome = await push(body, legacy=False)
        result = PushResponse(
            statusDesc=outcome.description or None,
            relayPeerCount=outcome.peers if outcome.status == 200 else None,
        )
        return JSONResponse(result.model_dump(exclude_none=True), status_code=outcome.status)

    router.include_router(lightpush)
    return router


_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_V1_AS_IS = frozenset({NO_SERVICE_PEER, "Push request timed out"})


def _peer_name(addr: Multiaddr) -> str:
    return str(addr.peer_id) if addr.peer_id is not None else str(addr)
