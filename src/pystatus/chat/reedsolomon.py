"""Systematic Reed-Solomon erasure coding over GF(2^8), compatible with the default encoder of
klauspost/reedsolomon (the Go library status-go segments messages with).

The field is GF(2)[x] / (x^8 + x^4 + x^3 + x^2 + 1) with generator 2. For ``k`` data shards and
``m`` parity shards the coding matrix is the ``(k + m) x k`` Vandermonde matrix
``V[r][c] = r ** c`` multiplied by the inverse of its top ``k x k`` square, so its top is the
identity (data shards go out unchanged) and any ``k`` of its rows are invertible (any ``k``
shards give back the data). Only up to 256 shards in all: klauspost switches to another field
(leopard GF(2^16)) above that, which status-go never asks for.

Row and shard arithmetic is done a whole row at a time: a multiplication by a constant is a
``bytes.translate`` through that constant's table, an addition an XOR of two big integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from pystatus.errors import ChatError

MAX_SHARDS = 256
_POLYNOMIAL = 0x11D


class ReedSolomonError(ChatError):
    """The shards given cannot be encoded or reconstructed (counts, sizes, too few shards)."""


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= _POLYNOMIAL
    for i in range(255, 510):
        exp[i] = exp[i - 255]
    return exp, log


_EXP, _LOG = _tables()


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_inverse(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    return _EXP[(255 - _LOG[a]) % 255]


def gf_pow(a: int, n: int) -> int:
    if n == 0:
        return 1
    if a == 0:
        return 0
    return _EXP[(_LOG[a] * n) % 255]


# _MUL[c] maps every byte x to c * x, for bytes.translate.
_MUL: tuple[bytes, ...] = tuple(bytes(gf_mul(c, x) for x in range(256)) for c in range(256))


def _scale(row: bytes, c: int) -> bytes:
    return row.translate(_MUL[c])


def _xor(a: bytes, b: bytes) -> bytes:
    n = len(a)
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(n, "little")


def _invert(matrix: Sequence[bytes]) -> list[bytes]:
    """Gauss-Jordan inversion of a square matrix whose rows are bytes; ReedSolomonError if
    singular."""
    size = len(matrix)
    work = []
    for r, row in enumerate(matrix):
        augmented = bytearray(row) + bytearray(size)
        augmented[size + r] = 1
        work.append(bytes(augmented))
    for col in range(size):
        pivot = next((r for r in range(col, size) if work[r][col]), None)
        if pivot is None:
            raise ReedSolomonError("singular matrix")
        work[col], work[pivot] = work[pivot], work[col]
        if work[col][col] != 1:
            work[col] = _scale(work[col], gf_inverse(work[col][col]))
        pivot_row = work[col]
        for r in range(size):
            if r != col and work[r][col]:
                work[r] = _xor(work[r], _scale(pivot_row, work[r][col]))
    return [row[size:] for row in work]


def _multiply(a: Sequence[bytes], b: Sequence[bytes]) -> list[bytes]:
    """a x b, rows as bytes; each product row is a sum of b's rows scaled by a's entries."""
    width = len(b[0])
    out = []
    for row in a:
        acc = bytes(width)
        for c, coefficient in enumerate(row):
            if coefficient:
                acc = _xor(acc, _scale(b[c], coefficient))
        out.append(acc)
    return out


def _check_counts(data_shards: int, parity_shards: int) -> None:
    if data_shards <= 0 or parity_shards < 0 or data_shards + parity_shards > MAX_SHARDS:
        raise ReedSolomonError(
            f"{data_shards} data and {parity_shards} parity shards: need 1 data shard or more "
            f"and at most {MAX_SHARDS} in all"
        )


@lru_cache(maxsize=64)
def coding_matrix(data_shards: int, parity_shards: int) -> tuple[bytes, ...]:
    """All ``data_shards + parity_shards`` rows of the systematic coding matrix."""
    _check_counts(data_shards, parity_shards)
    total = data_shards + parity_shards
    vandermonde = [bytes(gf_pow(r, c) for c in range(data_shards)) for r in range(total)]
    top_inverse = _invert(vandermonde[:data_shards])
    return tuple(_multiply(vandermonde, top_inverse))


def _combine(coefficients: bytes, shards: Sequence[bytes], size: int) -> bytes:
    acc = 0
    for coefficient, shard in zip(coefficients, shards, strict=True):
        if coefficient:
            acc ^= int.from_bytes(shard.translate(_MUL[coefficient]), "little")
    return acc.to_bytes(size, "little")


def _shard_size(shards: Sequence[bytes | None]) -> int:
    sizes = {len(s) for s in shards if s is not None}
    if len(sizes) != 1:
        raise ReedSolomonError(f"shards of different sizes: {sorted(sizes)}")
    size = sizes.pop()
    if size == 0:
        raise ReedSolomonError("empty shards")
    return size


def encode(data: Sequence[bytes], parity_shards: int) -> list[bytes]:
    """The ``parity_shards`` parity shards of ``data`` (equal-sized, non-empty shards)."""
    _check_counts(len(data), parity_shards)
    size = _shard_size(data)
    matrix = coding_matrix(len(data), parity_shards)
    return [_combine(matrix[len(data) + i], data, size) for i in range(parity_shards)]


def reconstruct_data(shards: Sequence[bytes | None], data_shards: int) -> list[bytes]:
    """The data shards, from ``shards`` (data shards then parity shards, ``None`` where one is
    missing). As klauspost does, the first ``data_shards`` shards present are used; the others
    are not checked against them."""
    parity_shards = len(shards) - data_shards
    _check_counts(data_shards, parity_shards)
    size = _shard_size(shards)
    present = [i for i, s in enumerate(shards) if s is not None][:data_shards]
    if len(present) < data_shards:
        raise ReedSolomonError(f"{len(present)} shards present, {data_shards} needed")
    if present == list(range(data_shards)):
        return [s for s in shards[:data_shards] if s is not None]
    matrix = coding_matrix(data_shards, parity_shards)
    decode = _invert([matrix[i] for i in present])
    inputs = [s for i in present if (s := shards[i]) is not None]
    out = []
    for j in range(data_shards):
        shard = shards[j]
        out.append(shard if shard is not None else _combine(decode[j], inputs, size))
    return out
