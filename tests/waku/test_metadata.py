"""66/WAKU2-METADATA between pystatus hosts, and its decoder under fuzzing."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.errors import DecodeError
from pystatus.waku.metadata import (
    MetadataBook,
    ShardInfo,
    WakuMetadata,
    decode_metadata,
    encode_metadata,
    other_cluster,
)
from pystatus.waku.proto import waku_metadata_pb2
from tests.p2p.hosts import running_host, wait_for, within


def test_shards_are_encoded_unpacked_and_packed() -> None:
    # Field 2 repeated as separate varints (tag 0x10) for js-waku, which cannot read a packed
    # blob; then field 3 packed (tag 0x1a), the only field go-waku reads.
    assert encode_metadata(1, [3, 0], request=False) == bytes.fromhex(
        "0801" + "1000" + "1003" + "1a020003"
    )


def test_go_waku_form_is_read() -> None:
    """go-waku sends shards only in field 3, packed; field 2 is its deprecated copy."""
    assert decode_metadata(bytes.fromhex("0810" + "1a022040")).shards == (32, 64)
    assert decode_metadata(bytes.fromhex("0810" + "1020" + "1a0140")).shards == (32, 64)


def test_packed_shards_are_still_read() -> None:
    packed = bytes.fromhex("0801" + "1202" + "0003")
    info = decode_metadata(packed)
    assert info.cluster_id == 1 and info.shards == (0, 3)


def test_missing_cluster_is_none() -> None:
    assert decode_metadata(b"").cluster_id is None


async def test_query_both_ways() -> None:
    async with running_host() as a, running_host() as b:
        meta_a = WakuMetadata(a, cluster_id=1, shards=lambda: [0, 1])
        meta_b = WakuMetadata(b, cluster_id=1, shards=lambda: [5])
        meta_a.start()
        meta_b.start()
        await within(a.connect(b.full_addrs()[0]))
        info = await within(meta_a.query(b.peer_id))
        assert (info.cluster_id, info.shards) == (1, (5,))
        # The server side learned the asker's shards from the request.
        await wait_for(lambda: a.peer_id in meta_b.peers)
        assert meta_b.peers[a.peer_id].shards == (0, 1)
        info = await within(meta_b.query(a.peer_id))
        assert (info.cluster_id, info.shards) == (1, (0, 1))


@given(st.binary(max_size=200))
def test_fuzz_decoder(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        info = decode_metadata(data)
        assert all(0 <= shard <= 0xFFFF for shard in info.shards)


@given(st.lists(st.integers(0, 1023), max_size=50), st.integers(0, 2**32 - 1))
def test_round_trip(shards: list[int], cluster: int) -> None:
    info = decode_metadata(encode_metadata(cluster, shards, request=True))
    assert info.cluster_id == cluster and info.shards == tuple(sorted(set(shards)))
    reference = waku_metadata_pb2.WakuMetadataRequest()
    reference.ParseFromString(encode_metadata(cluster, shards, request=True))
    assert list(reference.shards) == sorted(set(shards))


def test_the_book_is_bounded_and_the_rule_spares_a_silent_cluster() -> None:
    book = MetadataBook(capacity=2)
    a, b, c = (PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key) for _ in "abc")
    book.record(a, ShardInfo(1, (0,)))
    book.record(b, ShardInfo(1, (1,)))
    book.record(a, ShardInfo(1, (2,)))  # a refresh makes a the newest
    book.record(c, ShardInfo(1, (3,)))
    assert len(book) == 2 and b not in book and book[a].shards == (2,)
    book.forget(a)
    assert list(book) == [c]
    assert other_cluster(16, ShardInfo(1, ()))
    assert not other_cluster(16, ShardInfo(16, (32,)))
    assert not other_cluster(16, ShardInfo(None, ())), "no cluster named: not dropped for it"


async def test_a_peer_is_forgotten_when_its_last_connection_closes() -> None:
    async with running_host() as a, running_host() as b:
        meta_a = WakuMetadata(a, cluster_id=1, shards=lambda: [0])
        meta_b = WakuMetadata(b, cluster_id=1, shards=lambda: [5])
        meta_a.start()
        meta_b.start()
        await within(a.connect(b.full_addrs()[0]))
        await within(meta_a.query(b.peer_id))
        await wait_for(lambda: a.peer_id in meta_b.peers, what="b learned a")
        assert b.peer_id in meta_a.peers
        await within(a.disconnect(b.peer_id))
        await wait_for(
            lambda: b.peer_id not in meta_a.peers and a.peer_id not in meta_b.peers,
            what="both forgotten",
        )
