"""pystatus and a status-go v1.1.0 account chat through a pystatus relay + store node.

The Status cluster (16) on the default shard (32), as the Status app runs it: the status-go
peer's only Waku peer is the pystatus service node; a pystatus account chats from a second
pystatus node beside it. Each test reads what the other side shows (status-go's own view of its
chats, through its JSON-line commands), never our own record of what we sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pystatus.archive.retention import RetentionPolicy
from pystatus.chat.account import Account
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import ChatEvent, EventStream, Messenger, ReliabilityConfig
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from tests.interop.statusgo_peer import Event, StatusGoPeer, StatusGoPeerError, require_statusgo
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

FAST = ScryptParams(n=1 << 10)
QUICK = ReliabilityConfig(history_interval=2.0, history_margin=10.0)
HALF = 10
"""Messages each way while both are online, and again while the other is away."""


@dataclass
class Network:
    service: WakuNode
    chat_node: WakuNode
    service_addr: str


def _service_config(tmp_path: Path) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        store=StoreConfig(
            db_url=f"sqlite:///{tmp_path}/store.sqlite3",
            retention=RetentionPolicy.parse("time:3600"),
        ),
        filter=FilterConfig(),
        lightpush=True,
    )


@contextlib.asynccontextmanager
async def _network(tmp_path: Path) -> AsyncIterator[Network]:
    async with WakuNode(_service_config(tmp_path)) as service:
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


async def _meshed(network: Network, peer: StatusGoPeer) -> None:
    """The status-go peer joined the shard's mesh on the service node."""
    relay = network.service.relay
    assert relay is not None

    def joined() -> bool:
        return relay.mesh_size("/waku/2/rs/16/32") >= 2

    await wait_for(joined, timeout=60, what="status-go and pystatus in the shard 32 mesh")


async def _next(events: EventStream, kind: str = "message", timeout: float = 60) -> ChatEvent:
    async with asyncio.timeout(timeout):
        while (event := await anext(events)).kind != kind:
            pass
        return event


def _is_message(text: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("event") == "message" and event.get("text") == text

    return match


async def test_one_to_one_both_ways(tmp_path: Path) -> None:
    """A pystatus account and a status-go account exchange 1:1 messages: status-go reads our
    first message (a DH header: it has no bundle of ours), answers, and the conversation goes
    on over the ratchet and the negotiated topic; ids and clocks agree on both sides."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with (
        _network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await _meshed(network, bob)
        relay = network.chat_node.require_relay()
        async with Messenger(
            account, relay, store=network.chat_node.store_peer(), reliability=QUICK
        ) as alice:
            events = alice.events()
            bob_key = bob.public_key
            bob_chat_key = bob.compressed_key
            assert public_key_from_chat_key_text(bob_chat_key).hex() == bob_key[2:]
            sent = await alice.send(bob_chat_key, "hello status-go")
            got = await bob.wait_event(_is_message("hello status-go"), timeout=60)
            assert got["id"] == sent, "the same message id on both sides"
            reply = await bob.request(
                "send", to="0x" + account.keys.chat_public_key.hex(), text="hello pystatus"
            )
            answer = await _next(events)
            assert (answer.id, answer.text) == (reply["messageId"], "hello pystatus")
            for i in range(3):
                sent = await alice.send(bob_chat_key, f"ratchet {i}")
                got = await bob.wait_event(_is_message(f"ratchet {i}"), timeout=60)
                assert got["id"] == sent
                reply = await bob.request(
                    "send", to="0x" + account.keys.chat_public_key.hex(), text=f"back {i}"
                )
                answer = await _next(events)
                assert answer.text == f"back {i}"
                assert answer.clock > 0


async def _delivered_view(bob: StatusGoPeer, chat: str, count: int) -> list[Event]:
    """status-go's view of a chat once it shows ``count`` of its messages delivered (it
    learns that from our MVDS acknowledgements); read again whenever it reports news."""
    async with asyncio.timeout(120):
        while True:
            view: list[Event] = (await bob.request("messages", chatId=chat))["messages"]
            done = [m for m in view if m["outgoing"] and m["outgoingStatus"] == "delivered"]
            if len(done) >= count:
                return view
            with contextlib.suppress(StatusGoPeerError):
                await bob.wait_event(lambda _: True, timeout=5, since=len(bob.events))


def _hex_key(account: Account) -> str:
    return "0x" + account.keys.chat_public_key.hex()


async def _collect(events: EventStream, count: int, timeout: float = 90) -> list[ChatEvent]:
    got: list[ChatEvent] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            event = await anext(events)
            if event.kind == "message":
                got.append(event)
    return got


async def test_twenty_each_way_with_the_other_side_offline(tmp_path: Path) -> None:
    """20 messages each way, half of them sent while the other side is away and fetched from
    the pystatus store when it is back: the same texts, ids and clock order on both sides,
    and each side shows its messages delivered only once the other acknowledged them."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with _network(tmp_path) as network:
        relay = network.chat_node.require_relay()

        def messenger() -> Messenger:
            return Messenger(
                account, relay, store=network.chat_node.store_peer(), reliability=QUICK
            )

        async with StatusGoPeer(
            waku_nodes=[network.service_addr], store_nodes=[network.service_addr]
        ) as bob:
            await _meshed(network, bob)
            ours: list[str] = []
            theirs: list[str] = []
            async with messenger() as alice:
                events = alice.events()
                for i in range(HALF):
                    ours.append(await alice.send(bob.compressed_key, f"alice {i}"))
                    await bob.wait_event(_is_message(f"alice {i}"), timeout=60)
                for i in range(HALF):
                    reply = await bob.request("send", to=_hex_key(account), text=f"bob {i}")
                    theirs.append(reply["messageId"])
                assert sorted(e.id for e in await _collect(events, HALF)) == sorted(theirs)
            # alice is away: bob's next five wait in the store.
            for i in range(HALF, 2 * HALF):
                reply = await bob.request("send", to=_hex_key(account), text=f"bob {i}")
                theirs.append(reply["messageId"])
            async with messenger() as alice:
                events = alice.events()
                back = await _collect(events, HALF)
                assert sorted(e.id for e in back) == sorted(theirs[HALF:]), "fetched from the store"
                # Our acknowledgements reach status-go before it goes away in turn.
                await _delivered_view(bob, _hex_key(account), len(theirs))
                # bob is away: alice's next five wait in the store.
                await bob.request("offline")
                for i in range(HALF, 2 * HALF):
                    ours.append(await alice.send(bob.compressed_key, f"alice {i}"))
                await bob.request("online")
                await _meshed(network, bob)
                await bob.request("fetch_history")
                for i in range(HALF, 2 * HALF):
                    await bob.wait_event(_is_message(f"alice {i}"), timeout=90)
                chat_id = "0x" + bytes.fromhex(bob.public_key[2:]).hex()
                statuses = alice.events()

                async def undelivered() -> set[str]:
                    pending = set()
                    for message_id in ours:
                        stored = await alice.message(message_id)
                        if stored is None or stored.status != "delivered":
                            pending.add(message_id)
                    return pending

                pending = await undelivered()
                async with asyncio.timeout(120):
                    while pending:
                        event = await anext(statuses)
                        if event.kind == "status" and event.status == "delivered":
                            pending = await undelivered()
                history = await alice.history(chat_id, limit=100)
            view = await _delivered_view(bob, _hex_key(account), len(theirs))
            ours_there = [m["id"] for m in view if not m["outgoing"]]
            theirs_there = [m["id"] for m in view if m["outgoing"]]
            assert ours_there == ours, "status-go has ours, once each, in clock order"
            assert theirs_there == theirs
            assert [m.id for m in history] == [m["id"] for m in view], "one order on both sides"
            assert [m.text for m in history] == [m["text"] for m in view]
            assert all(m["outgoingStatus"] == "delivered" for m in view if m["outgoing"]), (
                "status-go saw our acknowledgements"
            )


