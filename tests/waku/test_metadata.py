"""66/WAKU2-METADATA between pystatus hosts, and its decoder under fuzzing."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from pystatus.waku.errors import DecodeError
from pystatus.waku.metadata import WakuMetadata, decode_metadata, encode_metadata
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
