"""Unsigned varints and varint-length-prefixed messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.errors import DecodeError, LimitExceeded
from pystatus.p2p.varint import (
    LengthPrefixedReader,
    decode_uvarint,
    decode_uvarint_exact,
    encode_uvarint,
    length_prefixed,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16384, "808001")],
)
def test_known_encodings(value: int, encoded: str) -> None:
    assert encode_uvarint(value).hex() == encoded
    assert decode_uvarint_exact(bytes.fromhex(encoded)) == value


def test_truncated_varint_needs_more_data() -> None:
    assert decode_uvarint(b"\x80\x80") is None


def test_non_minimal_and_overlong_varints_are_rejected() -> None:
    with pytest.raises(DecodeError, match="non-minimal"):
        decode_uvarint(b"\x80\x00")
    with pytest.raises(DecodeError, match="longer"):
        decode_uvarint(b"\xff" * 10)


def test_reader_refuses_an_oversize_declared_length_before_buffering_it() -> None:
    reader = LengthPrefixedReader(max_size=10)
    with pytest.raises(LimitExceeded):
        list(reader.feed(encode_uvarint(11)))


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip(value: int) -> None:
    encoded = encode_uvarint(value)
    assert decode_uvarint(encoded) == (value, len(encoded))


@given(st.lists(st.binary(max_size=300), max_size=10), st.integers(min_value=1, max_value=50))
def test_reader_reassembles_messages_from_any_split(messages: list[bytes], step: int) -> None:
    wire = b"".join(length_prefixed(m) for m in messages)
    reader = LengthPrefixedReader(max_size=300)
    got: list[bytes] = []
    for start in range(0, len(wire), step):
        got += reader.feed(wire[start : start + step])
    assert got == messages
    assert reader.buffered == 0


@given(st.binary(max_size=64))
def test_fuzz_decoder(data: bytes) -> None:
    try:
        result = decode_uvarint(data)
    except DecodeError:
        return
    if result is not None:
        value, end = result
        assert encode_uvarint(value) == data[:end]


@given(st.binary(max_size=500))
def test_fuzz_reader(data: bytes) -> None:
    reader = LengthPrefixedReader(max_size=100)
    try:
        for message in reader.feed(data):
            assert len(message) <= 100
    except (DecodeError, LimitExceeded):
        pass
