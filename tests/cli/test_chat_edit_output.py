"""`chat edit`, `chat pin`, `chat delete` and `chat name` say what they did: one line each,
or one JSON object with --json, as the other chat commands do (they printed nothing).

Real processes through one `pystatus node` relay: about 2 s of start-up per command, five
commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start, status_relay

PASSWORD = "chat password"
FAST = ScryptParams(n=1 << 10)
DEADLINE = 60.0
"""Seconds one command may take on a loaded machine before it counts as hung."""


async def _run(*args: str) -> tuple[int, str, str]:
    process = await start(*args, password=PASSWORD)
    try:
        async with asyncio.timeout(DEADLINE):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


async def test_edit_pin_delete_and_name_say_what_they_did(tmp_path: Path) -> None:
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=FAST)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=FAST)
    async with status_relay() as relay:
        alice = ("--staticnode", relay, "--data-dir", str(tmp_path / "alice"))
        code, out, err = await _run("chat", "send", "--to", bob.chat_key, "--text", "hi", *alice)
        assert code == 0, err
        (message_id,) = _lines(out)

        code, out, err = await _run("chat", "edit", message_id, "--text", "hello", *alice)
        assert code == 0, err
        assert _lines(out) == [f"edited {message_id}"]

        code, out, err = await _run("chat", "pin", message_id, "--json", *alice)
        assert code == 0, err
        (line,) = _lines(out)
        assert json.loads(line) | {"sent": True} == {
            "id": message_id,
            "pinned": True,
            "sent": True,
            "acknowledged": False,
        }

        code, out, err = await _run("chat", "delete", message_id, "--json", *alice)
        assert code == 0, err
        (line,) = _lines(out)
        assert json.loads(line)["id"] == message_id
        assert json.loads(line)["deleted"] is True

        code, out, err = await _run("chat", "name", "Alice Liddell", *alice)
        assert code == 0, err
        assert _lines(out) == ["display name Alice Liddell"]
