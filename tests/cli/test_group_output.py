"""What `pystatus group` and `chat watch` print about private groups, without a network: a
group shown as the app shows it (its name, then its chat id, no public-chat ``#``), a leave
read as "<who> left", a non-admin's removal refused in status-go's terms, and `group list`
without the groups we left (``--all`` marks them)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import coincurve
import pytest
from typer.testing import CliRunner

from pystatus.chat.account import Account
from pystatus.chat.database import Batch, ChatDatabase
from pystatus.chat.events import MessageEvent
from pystatus.chat.group import GroupChats, GroupReceived, NotAGroupAdmin
from pystatus.chat.keys import chat_key_text
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.membership import encode_update
from pystatus.chat.messenger_group import GROUP_STATE, _group_event
from pystatus.cli.chat_io import EventPrinter, chat_label, event_json
from pystatus.cli.group import group_app

PASSWORD = "group password"
FAST = ScryptParams(n=1 << 10)


class _Device:
    """One account's groups, sans-IO, with its keys."""

    def __init__(self) -> None:
        secret = coincurve.PrivateKey()
        self.public_key = secret.public_key.format(compressed=False)
        self.chat_key = chat_key_text(self.public_key)
        self.groups = GroupChats(secret.secret, self.public_key)

    def receive(self, wrapped: bytes) -> GroupReceived:
        received = self.groups.receive_wrapped(wrapped, _now_ms())
        assert received is not None
        return received


def _now_ms() -> int:
    return time.time_ns() // 10**6


def _friends() -> tuple[_Device, _Device, _Device, str]:
    """Alice's group "friends" with Bob and Carol, as all three know it."""
    alice, bob, carol = _Device(), _Device(), _Device()
    created = alice.groups.create("friends", [bob.public_key, carol.public_key], _now_ms())
    bob.receive(created.wrapped)
    carol.receive(created.wrapped)
    return alice, bob, carol, created.group.chat_id


def test_a_member_leaving_reads_as_left_to_the_others() -> None:
    alice, bob, _, chat = _friends()
    left = bob.groups.leave(chat, _now_ms() + 1)
    event = _group_event(alice.receive(left.wrapped), bob.chat_key, outgoing=False)
    assert (event.kind, event.text, event.author) == ("group", "left", bob.chat_key)
    line = " ".join(EventPrinter(alice.chat_key).lines(event))
    assert line.endswith(f"[friends {chat}] {bob.chat_key} left")


def test_a_removal_is_not_a_leave() -> None:
    alice, _, carol, chat = _friends()
    removed = alice.groups.remove_member(chat, carol.public_key, _now_ms() + 1)
    event = _group_event(carol.receive(removed.wrapped), alice.chat_key, outgoing=False)
    assert event.text == "updated"


def test_only_admins_can_remove_members() -> None:
    _, bob, carol, chat = _friends()
    with pytest.raises(NotAGroupAdmin, match="only admins can remove members"):
        bob.groups.remove_member(chat, carol.public_key, _now_ms() + 1)


def test_group_ids_print_after_the_name_and_without_the_public_mark() -> None:
    alice, bob, _, chat = _friends()
    assert chat_label(chat) == chat
    assert chat_label("status") == "#status"
    printer = EventPrinter(alice.chat_key)
    printer.lines(_group_event(_invitation(alice, chat), alice.chat_key, outgoing=False))
    message = MessageEvent("0x" + "ab" * 32, chat, bob.chat_key, "hi", 1, _now_ms(), "", False)
    line = printer.lines(message)[0]
    assert f"[friends {chat}] {bob.chat_key}: hi" in line and "#" not in line
    assert event_json(message)["chat"] == chat


def _invitation(admin: _Device, chat: str) -> GroupReceived:
    newcomer = _Device()
    added = admin.groups.add_members(chat, [newcomer.public_key], _now_ms() + 1)
    return newcomer.receive(added.wrapped)


async def _keep_groups(directory: Path, *updates: tuple[str, bytes]) -> None:
    account = Account.unlock(directory, PASSWORD)
    database = ChatDatabase(directory / "chat.sqlite3", account.keys.database)
    await database.open()
    try:
        await database.commit(Batch(sync_state={GROUP_STATE + c: u for c, u in updates}))
    finally:
        await database.close()


def test_group_list_leaves_out_the_groups_we_left(tmp_path: Path) -> None:
    account, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=FAST)
    alice = _Device()
    bob = GroupChats(account.keys.chat, account.keys.chat_public_key)
    kept = alice.groups.create("kept", [account.keys.chat_public_key], _now_ms())
    gone = alice.groups.create("gone", [account.keys.chat_public_key], _now_ms())
    for outgoing in (kept, gone):
        bob.receive_wrapped(outgoing.wrapped, _now_ms())
    left = bob.leave(gone.group.chat_id, _now_ms() + 1).group
    asyncio.run(
        _keep_groups(
            account.directory,
            (kept.group.chat_id, encode_update(kept.group.chat_id, kept.group.events)),
            (left.chat_id, encode_update(left.chat_id, left.events)),
        )
    )
    runner = CliRunner(env={"PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "400"})
    data_dir = ["--data-dir", str(tmp_path / "bob")]

    shown = runner.invoke(group_app, ["list", *data_dir])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0] == f"kept {kept.group.chat_id}"
    assert "gone" not in shown.output

    every = runner.invoke(group_app, ["list", "--all", *data_dir])
    assert f"gone {left.chat_id} (left)" in every.output.splitlines()
    listed = json.loads(runner.invoke(group_app, ["list", "--all", "--json", *data_dir]).output)
    assert {(g["name"], g["left"]) for g in listed["groups"]} == {("kept", False), ("gone", True)}
