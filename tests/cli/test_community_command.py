"""`pystatus community` and `pystatus group` commands that change something say so in one
line (and ``--json`` gives an object), run as a user runs them through a `pystatus node`
relay: a community's owner and a group's admin at once, each running three or four short
processes in turn (about 10 s of CPU)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start, status_relay

PASSWORD = "community password"
FAST = ScryptParams(n=1 << 10)


async def _run(*args: str, code: int = 0) -> tuple[str, str]:
    """``pystatus *args``: its stdout and stderr, once it exited ``code`` (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, err.decode()
    return out.decode(), err.decode()


@pytest_asyncio.fixture
async def relay_addr() -> AsyncIterator[str]:
    async with status_relay() as addr:
        yield addr


async def test_changes_say_what_they_did(tmp_path: Path, relay_addr: str) -> None:
    """Two accounts' commands at once: each data dir admits one process at a time."""
    await asyncio.gather(
        _community_changes(tmp_path, relay_addr), _group_changes(tmp_path, relay_addr)
    )


async def _community_changes(tmp_path: Path, relay_addr: str) -> None:
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    member = Account.create(tmp_path / "member" / "account", PASSWORD, params=FAST)[0].chat_key
    sending = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "owner"))

    out, _ = await _run("community", "create", "Cats", *sending)
    community_id, general = out.splitlines()
    assert community_id.startswith("0x0") and len(community_id) == 68
    # #general, as status-go's CreateCommunity makes it for the app.
    assert general.startswith(f"#general {community_id}")

    # No request from them: status-go accepts only a request it holds (one line, exit 1;
    # without --storenode it says how to catch up).
    out, err = await _run("community", "accept", community_id, member, *sending, code=1)
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: no pending request from {member} to {community_id} (give")
    out, _ = await _run(
        "community", "ban", community_id, member, "--delete-messages", "--json", *sending
    )
    said = json.loads(out)
    assert (said["id"], said["banned"], said["sent"]) == (community_id, member, True)
    assert said["messagesDeleted"] is True


async def _group_changes(tmp_path: Path, relay_addr: str) -> None:
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=FAST)
    bob, carol = (
        Account.create(tmp_path / who / "account", PASSWORD, params=FAST)[0].chat_key
        for who in ("bob", "carol")
    )
    sending = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"))

    chat = (await _run("group", "create", "friends", bob, *sending))[0].strip()
    out, _ = await _run("group", "add", chat, carol, *sending)
    assert out == f"added {carol} to friends {chat}\n"
    out, _ = await _run("group", "remove", chat, carol, *sending)
    assert out == f"removed {carol} from friends {chat}\n"
    out, _ = await _run("group", "leave", chat, *sending)
    assert out == f"left friends {chat}\n"
