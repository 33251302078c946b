"""`pystatus chat search` as a user runs it, on an account whose database holds messages."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.database import Batch, ChatDatabase, StoredMessage
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.proto import chat_message_pb2
from tests.chat.content_helpers import pb

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "correct horse"
PARTNER = "zQ3shPartnerKey"


def stored(message_id: str, author: str, text: str, clock: int) -> StoredMessage:
    body = pb(
        chat_message_pb2.ChatMessage,
        clock=clock,
        timestamp=1_700_000_000_000 + clock,
        text=text,
        content_type=1,
    ).SerializeToString()
    return StoredMessage(message_id, "0xchat", author, clock, 1_700_000_000_000 + clock, body)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data dir whose account has three messages (one deleted), and the account's key."""
    root = tmp_path_factory.mktemp("search")
    account, _ = Account.create(root / "account", PASSWORD, params=ScryptParams(n=1 << 10))

    async def fill() -> None:
        database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        await database.open()
        try:
            await database.add_messages(
                [
                    stored("0xaa", PARTNER, "Lunch at [bold]noon[/bold]?", 1),
                    stored("0xbb", account.chat_key, "noon is fine", 2),
                    stored("0xcc", PARTNER, "noon, forget it", 3),
                ]
            )
            await database.commit(Batch(deletes=["0xcc"]))
        finally:
            await database.close()

    asyncio.run(fill())
    return root, account.chat_key


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "200"}
    return subprocess.run(
        [PYSTATUS, "chat", "search", *args, "--data-dir", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_search_prints_lines_newest_first(data_dir: tuple[Path, str]) -> None:
    root, _ = data_dir
    done = _run(root, "NOON")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "me: noon is fine" in lines[0]
    assert "id 0xbb" in lines[1]
    # What people write is printed as written, not read as markup.
    assert f"{PARTNER}: Lunch at [bold]noon[/bold]?" in lines[2]
    assert "id 0xaa" in lines[3]
    assert "forget" not in done.stdout
    assert "2023-11-14 22:13:20" in lines[0]  # UTC, from the message's timestamp (ms)


def test_search_json(data_dir: tuple[Path, str]) -> None:
    root, chat_key = data_dir
    done = _run(root, "noon", "--json", "--limit", "1")
    assert done.returncode == 0, done.stderr
    [found] = json.loads(done.stdout)
    assert found["id"] == "0xbb" and found["author"] == chat_key and found["outgoing"] is True
    assert found["text"] == "noon is fine" and found["chatId"] == "0xchat"
    empty = _run(root, '" AND *', "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


def test_bad_text_and_password(data_dir: tuple[Path, str]) -> None:
    root, _ = data_dir
    blank = _run(root, "   ")
    assert blank.returncode == 2 and "error" in blank.stderr
    assert _run(root, "x" * 1001).returncode == 2
    assert _run(root, "noon", "--limit", "0").returncode == 2
    wrong = subprocess.run(
        [PYSTATUS, "chat", "search", "noon", "--data-dir", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSTATUS_PASSWORD": "wrong password"},
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
