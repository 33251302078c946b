"""Content topics (23/WAKU2-TOPICS) and relay shards (51/WAKU2-RELAY-SHARDING)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from pystatus.waku.errors import DecodeError, InvalidTopic

DEFAULT_CLUSTER_ID = 1
DEFAULT_SHARD_COUNT = 8
MAX_SHARD = 1023
_RS_VECTOR_BYTES = 128


@dataclass(frozen=True, slots=True)
class ContentTopic:
    application: str
    version: str
    name: str
    encoding: str
    generation: int = 0

    @classmethod
    def parse(cls, text: str) -> ContentTopic:
        """Parse ``/{app}/{version}/{name}/{encoding}`` or ``/{generation}/...``."""
        parts = text.split("/")
        if len(parts) == 5 and parts[0] == "":
            generation = 0
            app, version, name, encoding = parts[1:]
        elif len(parts) == 6 and parts[0] == "":
            if not parts[1].isdigit():
                raise InvalidTopic(f"generation of {text!r} is not a number")
            generation = int(parts[1])
            if generation != 0:
                raise InvalidTopic(f"generation {generation} is not supported")
            app, version, name, encoding = parts[2:]
        else:
            raise InvalidTopic(f"content topic {text!r} is not /app/version/name/encoding")
        if not all((app, version, name, encoding)):
            raise InvalidTopic(f"content topic {text!r} has an empty part")
        return cls(app, version, name, encoding, generation)

    def __str__(self) -> str:
        return f"/{self.application}/{self.version}/{self.name}/{self.encoding}"


@dataclass(frozen=True, slots=True, order=True)
class RelayShard:
    cluster_id: int
    shard: int

    @property
    def pubsub_topic(self) -> str:
        return f"/waku/2/rs/{self.cluster_id}/{self.shard}"

    @classmethod
    def parse(cls, pubsub_topic: str) -> RelayShard:
        parts = pubsub_topic.split("/")
        if len(parts) != 6 or parts[:4] != ["", "waku", "2", "rs"]:
            raise InvalidTopic(f"{pubsub_topic!r} is not /waku/2/rs/<cluster>/<shard>")
        cluster, shard = parts[4], parts[5]
        if not (cluster.isdigit() and shard.isdigit()):
            raise InvalidTopic(f"{pubsub_topic!r} has a non-numeric cluster or shard")
        cluster_id, shard_id = int(cluster), int(shard)
        if cluster_id > 0xFFFF or shard_id > MAX_SHARD:
            raise InvalidTopic(f"{pubsub_topic!r} is out of range")
        return cls(cluster_id, shard_id)


def shard_for_content_topic(content_topic: str, *, cluster_id: int, shard_count: int) -> RelayShard:
    """Auto-sharding (51/WAKU2-RELAY-SHARDING): hash of application and version."""
    if shard_count < 1:
        raise InvalidTopic("shard count must be positive")
    topic = ContentTopic.parse(content_topic)
    digest = hashlib.sha256((topic.application + topic.version).encode()).digest()
    (value,) = struct.unpack(">Q", digest[24:32])
    return RelayShard(cluster_id, value % shard_count)


def pubsub_topic_for_content_topic(
    content_topic: str,
    *,
    cluster_id: int = DEFAULT_CLUSTER_ID,
    shard_count: int = DEFAULT_SHARD_COUNT,
) -> str:
    return shard_for_content_topic(
        content_topic, cluster_id=cluster_id, shard_count=shard_count
    ).pubsub_topic


def encode_relay_shards(cluster_id: int, shards: Iterable[int]) -> bytes:
    """The ENR ``rs`` (index list) or, for 64 shards or more, ``rsv`` (bit vector) value."""
    ordered = sorted(set(shards))
    if not 0 <= cluster_id <= 0xFFFF or any(not 0 <= s <= MAX_SHARD for s in ordered):
        raise InvalidTopic("cluster or shard out of range")
    if len(ordered) >= 64:
        vector = bytearray(_RS_VECTOR_BYTES)
        for shard in ordered:
            vector[shard // 8] |= 0x80 >> (shard % 8)
        return struct.pack(">H", cluster_id) + bytes(vector)
    return struct.pack(">HB", cluster_id, len(ordered)) + b"".join(
        struct.pack(">H", shard) for shard in ordered
    )


def decode_relay_shards(data: bytes) -> tuple[int, tuple[int, ...]]:
    if len(data) == 2 + _RS_VECTOR_BYTES:
        (cluster_id,) = struct.unpack_from(">H", data)
        shards = tuple(
            index
            for index in range(_RS_VECTOR_BYTES * 8)
            if data[2 + index // 8] & (0x80 >> (index % 8))
        )
        return cluster_id, shards
    if len(data) < 3:
        raise DecodeError("relay shard value too short")
    cluster_id, count = struct.unpack_from(">HB", data)
    if len(data) != 3 + 2 * count:
        raise DecodeError(f"relay shard value of {len(data)} bytes lists {count} shards")
    return cluster_id, tuple(struct.unpack_from(f">{count}H", data, 3))
