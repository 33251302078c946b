"""WAKU2-PEER-EXCHANGE's wire message, ``PeerExchangeRPC`` (34/WAKU2-PEER-EXCHANGE,
``/vac/waku/peer-exchange/2.0.0-alpha1``): a query for ``num_peers`` ENRs and a response listing
them, with the protocol id and size limits.

Decoders take bytes from the network and raise :class:`~pystatus.waku.errors.DecodeError` for
anything malformed; records that do not parse or verify are counted and left out, not raised.
"""

from __future__ import annotations

from pystatus.waku.enr import Enr
from pystatus.waku.errors import DecodeError, InvalidEnr
from pystatus.waku.proto import waku_peer_exchange_pb2
from pystatus.waku.wire import parse

PEER_EXCHANGE_PROTOCOL_ID = "/vac/waku/peer-exchange/2.0.0-alpha1"
MAX_PEERS_PER_RESPONSE = 60
MAX_ENR_SIZE = 300  # EIP-778's limit on a record
MAX_REQUEST_SIZE = 1024
MAX_RESPONSE_SIZE = MAX_PEERS_PER_RESPONSE * (MAX_ENR_SIZE + 8) + 64
REQUEST_TIMEOUT = 10.0


def encode_query(num_peers: int) -> bytes:
    rpc = waku_peer_exchange_pb2.PeerExchangeRPC()
    rpc.query.num_peers = num_peers
    return rpc.SerializeToString()


def decode_query(data: bytes) -> int:
    """The number of peers asked for; raises :class:`DecodeError`."""
    rpc = parse(waku_peer_exchange_pb2.PeerExchangeRPC(), data, "peer exchange query")
    if not rpc.HasField("query"):
        raise DecodeError("a peer exchange RPC without a query")
    return rpc.query.num_peers


def encode_response(records: list[bytes]) -> bytes:
    rpc = waku_peer_exchange_pb2.PeerExchangeRPC()
    rpc.response.SetInParent()
    for record in records:
        rpc.response.peer_infos.add(enr=record)
    return rpc.SerializeToString()


def decode_response(data: bytes) -> tuple[list[Enr], int]:
    """The valid records of a response, and how many were refused (bad or unsigned)."""
    rpc = parse(waku_peer_exchange_pb2.PeerExchangeRPC(), data, "peer exchange response")
    if not rpc.HasField("response"):
        raise DecodeError("a peer exchange RPC without a response")
    records: list[Enr] = []
    refused = 0
    for info in rpc.response.peer_infos:
        try:
            if len(info.enr) > MAX_ENR_SIZE:
                raise InvalidEnr("record larger than 300 bytes")
            enr = Enr.from_bytes(info.enr)
            enr.verify()
        except InvalidEnr:
            refused += 1
            continue
        records.append(enr)
    return records, refused
