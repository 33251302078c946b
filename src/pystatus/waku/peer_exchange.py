"""WAKU2-PEER-EXCHANGE (34/WAKU2-PEER-EXCHANGE, ``/vac/waku/peer-exchange/2.0.0-alpha1``): ENRs
for peers that cannot discover.

A requester (usually a light client) asks a responder for up to ``num_peers`` ENRs; the
responder answers from a bounded cache of signed records whose peers it has reached.

The protocol is split by concern, and every name stays importable from here:
:mod:`~pystatus.waku.peer_exchange_codec` (wire message), :mod:`~pystatus.waku.peer_exchange_rules`
(the cache and the answer, sans-IO), :mod:`~pystatus.waku.peer_exchange_server` and
:mod:`~pystatus.waku.peer_exchange_client`.
"""

from __future__ import annotations

from pystatus.waku.peer_exchange_client import PeerExchangeClient
from pystatus.waku.peer_exchange_codec import (
    MAX_ENR_SIZE,
    MAX_PEERS_PER_RESPONSE,
    MAX_REQUEST_SIZE,
    MAX_RESPONSE_SIZE,
    PEER_EXCHANGE_PROTOCOL_ID,
    REQUEST_TIMEOUT,
    decode_query,
    decode_response,
    encode_query,
    encode_response,
)
from pystatus.waku.peer_exchange_rules import CACHE_SIZE, EnrCache, PxAnswer, answer_query
from pystatus.waku.peer_exchange_server import PeerExchangeServer

__all__ = [
    "CACHE_SIZE",
    "MAX_ENR_SIZE",
    "MAX_PEERS_PER_RESPONSE",
    "MAX_REQUEST_SIZE",
    "MAX_RESPONSE_SIZE",
    "PEER_EXCHANGE_PROTOCOL_ID",
    "REQUEST_TIMEOUT",
    "EnrCache",
    "PeerExchangeClient",
    "PeerExchangeServer",
    "PxAnswer",
    "answer_query",
    "decode_query",
    "decode_response",
    "encode_query",
    "encode_response",
]