async def test_public_chat_both_ways(tmp_path: Path) -> None:
    """A public chat read on both sides: the bare wrapped message, under the name's key."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with (
        _network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await _meshed(network, bob)
        relay = network.chat_node.require_relay()
        async with Messenger(account, relay, reliability=QUICK) as alice:
            events = alice.events()
            await bob.request("join_public", name="pystatus-interop")
            await alice.join_public_chat("pystatus-interop")
            posted = await alice.send_public("pystatus-interop", "hello everyone")
            got = await bob.wait_event(_is_message("hello everyone"), timeout=60)
            assert (got["id"], got["chatId"]) == (posted, "pystatus-interop")
            reply = await bob.request("send_public", name="pystatus-interop", text="hi all")
            answer = await _next(events)
            assert (answer.id, answer.chat_id, answer.text) == (
                reply["messageId"],
                "pystatus-interop",
                "hi all",
            )
            assert answer.clock > got["clock"], "status-go's clock continues after ours"


async def test_two_pystatus_devices_and_a_status_go_contact(tmp_path: Path) -> None:
    """Two devices of one pystatus account, paired, and a status-go contact: status-go's
    messages reach both devices, and what either device sends shows on the other too."""
    require_statusgo()
    account, phrase = Account.create(tmp_path / "phone", "password", params=FAST)
    laptop_account = Account.restore(tmp_path / "laptop", phrase, "password", params=FAST)
    async with (
        _network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await _meshed(network, bob)
        relay = network.chat_node.require_relay()
        async with (
            Messenger(account, relay, reliability=QUICK) as phone,
            Messenger(laptop_account, relay, reliability=QUICK) as laptop,
        ):
            phone_events, laptop_events = phone.events(), laptop.events()
            await wait_for(
                lambda: (
                    bool(phone.encryption.installations.get(phone.encryption.public_key))
                    and bool(laptop.encryption.installations.get(laptop.encryption.public_key))
                ),
                timeout=60,
                what="the two devices paired",
            )
            sent = await phone.send(bob.compressed_key, "from the phone")
            await bob.wait_event(_is_message("from the phone"), timeout=60)
            copy = await _next(laptop_events)
            assert (copy.id, copy.outgoing) == (sent, True), "the laptop shows it too"
            reply = await bob.request("send", to=_hex_key(account), text="to both")
            for events in (phone_events, laptop_events):
                got = await _next(events)
                assert (got.id, got.text) == (reply["messageId"], "to both")
            sent = await laptop.send(bob.compressed_key, "from the laptop")
            await bob.wait_event(_is_message("from the laptop"), timeout=60)
            copy = await _next(phone_events)
            assert (copy.id, copy.outgoing) == (sent, True)
