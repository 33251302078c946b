"""WAKU2-PEER-EXCHANGE, the responder's asyncio adapter: serves queries with
:func:`~pystatus.waku.wire.serve_one` over :func:`~pystatus.waku.peer_exchange_rules.answer_query`
and counts what it sent and refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics, wire
from pystatus.waku.peer_exchange_codec import (
    MAX_REQUEST_SIZE,
    PEER_EXCHANGE_PROTOCOL_ID,
    REQUEST_TIMEOUT,
)
from pystatus.waku.peer_exchange_rules import EnrCache, answer_query
from pystatus.waku.rate_limit import PeerRateLimiter

__all__ = ["PeerExchangeServer"]


class PeerExchangeServer:
    """Answers peer exchange queries on ``host`` from ``cache``.

    ``peer_rate`` queries per second per peer with bursts of ``peer_burst`` (zero rate: no
    limit); ``clock`` gives monotonic seconds. ``waku_px_peers_cached`` reads the cache's size.
    """

    def __init__(
        self,
        host: Host,
        cache: EnrCache,
        *,
        peer_rate: float = 1.0,
        peer_burst: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.cache = cache
        self._limiter = PeerRateLimiter(peer_rate, peer_burst)
        self._clock = clock
        metrics.PX_PEERS_CACHED.set_function(lambda: len(cache))

    def start(self) -> None:
        self.host.set_stream_handler(PEER_EXCHANGE_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(PEER_EXCHANGE_PROTOCOL_ID)

    def respond(self, peer: PeerId, data: bytes) -> bytes | None:
        """The response to one query's bytes from ``peer``, or None when the query is refused
        (malformed: the stream is reset). Never raises."""
        answered = answer_query(self.cache, self._limiter, peer, data, self._clock())
        if answered.refusal is not None:
            metrics.PROTOCOL_ERRORS.labels("peer_exchange", answered.refusal).inc()
        metrics.PX_PEERS_SENT.inc(answered.sent)
        return answered.reply

    async def _serve(self, stream: Stream) -> None:
        await wire.serve_one(
            stream,
            self._answer,
            max_request=MAX_REQUEST_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="peer_exchange",
        )

    async def _answer(self, peer: PeerId, data: bytes) -> bytes | None:
        return self.respond(peer, data)
