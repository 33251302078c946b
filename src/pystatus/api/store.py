"""GET /store/v3/messages with nwaku's query parameters and JSON shape.

Without ``peerAddr`` the node answers from its own archive (or asks ``--storenode``); with it,
the node queries that peer as a store client. Hashes and cursors travel as 0x-hex; base64 and
base64url are accepted too on the way in.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pystatus.api.errors import ApiError
from pystatus.api.messages import RestMessage, to_rest
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.store import StoreError, StoreQuery, StoreResponse


class StoredMessage(BaseModel):
    messageHash: str
    message: RestMessage | None = None
    pubsubTopic: str | None = None


class StoreQueryResponseJson(BaseModel):
    requestId: str
    statusCode: int
    statusDesc: str
    messages: list[StoredMessage]
    paginationCursor: str | None = None


def parse_hash(text: str) -> bytes:
    text = text.strip()
    try:
        if text.startswith("0x"):
            raw = bytes.fromhex(text[2:])
        elif len(text) == 64:
            raw = bytes.fromhex(text)
        else:
            raw = base64.b64decode(
                text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
            )
    except (ValueError, binascii.Error):
        raise ApiError(400, f"bad message hash {text!r}: use 0x-hex or base64") from None
    if len(raw) != 32:
        raise ApiError(400, f"bad message hash {text!r}: a hash is 32 bytes")
    return raw


def _bool(text: str | None, default: bool) -> bool:
    if text is None:
        return default
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"expected true or false, not {text!r}")


def to_json(response: StoreResponse) -> StoreQueryResponseJson:
    return StoreQueryResponseJson(
        requestId=response.request_id,
        statusCode=response.status_code,
        statusDesc=response.status_desc,
        messages=[
            StoredMessage(
                messageHash="0x" + entry.hash.hex(),
                message=to_rest(entry.message) if entry.message is not None else None,
                pubsubTopic=entry.pubsub_topic,
            )
            for entry in response.entries
        ],
        paginationCursor="0x" + response.cursor.hex() if response.cursor is not None else None,
    )


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": StoreQueryResponseJson, "description": "Bad query"},
    412: {"description": "No store to ask"},
    429: {"model": StoreQueryResponseJson, "description": "Rate limited by the store peer"},
    502: {"description": "The store peer failed"},
    503: {"model": StoreQueryResponseJson, "description": "Store unavailable"},
}


def store_routes(node: WakuNode) -> APIRouter:
    router = APIRouter(tags=["store"])

    @router.get(
        "/store/v3/messages",
        response_model=StoreQueryResponseJson,
        responses=_RESPONSES,
    )
    async def messages(
        peerAddr: str | None = None,
        includeData: str | None = None,
        pubsubTopic: str | None = None,
        contentTopics: str | None = None,
        startTime: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
        endTime: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
        hashes: str | None = None,
        cursor: str | None = None,
        pageSize: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
        ascending: str | None = None,
    ) -> JSONResponse:
        query = StoreQuery(
            include_data=_bool(includeData, True),
            pubsub_topic=pubsubTopic or None,
            content_topics=tuple(t for t in (contentTopics or "").split(",") if t),
            time_start=startTime,
            time_end=endTime,
            message_hashes=tuple(parse_hash(h) for h in (hashes or "").split(",") if h),
            cursor=parse_hash(cursor) if cursor else None,
            forward=_bool(ascending, True),
            limit=pageSize,
        )
        target = peerAddr or (str(node.config.storenode) if node.config.storenode else None)
        if target is not None:
            try:
                peer = Multiaddr.from_string(target)
            except P2PError as exc:
                raise ApiError(400, f"bad peerAddr: {exc}") from None
            try:
                response = await node.store_client.query(peer, query)
            except StoreError as exc:
                response = StoreResponse(query.request_id, exc.status, exc.description)
            except (P2PError, PystatusError, TimeoutError) as exc:
                raise ApiError(502, f"store peer {target} failed: {exc}") from None
        elif node.store is not None and node.store.server is not None:
            response = await node.store.server.handle(query)
        else:
            raise ApiError(412, "no store: run with --store or give peerAddr or --storenode")
        body = to_json(response).model_dump()
        status = response.status_code if response.status_code >= 400 else 200
        return JSONResponse(body, status_code=status)

    return router
