"""A chat command on a data dir a `chat watch` holds says who holds it and what to run for
watching and sending at once (`pystatus node --chat --rest`), in one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.cli.account import holder_command
from tests.cli.processes import PYSTATUS, start

PASSWORD = "watch password"
FAST = ScryptParams(n=1 << 10)

# Holds the data dir as `pystatus chat watch` would, under a command line that names it
# (argv after -c: sys.argv[1] is the data dir), until its stdin closes.
_HOLD = """
import sys
from pathlib import Path
from pystatus.node.datadir import lock_data_dir
lock_data_dir(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


async def test_a_chat_command_beside_chat_watch_is_told_to_run_node_chat_rest(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "alice"
    Account.create(data_dir / "account", PASSWORD, params=FAST)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLD,
        str(data_dir),
        PYSTATUS,
        "chat",
        "watch",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        async with asyncio.timeout(20):
            assert await holder.stdout.readline() == b"held\n"
        assert holder_command(holder.pid) == "pystatus chat watch"
        second = await start("chat", "contacts", f"--data-dir={data_dir}", password=PASSWORD)
        async with asyncio.timeout(30):
            _, err = await second.communicate()
        assert second.returncode == 1
        said = " ".join(err.decode().split())
        assert said == (
            f"error: data dir {data_dir} is in use by pid {holder.pid} (`pystatus chat watch`):"
            " one process per data dir: to watch and send at once, run `pystatus node --chat"
            " --rest` (or --web) instead of `chat watch`, and chat through its REST API (or"
            " browser)"
        )
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.communicate()


def test_only_a_pystatus_command_s_plain_words_are_named() -> None:
    assert holder_command(None) is None
    assert holder_command(os.getpid()) is None  # pytest, not pystatus
