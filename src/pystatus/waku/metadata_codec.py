"""66/WAKU2-METADATA's wire messages: ``WakuMetadataRequest`` and ``WakuMetadataResponse``
(the same fields: cluster id, and shards in field 2 unpacked and field 3 packed), with the
protocol id and size limits.

js-waku 0.0.36 cannot read a packed field 2, and go-waku (so status-go v1.1.0) reads only field
3 (``waku/v2/protocol/metadata/pb/waku_metadata.proto``): both are written, both are read.
:func:`decode_metadata` raises :class:`~pystatus.waku.errors.DecodeError` and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pystatus.waku.errors import DecodeError
from pystatus.waku.proto import waku_metadata_pb2
from pystatus.waku.wire import parse

METADATA_PROTOCOL_ID = "/vac/waku/metadata/1.0.0"
MAX_METADATA_SIZE = 4096
MAX_SHARDS = 1024
METADATA_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A peer's cluster id (None when it sent none) and its shard indices, sorted, unique."""

    cluster_id: int | None
    shards: tuple[int, ...]


def encode_metadata(cluster_id: int, shards: Iterable[int], *, request: bool) -> bytes:
    """Our cluster and shards as a request (``request``) or a response; shards sorted, unique."""
    kind = (
        waku_metadata_pb2.WakuMetadataRequest if request else waku_metadata_pb2.WakuMetadataResponse
    )
    ordered = sorted(set(shards))
    return kind(cluster_id=cluster_id, shards=ordered, shards_packed=ordered).SerializeToString()


def decode_metadata(data: bytes) -> ShardInfo:
    """Either message (their fields are the same); shards from field 2 and field 3, each
    packed or unpacked. Raises :class:`DecodeError` for malformed bytes, over
    ``MAX_METADATA_SIZE`` bytes or ``MAX_SHARDS`` shards, or a shard index over 65535."""
    if len(data) > MAX_METADATA_SIZE:
        raise DecodeError(f"metadata message of {len(data)} bytes")
    message = parse(waku_metadata_pb2.WakuMetadataResponse(), data, "metadata message")
    listed = [*message.shards, *message.shards_packed]
    if len(listed) > MAX_SHARDS:
        raise DecodeError(f"metadata lists {len(listed)} shards")
    if any(shard > 0xFFFF for shard in listed):
        raise DecodeError("metadata shard index out of range")
    cluster = message.cluster_id if message.HasField("cluster_id") else None
    return ShardInfo(cluster, tuple(sorted(set(listed))))
