"""Private group chats between pystatus accounts and a status-go v1.1.0 account.

One pystatus relay + store service node (the Status cluster, shard 32) carries everything;
the status-go peer's only Waku peer is that node and the pystatus accounts chat from a second
node beside it. status-go lets a group hold only mutual contacts, so each test first makes
every pystatus account a mutual contact of the status-go one. Each test reads what the other
side shows: status-go's own view of its chats through its JSON-line commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.group import NotAGroupMember
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_group import group_members
from tests.interop.statusgo_network import (
    FAST,
    chat_messenger,
    hex_key,
    meshed,
    next_event,
    status_network,
)
from tests.interop.statusgo_peer import Event, StatusGoPeer, require_statusgo
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

PRIVATE_GROUP_CHAT = 3
"""status-go's ChatTypePrivateGroupChat."""


@contextlib.asynccontextmanager
async def _bob_alice_and_carol(
    tmp_path: Path,
) -> AsyncIterator[tuple[StatusGoPeer, Messenger, Messenger]]:
    """status-go's bob, meshed with the service node, and two pystatus accounts, alice (a
    mutual contact of bob's) and carol (not yet), each on a running Messenger."""
    require_statusgo()
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    carol_account, _ = Account.create(tmp_path / "carol", "carol password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(waku_nodes=[network.service_addr], display_name="bob") as bob,
    ):
        await meshed(network)
        async with (
            chat_messenger(network, alice_account) as alice,
            chat_messenger(network, carol_account) as carol,
        ):
            await _mutual(bob, alice)
            yield bob, alice, carol


def _hex(chatter: Messenger) -> str:
    return hex_key(chatter.account)


def _message(text: str, chat_id: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return (
            event.get("event") == "message"
            and event.get("text") == text
            and event.get("chatId") == chat_id
        )

    return match


async def _mutual(bob: StatusGoPeer, messenger: Messenger) -> None:
    """status-go asks ``messenger`` to be a contact and it accepts: mutual on both sides."""
    events = messenger.events()
    await bob.request("send_contact_request", to=_hex(messenger), text="hi, bob here")
    await next_event(events, "contact_request")
    await messenger.accept_contact_request(bob.compressed_key)

    async def mutual() -> bool:
        contacts = (await bob.request("contacts"))["contacts"]
        return any(c.get("id") == _hex(messenger) and c.get("mutual") for c in contacts)

    async with asyncio.timeout(60):
        while not await mutual():
            await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))


async def _statusgo_messages(bob: StatusGoPeer, chat_id: str) -> list[str]:
    reply = await bob.request("messages", chatId=chat_id)
    return [str(m["text"]) for m in reply["messages"] if m.get("contentTypeId") == 1]


