"""`pystatus community react|reply|edit|delete|pin` and `channels --add --category` as users
run them, through a `pystatus node` relay (issue 17); about 15 s: nine short `pystatus`
processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

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


async def test_category_react_reply_edit_pin_delete(tmp_path: Path) -> None:
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=FAST)
    async with status_relay() as relay_addr:
        sending = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"), "--json")
        created = json.loads(await _run("community", "create", "Cats", *sending))
        community_id = str(created["id"])
        general = str(created["channels"][0]["chatId"])
        await _run(
            "community", "channels", community_id, "--add", "news", "--category", "Talk", *sending
        )
        listed = json.loads(await _run("community", "channels", community_id, *sending))
        news = [c for c in listed["channels"] if c["name"] == "news"]
        assert len(news) == 1 and news[0]["categoryId"]
        post = json.loads(await _run("community", "post", general, "hello", *sending))["id"]
        reacted = json.loads(await _run("community", "react", post, "love", *sending))
        assert (reacted["chatId"], reacted["reaction"]) == (general, 1)
        replied = json.loads(await _run("community", "reply", post, "welcome", *sending))
        assert replied["responseTo"] == post and replied["chatId"] == general
        assert json.loads(await _run("community", "edit", post, "hi", *sending))["edited"]
        assert json.loads(await _run("community", "pin", post, *sending))["pinned"]
        assert json.loads(await _run("community", "delete", post, *sending))["deleted"]
        # a malformed reaction is a usage error; a message in no channel a runtime one
        await _run("community", "react", post, "shrug", *sending, code=2)
        await _run("community", "react", "0x" + "11" * 32, "love", *sending, code=1)
