"""`pystatus community join <id>` on relay finds a community through a store node (issue 17,
item 1), as users run it: the community was created while no store ran, so only its control
node's advert at start (``pystatus node --chat``) can put its description in the store; the
joiner, with only ``--staticnode`` and ``--storenode``, finds it there. Five `pystatus`
processes (about 15 s of CPU)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.community import description_content_topic
from pystatus.chat.keystore import ScryptParams
from pystatus.errors import WakuError
from pystatus.node import WakuNode
from pystatus.waku.store import StoreQuery
from tests.chat.messenger_helpers import node_config
from tests.cli.processes import line_starting, start, status_relay, stop

PASSWORD = "community password"
FAST = ScryptParams(n=1 << 10)
NETWORK = ("--listen-address=127.0.0.1", "--tcp-port=0", "--cluster-id=16")
SHARDS = ("--shard=32", "--shard=64")


async def _run(*args: str) -> str:
    """``pystatus *args``' stdout once it exited 0 (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


@contextlib.asynccontextmanager
async def _node(*args: str) -> AsyncIterator[str]:
    """A `pystatus node` with ``args``: its multiaddr once it listens (within 30 s); its
    output drained meanwhile, Ctrl-C after."""
    process = await start("node", *NETWORK, *args, password=PASSWORD)
    drain: asyncio.Future[tuple[bytes, bytes]] | None = None
    try:
        async with asyncio.timeout(30):
            addr = (await line_starting(process, "listening on ")).removeprefix("listening on ")
        assert process.stdout is not None and process.stderr is not None
        drain = asyncio.gather(process.stdout.read(), process.stderr.read())
        yield addr
    finally:
        if drain is not None:
            drain.cancel()  # stop() reads the rest
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        await stop(process)


async def _until_stored(store_addr: str, content_topic: str) -> None:
    """The store node holds a message on ``content_topic`` (asked from a node of this
    process; AssertionError after 30 s)."""
    query = StoreQuery(content_topics=(content_topic,), include_data=False)
    async with WakuNode(node_config()) as probe:
        try:
            async with asyncio.timeout(30):
                while True:
                    with contextlib.suppress(WakuError, OSError, TimeoutError):
                        if (await probe.store_client.query(store_addr, query)).entries:
                            return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError("the control node's advert never reached the store") from None


async def test_join_on_relay_finds_the_description_in_the_store(tmp_path: Path) -> None:
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    Account.create(tmp_path / "member" / "account", PASSWORD, params=FAST)
    owner = ("--data-dir", str(tmp_path / "owner"))
    async with status_relay() as relay_addr:  # no store: it keeps nothing
        out = await _run("community", "create", "Cats", "--staticnode", relay_addr, *owner)
    community_id = out.splitlines()[0]
    archive = f"--store-message-db-url=sqlite:///{tmp_path}/store.sqlite3"
    async with (
        _node(*SHARDS, "--store=true", archive) as store_addr,
        _node(*SHARDS, "--chat=true", f"--staticnode={store_addr}", *owner),
    ):
        await _until_stored(store_addr, description_content_topic(community_id))
        out = await _run(
            "community",
            "join",
            community_id,
            "--staticnode",
            store_addr,
            "--storenode",
            store_addr,
            "--data-dir",
            str(tmp_path / "member"),
            "--timeout",
            "20",
        )
    assert f"Cats {community_id}" in out


async def test_a_post_with_a_storenode_reaches_stored(tmp_path: Path) -> None:
    """A community post's last state is stored (no data sync acknowledges it): `post` with
    a --storenode waits for the store's confirmation, and `history` shows it."""
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    archive = f"--store-message-db-url=sqlite:///{tmp_path}/store.sqlite3"
    async with _node(*SHARDS, "--store=true", archive) as store_addr:
        data_dir = ("--data-dir", str(tmp_path / "owner"))
        owner = ("--staticnode", store_addr, "--storenode", store_addr, *data_dir)
        out = await _run("community", "create", "Cats", *owner)
        general = out.splitlines()[1].split()[1]  # "#general <chat id>"
        posted = json.loads(await _run("community", "post", general, "hello", "--json", *owner))
        assert posted["stored"] is True
    history = await _run("community", "history", general, "--json", *data_dir)
    assert [(m["id"], m["status"]) for m in json.loads(history)["messages"]] == [
        (posted["id"], "stored")
    ]
