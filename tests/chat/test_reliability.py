"""Reliable delivery between two accounts across a store node: delivery statuses, catching up
after being offline, resending what failed, and delivery over a lossy link."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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
from pystatus.node.config import StoreConfig
from pystatus.p2p.faults import FaultPlan
from tests.p2p.hosts import wait_for, within

FAST = ScryptParams(n=1 << 10)
QUICK = ReliabilityConfig(history_interval=1.0, history_margin=5.0)


def _config(**options: object) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        **options,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def _network(
    tmp_path: Path, bob_faults: FaultPlan | None = None
) -> AsyncIterator[tuple[WakuNode, WakuNode, WakuNode]]:
    """alice's node - a store node - bob's node; both ask the store node."""
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            WakuNode(_config(store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3")))
        )
        store_addr = store.host.full_addrs()[0]
        alice = await stack.enter_async_context(WakuNode(_config(storenode=store_addr)))
        bob = await stack.enter_async_context(
            WakuNode(_config(storenode=store_addr, relay_faults=bob_faults))
        )
        for node in (alice, bob):
            await within(node.connect(store_addr))

        def meshed() -> bool:
            return all(
                node.relay is not None
                and all(node.relay.mesh_size(t) > 0 for t in node.relay.topics)
                for node in (alice, store, bob)
            )

        await wait_for(meshed, timeout=20, what="every shard meshed")
        yield alice, store, bob


def _messenger(account: Account, node: WakuNode, **options: object) -> Messenger:
    assert node.relay is not None
    return Messenger(
        account,
        RelayTransport(node.relay, store=node.store_peer()),
        reliability=options.pop("reliability", QUICK),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


async def _collect(
    events: EventStream,
    wanted: int,
    *,
    kind: str = "message",
    status: str = "",
    timeout: float = 30,
) -> list[ChatEvent]:
    """The next ``wanted`` events of ``kind`` (and ``status``), others skipped."""
    found: list[ChatEvent] = []
    async with asyncio.timeout(timeout):
        while len(found) < wanted:
            event = await anext(events)
            print("EVENT", event.kind, event.status, event.id[:10], flush=True)
            if event.kind == kind and (not status or event.status == status):
                found.append(event)
    return found


@contextlib.asynccontextmanager
async def _chatting(
    tmp_path: Path, bob_faults: FaultPlan | None = None
) -> AsyncIterator[tuple[Messenger, Messenger, WakuNode]]:
    """Alice and Bob running, each on a node beside the store node; and Bob's node."""
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _network(tmp_path, bob_faults) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node) as alice,
        _messenger(bob_account, bob_node) as bob,
    ):
        yield alice, bob, bob_node


def _accounts(tmp_path: Path) -> tuple[Account, Account]:
    alice, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    return alice, bob


async def test_a_message_goes_from_pending_to_delivered(tmp_path: Path) -> None:
    async with _chatting(tmp_path) as (alice, bob, _):
        alice_events, bob_events = alice.events(), bob.events()
        sent = await alice.send(bob.chat_key, "are you there?")
        assert (await alice.message(sent)).status == "pending"  # type: ignore[union-attr]
        statuses = await _collect(alice_events, 2, kind="status")
        if statuses[-1].status == "stored":  # the store answered before bob's device did
            statuses += await _collect(alice_events, 1, kind="status")
        assert [e.status for e in statuses] in (
            ["sent", "delivered"],
            ["sent", "stored", "delivered"],
        ), "forward only"
        assert {e.id for e in statuses} == {sent}
        assert (await _collect(bob_events, 1))[0].id == sent
        stored = await alice.message(sent)
        assert stored is not None and stored.status == "delivered"


