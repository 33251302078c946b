"""`pystatus community join --light` when every light-push node refuses (503: it has no relay
peer to pass the request to) exits 1 and says the request is kept, as `chat send` does, where
it printed that it asked and exited 0 (issue 17, item 4). Three `pystatus` processes (about
8 s of CPU)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.cli.community import NOT_SENT
from tests.cli.processes import start
from tests.cli.test_community_join_store import SHARDS, _node

PASSWORD = "community password"
FAST = ScryptParams(n=1 << 10)


async def _run(*args: str) -> tuple[int | None, str, str]:
    """``pystatus *args``: its exit code, stdout and stderr (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_a_request_no_light_push_node_took_exits_1_kept(tmp_path: Path) -> None:
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    Account.create(tmp_path / "member" / "account", PASSWORD, params=FAST)
    archive = f"--store-message-db-url=sqlite:///{tmp_path}/store.sqlite3"
    service = ("--lightpush=true", "--filter=true", "--store=true", archive)
    async with _node(*SHARDS, *service) as addr:
        # the owner, a relay peer while it runs, leaves the description in the store
        owner = ("--staticnode", addr, "--data-dir", str(tmp_path / "owner"))
        code, out, err = await _run("community", "create", "Cats", *owner)
        assert code == 0, err
        community_id = out.splitlines()[0]
        # the owner gone, the service node has no relay peer: light push answers 503
        member = ("--light", "--staticnode", addr, "--data-dir", str(tmp_path / "member"))
        code, out, err = await _run("community", "join", community_id, *member)
    assert code == 1, (out, err)
    assert f"Cats {community_id}" in out, "what it did is said all the same"
    assert " ".join(NOT_SENT.split()) in " ".join(err.split())
