"""Helpers to run in-process hosts on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.stream import Stream

ECHO = "/pystatus/echo/1.0.0"
REQRESP = "/pystatus/reqresp/1.0.0"
SINK = "/pystatus/sink/1.0.0"

T = TypeVar("T")


def listen_addr(transport: str) -> Multiaddr:
    suffix = "/ws" if transport == "ws" else ""
    return Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/0{suffix}")


async def serve_echo(stream: Stream) -> None:
    while data := await stream.read():
        await stream.write(data)
    await stream.close()


async def serve_reqresp(stream: Stream) -> None:
    request = await stream.read_message(1 << 20)
    await stream.write_message(b"re:" + request)
    await stream.close()


async def serve_sink(stream: Stream) -> None:
    total = 0
    while data := await stream.read():
        total += len(data)
    await stream.write(str(total).encode())
    await stream.close()


def make_config(
    transport: str = "tcp", muxer: str | None = None, **overrides: object
) -> HostConfig:
    from pystatus.p2p.muxer.mplex import MPLEX_PROTOCOL_ID
    from pystatus.p2p.muxer.yamux import YAMUX_PROTOCOL_ID

    muxers = {
        None: (YAMUX_PROTOCOL_ID, MPLEX_PROTOCOL_ID),
        "yamux": (YAMUX_PROTOCOL_ID,),
        "mplex": (MPLEX_PROTOCOL_ID,),
    }[muxer]
    return HostConfig(
        identity=Secp256k1PrivateKey.generate(),
        listen_addrs=(listen_addr(transport),),
        muxers=muxers,
        **overrides,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running_host(
    transport: str = "tcp", muxer: str | None = None, **overrides: object
) -> AsyncIterator[Host]:
    host = Host(make_config(transport, muxer, **overrides))
    host.set_stream_handler(ECHO, serve_echo)
    host.set_stream_handler(REQRESP, serve_reqresp)
    host.set_stream_handler(SINK, serve_sink)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` on every loop turn until it holds, failing after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def within(awaitable: Awaitable[T], timeout: float = 10.0) -> T:
    async with asyncio.timeout(timeout):
        return await awaitable
