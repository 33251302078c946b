"""`pystatus group ...` as users run them, through a `pystatus node` relay: create (the
member's watcher acknowledges), send, `chat reply` in a group, list and history, and bad ids
refused with exit 2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start, status_relay, stop

PASSWORD = "group password"
FAST = ScryptParams(n=1 << 10)


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await start(*args, password=PASSWORD)


async def _run(*args: str, code: int = 0) -> str:
    process = await _start(*args)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, err.decode()
    return out.decode()


async def _json_line(process: asyncio.subprocess.Process, **wanted: object) -> dict[str, object]:
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while line := await process.stdout.readline():
            document = json.loads(line)
            if all(document.get(k) == v for k, v in wanted.items()):
                return dict(document)
    raise AssertionError(f"no JSON line with {wanted}")


@pytest_asyncio.fixture
async def relay_addr() -> AsyncIterator[str]:
    async with status_relay() as addr:
        yield addr


async def test_create_send_list_and_history(tmp_path: Path, relay_addr: str) -> None:
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=FAST)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=FAST)

    def as_(who: str) -> tuple[str, ...]:
        return ("--staticnode", relay_addr, "--data-dir", str(tmp_path / who))

    watcher = await _start("chat", "watch", "--json", *as_("bob"))
    try:
        await _json_line(watcher, kind="watching")
        created = json.loads(
            await _run("group", "create", "friends", bob.chat_key, "--json", *as_("alice"))
        )
        chat = created["chatId"]
        assert created["sent"] and created["name"] == "friends"
        assert created["members"][1] == bob.chat_key and len(created["admins"]) == 1
        invited = await _json_line(watcher, kind="group", chatId=chat)
        assert invited["text"] == "invitation"
        sent = (await _run("group", "send", chat, "hello group", *as_("alice"))).strip()
        got = await _json_line(watcher, kind="message", chatId=chat)
        assert (got["id"], got["text"]) == (sent, "hello group")
    finally:
        await stop(watcher)

    # `chat reply` to a group message answers in the group (to each member).
    watcher = await _start("chat", "watch", "--json", *as_("alice"))
    try:
        await _json_line(watcher, kind="watching")
        reply = (await _run("chat", "reply", sent, "indeed", *as_("bob"))).strip()
        got = await _json_line(watcher, kind="message", chatId=chat)
        assert (got["id"], got["text"], got["responseTo"]) == (reply, "indeed", sent)
        # `chat react` says what it did in one line, as the other commands do.
        reacted = await _run("chat", "react", sent, "love", *as_("bob"))
        assert reacted == f"reacted \u2764\ufe0f to {sent}\n"
    finally:
        await stop(watcher)

    bob_dir = ("--data-dir", str(tmp_path / "bob"))
    listed = json.loads(await _run("group", "list", "--json", *bob_dir))["groups"]
    assert [(g["chatId"], g["name"]) for g in listed] == [(chat, "friends")]
    # The bad ids are refused before the data dir is opened: they run beside the history.
    history_out, _, _ = await asyncio.gather(
        _run("group", "history", chat, "--json", *bob_dir),
        _run("group", "history", "not-a-group", *bob_dir, code=2),
        _run("group", "send", "x" * 169, "hi", *as_("bob"), code=2),
    )
    assert [m["text"] for m in json.loads(history_out)["messages"]] == ["hello group", "indeed"]
