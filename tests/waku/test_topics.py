"""Content topics, auto-sharding and the ENR relay-shard codec against js-waku's vectors."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.waku.errors import DecodeError, InvalidTopic
from pystatus.waku.topics import (
    ContentTopic,
    RelayShard,
    decode_relay_shards,
    encode_relay_shards,
    pubsub_topic_for_content_topic,
    shard_for_content_topic,
)
from tests.vectors import load_vectors

VECTORS = load_vectors("waku.json")
SHARDING: list[dict[str, Any]] = VECTORS["autosharding"]["vectors"]
CODEC: list[dict[str, Any]] = VECTORS["relay_shard_codec"]["vectors"]


@pytest.mark.parametrize("vector", SHARDING, ids=[v["content_topic"] for v in SHARDING])
def test_autosharding_vectors(vector: dict[str, Any]) -> None:
    shard = shard_for_content_topic(
        vector["content_topic"], cluster_id=1, shard_count=vector["num_shards"]
    )
    assert shard.shard == vector["expected_shard"]
    topic = pubsub_topic_for_content_topic(
        vector["content_topic"], shard_count=vector["num_shards"]
    )
    assert topic == vector["pubsub_topic_cluster1"]


@pytest.mark.parametrize("vector", CODEC, ids=range(len(CODEC)))
def test_relay_shard_codec_vectors(vector: dict[str, Any]) -> None:
    encoded = encode_relay_shards(vector["clusterId"], vector["shards"])
    assert encoded.hex() == vector["encoded_hex"]
    assert decode_relay_shards(encoded) == (vector["clusterId"], tuple(vector["shards"]))


def test_content_topic_parsing() -> None:
    topic = ContentTopic.parse("/0/toychat/2/huilong/proto")
    assert (topic.application, topic.version, topic.name, topic.encoding) == (
        "toychat",
        "2",
        "huilong",
        "proto",
    )
    assert str(topic) == "/toychat/2/huilong/proto"
    for bad in ("", "toychat/2/h/p", "/toychat/2/h", "/1/a/2/b/c", "/x/a/2/b/c", "/a//b/c"):
        with pytest.raises(InvalidTopic):
            ContentTopic.parse(bad)


def test_pubsub_topic_parsing() -> None:
    assert RelayShard.parse("/waku/2/rs/1/7") == RelayShard(1, 7)
    assert RelayShard(16, 32).pubsub_topic == "/waku/2/rs/16/32"
    for bad in (
        "/waku/2/default-waku/proto",
        "/waku/2/rs/1",
        "/waku/2/rs/a/1",
        "/waku/2/rs/1/99999",
    ):
        with pytest.raises(InvalidTopic):
            RelayShard.parse(bad)


@given(st.text(max_size=60))
def test_topic_parsers_raise_only_typed_errors(text: str) -> None:
    for parse in (ContentTopic.parse, RelayShard.parse):
        with contextlib.suppress(InvalidTopic):
            parse(text)


@given(st.binary(max_size=200))
def test_shard_decoder_raises_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_relay_shards(data)


@given(st.integers(0, 0xFFFF), st.sets(st.integers(0, 1023), max_size=80))
def test_shard_codec_round_trip(cluster: int, shards: set[int]) -> None:
    assert decode_relay_shards(encode_relay_shards(cluster, shards)) == (
        cluster,
        tuple(sorted(shards)),
    )
