"""A chat account on its own relay node with the web client in front of it, for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.web.security import UnlockLimiter
from pystatus.web.server import WebConfig, WebServer
from pystatus.web.setup import AccountSetup

if TYPE_CHECKING:
    from playwright.async_api import Page

FAST = ScryptParams(n=1 << 10)


def node_config(
    port: int = 0, *, store: StoreConfig | None = None, storenode: Multiaddr | None = None
) -> NodeConfig:
    """A relay node on the Status shards, on loopback; with ``store`` it archives what it
    relays, with ``storenode`` its messengers catch up from that node."""
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=port,
        cluster_id=16,
        shards=(32, 64),
        store=store,
        storenode=storenode,
    )


def account(directory: Path, password: str) -> Account:
    """The account in ``directory``, made on first use (cheap scrypt for tests)."""
    if (directory / "keystore.json").exists():
        return Account.unlock(directory, password)
    made, _ = Account.create(directory, password, params=FAST)
    return made


@dataclass
class WebPeer:
    node: WakuNode
    messenger: Messenger
    url: str


@contextlib.asynccontextmanager
async def web_peer(
    directory: Path,
    password: str,
    *,
    node: WakuNode,
    limiter: UnlockLimiter | None = None,
    reliability: ReliabilityConfig | None = None,
) -> AsyncIterator[WebPeer]:
    """The web client of the account in ``directory`` on a free port of 127.0.0.1, chatting
    over ``node`` (already started); stopped on exit."""
    assert node.relay is not None
    transport = RelayTransport(node.relay, store=node.store_peer())
    messenger = Messenger(account(directory, password), transport, reliability=reliability)
    server = WebServer(node, messenger, WebConfig(port=0), limiter=limiter)
    async with messenger:
        await server.start()
        try:
            yield WebPeer(node, messenger, server.url)
        finally:
            await server.stop()


@contextlib.asynccontextmanager
async def setup_server(directory: Path, *, node: WakuNode) -> AsyncIterator[WebServer]:
    """The web client of a data dir without an account (its account screens first) on a
    free port of 127.0.0.1, over ``node`` (already started); its messenger, once made, is
    stopped with it."""
    assert node.relay is not None
    relay = node.relay
    store = node.store_peer()

    def messenger_for(made: Account) -> Messenger:
        return Messenger(made, RelayTransport(relay, store=store))

    setup = AccountSetup(directory=directory, messenger_for=messenger_for, params=FAST)
    server = WebServer(node, None, WebConfig(port=0), setup=setup)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def meshed(nodes: list[WakuNode], timeout: float = 20.0) -> None:
    """Connect every pair of ``nodes`` and wait until each has a mesh peer on every topic."""
    for i, one in enumerate(nodes):
        for other in nodes[i + 1 :]:
            async with asyncio.timeout(10):
                await one.connect(other.host.full_addrs()[0])

    def ready() -> bool:
        return all(
            n.relay is not None and all(n.relay.mesh_size(t) > 0 for t in n.relay.topics)
            for n in nodes
        )

    async with asyncio.timeout(timeout):
        while not ready():
            await asyncio.sleep(0.01)  # a condition polled on each loop turn, with a deadline


async def unlock(page: Page, url: str, password: str) -> None:
    """Open ``url`` in ``page`` and unlock with ``password``, until the live stream is open."""
    from playwright.async_api import expect

    await page.goto(url + "/")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Unlock").click()
    await expect(page.get_by_role("textbox", name="Chat key")).to_be_visible()
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
