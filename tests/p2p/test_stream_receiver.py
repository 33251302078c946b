"""Stream.set_receiver: chunks handed over in the connection's read loop, over both muxers."""

from __future__ import annotations

import asyncio
import os

import pytest

from pystatus.p2p.errors import DecodeError
from pystatus.p2p.stream import Stream
from tests.p2p.hosts import running_host, wait_for, within

PROTOCOL = "/receiver/1.0.0"


@pytest.mark.parametrize("muxer", ["yamux", "mplex"])
async def test_receiver_gets_everything_in_order_and_read_sees_the_end(muxer: str) -> None:
    received: list[bytes] = []
    ended = asyncio.Event()

    async def serve(stream: Stream) -> None:
        # Chunks buffered before the receiver is set go to it first.
        await wait_for(lambda: stream._buffered > 0, what="a chunk buffered")
        stream.set_receiver(received.append)
        assert await stream.read() == b""
        ended.set()

    payload = os.urandom(2 * 1024 * 1024)  # beyond yamux's window: handing over reopens it
    async with running_host("tcp", muxer) as server, running_host("tcp", muxer) as client:
        server.set_stream_handler(PROTOCOL, serve)
        stream = await within(client.new_stream(server.full_addrs()[0], [PROTOCOL]))
        for start in range(0, len(payload), 64 * 1024):
            await within(stream.write(payload[start : start + 64 * 1024]))
        await stream.close()
        await within(ended.wait(), 30)
    assert b"".join(received) == payload


async def test_a_failing_receiver_surfaces_in_read_and_the_connection_lives() -> None:
    failures: list[BaseException] = []
    calls = 0

    def refuse(chunk: bytes) -> None:
        nonlocal calls
        calls += 1
        raise DecodeError("bad framing")

    async def serve(stream: Stream) -> None:
        stream.set_receiver(refuse)
        try:
            await stream.read()
        except DecodeError as exc:
            failures.append(exc)
            await stream.reset()

    async with running_host() as server, running_host() as client:
        server.set_stream_handler(PROTOCOL, serve)
        stream = await within(client.new_stream(server.full_addrs()[0], [PROTOCOL]))
        await within(stream.write(b"garbage"))
        await wait_for(lambda: bool(failures), what="the receiver's error from read()")
        assert calls == 1
        # Only the stream went: the connection carries a new one.
        again = await within(client.new_stream(server.peer_id, [PROTOCOL]))
        await within(again.write(b"more"))
        await wait_for(lambda: len(failures) == 2, what="the second stream's error")
        assert len(client.connections(server.peer_id)) == 1
