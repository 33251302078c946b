"""p2p benchmark: stream echo round trip and bulk throughput, pystatus <-> pystatus.

Both hosts run in one process on one event loop, the same shape as the js-libp2p benchmark
(two nodes in one Node process), so the ratio compares like with like.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.muxer.mplex import MPLEX_PROTOCOL_ID
from pystatus.p2p.muxer.yamux import YAMUX_PROTOCOL_ID
from pystatus.p2p.stream import Stream

ECHO = "/pystatus/echo/1.0.0"
SINK = "/pystatus/sink/1.0.0"
MUXERS = {"yamux": YAMUX_PROTOCOL_ID, "mplex": MPLEX_PROTOCOL_ID}


@dataclass(frozen=True)
class P2PResult:
    impl: str
    muxer: str
    echo_p50_us: float
    echo_p99_us: float
    bulk_mbps: float


async def _serve_echo(stream: Stream) -> None:
    while data := await stream.read():
        await stream.write(data)
    await stream.close()


async def _serve_sink(stream: Stream) -> None:
    total = 0
    while data := await stream.read():
        total += len(data)
    await stream.write(str(total).encode())
    await stream.close()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run_p2p(
    muxer: str = "yamux", *, iterations: int = 2000, bulk_bytes: int = 64 << 20
) -> P2PResult:
    def host() -> Host:
        return Host(
            HostConfig(
                identity=Secp256k1PrivateKey.generate(),
                listen_addrs=(Multiaddr.from_string("/ip4/127.0.0.1/tcp/0"),),
                muxers=(MUXERS[muxer],),
            )
        )

    server, client = host(), host()
    server.set_stream_handler(ECHO, _serve_echo)
    server.set_stream_handler(SINK, _serve_sink)
    await server.start()
    await client.start()
    try:
        await client.connect(server.full_addrs()[0])
        stream = await client.new_stream(server.peer_id, [ECHO])
        message = os.urandom(32)
        samples: list[float] = []
        for index in range(iterations + 200):
            started = time.perf_counter()
            await stream.write(message)
            await stream.readexactly(len(message))
            if index >= 200:  # warm-up
                samples.append((time.perf_counter() - started) * 1e6)
        await stream.close()

        sink = await client.new_stream(server.peer_id, [SINK])
        chunk = os.urandom(64 * 1024)
        started = time.perf_counter()
        for _ in range(bulk_bytes // len(chunk)):
            await sink.write(chunk)
        await sink.close()
        acknowledged = int(await sink.read_to_eof(64))
        elapsed = time.perf_counter() - started
        if acknowledged != bulk_bytes:
            raise RuntimeError(f"sink counted {acknowledged} of {bulk_bytes} bytes")
        return P2PResult(
            impl="pystatus",
            muxer=muxer,
            echo_p50_us=statistics.median(samples),
            echo_p99_us=_percentile(samples, 0.99),
            bulk_mbps=bulk_bytes / elapsed / 1e6,
        )
    finally:
        await client.stop()
        await server.stop()