async def test_what_arrived_while_offline_is_fetched_once_in_order(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _network(tmp_path) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node) as alice,
    ):
        alice_events = alice.events()
        async with _messenger(bob_account, bob_node) as bob:
            bob_key = bob.chat_key
            await alice.send(bob_key, "before")
            await _collect(alice_events, 1, kind="status", status="delivered")
        # Bob is offline: the store keeps what alice sends.
        sent = [await alice.send(bob_key, f"while away {i}") for i in range(30)]
        stored = await _collect(alice_events, 30, kind="status", status="stored")
        assert {e.id for e in stored} == set(sent)
        async with _messenger(bob_account, bob_node) as bob:
            received = await _collect(bob.events(), 30)
            assert sorted(e.id for e in received) == sorted(sent), "each once"
            delivered = await _collect(alice_events, 30, kind="status", status="delivered")
            assert {e.id for e in delivered} == set(sent)
            assert bob.fetcher is not None
            stats = bob.fetcher.stats
            assert stats.messages_fetched - stats.duplicates >= 1
            assert stats.duplicate_ratio <= 1.05
            history = await bob.history((await bob.chats())[0][0], limit=100)
            assert [m.text for m in history] == ["before"] + [f"while away {i}" for i in range(30)]


async def test_a_message_nobody_acknowledges_fails_and_can_be_resent(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    impatient = ReliabilityConfig(resend_interval=0.5, max_sends=3, history_interval=1.0)
    async with (
        _network(tmp_path) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, reliability=impatient) as alice,
    ):
        events = alice.events()
        sent = await alice.send(bob_account.chat_key, "hello? (bob is not running)")
        failed = await _collect(events, 1, kind="status", status="failed")
        assert failed[0].id == sent
        assert (await alice.message(sent)).status == "failed"  # type: ignore[union-attr]
        async with _messenger(bob_account, bob_node) as bob:
            bob_events = bob.events()
            await alice.resend(sent)
            received = await _collect(bob_events, 1, timeout=30)
            await _collect(events, 1, kind="status", status="delivered")
            # Bob may also have caught it from the store while starting: once either way.
            assert received[0].id == sent
            history = await bob.history((await bob.chats())[0][0])
            assert [m.id for m in history] == [sent]


async def test_every_message_arrives_once_and_in_order_over_a_lossy_link(
    tmp_path: Path,
) -> None:
    lossy = FaultPlan(loss=0.3, reorder=0.2, duplicate=0.1, seed=3)
    async with _chatting(tmp_path, bob_faults=lossy) as (alice, bob, bob_node):
        assert bob_node.relay is not None
        relay = bob_node.relay
        alice_events, bob_events = alice.events(), bob.events()
        sent = []
        for i in range(30):
            frames = relay.fault_counts().get("frames", 0)
            sent.append(await alice.send(bob.chat_key, f"lossy {i}"))
            # One Waku message each: MVDS batches what is sent within one epoch (300 ms), and
            # a few batched frames could all pass a link that loses 30% (seen: 6 frames).
            await wait_for(
                lambda frames=frames: relay.fault_counts().get("frames", 0) > frames,  # type: ignore[misc]
                what="the message reached the lossy link",
            )
        received = await _collect(bob_events, 30, timeout=60)
        assert sorted(e.id for e in received) == sorted(sent), "each once"
        # status-go's wire carries no sequence numbers: the Lamport clock orders the chat.
        history = await bob.history((await bob.chats())[0][0], limit=100)
        assert [m.id for m in history] == sent, "in the order sent"
        delivered = await _collect(alice_events, 30, kind="status", status="delivered", timeout=60)
        assert {e.id for e in delivered} == set(sent)
        counts = relay.fault_counts()
        assert counts["dropped"] > 0, f"the link really lost messages: {counts}"


async def test_a_public_message_is_confirmed_by_the_store_and_ordered_by_clock(
    tmp_path: Path,
) -> None:
    """Public chats carry the bare wrapped message, as status-go's: the store confirms it,
    and the Lamport clock orders the chat on every side."""
    async with _chatting(tmp_path) as (alice, bob, _):
        alice_events, bob_events = alice.events(), bob.events()
        await bob.join_public_chat("reliable")
        posted = await alice.send_public("reliable", "anyone here?")
        assert (await _collect(bob_events, 1))[0].id == posted
        stored = await _collect(alice_events, 1, kind="status", status="stored")
        assert (stored[0].id, stored[0].chat_id) == (posted, "reliable")
        answer = await bob.send_public("reliable", "yes")
        assert (await _collect(alice_events, 1))[0].id == answer
        assert [m.id for m in await alice.history("reliable")] == [posted, answer]
        assert [m.id for m in await bob.history("reliable")] == [posted, answer]
