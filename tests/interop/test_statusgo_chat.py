"""pystatus and a status-go v1.1.0 account chat through a pystatus relay + store node.

The Status cluster (16) on the default shard (32), as the Status app runs it: the status-go
peer's only Waku peer is the pystatus service node; a pystatus account chats from a second
pystatus node beside it. Each test reads what the other side shows (status-go's own view of its
chats, through its JSON-line commands), never our own record of what we sent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.content import image_of
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.messenger import (
    ChatEvent,
    EventStream,
    Messenger,
    RelayTransport,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.p2p.peer_id import PeerId
from tests.interop.statusgo_network import (
    FAST,
    QUICK,
    hex_key,
    meshed,
    next_event,
    status_network,
)
from tests.interop.statusgo_peer import Event, StatusGoPeer, StatusGoPeerError, require_statusgo
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

HALF = 10
"""Messages each way while both are online, and again while the other is away."""


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
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with Messenger(
            account,
            RelayTransport(relay, store=network.chat_node.store_peer()),
            reliability=QUICK,
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
            answer = await next_event(events)
            assert (answer.id, answer.text) == (reply["messageId"], "hello pystatus")
            for i in range(3):
                sent = await alice.send(bob_chat_key, f"ratchet {i}")
                got = await bob.wait_event(_is_message(f"ratchet {i}"), timeout=60)
                assert got["id"] == sent
                reply = await bob.request(
                    "send", to="0x" + account.keys.chat_public_key.hex(), text=f"back {i}"
                )
                answer = await next_event(events)
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


async def _fetch_history(bob: StatusGoPeer) -> None:
    """Ask status-go to fetch its history from the store. Its store client gives up with "too
    many failed requests" when asked before the store connection settles after a reconnection;
    it is asked again, three times at most."""
    for attempt in range(3):
        try:
            await bob.request("fetch_history", timeout=60)
            return
        except StatusGoPeerError:
            if attempt == 2:
                raise


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
    async with status_network(tmp_path) as network:
        relay = network.chat_node.require_relay()

        def messenger() -> Messenger:
            return Messenger(
                account,
                RelayTransport(relay, store=network.chat_node.store_peer()),
                reliability=QUICK,
            )

        async with StatusGoPeer(
            waku_nodes=[network.service_addr], store_nodes=[network.service_addr]
        ) as bob:
            await meshed(network)
            ours: list[str] = []
            theirs: list[str] = []
            async with messenger() as alice:
                events = alice.events()
                for i in range(HALF):
                    ours.append(await alice.send(bob.compressed_key, f"alice {i}"))
                    await bob.wait_event(_is_message(f"alice {i}"), timeout=60)
                for i in range(HALF):
                    reply = await bob.request("send", to=hex_key(account), text=f"bob {i}")
                    theirs.append(reply["messageId"])
                assert sorted(e.id for e in await _collect(events, HALF)) == sorted(theirs)
            # alice is away: bob's next five wait in the store.
            for i in range(HALF, 2 * HALF):
                reply = await bob.request("send", to=hex_key(account), text=f"bob {i}")
                theirs.append(reply["messageId"])
            async with messenger() as alice:
                events = alice.events()
                back = await _collect(events, HALF)
                assert sorted(e.id for e in back) == sorted(theirs[HALF:]), "fetched from the store"
                # Our acknowledgements reach status-go before it goes away in turn.
                await _delivered_view(bob, hex_key(account), len(theirs))
                # bob is away: alice's next five wait in the store.
                await bob.request("offline")
                for i in range(HALF, 2 * HALF):
                    ours.append(await alice.send(bob.compressed_key, f"alice {i}"))
                await bob.request("online")
                await meshed(network)
                await _fetch_history(bob)
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
            view = await _delivered_view(bob, hex_key(account), len(theirs))
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
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with Messenger(account, RelayTransport(relay), reliability=QUICK) as alice:
            events = alice.events()
            await bob.request("join_public", name="pystatus-interop")
            await alice.join_public_chat("pystatus-interop")
            posted = await alice.send_public("pystatus-interop", "hello everyone")
            got = await bob.wait_event(_is_message("hello everyone"), timeout=60)
            assert (got["id"], got["chatId"]) == (posted, "pystatus-interop")
            reply = await bob.request("send_public", name="pystatus-interop", text="hi all")
            answer = await next_event(events)
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
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with (
            Messenger(account, RelayTransport(relay), reliability=QUICK) as phone,
            Messenger(laptop_account, RelayTransport(relay), reliability=QUICK) as laptop,
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
            copy = await next_event(laptop_events)
            assert (copy.id, copy.outgoing) == (sent, True), "the laptop shows it too"
            reply = await bob.request("send", to=hex_key(account), text="to both")
            for events in (phone_events, laptop_events):
                got = await next_event(events)
                assert (got.id, got.text) == (reply["messageId"], "to both")
            sent = await laptop.send(bob.compressed_key, "from the laptop")
            await bob.wait_event(_is_message("from the laptop"), timeout=60)
            copy = await next_event(phone_events)
            assert (copy.id, copy.outgoing) == (sent, True)


async def _next_kind(events: EventStream, kind: str, timeout: float = 60) -> ChatEvent:
    return await next_event(events, kind=kind, timeout=timeout)


def _event(name: str, **fields: object) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("event") == name and all(event.get(k) == v for k, v in fields.items())

    return match


async def _contact_of(bob: StatusGoPeer, key: str) -> Event:
    contacts = (await bob.request("contacts"))["contacts"]
    found: list[Event] = [c for c in contacts if c.get("id") == key]
    assert found, f"status-go has no contact {key}: {contacts}"
    return found[0]


async def test_contact_requests_each_way_then_mutual(tmp_path: Path) -> None:
    """A contact request each way, accepted each way: both sides end with a mutual contact;
    a stranger's request waits in requests, as in the app, until accepted."""
    require_statusgo()
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    carol_account, _ = Account.create(tmp_path / "carol", "carol password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr], display_name="bobby") as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with (
            Messenger(alice_account, RelayTransport(relay), reliability=QUICK) as alice,
            Messenger(carol_account, RelayTransport(relay), reliability=QUICK) as carol,
        ):
            await alice.set_display_name("alice")
            # pystatus asks, status-go accepts.
            request = await alice.send_contact_request(bob.compressed_key, "hi bob, it's alice")
            got = await bob.wait_event(_event("contact_request", text="hi bob, it's alice"))
            assert got["requestId"] == request
            alice_events = alice.events()
            await bob.request("accept_contact_request", requestId=got["requestId"])
            async with asyncio.timeout(60):
                while not (await alice.contact(bob.compressed_key)).mutual:
                    await _next_kind(alice_events, "contact")
            assert (await _contact_of(bob, hex_key(alice_account)))["mutual"]
            # status-go asks, pystatus sees a request, accepts.
            carol_events = carol.events()
            reply = await bob.request(
                "send_contact_request", to=hex_key(carol_account), text="hi carol, bob here"
            )
            asked = await _next_kind(carol_events, "contact_request")
            assert (asked.id, asked.text) == (reply["messageId"], "hi carol, bob here")
            waiting = [c.chat_key for c in await carol.requests()]
            assert bob.compressed_key in waiting, "a stranger's request waits in requests"
            await carol.accept_contact_request(bob.compressed_key)
            async with asyncio.timeout(60):
                while not (await _contact_of(bob, hex_key(carol_account)))["mutual"]:
                    await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))
            assert (await carol.contact(bob.compressed_key)).mutual
            assert bob.compressed_key not in [c.chat_key for c in await carol.requests()]
            # Names travel: status-go shows ours, we show status-go's.
            assert (await alice.contact(bob.compressed_key)).display_name == "bobby"
            named = await _contact_of(bob, hex_key(alice_account))
            assert "alice" in (named.get("displayName"), named.get("primaryName")), named


