"""The network the status-go chat tests meet on, set up once for all of them.

One pystatus relay + store service node on the Status cluster (16), shards 32 and 64, as the
Status app's fleet runs it: the status-go peer's only Waku peer is that node, and the pystatus
accounts chat from a second pystatus node beside it that uses the service node as its store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import (
    ChatEvent,
    EventStream,
    Messenger,
    RelayTransport,
    ReliabilityConfig,
)
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import status_service_config
from tests.p2p.hosts import wait_for

FAST = ScryptParams(n=1 << 10)
"""Account keystores quick to unlock (tests only)."""
QUICK = ReliabilityConfig(history_interval=2.0, history_margin=10.0)
"""Store history asked every 2 s (not minutes), so a missed message comes back in a test."""


@dataclass
class Network:
    """The service node (``service_addr``: its multiaddr, for status-go's ``waku_nodes``) and
    the node the pystatus accounts chat from."""

    service: WakuNode
    chat_node: WakuNode
    service_addr: str


@contextlib.asynccontextmanager
async def status_network(tmp_path: Path) -> AsyncIterator[Network]:
    """Both nodes started and connected; stopped on leaving."""
    async with WakuNode(status_service_config(tmp_path)) as service:
        service_addr = str(service.host.full_addrs()[0])
        chat_config = NodeConfig(
            listen_address="127.0.0.1",
            tcp_port=0,
            cluster_id=16,
            shards=(32, 64),
            storenode=service.host.full_addrs()[0],
        )
        async with WakuNode(chat_config) as chat_node:
            await chat_node.connect(service_addr)
            yield Network(service, chat_node, service_addr)


async def meshed(network: Network, shards: tuple[int, ...] = (32,)) -> None:
    """The status-go peer joined each of ``shards``' meshes (cluster 16) on the service node,
    beside our chat node; TimeoutError after 60 s on any one shard."""
    relay = network.service.relay
    assert relay is not None
    for shard in shards:
        topic = f"/waku/2/rs/16/{shard}"
        await wait_for(
            lambda t=topic: relay.mesh_size(t) >= 2,  # type: ignore[misc]
            timeout=60,
            what=f"status-go and pystatus in the shard {shard} mesh",
        )


def chat_messenger(network: Network, account: Account) -> Messenger:
    """``account``'s Messenger on the chat node, confirming and fetching with the service
    node's store every :data:`QUICK` interval."""
    relay = network.chat_node.require_relay()
    return Messenger(
        account, RelayTransport(relay, store=network.chat_node.store_peer()), reliability=QUICK
    )


def hex_key(account: Account) -> str:
    """``account``'s chat key as status-go names contacts: ``0x04`` and 128 hex digits."""
    return "0x" + account.keys.chat_public_key.hex()


async def next_event(
    events: EventStream,
    kind: str = "message",
    match: Callable[[ChatEvent], bool] | None = None,
    timeout: float = 60,
) -> ChatEvent:
    """The next event of ``kind`` (that ``match`` accepts) from ``events``; TimeoutError after
    ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            event = await anext(events)
            if event.kind == kind and (match is None or match(event)):
                return event
