"""What every Waku request/response protocol shares: protobuf parsing with typed errors, and the
client side of one varint-length-prefixed message each way (the responder then closes)."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError

M = TypeVar("M", bound=Message)


def parse(message: M, data: bytes, what: str) -> M:
    """Fill ``message`` from ``data``; raise :class:`DecodeError` naming ``what`` if it won't."""
    try:
        message.ParseFromString(data)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"malformed {what}: {exc}") from None
    return message


async def request(
    host: Host,
    peer: PeerId | Multiaddr | str,
    protocol: str,
    payload: bytes,
    *,
    max_response: int,
    time_limit: float,
    label: str,
) -> tuple[PeerId, bytes]:
    """Send ``payload`` on a new ``protocol`` stream and read the one reply.

    Returns the peer that answered and the reply's bytes; timeouts and stream failures are
    counted under ``label`` and raised.
    """
    stream = await host.new_stream(peer, [protocol])
    try:
        async with asyncio.timeout(time_limit):
            await stream.write_message(payload)
            await stream.close()
            data = await stream.read_message(max_response)
    except (TimeoutError, P2PError):
        await stream.reset()
        metrics.PROTOCOL_ERRORS.labels(label, "client").inc()
        raise
    metrics.PROTOCOL_MESSAGES.labels(label, "out").inc()
    metrics.PROTOCOL_BYTES.labels(label, "out").inc(len(payload))
    metrics.PROTOCOL_BYTES.labels(label, "in").inc(len(data))
    return stream.connection.remote_peer, data