async def test_reply_reaction_edit_delete_and_pin_both_ways(tmp_path: Path) -> None:
    """Replies, a reaction and its retraction, an edit, a delete and a pin, each made on one
    side and seen on the other, both ways."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with Messenger(account, RelayTransport(relay), reliability=QUICK) as alice:
            events = alice.events()
            request = await alice.send_contact_request(bob.compressed_key, "let's talk")
            got = await bob.wait_event(_event("contact_request", requestId=request))
            await bob.request("accept_contact_request", requestId=got["requestId"])
            chat = hex_key(account)
            bob_chat = "0x" + bob.public_key[2:]
            # Theirs, acted on by us.
            theirs = (await bob.request("send", to=chat, text="pick a number"))["messageId"]
            assert (await next_event(events)).id == theirs
            ours = await alice.send(bob.compressed_key, "seven", response_to=theirs)
            got = await bob.wait_event(_is_message("seven"))
            assert (got["id"], got["responseTo"]) == (ours, theirs)
            await alice.react(bob_chat, theirs, 2)
            reaction = await bob.wait_event(_event("reaction", messageId=theirs))
            assert not reaction["retracted"]
            await alice.react(bob_chat, theirs, 2, retract=True)
            await bob.wait_event(_event("reaction", messageId=theirs, retracted=True))
            await alice.edit(ours, "eight")
            await bob.wait_event(_event("message", id=ours, text="eight", edited=True))
            await alice.pin(theirs)
            await bob.wait_event(lambda e: e.get("event") == "pin" and theirs in str(e))
            await alice.delete(ours)
            await bob.wait_event(lambda e: e.get("event") == "deleted" and ours in str(e))
            # Ours, acted on by them.
            mine = await alice.send(bob.compressed_key, "react to me")
            await bob.wait_event(_is_message("react to me"))
            reply = await bob.request("reply", to=chat, text="done", responseTo=mine)
            answer = await next_event(events)
            assert (answer.id, answer.response_to) == (reply["messageId"], mine)
            emoji = await bob.request("react", messageId=mine, emoji="love", chatId=chat)
            assert (await _next_kind(events, "reaction")).reaction == 1
            await bob.request("retract_reaction", emojiId=emoji["emojiId"])
            assert (await _next_kind(events, "reaction")).reaction == -1
            await bob.request("edit", messageId=reply["messageId"], text="done!")
            edit = await _next_kind(events, "edit")
            assert (edit.id, edit.text) == (reply["messageId"], "done!")
            await bob.request("pin", messageId=mine, pinned=True, chatId=chat)
            pin = await _next_kind(events, "pin")
            assert (pin.id, pin.pinned) == (mine, True)
            await bob.request("delete", messageId=reply["messageId"])
            deleted = await _next_kind(events, "delete")
            assert deleted.id == reply["messageId"]
            history = {m.id: m for m in await alice.history(bob_chat, limit=50)}
            assert history[reply["messageId"]].deleted
            assert mine in await alice.pinned(bob_chat)


async def test_half_a_megabyte_picture_each_way(tmp_path: Path) -> None:
    """A 500 KiB picture each way, 1:1: past The Waku Network's 150 KiB, within the Status
    cluster's 1 MiB, so it travels in one Waku message (status-go segments from 768 KiB)."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    ours, theirs = (b"\xff\xd8\xff\xe0" + os.urandom(500 * 1024 - 4) for _ in range(2))
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        async with Messenger(account, RelayTransport(relay), reliability=QUICK) as alice:
            events = alice.events()
            sent = await alice.send_image(bob.compressed_key, ours, "a big one")
            got = await bob.wait_event(_event("message", id=sent), timeout=90)
            assert (got["contentType"], got["text"]) == ("IMAGE", "a big one")
            reply = await bob.request(
                "send_image", to=hex_key(account), payload=base64.b64encode(theirs).decode()
            )
            answer = await next_event(events, timeout=90)
            assert (answer.id, answer.content_type) == (reply["messageId"], 7)
            stored = await alice.database.message(answer.id)
            assert stored is not None
            image = image_of(chat_message_pb2.ChatMessage.FromString(stored.body))
            assert image is not None and image.payload == theirs, "the same bytes arrived"


