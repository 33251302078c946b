"""66/WAKU2-METADATA: peers tell each other their cluster and shards on connection.

Either side may ask; the answer is our cluster id and the shards we relay. A peer from another
cluster is no use to us (it relays nothing we route), so the node drops the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError, RemoteWakuError
from pystatus.waku.proto import waku_metadata_pb2
from pystatus.waku.wire import parse

log = logging.getLogger(__name__)

METADATA_PROTOCOL_ID = "/vac/waku/metadata/1.0.0"
MAX_METADATA_SIZE = 4096
MAX_SHARDS = 1024
METADATA_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ShardInfo:
    cluster_id: int | None
    shards: tuple[int, ...]


def encode_metadata(cluster_id: int, shards: Iterable[int], *, request: bool) -> bytes:
    kind = (
        waku_metadata_pb2.WakuMetadataRequest if request else waku_metadata_pb2.WakuMetadataResponse
    )
    ordered = sorted(set(shards))
    return kind(cluster_id=cluster_id, shards=ordered, shards_packed=ordered).SerializeToString()


def decode_metadata(data: bytes) -> ShardInfo:
    """Either message (their fields are the same); shards from field 2 and field 3, each
    packed or unpacked."""
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


class WakuMetadata:
    """Serves our shard info and asks peers for theirs."""

    def __init__(self, host: Host, *, cluster_id: int, shards: Callable[[], Iterable[int]]) -> None:
        self.host = host
        self.cluster_id = cluster_id
        self._shards = shards
        self.peers: dict[PeerId, ShardInfo] = {}

    def start(self) -> None:
        self.host.set_stream_handler(METADATA_PROTOCOL_ID, self._serve)

    def stop(self) -> None:
        self.host.remove_stream_handler(METADATA_PROTOCOL_ID)

    async def _serve(self, stream: Stream) -> None:
        peer = stream.connection.remote_peer
        try:
            async with asyncio.timeout(METADATA_TIMEOUT):
                # js-waku answers before it reads, and may write its request after ours:
                # answer at once, then read what the peer says about itself.
                await stream.write_message(
                    encode_metadata(self.cluster_id, self._shards(), request=False)
                )
                await stream.close()
                request = await stream.read_message(MAX_METADATA_SIZE)
            info = decode_metadata(request)
        except (TimeoutError, P2PError, RemoteWakuError) as exc:
            metrics.PROTOCOL_ERRORS.labels("metadata", type(exc).__name__).inc()
            log.debug("metadata request from %s failed: %r", peer, exc)
            await stream.reset()
            return
        metrics.PROTOCOL_MESSAGES.labels("metadata", "in").inc()
        self.peers[peer] = info

    async def query(self, peer: PeerId) -> ShardInfo:
        """Ask ``peer`` for its cluster and shards."""
        stream = await self.host.new_stream(peer, [METADATA_PROTOCOL_ID])
        try:
            async with asyncio.timeout(METADATA_TIMEOUT):
                await stream.write_message(
                    encode_metadata(self.cluster_id, self._shards(), request=True)
                )
                await stream.close()
                reply = await stream.read_message(MAX_METADATA_SIZE)
        except TimeoutError:
            await stream.reset()
            metrics.PROTOCOL_ERRORS.labels("metadata", "timeout").inc()
            raise
        except (P2PError, RemoteWakuError) as exc:
            await stream.reset()
            metrics.PROTOCOL_ERRORS.labels("metadata", type(exc).__name__).inc()
            raise
        info = decode_metadata(reply)
        metrics.PROTOCOL_MESSAGES.labels("metadata", "out").inc()
        self.peers[peer] = info
        return info
