"""The Waku message: RFC 14 hash vectors, codec round trips, validation, fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.waku.errors import DecodeError, InvalidMessage, MessageTooLarge
from pystatus.waku.message import (
    MAX_DECODE_SIZE,
    MAX_MESSAGE_SIZE,
    WakuMessage,
    message_hash,
    validate_message,
)
from tests.vectors import load_vectors

HASH_VECTORS: list[dict[str, Any]] = load_vectors("waku.json")["message_hash"]["vectors"]
NOW = 1_700_000_000 * 10**9


@pytest.mark.parametrize("vector", HASH_VECTORS, ids=[v["name"] for v in HASH_VECTORS])
def test_hash_vectors(vector: dict[str, Any]) -> None:
    message = WakuMessage(
        payload=bytes.fromhex(vector["payload_hex"]),
        content_topic=vector["content_topic"],
        meta=bytes.fromhex(vector["meta_hex"]) if vector["meta_hex"] is not None else None,
        timestamp=int(vector["timestamp_ns"]) if vector["timestamp_ns"] is not None else None,
    )
    assert message_hash(vector["pubsub_topic"], message).hex() == vector["expected_hash_hex"]
    # What the hash covers survives the wire.
    decoded = WakuMessage.decode(message.encode())
    assert message_hash(vector["pubsub_topic"], decoded).hex() == vector["expected_hash_hex"]


def test_zero_timestamp_hashes_like_none_but_meta_presence_matters() -> None:
    base = WakuMessage(payload=b"x", content_topic="/a/1/b/proto")
    topic = "/waku/2/rs/1/0"
    assert message_hash(topic, base) == message_hash(
        topic, WakuMessage(b"x", "/a/1/b/proto", timestamp=0)
    )
    # An empty meta hashes the same as none: both add no bytes.
    assert message_hash(topic, base) == message_hash(
        topic, WakuMessage(b"x", "/a/1/b/proto", meta=b"")
    )
    assert message_hash(topic, base) != message_hash("/waku/2/rs/1/1", base)


def test_known_encoding_matches_js_field_numbers() -> None:
    message = WakuMessage(
        payload=b"\x01", content_topic="/a", version=1, timestamp=-1, meta=b"m", ephemeral=True
    )
    # payload=1, content_topic=2, version=3, timestamp=10 (sint64 zig-zag: -1 -> 1), meta=11,
    # ephemeral=31, as @waku/proto 0.0.15 writes them.
    assert message.encode() == bytes.fromhex("0a010112022f61180150015a016df80101")


messages = st.builds(
    WakuMessage,
    payload=st.binary(max_size=200),
    content_topic=st.text(max_size=40),
    version=st.integers(0, 2**32 - 1),
    timestamp=st.none() | st.integers(-(2**63), 2**63 - 1),
    meta=st.none() | st.binary(max_size=64),
    ephemeral=st.booleans(),
    rate_limit_proof=st.none() | st.binary(max_size=32),
)


@given(messages)
def test_round_trip(message: WakuMessage) -> None:
    assert WakuMessage.decode(message.encode()) == message


@given(st.binary(max_size=300))
def test_decode_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        WakuMessage.decode(data)


def test_decode_refuses_oversize_input() -> None:
    with pytest.raises(MessageTooLarge):
        WakuMessage.decode(bytes(MAX_DECODE_SIZE * 2))
    # Up to 1 MiB by default (the Status network's size), less when told.
    large = WakuMessage(bytes(MAX_DECODE_SIZE - 100), "/a/1/b/c").encode()
    assert len(WakuMessage.decode(large).payload) == MAX_DECODE_SIZE - 100
    with pytest.raises(MessageTooLarge):
        WakuMessage.decode(large, max_size=MAX_MESSAGE_SIZE)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (WakuMessage(b"", "/a/1/b/c"), "empty_payload"),
        (WakuMessage(b"x", ""), "empty_content_topic"),
        (WakuMessage(bytes(MAX_MESSAGE_SIZE), "/a/1/b/c"), "too_large"),
        (WakuMessage(b"x", "/a/1/b/c", meta=bytes(65)), "meta_too_large"),
        (WakuMessage(b"x", "/a/1/b/c", timestamp=NOW + 21 * 10**9), "timestamp_in_future"),
        (WakuMessage(b"x", "/a/1/b/c", timestamp=NOW - 21 * 10**9), "timestamp_too_old"),
    ],
)
def test_validation_reasons(message: WakuMessage, reason: str) -> None:
    with pytest.raises(InvalidMessage) as raised:
        validate_message(message, now_ns=NOW)
    assert raised.value.reason == reason


def test_valid_messages_pass() -> None:
    validate_message(WakuMessage(b"x", "/a/1/b/c"), now_ns=NOW)
    validate_message(WakuMessage(b"x", "/a/1/b/c", timestamp=NOW + 19 * 10**9), now_ns=NOW)


def test_an_unbounded_age_accepts_old_timestamps_but_not_future_ones() -> None:
    """The Status cluster's relays check no age (status-go stamps envelopes when it queues
    them behind its publish throttle); the future stays bounded."""
    old = WakuMessage(b"x", "/a/1/b/c", timestamp=NOW - 3600 * 10**9)
    validate_message(old, now_ns=NOW, max_age_ns=None)
    with pytest.raises(InvalidMessage):
        validate_message(
            WakuMessage(b"x", "/a/1/b/c", timestamp=NOW + 21 * 10**9),
            now_ns=NOW,
            max_age_ns=None,
        )
