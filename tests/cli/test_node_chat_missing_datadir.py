"""`pystatus node --chat` (without the web client, whose first screen makes an account) on a
data dir that does not exist makes nothing there (no directory, no node key, no lock file) and
says in one line how to make an account. A real process, about 1.5 s."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.cli.processes import start


async def test_node_chat_on_a_missing_data_dir_makes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "nonexistent" / "x"
    node = ("node", f"--data-dir={data_dir}", "--listen-address=127.0.0.1", "--tcp-port=0")
    command = await start(*node, "--chat", password="unused")
    async with asyncio.timeout(30):
        out, err = await command.communicate()
    assert command.returncode == 1, err.decode()
    assert " ".join(err.decode().split()) == (
        f"error: data dir {data_dir} does not exist (nothing made there; `pystatus account"
        f" create --data-dir {data_dir}` makes an account)"
    )
    assert b"node key" not in out, out.decode()
    assert not await asyncio.to_thread(os.path.lexists, tmp_path / "nonexistent")
