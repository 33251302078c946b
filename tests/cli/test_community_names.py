"""How `pystatus community` commands read the names a person types (issue 17): a channel by
``#name`` in `history` (with ``--community`` when the account knows several), and an id of
a community's form that is no point on the curve said to be no valid public key. Three
`pystatus` processes through one relay (about 5 s of CPU)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from tests.cli.processes import start, status_relay

PASSWORD = "community password"
FAST = ScryptParams(n=1 << 10)
NOT_A_POINT = "0x02" + "ff" * 32
"""The form of a community id, but its x is past the field's prime: no key."""


async def _run(*args: str, code: int = 0) -> tuple[str, str]:
    """``pystatus *args``: its stdout and stderr, once it exited ``code`` (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, (out + err).decode()
    return out.decode(), err.decode()


async def test_history_takes_a_channel_by_its_name(tmp_path: Path) -> None:
    Account.create(tmp_path / "owner" / "account", PASSWORD, params=FAST)
    data_dir = ("--data-dir", str(tmp_path / "owner"))
    async with status_relay() as relay_addr:
        out, _ = await _run("community", "create", "Cats", "--staticnode", relay_addr, *data_dir)
        community_id, general_line = out.splitlines()
        general = general_line.split()[1]
        out, _ = await _run("community", "history", "#general", "--json", *data_dir)
        assert json.loads(out) == {"chatId": general, "messages": []}
        _, err = await _run("community", "history", "#random", *data_dir, code=1)
        assert "no channel #random" in err

        await _run("community", "create", "Dogs", "--staticnode", relay_addr, *data_dir)
    # Two communities with a #general: which one must be said.
    _, err = await _run("community", "history", "#general", *data_dir, code=2)
    assert "give --community" in err
    out, _ = await _run(
        "community", "history", "#general", "--community", community_id, "--json", *data_dir
    )
    assert json.loads(out)["chatId"] == general


async def test_an_id_of_no_key_is_said_so() -> None:
    _, err = await _run("community", "members", NOT_A_POINT, code=2)
    assert f"{NOT_A_POINT!r} is not a community id: not a valid public key" in err
    _, err = await _run("community", "members", "0x05" + "ab" * 32, code=2)
    assert "(0x02... or 0x03..., 66 hex digits)" in err
