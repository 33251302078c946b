"""WAKU2-PEER-EXCHANGE, the requester's side: ask a responder for ENRs with
:func:`~pystatus.waku.wire.request`; only signed, well-formed records come back.
"""

from __future__ import annotations

from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics
from pystatus.waku.enr import Enr
from pystatus.waku.peer_exchange_codec import (
    MAX_RESPONSE_SIZE,
    PEER_EXCHANGE_PROTOCOL_ID,
    REQUEST_TIMEOUT,
    decode_response,
    encode_query,
)
from pystatus.waku.wire import request

__all__ = ["PeerExchangeClient"]


class PeerExchangeClient:
    """Asks responders reached over ``host`` for peers."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def query(self, peer: PeerId | Multiaddr | str, num_peers: int) -> list[Enr]:
        """Ask ``peer`` for up to ``num_peers`` records; only signed, well-formed ones return
        (the rest are counted in ``waku_protocol_errors{kind="bad_enr"}``).

        Raises :class:`~pystatus.waku.errors.DecodeError` for a malformed reply, and
        ``TimeoutError`` or :class:`~pystatus.p2p.errors.P2PError` when the exchange fails
        (a responder refusing a query resets the stream).
        """
        _, data = await request(
            self.host,
            peer,
            PEER_EXCHANGE_PROTOCOL_ID,
            encode_query(num_peers),
            max_response=MAX_RESPONSE_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="peer_exchange",
        )
        records, refused = decode_response(data)
        if refused:
            metrics.PROTOCOL_ERRORS.labels("peer_exchange", "bad_enr").inc(refused)
        metrics.PX_PEERS_RECEIVED.inc(len(records))
        return records[:num_peers]