async def test_status_go_creates_a_group_of_two_pystatus_accounts_and_removes_one(
    tmp_path: Path,
) -> None:
    """status-go creates a group with two pystatus accounts; all three exchange messages;
    reactions go both ways; status-go renames it and makes a pystatus account admin, who
    renames it in turn;
    status-go removes the other pystatus account, who then receives nothing more; the
    first leaves and status-go shows it."""
    async with _bob_alice_and_carol(tmp_path) as (bob, alice, carol):
        await _mutual(bob, carol)
        alice_events, carol_events = alice.events(), carol.events()

        created = await bob.request(
            "group_create", name="mixed", members=[_hex(alice), _hex(carol)]
        )
        chat = str(created["chatId"])
        for events, messenger in ((alice_events, alice), (carol_events, carol)):
            invited = await next_event(events, "group", lambda e: e.chat_id == chat)
            assert (invited.text, invited.display_name) == ("invitation", "mixed")
            group = messenger.group(chat)
            assert group is not None
            assert group.members == (bob.public_key, _hex(alice), _hex(carol))
            assert group.admins == (bob.public_key,)

        sent = await bob.request("send", chatId=chat, text="hello from status-go")
        for events in (alice_events, carol_events):
            got = await next_event(events, "message", lambda e: e.chat_id == chat)
            assert (got.id, got.text, got.author) == (
                sent["messageId"],
                "hello from status-go",
                bob.compressed_key,
            )

        from_alice = await alice.send_group(chat, "hello from alice")
        got_bob = await bob.wait_event(_message("hello from alice", chat), timeout=60)
        assert got_bob["id"] == from_alice, "the same message id on both sides"
        got = await next_event(carol_events, "message", lambda e: e.text == "hello from alice")
        assert got.id == from_alice
        from_carol = await carol.send_group(chat, "hello from carol")
        await bob.wait_event(_message("hello from carol", chat), timeout=60)
        got = await next_event(alice_events, "message", lambda e: e.text == "hello from carol")
        assert got.id == from_carol

        # Reactions in a group go to each member, filed under the group on both sides.
        await bob.request("react", messageId=from_alice, emoji="THUMBS_UP")
        reacted = await next_event(alice_events, "reaction", lambda e: e.id == from_alice)
        assert (reacted.chat_id, reacted.reaction, reacted.author) == (
            chat,
            2,
            bob.compressed_key,
        )
        await alice.react(chat, sent["messageId"], 1)
        got_reaction = await bob.wait_event(
            lambda e: e.get("event") == "reaction" and e.get("messageId") == sent["messageId"],
            timeout=60,
        )
        assert (got_reaction["chatId"], got_reaction["emoji"]) == (chat, "LOVE")

        # status-go renames the group and makes Alice an admin; Alice renames it back.
        await bob.request("group_rename", chatId=chat, name="renamed by status-go")
        await bob.request("group_add_admins", chatId=chat, members=[_hex(alice)])

        def admin_and_renamed() -> bool:
            group = alice.group(chat)
            return (
                group is not None
                and group.name == "renamed by status-go"
                and group.admins == (bob.public_key, _hex(alice))
            )

        await wait_for(admin_and_renamed, timeout=60, what="status-go's rename and admin")
        await alice.rename_group(chat, "renamed by pystatus")

        async def statusgo_name() -> str:
            return str((await bob.request("group", chatId=chat))["name"])

        async with asyncio.timeout(60):
            while await statusgo_name() != "renamed by pystatus":
                await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))
        admins = (await bob.request("group", chatId=chat))["admins"]
        assert sorted(admins) == sorted([bob.public_key, _hex(alice)])

        # status-go removes Carol: she learns it, and gets nothing sent after.
        await bob.request("group_remove", chatId=chat, member=_hex(carol))

        def carol_out(messenger: Messenger) -> Callable[[], bool]:
            def out() -> bool:
                group = messenger.group(chat)
                return group is not None and _hex(carol) not in group.members

            return out

        await wait_for(carol_out(carol), timeout=60, what="carol told of her removal")
        await wait_for(carol_out(alice), timeout=60, what="alice told of carol's removal")
        alice_view = alice.group(chat)
        assert alice_view is not None
        assert group_members(alice_view) == [bob.compressed_key, alice.chat_key]
        await bob.request("send", chatId=chat, text="after carol left")
        await next_event(alice_events, "message", lambda e: e.text == "after carol left")
        await alice.send_group(chat, "alice after carol left")
        await bob.wait_event(_message("alice after carol left", chat), timeout=60)
        await wait_for(lambda: alice.session.unacknowledged() == 0, timeout=60, what="alice's acks")
        carol_texts = [e.text for e in await carol.history(chat)]
        assert "after carol left" not in carol_texts
        assert "alice after carol left" not in carol_texts
        with pytest.raises(NotAGroupMember):
            await carol.send_group(chat, "still here?")

        # Alice leaves: status-go shows the group without her.
        await alice.leave_group(chat)

        async def statusgo_members() -> list[str]:
            return list((await bob.request("group", chatId=chat))["members"])

        async with asyncio.timeout(60):
            while _hex(alice) in await statusgo_members():
                await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))
        assert await statusgo_members() == [bob.public_key]


