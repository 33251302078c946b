"""The bloom filter of Scalable Data Sync (SDS): which messages a participant has seen.

Its hash is nim-sds's: MurmurHash3 (x86, 32 bits, seed 0) of the item's UTF-8 bytes read as a
signed integer, made non-negative; the i-th of k positions is ``|a + i * b| mod m`` with ``a``
the hash of the item and ``b`` the hash of the item followed by ``" b"`` (double hashing).
Sizes follow the same rule: ``ceil(-ln p / ln(2)^2)`` bits per element for error rate ``p``
and ``round(ln 2 * bits)`` hashes, the bits held in 64-bit words sent big-endian.
"""

from __future__ import annotations

import math

import mmh3

from pystatus.errors import ChatError

WORD_BITS = 64


class BloomFilterError(ChatError):
    """Filter bytes of the wrong size for the filter's parameters."""


def _hash(item: str) -> int:
    return abs(mmh3.hash(item.encode(), 0, signed=True))


def _bases(item: str, max_value: int) -> tuple[int, int]:
    return _hash(item) % max_value, _hash(item + " b") % max_value


def hash_n(item: str, n: int, max_value: int) -> int:
    """The ``n``-th of an item's positions in a filter of ``max_value`` bits."""
    a, b = _bases(item, max_value)
    return abs(a + n * b) % max_value


class BloomFilter:
    def __init__(self, capacity: int = 10_000, error_rate: float = 0.001) -> None:
        if capacity < 1 or not 0 < error_rate < 1:
            raise BloomFilterError("capacity must be positive and the error rate in (0, 1)")
        bits_per_element = math.ceil(-math.log(error_rate) / math.log(2) ** 2)
        self.capacity = capacity
        self.error_rate = error_rate
        self.k_hashes = round(math.log(2) * bits_per_element)
        self.total_bits = capacity * bits_per_element
        self.words = [0] * (1 + self.total_bits // WORD_BITS)

    def _positions(self, item: str) -> list[int]:
        a, b = _bases(item, self.total_bits)
        return [abs(a + i * b) % self.total_bits for i in range(self.k_hashes)]

    def insert(self, item: str) -> None:
        for position in self._positions(item):
            self.words[position // WORD_BITS] |= 1 << (position % WORD_BITS)

    def __contains__(self, item: str) -> bool:
        return all(
            self.words[position // WORD_BITS] >> (position % WORD_BITS) & 1
            for position in self._positions(item)
        )

    def to_bytes(self) -> bytes:
        return b"".join(word.to_bytes(8, "big") for word in self.words)

    @classmethod
    def from_bytes(
        cls, data: bytes, capacity: int = 10_000, error_rate: float = 0.001
    ) -> BloomFilter:
        bloom = cls(capacity, error_rate)
        if len(data) != 8 * len(bloom.words):
            raise BloomFilterError(
                f"{len(data)} bytes for a filter of {8 * len(bloom.words)} bytes"
            )
        bloom.words = [int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8)]
        return bloom
