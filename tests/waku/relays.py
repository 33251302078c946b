"""In-process Waku relay nodes on free loopback ports, for tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from pystatus.p2p.host import Host
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayConfig, WakuRelay
from tests.p2p.hosts import make_config, wait_for, within

TOPIC = "/waku/2/rs/1/0"
CONTENT_TOPIC = "/pystatus/1/test/proto"


@contextlib.asynccontextmanager
async def relay_node(
    config: RelayConfig | None = None, transport: str = "tcp", muxer: str | None = None
) -> AsyncIterator[WakuRelay]:
    host = Host(make_config(transport, muxer))
    relay = WakuRelay(host, config)
    await host.start()
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        await host.stop()


async def link(a: WakuRelay, b: WakuRelay) -> None:
    """Connect ``a`` to ``b`` and wait until each counts the other as a relay peer."""
    await within(a.host.connect(b.host.full_addrs()[0]))
    await wait_for(
        lambda: b.host.peer_id in a.relay_peers() and a.host.peer_id in b.relay_peers(),
        what="relay peers",
    )


async def wait_meshed(relay: WakuRelay, topic: str = TOPIC, peers: int = 1) -> None:
    await wait_for(lambda: relay.mesh_size(topic) >= peers, timeout=15, what="mesh")


def message(payload: bytes, **fields: object) -> WakuMessage:
    values: dict[str, object] = {"content_topic": CONTENT_TOPIC, "timestamp": time.time_ns()}
    values.update(fields)
    return WakuMessage(payload=payload, **values)  # type: ignore[arg-type]