async def test_pystatus_creates_a_group_that_includes_status_go(tmp_path: Path) -> None:
    """A pystatus account creates a group with status-go and another pystatus account:
    status-go joins it, all three exchange messages, edit, pin and delete them; when the
    pystatus admin removes status-go, status-go receives nothing after."""
    async with _bob_alice_and_carol(tmp_path) as (bob, alice, carol):
        alice_events, carol_events = alice.events(), carol.events()
        chat = await alice.create_group("made by pystatus", [bob.compressed_key, carol.chat_key])
        await next_event(carol_events, "group", lambda e: e.chat_id == chat)

        async def joined() -> Event:
            async with asyncio.timeout(60):
                while True:
                    with contextlib.suppress(Exception):
                        group = await bob.request("group", chatId=chat)
                        if group["members"]:
                            return group
                    await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))

        view = await joined()
        assert view["chatType"] == PRIVATE_GROUP_CHAT
        assert view["name"] == "made by pystatus"
        assert set(view["members"]) == {_hex(alice), bob.public_key, _hex(carol)}
        assert view["admins"] == [_hex(alice)]

        sent = await bob.request("send", chatId=chat, text="status-go in a pystatus group")
        for events in (alice_events, carol_events):
            got = await next_event(events, "message", lambda e: e.chat_id == chat)
            assert (got.id, got.text) == (sent["messageId"], "status-go in a pystatus group")
        from_carol = await carol.send_group(chat, "carol to all")
        got_bob = await bob.wait_event(_message("carol to all", chat), timeout=60)
        assert got_bob["id"] == from_carol
        await next_event(alice_events, "message", lambda e: e.text == "carol to all")

        # Edits, pins and deletes go to each member (status-go sends them unwrapped).
        bob_message = str(sent["messageId"])
        await bob.request("edit", messageId=bob_message, text="status-go, edited")
        edited = await next_event(alice_events, "edit", lambda e: e.id == bob_message)
        assert (edited.chat_id, edited.text) == (chat, "status-go, edited")
        await carol.edit(from_carol, "carol to all, edited")

        async def statusgo_has(text: str) -> None:
            async with asyncio.timeout(60):
                while text not in await _statusgo_messages(bob, chat):
                    await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))

        await statusgo_has("carol to all, edited")
        await bob.request("pin", messageId=from_carol)
        pinned = await next_event(alice_events, "pin", lambda e: e.id == from_carol)
        assert (pinned.chat_id, pinned.pinned) == (chat, True)
        await alice.pin(bob_message)
        got_pin = await bob.wait_event(
            lambda e: e.get("event") == "pin" and e.get("messageId") == bob_message,
            timeout=60,
        )
        assert (got_pin["chatId"], got_pin["pinned"]) == (chat, True)
        await carol.delete(from_carol)
        await bob.wait_event(
            lambda e: e.get("event") == "deleted" and e.get("messageId") == from_carol,
            timeout=60,
        )
        deleted = await next_event(alice_events, "delete", lambda e: e.id == from_carol)
        assert deleted.chat_id == chat

        # The pystatus admin removes status-go: it is told, then hears nothing more.
        await alice.remove_group_member(chat, bob.compressed_key)

        async def removed() -> bool:
            group = await bob.request("group", chatId=chat)
            return bob.public_key not in group["members"]

        async with asyncio.timeout(60):
            while not await removed():
                await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))
        after = await alice.send_group(chat, "without status-go")
        await next_event(carol_events, "message", lambda e: e.id == after)
        await wait_for(lambda: alice.session.unacknowledged() == 0, timeout=60, what="alice's acks")
        assert "without status-go" not in await _statusgo_messages(bob, chat)
        assert "status-go, edited" in await _statusgo_messages(bob, chat)
