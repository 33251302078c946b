"""WAKU2-PEER-EXCHANGE (/vac/waku/peer-exchange/2.0.0-alpha1): ENRs for peers that cannot discover.

A requester (usually a light client) asks a responder for up to ``num_peers`` ENRs. The
responder answers from an :class:`EnrCache` of signed records it learned and whose peers it
has reached, sampled at random so answers do not mirror its own neighbourhood, and bounded in
size (the RFC suggests ten times the mesh degree: 60).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.enr import Enr
from pystatus.waku.errors import DecodeError, InvalidEnr
from pystatus.waku.proto import waku_peer_exchange_pb2
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.wire import parse, request

log = logging.getLogger(__name__)

PEER_EXCHANGE_PROTOCOL_ID = "/vac/waku/peer-exchange/2.0.0-alpha1"
CACHE_SIZE = 60
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


@dataclass(slots=True)
class _Entry:
    enr: Enr
    added: float
    reached: bool = False


class EnrCache:
    """Signed records by peer, newest sequence number kept, oldest evicted when full."""

    def __init__(self, capacity: int = CACHE_SIZE, *, rng: random.Random | None = None) -> None:
        self.capacity = capacity
        self._entries: dict[PeerId, _Entry] = {}
        self._rng = rng or random.Random()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, peer: object) -> bool:
        return peer in self._entries

    def add(self, enr: Enr, now: float, *, reached: bool = False) -> bool:
        """Keep ``enr`` (its signature must verify); returns whether it was new or newer."""
        enr.verify()
        peer = enr.peer_id
        existing = self._entries.get(peer)
        if existing is not None:
            if enr.seq <= existing.enr.seq:
                existing.reached |= reached
                return False
            existing.enr, existing.added = enr, now
            existing.reached |= reached
            return True
        if len(self._entries) >= self.capacity:
            oldest = min(self._entries, key=lambda p: self._entries[p].added)
            del self._entries[oldest]
        self._entries[peer] = _Entry(enr, now, reached)
        metrics.PX_PEERS_CACHED.set(len(self._entries))
        return True

    def mark_reached(self, peer: PeerId) -> None:
        entry = self._entries.get(peer)
        if entry is not None:
            entry.reached = True

    def remove(self, peer: PeerId) -> None:
        self._entries.pop(peer, None)
        metrics.PX_PEERS_CACHED.set(len(self._entries))

    def records(self) -> list[Enr]:
        return [entry.enr for entry in self._entries.values()]

    def sample(self, count: int, *, exclude: PeerId | None = None) -> list[Enr]:
        """Up to ``count`` records of reached peers, chosen at random."""
        good = [e.enr for p, e in self._entries.items() if e.reached and p != exclude]
        return self._rng.sample(good, min(count, len(good)))


class PeerExchangeServer:
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

    def start(self) -> None:
        self.host.set_stream_handler(PEER_EXCHANGE_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(PEER_EXCHANGE_PROTOCOL_ID)

    def respond(self, peer: PeerId, data: bytes) -> bytes | None:
        """The response to one query's bytes, or None when the query is refused."""
        try:
            wanted = decode_query(data)
        except DecodeError as exc:
            metrics.PROTOCOL_ERRORS.labels("peer_exchange", "malformed").inc()
            log.debug("bad peer exchange query from %s: %s", peer, exc)
            return None
        if not self._limiter.allow(peer, self._clock()):
            # The RFC's response has no status field: a rate-limited requester gets no peers.
            metrics.PROTOCOL_ERRORS.labels("peer_exchange", "rate_limited").inc()
            return encode_response([])
        records = self.cache.sample(min(wanted, MAX_PEERS_PER_RESPONSE), exclude=peer)
        metrics.PX_PEERS_SENT.inc(len(records))
        return encode_response([enr.to_bytes() for enr in records])

    async def _serve(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await stream.read_message(MAX_REQUEST_SIZE)
                metrics.PROTOCOL_MESSAGES.labels("peer_exchange", "in").inc()
                metrics.PROTOCOL_BYTES.labels("peer_exchange", "in").inc(len(data))
                response = self.respond(peer, data)
                if response is None:
                    await stream.reset()
                    return
                metrics.PROTOCOL_BYTES.labels("peer_exchange", "out").inc(len(response))
                await stream.write_message(response)
                await stream.close()
        except (TimeoutError, P2PError) as exc:
            metrics.PROTOCOL_ERRORS.labels("peer_exchange", type(exc).__name__).inc()
            log.debug("peer exchange with %s failed: %r", peer, exc)
            await stream.reset()


class PeerExchangeClient:
    def __init__(self, host: Host) -> None:
        self.host = host

    async def query(self, peer: PeerId | Multiaddr | str, num_peers: int) -> list[Enr]:
        """Ask ``peer`` for up to ``num_peers`` records; only signed, well-formed ones return."""
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
