"""What every Waku request/response protocol shares: protobuf parsing with typed errors, and
both sides of one varint-length-prefixed message each way (the responder then closes).

The shape is the one WAKU2-STORE v3, WAKU2-FILTER v2, WAKU2-LIGHTPUSH and WAKU2-PEER-EXCHANGE
share: the requester opens a stream, writes its request and closes its side; the responder
reads it, writes one reply and closes (a client reads to end-of-stream, so a reply on a stream
left open would hang it). :func:`request` is the client half, :func:`serve_one` the server half.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics
from pystatus.waku.errors import DecodeError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

Answer = Callable[[PeerId, bytes], Awaitable[bytes | None]]
"""A server's rules for one request: the requesting peer and the request's bytes in, the
reply's bytes out, or None to refuse with a stream reset (a protocol with no status field,
such as peer exchange, has no other way to say no). Bad input is answered, not raised."""


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

    ``max_response`` is in bytes, ``time_limit`` in seconds (the event loop's clock) for the
    whole exchange after the stream opened. Returns the peer that answered and the reply's
    bytes; raises ``TimeoutError`` or :class:`~pystatus.p2p.errors.P2PError` (counted under
    ``label`` in ``waku_protocol_errors``) after resetting the stream.
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


async def serve_one(
    stream: Stream,
    answer: Answer,
    *,
    max_request: int,
    time_limit: float,
    label: str,
) -> None:
    """Serve one request on an inbound ``stream``: read it, ``answer`` it, write, close.

    ``max_request`` is in bytes; ``time_limit`` in seconds (the event loop's clock) covers
    reading, answering and writing, so a peer that never sends, or never reads, cannot hold the
    stream. Never raises for the peer's doing: a timeout or stream failure is counted in
    ``waku_protocol_errors`` under ``label`` and the stream is reset. js-waku closes an
    unsubscribe stream without reading the reply, which lands here too and is harmless.
    """
    peer = stream.connection.remote_peer
    try:
        async with asyncio.timeout(time_limit):
            data = await stream.read_message(max_request)
            metrics.PROTOCOL_MESSAGES.labels(label, "in").inc()
            metrics.PROTOCOL_BYTES.labels(label, "in").inc(len(data))
            reply = await answer(peer, data)
            if reply is None:
                await stream.reset()
                return
            metrics.PROTOCOL_BYTES.labels(label, "out").inc(len(reply))
            await stream.write_message(reply)
            await stream.close()
    except (TimeoutError, P2PError) as exc:
        metrics.PROTOCOL_ERRORS.labels(label, type(exc).__name__).inc()
        log.debug("%s request from %s ended early: %r", label, peer, exc)
        await stream.reset()
