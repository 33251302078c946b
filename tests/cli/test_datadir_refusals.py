"""Refusals that leave nothing behind and say what is wrong in one line: a second `pystatus
node --chat` on a data dir in use names the pid that holds it and what that process runs (its
command words and option names), never an option's value; a chat command on a data dir that
does not exist makes none (no directory, no lock file) and says how to make an account.

Real processes: a holder node (about 2 s to start) and refused ones (about 1.5 s each)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import line_starting, start, stop

PASSWORD = "holder password"
FAST = ScryptParams(n=1 << 10)
NODEKEY = "0c" * 32
NOBODY = "/ip4/127.0.0.1/tcp/9/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
BOB = "zQ3shSUkDw29gMzEavxYfiMMD22YtTW3WUxbjhpm33ReADbc5"


async def test_the_refusal_names_the_holder_s_command_line_without_values(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "alice"
    Account.create(data_dir / "account", PASSWORD, params=FAST)
    node = ("node", f"--data-dir={data_dir}", "--listen-address=127.0.0.1", "--tcp-port=0")
    holder = await start(*node, "--chat", f"--nodekey={NODEKEY}", password=PASSWORD)
    try:
        async with asyncio.timeout(30):
            await line_starting(holder, "listening on ")
        second = await start(*node, "--chat", password=PASSWORD)
        async with asyncio.timeout(30):
            out, err = await second.communicate()
        assert second.returncode == 1
        lines = err.decode().splitlines()
        assert lines == [
            f"error: data dir {data_dir} is in use by pid {holder.pid} (`pystatus node"
            " --data-dir --listen-address --tcp-port --chat --nodekey`)"
        ], err.decode()
        assert NODEKEY not in err.decode() + out.decode()
    finally:
        await stop(holder)


async def test_a_chat_command_on_a_missing_data_dir_makes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "nonexistent" / "x"
    chat = ("chat", "send", f"--data-dir={data_dir}", f"--staticnode={NOBODY}")
    command = await start(*chat, "--to", BOB, "--text", "hello", password=PASSWORD)
    async with asyncio.timeout(30):
        out, err = await command.communicate()
    assert command.returncode == 1, err.decode()
    assert " ".join(err.decode().split()) == (
        f"error: data dir {data_dir} does not exist (nothing made there; `pystatus account"
        f" create --data-dir {data_dir}` makes an account)"
    )
    assert out == b""
    # No directory made, so no lock file either.
    assert not await asyncio.to_thread(os.path.lexists, tmp_path / "nonexistent")
