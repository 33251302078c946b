"""What a new user met with a light client (issue 14, item 6): a service node run with
--relay --store only (no light push, no filter) is named in one line with the flags it
lacks, not in failover warnings with Python reprs and a "sent" line; and a command's
--timeout bounds the wait for a first peer (it was a fixed 20 s). Real processes: a node
and a command (about 4 s of CPU)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start
from tests.cli.test_community_join_store import SHARDS, _node

PASSWORD = "light password"
FAST = ScryptParams(n=1 << 10)
PEER = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"


async def _run(*args: str) -> tuple[int | None, str, str, float]:
    """``pystatus *args``: its exit code, stdout, stderr and seconds taken (within 60 s)."""
    began = time.monotonic()
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode(), time.monotonic() - began


def _accounts(tmp_path: Path) -> str:
    """The sender's account under ``tmp_path/me``; the recipient's chat key."""
    Account.create(tmp_path / "me" / "account", PASSWORD, params=FAST)
    recipient, _ = Account.create(tmp_path / "them" / "account", PASSWORD, params=FAST)
    return recipient.chat_key


def _dead_addr() -> str:
    """A multiaddr on a port nobody listens on (bound, then closed: refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"/ip4/127.0.0.1/tcp/{port}/p2p/{PEER}"


async def test_a_node_without_light_push_or_filter_is_named_in_one_line(tmp_path: Path) -> None:
    to = _accounts(tmp_path)
    archive = f"--store-message-db-url=sqlite:///{tmp_path}/store.sqlite3"
    async with _node(*SHARDS, "--store=true", archive) as addr:
        peer = addr.rsplit("/", 1)[1]
        me = ("--light", "--staticnode", addr, "--data-dir", str(tmp_path / "me"))
        code, out, err, _ = await _run("chat", "send", "--to", to, "--text", "hi", *me)
    assert code == 1, (out, err)
    said = " ".join(err.split())
    assert f"node {peer} serves no light push or filter (run it with --lightpush --filter)" in (
        said
    ), err
    assert "Error(" not in err and "sent" not in err, err
    assert len(err.strip().splitlines()) == 1, err


async def test_timeout_bounds_the_wait_for_a_first_peer(tmp_path: Path) -> None:
    to = _accounts(tmp_path)
    me = ("--staticnode", _dead_addr(), "--data-dir", str(tmp_path / "me"), "--timeout", "2")
    code, out, err, took = await _run("chat", "send", "--to", to, "--text", "hi", *me)
    assert code == 1, (out, err)
    assert "no relay peer answered within 2 s" in err, err
    # startup under load takes a few seconds; the old fixed wait alone was 20 s
    assert took < 15, took
    code, out, err, took = await _run("community", "create", "Cats", *me)
    assert code == 1, (out, err)
    assert "no relay peer answered within 2 s" in err, err
    assert took < 15, took
