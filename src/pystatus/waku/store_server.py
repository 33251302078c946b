"""The asyncio side of a store node: answers ``/vac/waku/store-query/3.0.0`` streams.

Thin by design: :class:`~pystatus.waku.store_rules.StoreRules` judges each request, the
backend (the archive layer provides one, so this module stays below it) finds the page, and
:func:`pystatus.waku.wire.serve_one` reads, writes and closes. Metrics are counted here, from
the rules' verdicts.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics, wire
from pystatus.waku.store_codec import (
    MAX_REQUEST_SIZE,
    REQUEST_TIMEOUT,
    STORE_PROTOCOL_ID,
    CursorNotFound,
    StoreBackendError,
    StoreEntry,
    StoreQuery,
    StoreResponse,
)
from pystatus.waku.store_rules import (
    Admitted,
    Refused,
    StoreRules,
    admit,
    answer,
    backend_failed,
    cursor_not_found,
)

log = logging.getLogger(__name__)


class StoreBackend(Protocol):
    async def query(self, query: StoreQuery) -> tuple[list[StoreEntry], bytes | None]:
        """One page of matches in forward order, and the cursor for the next page (or None).

        Raises :class:`~pystatus.waku.store_codec.CursorNotFound` or
        :class:`~pystatus.waku.store_codec.StoreBackendError`.
        """
        ...


class StoreServer:
    """Serves store queries from ``backend``, with a per-peer request rate limit
    (``peer_rate`` requests per second, bursts of ``peer_burst``; a rate of zero, the default
    as in nwaku, is no limit)."""

    def __init__(
        self,
        host: Host,
        backend: StoreBackend,
        *,
        peer_rate: float = 0.0,
        peer_burst: float = 30.0,
    ) -> None:
        self.host = host
        self.backend = backend
        self.rules = StoreRules(peer_rate=peer_rate, peer_burst=peer_burst)

    def start(self) -> None:
        self.host.set_stream_handler(STORE_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(STORE_PROTOCOL_ID)

    async def handle(self, query: StoreQuery) -> StoreResponse:
        """Answer one decoded query without a rate limit (the REST API's local path).

        Refusals come back as responses with their status code, never raised.
        """
        return await self._serve_verdict(admit(query))

    async def _serve_verdict(self, verdict: Admitted | Refused) -> StoreResponse:
        if isinstance(verdict, Admitted):
            query = verdict.query
            try:
                entries, cursor = await self.backend.query(query)
            except CursorNotFound:
                verdict = cursor_not_found(query)
            except StoreBackendError as exc:
                log.warning("store query failed: %s", exc)
                verdict = backend_failed(query)
            else:
                return answer(query, entries, cursor)
        metrics.PROTOCOL_ERRORS.labels("store", verdict.reason).inc()
        return verdict.response

    async def _answer(self, peer: PeerId, data: bytes) -> bytes:
        response = await self._serve_verdict(self.rules.receive(peer, data, time.monotonic()))
        return response.to_bytes()

    async def _serve(self, stream: Stream) -> None:
        await wire.serve_one(
            stream,
            self._answer,
            max_request=MAX_REQUEST_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="store",
        )