async def test_status_go_as_a_light_client_of_the_pystatus_node(tmp_path: Path) -> None:
    """status-go in light mode, as the mobile app runs: filter, light push and store all
    served by the pystatus service node; 1:1 messages both ways, and one sent while it was
    away fetched from the pystatus store."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with status_network(tmp_path) as network:
        service = network.service
        assert service.filter_server is not None
        async with StatusGoPeer(
            waku_nodes=[network.service_addr], store_nodes=[network.service_addr], light=True
        ) as bob:
            theirs = PeerId.from_string(bob.peer_id)
            await wait_for(
                lambda: bool(service.filter_server.subscriptions.criteria_of(theirs)),  # type: ignore[union-attr]
                timeout=60,
                what="status-go's filter subscription at the pystatus node",
            )
            relay = network.chat_node.require_relay()
            async with Messenger(
                account,
                RelayTransport(relay, store=network.chat_node.store_peer()),
                reliability=QUICK,
            ) as alice:
                events = alice.events()
                sent = await alice.send(bob.compressed_key, "pushed to you by filter")
                got = await bob.wait_event(_is_message("pushed to you by filter"), timeout=90)
                assert got["id"] == sent
                reply = await bob.request("send", to=hex_key(account), text="by light push")
                answer = await next_event(events, timeout=90)
                assert (answer.id, answer.text) == (reply["messageId"], "by light push")
                await bob.request("offline")
                later = await alice.send(bob.compressed_key, "while you were away")
                await bob.request("online")
                await wait_for(
                    lambda: theirs in service.host.connected_peers(),
                    timeout=60,
                    what="status-go back on the pystatus node",
                )
                await _fetch_history(bob)
                got = await bob.wait_event(_is_message("while you were away"), timeout=90)
                assert got["id"] == later
                assert all(p != theirs for p in service.require_relay().relay_peers()), (
                    "status-go never joined the relay mesh"
                )


async def test_a_status_go_contact_code_carries_its_bundle(tmp_path: Path) -> None:
    """status-go advertises its bundle on its contact-code topic; a pystatus account that adds
    it as a contact reads the advert (here from the pystatus store), so its first message opens
    the ratchet with X3DH rather than going under a DH header."""
    require_statusgo()
    account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr]) as bob,
    ):
        await meshed(network)
        relay = network.chat_node.require_relay()
        bob_key = bytes.fromhex(bob.public_key[2:])
        async with Messenger(
            account,
            RelayTransport(relay, store=network.chat_node.store_peer()),
            reliability=QUICK,
        ) as alice:
            await alice.add_contact(bob.compressed_key)
            await wait_for(
                lambda: bool(alice.encryption.installations.get(bob_key)),
                timeout=60,
                what="status-go's bundle read from its contact code",
            )
            assert bob.installation_id in alice.encryption.installations[bob_key]
            sent = await alice.send(bob.compressed_key, "you advertised, I used it")
            got = await bob.wait_event(_is_message("you advertised, I used it"), timeout=60)
            assert got["id"] == sent
