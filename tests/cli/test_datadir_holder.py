"""A second `pystatus node --chat` on a data dir in use says, in one line, which pid holds it
and what that process runs (its command words and option names), never an option's value.

Real processes: a holder node (about 2 s to start) and a refused one (about 1.5 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import line_starting, start, stop

PASSWORD = "holder password"
FAST = ScryptParams(n=1 << 10)
NODEKEY = "0c" * 32


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
