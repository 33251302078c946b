"""The Waku message (14/WAKU2-MESSAGE): codec, deterministic hash and validation."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from pystatus.waku.errors import InvalidMessage, LocalWakuError, MessageTooLarge
from pystatus.waku.proto import waku_message_pb2
from pystatus.waku.wire import parse

# 64/WAKU2-NETWORK: the network's relay message cap.
MAX_MESSAGE_SIZE = 150 * 1024
# The Status network (cluster 16) carries messages up to 1 MiB (status-go v1.1.0
# wakuv2/common/const.go, DefaultMaxMessageSize), and so does pystatus on that cluster.
STATUS_CLUSTER_ID = 16
STATUS_MAX_MESSAGE_SIZE = 1024 * 1024
# Decoding accepts messages up to the largest of those unless told a limit, so light clients
# (filter pushes, store pages) read what a Status service node sends them.
MAX_DECODE_SIZE = STATUS_MAX_MESSAGE_SIZE
MAX_META_SIZE = 64
# 64/WAKU2-NETWORK: The Waku Network (cluster 1) rejects messages whose timestamp is more than
# 20 s off the relay's clock (nwaku enforces it there through RLN's epoch check); nwaku's relay
# checks no timestamp on other clusters.
TWN_CLUSTER_ID = 1
MAX_CLOCK_DRIFT_NS = 20 * 10**9
_INT64 = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class WakuMessage:
    payload: bytes
    content_topic: str
    version: int = 0
    timestamp: int | None = None
    """Sender's clock, nanoseconds since the Unix epoch."""
    meta: bytes | None = None
    ephemeral: bool = False
    rate_limit_proof: bytes | None = None

    def encode(self) -> bytes:
        if not 0 <= self.version <= 0xFFFFFFFF:
            raise LocalWakuError(f"version {self.version} out of range")
        message = waku_message_pb2.WakuMessage(
            payload=self.payload, content_topic=self.content_topic
        )
        if self.version:
            message.version = self.version
        if self.timestamp is not None:
            message.timestamp = self.timestamp
        if self.meta is not None:
            message.meta = self.meta
        if self.rate_limit_proof is not None:
            message.rate_limit_proof = self.rate_limit_proof
        if self.ephemeral:
            message.ephemeral = True
        return message.SerializeToString()

    @classmethod
    def decode(cls, data: bytes, *, max_size: int = MAX_DECODE_SIZE) -> WakuMessage:
        if len(data) > max_size + 1024:
            raise MessageTooLarge(f"message of {len(data)} bytes, more than {max_size}")
        message = parse(waku_message_pb2.WakuMessage(), data, "waku message")
        return cls(
            payload=message.payload,
            content_topic=message.content_topic,
            version=message.version,
            timestamp=message.timestamp if message.HasField("timestamp") else None,
            meta=message.meta if message.HasField("meta") else None,
            ephemeral=message.ephemeral,
            rate_limit_proof=(
                message.rate_limit_proof if message.HasField("rate_limit_proof") else None
            ),
        )


def max_message_size(cluster_id: int) -> int:
    """The largest message a cluster carries: 1 MiB on the Status network, else 150 KiB."""
    return STATUS_MAX_MESSAGE_SIZE if cluster_id == STATUS_CLUSTER_ID else MAX_MESSAGE_SIZE


def message_hash(pubsub_topic: str, message: WakuMessage) -> bytes:
    """The deterministic message hash of 14/WAKU2-MESSAGE (section "Deterministic hashing").

    sha256(pubsub_topic || payload || content_topic || meta || int64_be(timestamp)); meta is
    left out when absent, the timestamp when absent or zero (as js-waku and nwaku do).
    """
    digest = hashlib.sha256(pubsub_topic.encode())
    digest.update(message.payload)
    digest.update(message.content_topic.encode())
    if message.meta is not None:
        digest.update(message.meta)
    if message.timestamp:
        digest.update(_INT64.pack(message.timestamp))
    return digest.digest()


def validate_message(
    message: WakuMessage,
    *,
    now_ns: int,
    encoded_size: int | None = None,
    max_clock_drift_ns: int | None = MAX_CLOCK_DRIFT_NS,
    max_age_ns: int | None = MAX_CLOCK_DRIFT_NS,
    max_size: int = MAX_MESSAGE_SIZE,
) -> None:
    """Apply the network's relay rules; raise :class:`InvalidMessage` with a reason.
    Timestamps (wall-clock ns) may run ``max_clock_drift_ns`` ahead of ``now_ns`` and lag it by
    ``max_age_ns``; None lifts either bound (clusters other than The Waku Network's)."""
    if not message.payload:
        raise InvalidMessage("empty_payload")
    if not message.content_topic:
        raise InvalidMessage("empty_content_topic")
    size = encoded_size if encoded_size is not None else len(message.encode())
    if size > max_size:
        raise InvalidMessage("too_large", f"{size} bytes > {max_size}")
    if message.meta is not None and len(message.meta) > MAX_META_SIZE:
        raise InvalidMessage("meta_too_large", f"{len(message.meta)} bytes")
    if message.timestamp:
        if max_clock_drift_ns is not None and message.timestamp > now_ns + max_clock_drift_ns:
            raise InvalidMessage("timestamp_in_future")
        if max_age_ns is not None and message.timestamp < now_ns - max_age_ns:
            raise InvalidMessage("timestamp_too_old")
