"""Peer exchange: the ENR cache's rules, bounded answers over hosts, fuzzed codecs."""

from __future__ import annotations

import contextlib
import dataclasses
import random

from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics
from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.errors import DecodeError
from pystatus.waku.peer_exchange import (
    MAX_PEERS_PER_RESPONSE,
    EnrCache,
    PeerExchangeClient,
    PeerExchangeServer,
    PxAnswer,
    answer_query,
    decode_query,
    decode_response,
    encode_query,
    encode_response,
)
from pystatus.waku.rate_limit import PeerRateLimiter
from tests.p2p.hosts import running_host, within

FUZZ_PEER = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


def record(port: int = 60000, seq: int = 1, key: Secp256k1PrivateKey | None = None) -> Enr:
    return Enr.build(
        key or Secp256k1PrivateKey.generate(),
        seq=seq,
        ip="10.0.0.1",
        tcp=port,
        capabilities=Capabilities.RELAY,
        cluster_id=1,
        shards=[0],
    )


def test_cache_is_bounded_keeps_newest_and_serves_reached_peers_only() -> None:
    cache = EnrCache(capacity=3, rng=random.Random(1))
    records = [record(60000 + i) for i in range(4)]
    for now, enr in enumerate(records):
        assert cache.add(enr, float(now), reached=now % 2 == 0)
    assert len(cache) == 3 and records[0].peer_id not in cache, "oldest evicted"
    assert {e.peer_id for e in cache.sample(10)} == {records[2].peer_id}
    cache.mark_reached(records[1].peer_id)
    assert len(cache.sample(10)) == 2
    assert cache.sample(10, exclude=records[1].peer_id) == [records[2]]
    key = Secp256k1PrivateKey.generate()
    cache.add(record(1, seq=2, key=key), 10.0, reached=True)
    assert not cache.add(record(2, seq=1, key=key), 11.0), "an older record does not replace"
    assert [e.tcp for e in cache.records() if e.peer_id == record(1, key=key).peer_id] == [1]


def test_forged_records_are_refused() -> None:
    genuine = record()
    forged = dataclasses.replace(genuine, seq=genuine.seq + 1)  # signature no longer matches
    records, refused = decode_response(encode_response([genuine.to_bytes(), forged.to_bytes()]))
    assert [r.to_bytes() for r in records] == [genuine.to_bytes()]
    assert refused == 1


@given(st.binary(max_size=600))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_query(data)
    with contextlib.suppress(DecodeError):
        decode_response(data)


def test_query_round_trip() -> None:
    assert decode_query(encode_query(7)) == 7


async def test_answers_are_bounded_random_samples() -> None:
    async with running_host() as responder, running_host() as requester:
        cache = EnrCache(capacity=100)
        for port in range(80):
            cache.add(record(1000 + port), 0.0, reached=True)
        PeerExchangeServer(responder, cache).start()
        client = PeerExchangeClient(requester)
        addr = responder.full_addrs()[0]
        sent = metrics.PX_PEERS_SENT._value.get()
        five = await within(client.query(addr, 5))
        assert len(five) == 5 and len({e.peer_id for e in five}) == 5
        many = await within(client.query(addr, 1000))
        assert len(many) == MAX_PEERS_PER_RESPONSE
        assert metrics.PX_PEERS_SENT._value.get() - sent == 5 + MAX_PEERS_PER_RESPONSE


async def test_a_query_flood_gets_empty_answers() -> None:
    async with running_host() as responder, running_host() as requester:
        cache = EnrCache()
        cache.add(record(), 0.0, reached=True)
        PeerExchangeServer(responder, cache, peer_rate=0.1, peer_burst=2).start()
        client = PeerExchangeClient(requester)
        sizes = [len(await within(client.query(responder.full_addrs()[0], 3))) for _ in range(5)]
        assert sizes == [1, 1, 0, 0, 0]


def test_requester_is_not_told_about_itself() -> None:
    key = Secp256k1PrivateKey.generate()
    cache = EnrCache()
    cache.add(record(key=key), 0.0, reached=True)
    assert cache.sample(5, exclude=PeerId.from_public_key(key.public_key)) == []


def test_answer_query_without_io() -> None:
    cache = EnrCache()
    cache.add(record(), 0.0, reached=True)
    limiter = PeerRateLimiter(0.1, 1)
    asker = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    assert answer_query(cache, limiter, asker, b"\xff", 0.0) == PxAnswer(None, 0, "malformed")
    first = answer_query(cache, limiter, asker, encode_query(3), 0.0)
    assert first.refusal is None and first.sent == 1
    assert first.reply is not None and len(decode_response(first.reply)[0]) == 1
    assert answer_query(cache, limiter, asker, encode_query(3), 0.0) == PxAnswer(
        encode_response([]), 0, "rate_limited"
    )


@given(st.binary(max_size=600))
def test_answer_query_never_raises(data: bytes) -> None:
    answered = answer_query(EnrCache(), PeerRateLimiter(1, 1), FUZZ_PEER, data, 0.0)
    assert answered.reply is not None or answered.refusal == "malformed"
