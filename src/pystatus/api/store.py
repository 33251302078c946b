"""GET /store/v3/messages with nwaku's query parameters, JSON shape and status codes.

Follows nwaku's ``waku/rest_api/endpoint/store/handlers.nim`` and ``types.nim`` and the
openapi document (waku-org/waku-rest-api ``api-spec/storeapi.yaml``):

- Without ``peerAddr``, a node that runs a store answers from its own archive, even when it
  also names a ``--storenode``; a node without one asks its ``--storenode``; with neither, 412.
- Every parameter is a string. Topics, hashes, cursors and ``peerAddr`` are URL-decoded once
  more after the query string itself is, so they may arrive unencoded or double-encoded.
- ``startTime`` / ``endTime`` are Unix nanoseconds, both inclusive; zero or negative means no
  bound, a value that is not a 64-bit integer is a 400.
- Hashes and cursors are 32 bytes in hex (with or without ``0x``), as nwaku reads them since
  v0.35, or base64 / base64url (padding optional), as the openapi document and earlier nwaku
  releases write them.
- ``includeData`` defaults to false (hashes only); ``ascending`` pages forward unless given as
  anything but ``true``; ``pageSize`` defaults to 20 and is capped at 100.
- Answers: 200 with the JSON response; refusals of the request itself are 400 in plain text;
  a store peer's own refusal comes back as 200 with its ``statusCode``, except 429, which is a
  plain-text 429; a local archive failure, or a peer silent for 5 s, is 500 in plain text.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Any
from urllib.parse import unquote, unquote_plus

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pystatus.api.errors import ApiError
from pystatus.api.messages import RestMessage, to_rest
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.errors import DecodeError
from pystatus.waku.store import (
    DEFAULT_PAGE_SIZE,
    HASH_SIZE,
    MAX_PAGE_SIZE,
    StoreError,
    StoreQuery,
    StoreResponse,
)


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


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
REMOTE_QUERY_TIMEOUT = 5.0
"""Seconds (the event loop's clock) a store peer has to answer a REST query, as nwaku's
``futTimeout``; then the answer is 500 "No history response received (timeout)"."""
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")  # int64 has 19 digits; longer ones are refused
_TRUE = frozenset({"y", "yes", "true", "1", "on"})
_FALSE = frozenset({"n", "no", "false", "0", "off"})


def _from_hex(text: str) -> bytes | None:
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) % 2 or not _HEX_DIGITS.fullmatch(digits):
        return None
    return bytes.fromhex(digits)


def _from_base64(text: str) -> bytes | None:
    standard = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_hash(text: str) -> bytes:
    """A message hash or cursor as the REST API takes it: 32 bytes as hex (``0x`` optional) or
    base64 / base64url (padding optional), possibly URL-encoded once more.

    The first reading that gives 32 bytes wins. Raises :class:`ApiError` (400) with nwaku's
    wording otherwise: a length error when the text decodes, a conversion error when not.
    """
    # A '+' of base64 sent unencoded reaches us as a space; neither hex nor base64 has spaces.
    decoded = unquote(text).replace(" ", "+")
    as_hex, as_base64 = _from_hex(decoded), _from_base64(decoded)
    for raw in (as_hex, as_base64):
        if raw is not None and len(raw) == HASH_SIZE:
            return raw
    hex_like = decoded[:2] in ("0x", "0X") or _HEX_DIGITS.fullmatch(decoded) is not None
    raw = as_hex if hex_like else as_base64
    if raw is None:
        shown = decoded if len(decoded) <= 100 else decoded[:100] + "..."
        raise ApiError(
            400, f"Exception converting hex string to bytes: {shown!r} is not hex or base64"
        )
    raise ApiError(400, f"waku message hash parsing error: invalid hash length: {len(raw)}")


def _parse_hashes(text: str | None) -> tuple[bytes, ...]:
    if not text:
        return ()
    return tuple(parse_hash(part) for part in unquote(text).split(",") if part)


def _parse_time(text: str | None) -> int | None:
    """Nanoseconds, or None: nwaku takes only a positive time as a bound."""
    if not text:
        return None
    if not _INTEGER.fullmatch(text) or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise ApiError(400, f"time parsing error: {text[:100]!r} is not a 64-bit integer")
    return value if value > 0 else None


def _parse_include_data(text: str | None) -> bool:
    if not text:
        return False
    # nwaku reads it with Nim's parseBool, which ignores case and underscores.
    normalized = text.replace("_", "").lower()
    if normalized in _TRUE:
        return True
    if normalized in _FALSE:
        return False
    raise ApiError(400, f"include data parsing error: cannot interpret {text[:100]!r} as a bool")


def _parse_page_size(text: str | None) -> int:
    if not text:
        return DEFAULT_PAGE_SIZE
    if not _INTEGER.fullmatch(text) or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise ApiError(400, f"page size parsing error: {text[:100]!r} is not an integer")
    # nwaku reads the size as an unsigned 64-bit number, so a negative one wraps to a huge one
    # and is capped like any other; zero asks for the default page.
    return MAX_PAGE_SIZE if value < 0 else min(value, MAX_PAGE_SIZE)


def _topics(text: str | None) -> str:
    """A topic parameter decoded once more, as nwaku's ``decodeUrl`` does (``+`` is a space)."""
    return unquote_plus(text) if text else ""


def to_json(response: StoreResponse) -> dict[str, Any]:
    """nwaku's JSON for a store response: hashes and the cursor as 0x-hex; absent fields left
    out rather than null."""
    body = StoreQueryResponseJson(
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
    return body.model_dump(exclude_none=True)


_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request", "content": _TEXT},
    412: {"description": "No store to ask", "content": _TEXT},
    429: {"description": "Rate limited by the store peer", "content": _TEXT},
    500: {"description": "The store failed or did not answer", "content": _TEXT},
}


async def _ask_peer(node: WakuNode, target: str, query: StoreQuery) -> JSONResponse:
    try:
        peer = Multiaddr.from_string(unquote_plus(target))
    except (P2PError, ValueError) as exc:
        raise ApiError(400, f"Failed parsing remote peer info: {exc}") from None
    try:
        async with asyncio.timeout(REMOTE_QUERY_TIMEOUT):
            response = await node.store_client.query(peer, query)
    except StoreError as exc:
        if exc.status == 429:
            raise ApiError(429, "Request rate limit reached") from None
        # nwaku hands a store peer's refusal on in a 200, its code in the body.
        response = StoreResponse(query.request_id, exc.status, exc.description)
    except TimeoutError:
        raise ApiError(500, "No history response received (timeout)") from None
    except DecodeError as exc:
        response = StoreResponse(query.request_id, 300, f"BAD_RESPONSE: {exc}")
    except (P2PError, PystatusError, OSError) as exc:
        # nwaku's store client answers a failed dial with its own 504 in the body.
        response = StoreResponse(query.request_id, 504, f"PEER_DIAL_FAILURE: {target}: {exc}")
    return JSONResponse(to_json(response))


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
        startTime: str | None = None,
        endTime: str | None = None,
        hashes: str | None = None,
        cursor: str | None = None,
        pageSize: str | None = None,
        ascending: str | None = None,
    ) -> JSONResponse:
        query = StoreQuery(
            include_data=_parse_include_data(includeData),
            pubsub_topic=_topics(pubsubTopic) or None,
            content_topics=tuple(t for t in _topics(contentTopics).split(",") if t),
            time_start=_parse_time(startTime),
            time_end=_parse_time(endTime),
            message_hashes=_parse_hashes(hashes),
            cursor=parse_hash(cursor) if cursor else None,
            forward=ascending == "true" if ascending else True,
            limit=_parse_page_size(pageSize),
        )
        if peerAddr:
            return await _ask_peer(node, peerAddr, query)
        if node.store is not None and node.store.server is not None:
            # As nwaku: a store node asked without peerAddr answers from its own archive.
            response = await node.store.server.handle(query)
            if response.status_code == 200:
                return JSONResponse(to_json(response))
            if response.status_code == 503:
                raise ApiError(500, f"store query failed: {response.status_desc}")
            raise ApiError(400, response.status_desc)
        if node.config.storenode is not None:
            return await _ask_peer(node, str(node.config.storenode), query)
        raise ApiError(412, "No suitable service peer & no discovery method")

    return router
