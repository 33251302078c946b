"""Ctrl-C ends a chat command at once, even while its node still waits for a relay peer
(`chat watch` used to set an event nobody waited on yet, and ran on to its 20 s timeout)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.cli.account import ACCOUNT_SUBDIRECTORY
from tests.cli.processes import start

PASSWORD = "chat password"
# A closed port: the node waits for a relay peer that never answers.
NOWHERE = "/ip4/127.0.0.1/tcp/1/p2p/16Uiu2HAm8ZDx1TPz4UC4RRF2dBbMt3HgtkXSckH8Gu5uyDmhYsUx"


@pytest.mark.parametrize("command", [["watch"], ["send", "--to", "", "--text", "hi"]])
async def test_ctrl_c_while_waiting_for_a_peer_ends_the_command_at_once(
    tmp_path: Path, command: list[str]
) -> None:
    data_dir = tmp_path / "alice"
    # Made without taking the data dir's lock: the command's process must get it.
    account, _ = Account.create(
        data_dir / ACCOUNT_SUBDIRECTORY, PASSWORD, params=ScryptParams(n=1 << 10)
    )
    args = [a or account.chat_key for a in command]  # send to ourselves
    process = await start(
        "chat", *args, "--data-dir", str(data_dir), "--staticnode", NOWHERE, password=PASSWORD
    )
    try:
        # The node key is written once the account is open, before the wait for a peer.
        async with asyncio.timeout(20):
            while not (data_dir / "nodekey").exists():
                await asyncio.sleep(0.05)
        process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(5):  # the peer wait alone is 20 s
                _, err = await process.communicate()
        except TimeoutError as exc:
            # What the process makes of SIGINT (blocked, ignored, caught) tells why it ran on.
            status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
            process.kill()
            _, err = await process.communicate()
            masks = ("SigBlk", "SigIgn", "SigCgt")
            signals = [line for line in status.splitlines() if line.startswith(masks)]
            raise AssertionError(f"running 5 s after SIGINT: {signals}; {err[-2000:]!r}") from exc
        assert process.returncode == 130, err
        assert b"Traceback" not in err
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
