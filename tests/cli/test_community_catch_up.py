"""One-shot `pystatus community` commands catch up from the store before they check the
account's database (issue 17): a control node that was away accepts a request that came
meanwhile, and a member accepted while away posts in one command; `accept` refuses a key
that never asked. Five `pystatus` processes in turn, against one `pystatus node --store`
(about 10 s of CPU)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start
from tests.cli.test_community_join_store import PASSWORD, SHARDS, _node

FAST = ScryptParams(n=1 << 10)


async def _run(*args: str, code: int = 0) -> tuple[str, str]:
    """``pystatus *args``: its stdout and stderr, once it exited ``code`` (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, (out + err).decode()
    return out.decode(), err.decode()


async def test_commands_catch_up_from_the_store_first(tmp_path: Path) -> None:
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    member = Account.create(tmp_path / "member" / "account", PASSWORD, params=FAST)[0].chat_key
    stranger = Account.create(tmp_path / "other" / "account", PASSWORD, params=FAST)[0].chat_key
    archive = f"--store-message-db-url=sqlite:///{tmp_path}/store.sqlite3"
    async with _node(*SHARDS, "--store=true", archive) as store_addr:
        peers = ("--staticnode", store_addr, "--storenode", store_addr, "--timeout", "20")
        owner = (*peers, "--data-dir", str(tmp_path / "owner"))
        bob = (*peers, "--data-dir", str(tmp_path / "member"))

        out, _ = await _run("community", "create", "Cats", "--manual", *owner)
        community_id, general_line = out.splitlines()
        general = general_line.split()[1]
        await _run("community", "join", community_id, *bob)

        # The control node was away when the request came: it finds it in the store.
        out, _ = await _run("community", "accept", community_id, member, *owner)
        assert out == f"accepted {member} into Cats {community_id}\n"
        # A key that never asked is refused, in one line.
        out, err = await _run("community", "accept", community_id, stranger, *owner, code=1)
        assert out == ""
        assert err.strip() == f"error: no pending request from {stranger} to {community_id}"

        # The member was away when the answer came: one command finds it and posts.
        out, err = await _run("community", "post", general, "hi", "--json", *bob)
        assert json.loads(out)["chatId"] == general, err
