"""A community's shard and store nodes as its control node publishes them (status-go v1.1.0's
types 79 and 83): decoded, signature checked against the community key, bounded, fuzzed
(:mod:`pystatus.chat.community_public_info`)."""

from __future__ import annotations

import contextlib

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat.community import InvalidCommunity
from pystatus.chat.community_public_info import (
    MAX_STORENODES,
    decode_shard_info,
    decode_storenodes,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import community_public_info_pb2 as pb
from pystatus.waku.enr import keccak256

COMMUNITY = coincurve.PrivateKey()
COMMUNITY_ID = COMMUNITY.public_key.format(compressed=True)


def shard_info(
    signer: coincurve.PrivateKey = COMMUNITY, chain_id: int = 0, index: int = 128
) -> bytes:
    """A type 79 payload, signed as status-go's control node signs it."""
    payload = pb.PublicShardInfo(
        clock=3,
        community_id=COMMUNITY_ID,
        shard=chat_message_pb2.Shard(cluster=16, index=index),
        chainId=chain_id,
    ).SerializeToString()
    signature = signer.sign_recoverable(keccak256(payload), hasher=None)
    return pb.CommunityPublicShardInfo(signature=signature, payload=payload).SerializeToString()


def storenodes(count: int = 1, signer: coincurve.PrivateKey = COMMUNITY) -> bytes:
    payload = pb.CommunityStorenodes(
        clock=4,
        community_id=COMMUNITY_ID,
        storenodes=[
            pb.Storenode(community_id=COMMUNITY_ID, storenode_id=f"n{i}", address="/dns4/x/tcp/1")
            for i in range(count)
        ],
    ).SerializeToString()
    signature = signer.sign_recoverable(keccak256(payload), hasher=None)
    return pb.CommunityPublicStorenodesInfo(
        signature=signature, payload=payload
    ).SerializeToString()


def test_a_signed_shard_and_store_nodes_decode() -> None:
    info = decode_shard_info(shard_info())
    assert (info.community_id, info.clock, info.cluster, info.index) == (
        "0x" + COMMUNITY_ID.hex(),
        3,
        16,
        128,
    )
    nodes = decode_storenodes(storenodes(2))
    assert nodes.storenodes == (("n0", "/dns4/x/tcp/1"), ("n1", "/dns4/x/tcp/1"))


@pytest.mark.parametrize(
    "data",
    [
        shard_info(signer=coincurve.PrivateKey()),
        shard_info(chain_id=1),
        shard_info(index=-1),
        storenodes(signer=coincurve.PrivateKey()),
        storenodes(MAX_STORENODES + 1),
    ],
)
def test_unsigned_foreign_or_oversized_ones_are_refused(data: bytes) -> None:
    decode = decode_storenodes if b"/dns4" in data else decode_shard_info
    with pytest.raises(InvalidCommunity):
        decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_public_info_decoders_parse_or_raise(data: bytes) -> None:
    with contextlib.suppress(InvalidCommunity):
        decode_shard_info(data)
    with contextlib.suppress(InvalidCommunity):
        decode_storenodes(data)
