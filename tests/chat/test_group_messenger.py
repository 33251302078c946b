"""Private groups through three Messengers over three pystatus relay nodes: create, exchange,
remove, leave, and the group surviving a restart (:mod:`pystatus.chat.messenger_group`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.database import Batch, ChatDatabase
from pystatus.chat.membership import REJECTED
from pystatus.chat.messenger import ChatEvent
from pystatus.chat.messenger_group import GROUP, GROUP_STATE, group_members
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str) -> ChatEvent:
    async with asyncio.timeout(15):
        while (event := await anext(events)).kind != kind:
            pass
        return event


async def test_create_exchange_remove_and_restart(tmp_path: Path) -> None:
    accounts = [
        Account.create(tmp_path / n, "group password", params=FAST)[0]
        for n in ("alice", "bob", "carol")
    ]
    async with (
        relay_nodes(3) as nodes,
        relay_messenger(accounts[0], nodes[0]) as alice,
        relay_messenger(accounts[1], nodes[1]) as bob,
    ):
        carol = relay_messenger(accounts[2], nodes[2])
        await carol.start()
        try:
            streams = [m.events() for m in (alice, bob, carol)]
            chat = await alice.create_group("friends", [bob.chat_key, carol.chat_key])
            for stream in streams[1:]:
                invited = await _next(stream, "group")
                assert (invited.chat_id, invited.text) == (chat, "invitation")
                assert invited.display_name == "friends"
            group = bob.group(chat)
            assert group is not None
            assert group_members(group) == [alice.chat_key, bob.chat_key, carol.chat_key]
            assert (chat, GROUP, "friends") in await bob.chats()

            sent = await bob.send_group(chat, "hello group")
            for stream in (streams[0], streams[2]):
                got = await _next(stream, "message")
                assert (got.id, got.chat_id, got.text, got.author) == (
                    sent,
                    chat,
                    "hello group",
                    bob.chat_key,
                )
            await wait_for(lambda: bob.session.unacknowledged() == 0, timeout=15, what="acks")

            await alice.remove_group_member(chat, carol.chat_key)
            removed = await _next(streams[2], "group")
            assert removed.text == "updated"
            carol_view = carol.group(chat)
            assert carol_view is not None and carol.chat_key not in group_members(carol_view)
            await _next(streams[1], "group")

            after = await alice.send_group(chat, "carol is gone")
            got = await _next(streams[1], "message")
            assert got.id == after
            await wait_for(lambda: alice.session.unacknowledged() == 0, timeout=15, what="acks")
            assert all(e.id != after for e in await carol.history(chat))
        finally:
            await carol.stop()

        # Carol restarts: her view of the group (removed) comes back from the database.
        async with relay_messenger(accounts[2], nodes[2]) as carol_again:
            restored = carol_again.group(chat)
            assert restored is not None and not restored.is_member(carol_again._groups.me)
            assert [e.text for e in await carol_again.history(chat)] == ["hello group"]

        await alice.edit_group(chat, name="renamed", color="#00ff00")

        def edited() -> bool:
            group = bob.group(chat)
            return group is not None and (group.name, group.color) == ("renamed", "#00ff00")

        await wait_for(edited, timeout=15, what="bob sees the new name and colour")
        await bob.leave_group(chat)
        left = await _next(streams[0], "group")
        assert left.author == bob.chat_key
        alice_view = alice.group(chat)
        assert alice_view is not None and group_members(alice_view) == [alice.chat_key]


async def test_a_damaged_group_row_is_counted_and_the_account_still_starts(tmp_path: Path) -> None:
    account = Account.create(tmp_path / "alice", "group password", params=FAST)[0]
    database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
    await database.open()
    try:
        await database.commit(Batch(sync_state={GROUP_STATE + "broken": b"\x0a\x03abc\x12\x01x"}))
    finally:
        await database.close()
    before = REJECTED.labels("length")._value.get()
    async with relay_nodes(2) as nodes, relay_messenger(account, nodes[0]) as alice:
        assert alice.groups() == []
    assert REJECTED.labels("length")._value.get() == before + 1
