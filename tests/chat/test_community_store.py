"""Communities and the store (issue 17), through Messengers on relay nodes beside a store
node: a restarted control node advertises its description, a relay joiner with no store node
configured finds it through a connected store peer (or says it knows none), a post left
unconfirmed at a stop reaches ``stored`` after the restart, and a restarted member fetches the
posts of a channel added while it was away (a few seconds each)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import coincurve

from pystatus.chat.account import Account
from pystatus.chat.community import description_content_topic
from pystatus.chat.community_advert import ADVERTISED
from pystatus.chat.messenger import ChatEvent, Messenger, RelayTransport, ReliabilityConfig
from pystatus.chat.messenger_read import Reading
from pystatus.node import WakuNode
from pystatus.node.config import StoreConfig
from pystatus.node.store_lookup import find_store
from pystatus.waku.store import StoreQuery
from tests.chat.messenger_helpers import FAST, node_config
from tests.p2p.hosts import wait_for, within

QUICK = ReliabilityConfig(history_interval=1.0, history_margin=5.0)
SLOW_SYNC = ReliabilityConfig(history_interval=600.0, history_margin=0.0)
"""History synced at start and then not for ten minutes (status-go's is every minute or so):
what is fetched in a test's time was fetched by the start sync or by the community's own."""


@contextlib.asynccontextmanager
async def _network(
    tmp_path: Path, count: int, *, storenode: bool = True
) -> AsyncIterator[tuple[WakuNode, list[WakuNode]]]:
    """A store node and ``count`` relay nodes connected to it (each with it as its
    ``--storenode`` when ``storenode``), once every shard is meshed; all stopped after."""
    async with contextlib.AsyncExitStack() as stack:
        archive = StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False)
        store = await stack.enter_async_context(WakuNode(replace(node_config(), store=archive)))
        addr = store.host.full_addrs()[0]
        nodes = [
            await stack.enter_async_context(
                WakuNode(replace(node_config(), storenode=addr if storenode else None))
            )
            for _ in range(count)
        ]
        for node in nodes:
            await within(node.connect(addr))

        def meshed() -> bool:
            return all(
                n.relay is not None and all(n.relay.mesh_size(t) > 0 for t in n.relay.topics)
                for n in [store, *nodes]
            )

        await wait_for(meshed, timeout=20, what="every shard meshed")
        yield store, nodes


def _messenger(
    account: Account, node: WakuNode, reliability: ReliabilityConfig = QUICK
) -> Messenger:
    """A messenger on ``node``'s relay, as `pystatus` wires one: its ``--storenode`` to
    confirm and catch up, and a connected store peer for look-ups without one."""
    assert node.relay is not None
    transport = RelayTransport(
        node.relay, store=node.store_peer(), find_store=lambda: find_store(node)
    )
    return Messenger(account, transport, reliability=reliability)


def _account(tmp_path: Path, name: str) -> Account:
    return Account.create(tmp_path / name, f"{name} password", params=FAST)[0]


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and text in ("", event.text, event.status):
                return event


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """``condition`` holds within 20 s, ample on a loaded machine (the messenger offers no
    event for a history row)."""
    try:
        async with asyncio.timeout(20):
            while not await condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within 20 s: {what}") from None


async def _history(messenger: Reading, chat_id: str) -> list[str]:
    return [e.id for e in await messenger.history(chat_id)]


async def test_a_relay_joiner_finds_a_restarted_control_nodes_description_in_the_store(
    tmp_path: Path,
) -> None:
    owner_account, alice_account = _account(tmp_path, "owner"), _account(tmp_path, "alice")
    # The community is made while its control node reaches nobody: no store has it.
    async with WakuNode(node_config()) as alone, _messenger(owner_account, alone) as owner:
        community_id = await owner.create_community("Cats")
    async with _network(tmp_path, 2, storenode=False) as (store, nodes):
        topic = description_content_topic(community_id)
        query = StoreQuery(content_topics=(topic,), include_data=False)
        store_addr = store.host.full_addrs()[0]
        advertised = ADVERTISED._value.get()
        async with _messenger(owner_account, nodes[0]):
            # restarted, the control node advertises its description once online
            await wait_for(lambda: ADVERTISED._value.get() > advertised, what="an advert")

            async def archived() -> bool:
                return bool((await nodes[1].store_client.query(store_addr, query)).entries)

            await _until(archived, "the advert in the store")
        # The control node is gone: only the store has the description. alice has no
        # --storenode; her node's connected store peer is asked.
        assert nodes[1].store_peer() is None
        async with _messenger(alice_account, nodes[1]) as alice:
            assert await alice.join_community(community_id, display_name="alice")
            found = alice.community(community_id)
            assert found is not None and found.name == "Cats"


async def test_a_joiner_with_no_store_node_known_says_so(tmp_path: Path) -> None:
    async with WakuNode(node_config()) as alone, _messenger(_account(tmp_path, "a"), alone) as a:
        community_id = "0x" + coincurve.PrivateKey().public_key.format().hex()
        assert await a.join_community(community_id) is False
        assert a.community(community_id) is None


async def test_a_post_unconfirmed_at_a_stop_reaches_stored_after_the_restart(
    tmp_path: Path,
) -> None:
    owner_account = _account(tmp_path, "owner")
    async with _network(tmp_path, 1) as (_, nodes):
        relay = nodes[0].relay
        assert relay is not None
        # first run: no store to confirm with (a `community post` without --storenode)
        async with Messenger(owner_account, RelayTransport(relay), reliability=QUICK) as owner:
            events = owner.events()
            community_id = await owner.create_community("Cats")
            general = await owner.add_community_channel(community_id, "general")
            posted = await owner.send_community(general, "hello")
            await _next(events, "status", "sent")
        async with _messenger(owner_account, nodes[0]) as owner:
            got = await owner.message(posted)
            if got is None or got.status != "stored":
                events = owner.events()
                await _next(events, "status", "stored")
            got = await owner.message(posted)
            assert got is not None and got.status == "stored"


async def test_a_restarted_member_fetches_posts_of_a_channel_added_while_away(
    tmp_path: Path,
) -> None:
    owner_account, alice_account = _account(tmp_path, "owner"), _account(tmp_path, "alice")
    async with _network(tmp_path, 2) as (_, nodes), _messenger(owner_account, nodes[0]) as owner:
        community_id = await owner.create_community("Cats")
        general = await owner.add_community_channel(community_id, "general")
        async with _messenger(alice_account, nodes[1], SLOW_SYNC) as alice:
            events = alice.events()
            await alice.join_community(community_id)
            await _next(events, "community", "joined")
        # while alice is away: a post, a new channel, a post in it
        missed = await owner.send_community(general, "while you were away")
        news = await owner.add_community_channel(community_id, "news")
        added = await owner.send_community(news, "in a channel added while you were away")
        async with _messenger(alice_account, nodes[1], SLOW_SYNC) as alice:

            async def caught_up() -> bool:
                return await _history(alice, news) == [added]

            await _until(caught_up, "the new channel's post fetched")
            assert await _history(alice, general) == [missed]
