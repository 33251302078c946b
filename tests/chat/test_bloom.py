"""SDS's bloom filter: nim-sds's hash on the shared vectors, no false negatives, the error
rate it promises, and its bytes."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.chat.bloom import BloomFilter, BloomFilterError, hash_n
from tests.vectors import load_vectors

VECTORS: list[dict[str, Any]] = load_vectors("sds_nim_hash.json")["vectors"]


@pytest.mark.parametrize(
    "vector", VECTORS, ids=lambda v: f"{v['input'][:8]!r}-{v['n']}-{v['maxValue']}"
)
def test_nim_hash_vectors(vector: dict[str, Any]) -> None:
    assert hash_n(vector["input"], vector["n"], vector["maxValue"]) == vector["expected"]["hashC"]
    assert hash_n(vector["input"], 0, vector["maxValue"]) == vector["expected"]["hashA"]


def test_sds_default_size() -> None:
    bloom = BloomFilter()  # SDS's defaults: 10,000 messages at 0.1 %
    assert (bloom.k_hashes, bloom.total_bits, len(bloom.to_bytes())) == (10, 150_000, 18_752)


def test_no_false_negatives_and_the_promised_error_rate() -> None:
    bloom = BloomFilter(capacity=2000, error_rate=0.01)
    members = [f"0x{i:064x}" for i in range(2000)]
    for member in members:
        bloom.insert(member)
    assert all(member in bloom for member in members)
    strangers = [f"stranger-{i}" for i in range(20_000)]
    false_positives = sum(stranger in bloom for stranger in strangers)
    assert false_positives / len(strangers) < 0.02


def test_bytes_round_trip_and_size_check() -> None:
    bloom = BloomFilter(capacity=100, error_rate=0.01)
    for item in ("a", "b", "c"):
        bloom.insert(item)
    copy = BloomFilter.from_bytes(bloom.to_bytes(), capacity=100, error_rate=0.01)
    assert copy.words == bloom.words and "b" in copy
    with pytest.raises(BloomFilterError):
        BloomFilter.from_bytes(b"\x00" * 7, capacity=100, error_rate=0.01)


@given(st.binary(max_size=200))
def test_from_bytes_raises_only_its_error(data: bytes) -> None:
    with contextlib.suppress(BloomFilterError):
        BloomFilter.from_bytes(data, capacity=10, error_rate=0.1)
