"""Recursive Length Prefix (Ethereum yellow paper, appendix B), as ENR records need it.

Only byte strings and lists; decoding is strict (canonical lengths only), since a signature
over a record must cover exactly one byte form of it.
"""

from __future__ import annotations

from typing import TypeAlias

from pystatus.waku.errors import DecodeError

Item: TypeAlias = bytes | list["Item"]


def _length_prefix(length: int, short_base: int) -> bytes:
    if length < 56:
        return bytes([short_base + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([short_base + 55 + len(encoded)]) + encoded


def encode(item: Item) -> bytes:
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    body = b"".join(encode(element) for element in item)
    return _length_prefix(len(body), 0xC0) + body


def encode_uint(value: int) -> bytes:
    """An RLP integer: big-endian, no leading zeros, zero as the empty string."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def decode_uint(data: bytes) -> int:
    if data[:1] == b"\x00":
        raise DecodeError("integer with leading zeros")
    return int.from_bytes(data, "big")


def _read_length(data: bytes, offset: int, size_of_length: int) -> int:
    raw = data[offset : offset + size_of_length]
    if len(raw) != size_of_length:
        raise DecodeError("truncated RLP length")
    if raw[0] == 0:
        raise DecodeError("RLP length with leading zeros")
    length = int.from_bytes(raw, "big")
    if length < 56:
        raise DecodeError("long RLP form for a short item")
    return length


def _decode_at(data: bytes, offset: int, depth: int) -> tuple[Item, int]:
    if depth > 16:
        raise DecodeError("RLP nested too deeply")
    if offset >= len(data):
        raise DecodeError("truncated RLP item")
    prefix = data[offset]
    if prefix < 0x80:
        return data[offset : offset + 1], offset + 1
    if prefix < 0xB8:
        length, start = prefix - 0x80, offset + 1
        if length == 1 and start < len(data) and data[start] < 0x80:
            raise DecodeError("single byte below 0x80 must encode as itself")
    elif prefix < 0xC0:
        size = prefix - 0xB7
        length, start = _read_length(data, offset + 1, size), offset + 1 + size
    else:
        if prefix < 0xF8:
            length, start = prefix - 0xC0, offset + 1
        else:
            size = prefix - 0xF7
            length, start = _read_length(data, offset + 1, size), offset + 1 + size
        end = start + length
        if end > len(data):
            raise DecodeError("truncated RLP list")
        items: list[Item] = []
        position = start
        while position < end:
            item, position = _decode_at(data, position, depth + 1)
            items.append(item)
        if position != end:
            raise DecodeError("RLP list overruns its length")
        return items, end
    end = start + length
    if end > len(data):
        raise DecodeError("truncated RLP string")
    return data[start:end], end


def decode(data: bytes) -> Item:
    item, end = _decode_at(data, 0, 0)
    if end != len(data):
        raise DecodeError("trailing bytes after RLP item")
    return item
