"""libp2p ping (libp2p/specs ping/ping.md): 32 random bytes, echoed, over one stream."""

from __future__ import annotations

import os
import time

from pystatus.p2p.errors import RemoteProtocolError
from pystatus.p2p.stream import Stream

PING_PROTOCOL_ID = "/ipfs/ping/1.0.0"
PING_SIZE = 32


async def serve_ping(stream: Stream) -> None:
    """Echo 32-byte pings until the peer closes the stream."""
    while True:
        payload = bytearray()
        while len(payload) < PING_SIZE:
            chunk = await stream.read(PING_SIZE - len(payload))
            if not chunk:
                await stream.close()
                return
            payload += chunk
        await stream.write(bytes(payload))


async def ping_once(stream: Stream) -> float:
    """Send one ping on ``stream`` and return the round trip in seconds."""
    payload = os.urandom(PING_SIZE)
    started = time.perf_counter()
    await stream.write(payload)
    echoed = await stream.readexactly(PING_SIZE)
    elapsed = time.perf_counter() - started
    if echoed != payload:
        raise RemoteProtocolError("ping reply does not match")
    return elapsed
