"""The client side of WAKU2-STORE v3: one query, or every page of one."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.errors import RemoteWakuError
from pystatus.waku.store_codec import (
    MAX_RESPONSE_SIZE,
    REQUEST_TIMEOUT,
    STORE_PROTOCOL_ID,
    StoreError,
    StoreQuery,
    StoreResponse,
)
from pystatus.waku.wire import request


class StoreClient:
    """Store v3 queries from ``host`` to any store peer (a peer id it knows or a multiaddr);
    each query is one stream, one request, one response (the RFC's "Store Query")."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def query(self, peer: PeerId | Multiaddr | str, query: StoreQuery) -> StoreResponse:
        """One request, within ``REQUEST_TIMEOUT`` seconds.

        Raises :class:`~pystatus.waku.store_codec.StoreError` for a non-2xx answer,
        :class:`~pystatus.waku.errors.DecodeError` for an unreadable one, and ``TimeoutError``
        or :class:`~pystatus.p2p.errors.P2PError` when the exchange fails.
        """
        _, data = await request(
            self.host,
            peer,
            STORE_PROTOCOL_ID,
            query.to_bytes(),
            max_response=MAX_RESPONSE_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="store",
        )
        response = StoreResponse.from_bytes(data)
        if not 200 <= response.status_code < 300:
            raise StoreError(response.status_code, response.status_desc)
        return response

    async def query_all(
        self, peer: PeerId | Multiaddr | str, query: StoreQuery, *, max_pages: int = 10_000
    ) -> AsyncIterator[StoreResponse]:
        """Every page of ``query``, following cursors until the store has no more.

        Raises what :meth:`query` raises, and :class:`~pystatus.waku.errors.RemoteWakuError`
        after ``max_pages`` pages (a store that never stops paging).
        """
        for _ in range(max_pages):
            response = await self.query(peer, query)
            yield response
            if response.cursor is None:
                return
            query = replace(query, request_id=secrets.token_hex(16), cursor=response.cursor)
        raise RemoteWakuError(f"store query did not end within {max_pages} pages")
