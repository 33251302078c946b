"""`pystatus community ...` as users run them, through a `pystatus node` relay: create, add a
read-only channel, list, channels, members, post as the owner, history, and malformed ids
refused with exit 2 (about 25 s: ten short `pystatus` processes)."""

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


async def _run(*args: str, code: int = 0) -> str:
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, err.decode()
    return out.decode()


@pytest_asyncio.fixture
async def relay_addr() -> AsyncIterator[str]:
    async with status_relay() as addr:
        yield addr


async def test_create_channel_list_post_history(tmp_path: Path, relay_addr: str) -> None:
    account, _ = Account.create(tmp_path / "alice" / "account", PASSWORD, params=FAST)
    sending = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"))
    reading = ("--data-dir", str(tmp_path / "alice"))
    created = json.loads(await _run("community", "create", "Cats", "--manual", "--json", *sending))
    community_id = str(created["id"])
    assert community_id.startswith(("0x02", "0x03")) and len(community_id) == 68
    added = json.loads(
        await _run(
            "community",
            "channels",
            community_id,
            "--add",
            "news",
            "--read-only",
            "--json",
            *sending,
        )
    )
    news = str(added["chatId"])
    assert news.startswith(community_id)
    listed = json.loads(await _run("community", "channels", community_id, "--json", *sending))
    # create made #general, as status-go's CreateCommunity does for the app
    general = {"chatId": created["channels"][0]["chatId"], "name": "general", "description": ""}
    assert listed["channels"] == [
        general | {"categoryId": "", "readOnly": False},
        {"chatId": news, "name": "news", "description": "", "categoryId": "", "readOnly": True},
    ]
    communities = json.loads(await _run("community", "list", "--json", *reading))["communities"]
    assert [(c["id"], c["name"], c["access"], c["member"]) for c in communities] == [
        (community_id, "Cats", "manual", True)
    ]
    members = json.loads(await _run("community", "members", community_id, "--json", *reading))
    assert members["members"] == [{"chatKey": account.chat_key, "privileged": True}]
    assert json.loads(await _run("community", "requests", community_id, "--json", *reading)) == {
        "id": community_id,
        "requests": [],
    }
    posted = json.loads(
        await _run("community", "post", news, "owners may post", "--json", *sending)
    )
    history = json.loads(await _run("community", "history", news, "--json", *reading))
    assert [(m["id"], m["text"]) for m in history["messages"]] == [
        (posted["id"], "owners may post")
    ]
    # malformed ids: exit 2 before anything runs
    await _run("community", "members", "0x1234", *reading, code=2)
    await _run("community", "post", community_id, "x", *sending, code=2)
