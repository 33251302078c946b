"""The chat database at rest: SQLCipher under the account's database key, files 0600, and the
conversion of a plain file written by pystatus before schema versions existed."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from pystatus.chat import database_schema
from pystatus.chat.database import (
    Batch,
    ChatDatabase,
    DatabaseError,
    EditRecord,
    StoredMessage,
)
from pystatus.chat.proto import chat_message_pb2
from tests.chat.content_helpers import pb

KEY = bytes(range(32))
"""The key tests/chat/data/chat_v0.sqlite3 was written under."""
OTHER_KEY = bytes(range(100, 132))
V0_FIXTURE = Path(__file__).parent / "data" / "chat_v0.sqlite3"
"""Written by pystatus's own ChatDatabase as of commit 568b4ce (plain SQLite, bodies sealed):
chat 0xchat with zQ3partner; m1 "lighthouse keeper" (pinned, a reaction), m2 "meet at the
harbour" (ours, delivered), m3 "secret rendezvous" (deleted), m4 "original wording" edited to
"edited wording"; device state, an outbox entry, sync state and a contact."""


def body(text: str, clock: int = 1) -> bytes:
    return pb(
        chat_message_pb2.ChatMessage,
        clock=clock,
        timestamp=clock,
        text=text,
        chat_id="0xchat",
        content_type=1,
    ).SerializeToString()


def text_of(stored: StoredMessage) -> str:
    return str(chat_message_pb2.ChatMessage.FromString(stored.body).text)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A process umask of 022, so 0600 has to come from how the files are created."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def files_of(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_file_holds_no_plaintext(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "chat.sqlite3"
    db = ChatDatabase(path, KEY)
    await db.open()
    await db.upsert_chat("0xchatwithsomeone", "one_to_one", "zQ3shPartnerName")
    await db.add_message(
        StoredMessage(
            "0xmessageid", "0xchatwithsomeone", "zQ3shAuthorKey", 1, 1, body("plainly spoken")
        )
    )
    known = [b"plainly spoken", b"zQ3shPartnerName", b"zQ3shAuthorKey", b"0xchatwithsomeone"]
    secrets = [KEY, KEY.hex().encode(), KEY.hex().upper().encode()]

    def check() -> None:
        files = files_of(path)
        assert path in files
        for file in files:
            data = file.read_bytes()
            assert not data.startswith(database_schema.SQLITE_HEADER), file
            for needle in known + secrets:
                assert needle not in data, (file, needle)

    check()  # open: the -wal holds the commit
    assert any(f.name.endswith("-wal") for f in files_of(path))
    await db.close()
    check()
    # And it is a SQLCipher file that opens under the key, and only under it.
    raw = sqlcipher3.connect(str(path))
    try:
        with pytest.raises(sqlcipher3.DatabaseError):
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        raw.close()


async def test_files_are_created_0600(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "chat.sqlite3"
    db = ChatDatabase(path, KEY)
    await db.open()
    try:
        await db.add_message(StoredMessage("m", "c", "a", 1, 1, body("x")))
        files = files_of(path)
        names = {f.name for f in files}
        assert {"chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm"} <= names
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await db.close()
    assert mode(path) == 0o600


async def test_wrong_key_is_a_typed_error_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite3"
    db = ChatDatabase(path, KEY)
    await db.open()
    await db.add_message(StoredMessage("m", "c", "a", 1, 1, body("x")))
    await db.close()
    wrong = ChatDatabase(path, OTHER_KEY)
    with pytest.raises(DatabaseError) as raised:
        await wrong.open()
    text = f"{raised.value!s} {raised.value!r} {wrong!r}"
    for key in (KEY, OTHER_KEY):
        assert key.hex() not in text.lower()
    assert "key" in str(raised.value)
    # The right key still opens it: a failed open changed nothing.
    again = ChatDatabase(path, KEY)
    await again.open()
    assert (await again.message("m")) is not None
    await again.close()


async def test_the_key_reaches_no_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # aiosqlite logs each call with its arguments at DEBUG
    path = tmp_path / "chat.sqlite3"
    shutil.copyfile(V0_FIXTURE, path)  # the encryption in place too
    db = ChatDatabase(path, KEY)
    await db.open()
    await db.add_message(StoredMessage("m", "c", "a", 1, 1, body("x")))
    await db.close()
    with pytest.raises(DatabaseError):
        await ChatDatabase(path, OTHER_KEY).open()
    assert caplog.records, "DEBUG logging was captured"
    logged = caplog.text.lower()
    for key in (KEY, OTHER_KEY):
        assert key.hex() not in logged


async def test_a_file_that_is_no_database_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite3"
    path.write_bytes(os.urandom(10_000))
    with pytest.raises(DatabaseError):
        await ChatDatabase(path, KEY).open()


async def test_plaintext_from_older_pystatus_is_encrypted_in_place(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "chat.sqlite3"
    shutil.copyfile(V0_FIXTURE, path)
    path.chmod(0o644)  # as older pystatus left it
    assert database_schema.is_plaintext(path)
    db = ChatDatabase(path, KEY)
    await db.open()
    try:
        assert [c.id for c in await db.chats()] == ["0xchat"]
        history = await db.history("0xchat")
        assert [m.id for m in history] == ["m1", "m2", "m3", "m4"]
        texts = {m.id: text_of(m) for m in history}
        assert texts["m1"] == "lighthouse keeper"
        assert texts["m4"] == "edited wording"
        m1, m2, m3, m4 = history
        assert m1.pinned and m2.status == "delivered" and m3.deleted and m4.edited_at == 5
        assert await db.reactions("m1") == [("zQ3me", 2)]
        assert await db.device_state() == b"device-state-bytes"
        assert await db.sync_state() == {"mvds": b"sync-state-bytes"}
        [entry] = await db.outbox()
        assert (entry.message_id, entry.body) == ("m2", b"outbox-body")
        [contact] = await db.contact_records()
        assert (contact.chat_key, contact.display_name) == ("zQ3partner", "Partner")
        # The texts carried over into the search index, deleted and replaced ones left out.
        assert [m.id for m in await db.search("lighthouse")] == ["m1"]
        assert [m.id for m in await db.search("edited")] == ["m4"]
        assert await db.search("original") == []
        assert await db.search("rendezvous") == []
    finally:
        await db.close()
    assert not database_schema.is_plaintext(path)
    assert mode(path) == 0o600
    assert [f.name for f in files_of(path)] == ["chat.sqlite3"]
    data = path.read_bytes()
    assert b"lighthouse" not in data and b"zQ3partner" not in data
    raw = sqlcipher3.connect(str(path))
    try:
        raw.execute(f"PRAGMA key = \"x'{KEY.hex()}'\"")
        raw.execute(f"PRAGMA cipher_page_size = {database_schema.CIPHER_PAGE_SIZE}")
        raw.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA1")
        raw.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA1")
        [(version,)] = raw.execute("PRAGMA user_version").fetchall()
        assert version == database_schema.SCHEMA_VERSION
    finally:
        raw.close()
    # A second open finds it encrypted and current.
    again = ChatDatabase(path, KEY)
    await again.open()
    assert [m.id for m in await again.search("harbour")] == ["m2"]
    await again.close()


async def test_a_plain_write_ahead_log_is_folded_in_and_removed(tmp_path: Path) -> None:
    """Older pystatus killed with commits still in its -wal: they are encrypted with the rest,
    and no plaintext log is left beside the encrypted file."""
    live = tmp_path / "live"
    live.mkdir()
    shutil.copyfile(V0_FIXTURE, live / "chat.sqlite3")
    plain = sqlite3.connect(live / "chat.sqlite3")
    try:
        plain.execute("PRAGMA wal_autocheckpoint = 0")  # the commit stays in the -wal
        plain.execute("INSERT INTO chats (id, kind, name) VALUES ('late', 'public', 'late-chat')")
        plain.commit()
        crashed = tmp_path / "crashed"
        shutil.copytree(live, crashed)  # the files as a killed process leaves them
    finally:
        plain.close()
    path = crashed / "chat.sqlite3"
    assert b"late-chat" in (crashed / "chat.sqlite3-wal").read_bytes()
    db = ChatDatabase(path, KEY)
    await db.open()
    try:
        assert "late" in [c.id for c in await db.chats()]
    finally:
        await db.close()
    assert [f.name for f in files_of(path)] == ["chat.sqlite3"]
    assert b"late-chat" not in path.read_bytes()


async def test_encryption_copy_is_private_and_a_failed_rename_keeps_the_plain_file(
    tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chat.sqlite3"
    shutil.copyfile(V0_FIXTURE, path)
    seen: list[int] = []

    def failing_replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        seen.append(mode(Path(source)))
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        await ChatDatabase(path, KEY).open()
    assert seen == [0o600]
    assert database_schema.is_plaintext(path)
    monkeypatch.undo()
    db = ChatDatabase(path, KEY)
    await db.open()  # the stale copy is made again
    assert len(await db.history("0xchat")) == 4
    await db.close()
    assert not database_schema.is_plaintext(path)
    assert [f.name for f in files_of(path)] == ["chat.sqlite3"]


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite3"
    db = ChatDatabase(path, KEY)
    await db.open()
    await db.db.execute(f"PRAGMA user_version = {database_schema.SCHEMA_VERSION + 1}")
    await db.db.commit()
    await db.close()
    with pytest.raises(DatabaseError, match="schema version"):
        await ChatDatabase(path, KEY).open()


async def test_sqlite_failures_leave_as_database_error(tmp_path: Path) -> None:
    db = ChatDatabase(tmp_path / "chat.sqlite3", KEY)
    await db.open()
    try:
        await db.db.execute("DROP TABLE messages")
        with pytest.raises(DatabaseError):
            await db.commit(Batch(edits=[EditRecord("m", body("y"), 2)]))
        with pytest.raises(DatabaseError):
            await db.has_message("m")
    finally:
        await db.close()
