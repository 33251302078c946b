"""Two Messengers as light clients (filter, light push, store) chat 1:1 through one pystatus
service node, as two Status mobile apps would; one catches up from the store what arrived
while it was stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.light import LightConfig, LightTransport
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, LightChatConfig, StoreConfig
from pystatus.node.light_chat import light_transport
from tests.p2p.hosts import wait_for, within

FAST = ScryptParams(n=1 << 10)
SHARDS = (32, 64)


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 16}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _service(tmp_path: Path) -> AsyncIterator[WakuNode]:
    """One service node (relay, filter, light push, store) and a relay peer for it to relay
    to: light push answers 503 without one."""
    service_config = _config(
        shards=SHARDS,
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False),
        filter=FilterConfig(),
        lightpush=True,
    )
    async with WakuNode(service_config) as service, WakuNode(_config(shards=SHARDS)) as peer:
        await within(peer.connect(service.host.full_addrs()[0]))
        await wait_for(
            lambda: (
                service.relay is not None
                and all(service.relay.mesh_size(t) > 0 for t in service.relay.topics)
            ),
            timeout=20,
            what="the service node meshed on both shards",
        )
        yield service


@contextlib.asynccontextmanager
async def _light_node(service: WakuNode) -> AsyncIterator[WakuNode]:
    addr = (service.host.full_addrs()[0],)
    light = LightChatConfig(filternodes=addr, lightpushnodes=addr, storenodes=addr)
    async with WakuNode(_config(relay=False, light_chat=light)) as node:
        yield node


def _transport(node: WakuNode) -> LightTransport:
    return light_transport(node, config=LightConfig(retry_min=0.5))


async def _next(events: AsyncIterator[ChatEvent]) -> ChatEvent:
    """The next event that is not a delivery status."""
    async with asyncio.timeout(15):
        while (event := await anext(events)).kind == "status":
            pass
        return event


async def _stored(events: AsyncIterator[ChatEvent], message_id: str) -> None:
    """Wait until the store confirmed ``message_id`` (light push took it, the store has it)."""
    async with asyncio.timeout(30):
        async for event in events:
            if event.kind == "status" and event.id == message_id and event.status == "stored":
                return


async def test_two_light_clients_chat_through_one_service_node(tmp_path: Path) -> None:
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    async with (
        _service(tmp_path) as service,
        _light_node(service) as alice_node,
        _light_node(service) as bob_node,
    ):
        alice_transport = _transport(alice_node)
        async with (
            Messenger(alice_account, alice_transport, installation_id="alice") as alice,
            Messenger(bob_account, _transport(bob_node), installation_id="bob") as bob,
        ):
            assert alice_node.relay is None and bob_node.relay is None
            await wait_for(alice_transport.connected, what="alice reaches the light-push node")
            bob_events, alice_events = bob.events(), alice.events()
            first = await alice.send(bob.chat_key, "hello bob, from a phone")
            got = await _next(bob_events)
            assert (got.id, got.text, got.author) == (
                first,
                "hello bob, from a phone",
                alice.chat_key,
            )
            reply = await bob.send(alice.chat_key, "hi alice, me too")
            got = await _next(alice_events)
            assert (got.id, got.text) == (reply, "hi alice, me too")
            again = await alice.send(bob.chat_key, "ratcheted")
            assert (await _next(bob_events)).id == again

        # bob is offline while alice writes; he catches up from the store when he is back
        alice = Messenger(alice_account, _transport(alice_node), installation_id="alice")
        async with alice:
            statuses = alice.events()
            missed = await alice.send(bob.chat_key, "while you were away")
            await _stored(statuses, missed)
        async with Messenger(bob_account, _transport(bob_node), installation_id="bob") as bob:
            events = bob.events()
            await bob.sync_history()
            got = await _next(events)
            assert (got.id, got.text) == (missed, "while you were away")
