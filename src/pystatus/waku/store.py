"""WAKU2-STORE query protocol v3 (``/vac/waku/store-query/3.0.0``), one import away.

The protocol lives in four modules, re-exported here:

- :mod:`pystatus.waku.store_codec`: requests and responses as typed values, limits, codes;
- :mod:`pystatus.waku.store_rules`: what a store serves (sans-IO, no metrics);
- :mod:`pystatus.waku.store_server`: the asyncio server over a :class:`StoreBackend`;
- :mod:`pystatus.waku.store_client`: one query, or every page of one.

js-waku's client shapes some of what is accepted: it sends ``pubsub_topic`` along with
message-hash look-ups, and pages by the hash of the last (forward) or first (backward) entry
until a page comes back empty, so an empty page is a success like any other.
"""

from __future__ import annotations

from pystatus.waku.store_client import StoreClient
from pystatus.waku.store_codec import (
    DEFAULT_PAGE_SIZE,
    HASH_SIZE,
    MAX_CONTENT_TOPICS,
    MAX_HASHES,
    MAX_PAGE_SIZE,
    MAX_REQUEST_SIZE,
    MAX_RESPONSE_SIZE,
    REQUEST_TIMEOUT,
    STORE_PROTOCOL_ID,
    CursorNotFound,
    StatusCode,
    StoreBackendError,
    StoreEntry,
    StoreError,
    StoreQuery,
    StoreResponse,
)
from pystatus.waku.store_rules import answer, check_query
from pystatus.waku.store_server import StoreBackend, StoreServer

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "HASH_SIZE",
    "MAX_CONTENT_TOPICS",
    "MAX_HASHES",
    "MAX_PAGE_SIZE",
    "MAX_REQUEST_SIZE",
    "MAX_RESPONSE_SIZE",
    "REQUEST_TIMEOUT",
    "STORE_PROTOCOL_ID",
    "CursorNotFound",
    "StatusCode",
    "StoreBackend",
    "StoreBackendError",
    "StoreClient",
    "StoreEntry",
    "StoreError",
    "StoreQuery",
    "StoreResponse",
    "StoreServer",
    "answer",
    "check_query",
]
