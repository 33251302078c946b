"""How the chat database is opened: SQLCipher under the account's database key, its schema
and the migrations between schema versions (``PRAGMA user_version``).

The file is SQLCipher 4 with the settings status-go v1.1.0 gives its own databases
(``sqlite/sqlite.go``): 8192-byte cipher pages, HMAC-SHA1 page authentication and
PBKDF2-HMAC-SHA1. status-go's key is a passphrase stretched with ``kdf_iter`` 3200; ours is the
account's 32-byte database key (EIP-1581 m/43'/60'/1581'/1'/0) given raw (``x'...'``), which
SQLCipher uses as the page key without stretching, so ``kdf_iter`` is set to status-go's value
only so that the settings read alike; it derives nothing here.

Every file is created 0600 (the database before SQLite first opens it; SQLite gives ``-wal``,
``-shm`` and journals the database's own mode), never tightened afterwards.

Schema versions:

- 0: what pystatus wrote before versions existed (plain SQLite, bodies sealed one by one with
  AES-256-GCM bound to the row's id). Such a file is first copied into SQLCipher in place.
- 1: today's tables and columns (the older column additions applied where missing).
- 2: bodies, device state, outbox bodies and sync state stored as they are, no longer sealed
  one by one, and the full-text index ``message_search`` over message texts.

The synchronous functions here run on a worker thread, before aiosqlite takes the connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from prometheus_client import Counter

from pystatus.chat.proto import chat_message_pb2
from pystatus.errors import ChatError

SCHEMA_VERSION = 2
FILE_MODE = 0o600
CIPHER_PAGE_SIZE = 8192  # status-go's V4CipherPageSize
KDF_ITERATIONS = 3200  # status-go's ReducedKDFIterationsNumber (moot with a raw key)
SQLITE_HEADER = b"SQLite format 3\x00"
NONCE_SIZE = 12
STATE_ID = "device-state"
ENCRYPTING_SUFFIX = ".encrypting"

DATABASE_FAILURES = Counter(
    "chat_database_failures",
    "Chat database operations that failed, by reason (wrong_key, newer_schema, sqlite, ...)",
    ["reason"],
)
DATABASE_MIGRATIONS = Counter(
    "chat_database_migrations", "Chat database migrations applied, by step", ["step"]
)
UNINDEXED_BODIES = Counter(
    "chat_search_unindexed_bodies", "Message bodies that do not parse as a ChatMessage"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    last_clock INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS contacts (
    chat_key TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    author TEXT NOT NULL,
    clock INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages (chat_id, clock);
CREATE INDEX IF NOT EXISTS messages_by_clock ON messages (clock);
CREATE TABLE IF NOT EXISTS reactions (
    message_id TEXT NOT NULL,
    author TEXT NOT NULL,
    type INTEGER NOT NULL,
    clock INTEGER NOT NULL,
    retracted INTEGER NOT NULL,
    PRIMARY KEY (message_id, author, type)
);
CREATE TABLE IF NOT EXISTS device_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    sync_id BLOB NOT NULL,
    peer BLOB NOT NULL,
    message_id TEXT NOT NULL,
    group_id BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (sync_id, peer)
);
CREATE TABLE IF NOT EXISTS sync_state (
    key TEXT PRIMARY KEY,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    clock INTEGER NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
"""
# Columns added before schema versions existed; a version-0 file may lack any of them.
COLUMNS = (
    # Outgoing messages' delivery status (NULL for received ones).
    ("messages", "status", "ALTER TABLE messages ADD COLUMN status TEXT"),
    # The clock of the edit the body comes from (0: never edited), and deletion for everyone.
    (
        "messages",
        "edited_at",
        "ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0",
    ),
    ("messages", "deleted", "ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0"),
    # A 1:1 chat with someone we have not added sits in "requests" (status-go's Chat.Active).
    ("chats", "active", "ALTER TABLE chats ADD COLUMN active INTEGER NOT NULL DEFAULT 1"),
    # Contact requests: the state machine's fields as JSON (NULL: nothing happened yet).
    ("contacts", "request_state", "ALTER TABLE contacts ADD COLUMN request_state TEXT"),
    (
        "contacts",
        "display_name",
        "ALTER TABLE contacts ADD COLUMN display_name TEXT NOT NULL DEFAULT ''",
    ),
    # The clock of the message the display name came from.
    (
        "contacts",
        "name_clock",
        "ALTER TABLE contacts ADD COLUMN name_clock INTEGER NOT NULL DEFAULT 0",
    ),
)
# One row per searchable message, its rowid the message's rowid in ``messages``; deleted
# messages and bodies without text have none.
SEARCH_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5"
    "(text, tokenize = 'unicode61 remove_diacritics 2')"
)


class DatabaseError(ChatError):
    """The chat database could not be opened, read or written: a wrong key, a damaged file,
    a schema newer than this code, or SQLite's own failure (translated at this layer)."""


def message_text(body: bytes) -> str:
    """The searchable text of a stored body (a serialized ChatMessage): its ``text`` field;
    empty, and counted, when the body does not parse."""
    try:
        return str(chat_message_pb2.ChatMessage.FromString(body).text)
    except DecodeError:
        UNINDEXED_BODIES.inc()
        return ""


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite would create it 0644)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def is_plaintext(path: Path) -> bool:
    """Whether ``path`` is a plain SQLite file (SQLCipher files start with a random salt)."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except FileNotFoundError:
        return False


def _key_pragma(key: bytes) -> str:
    # A raw key, as SQLCipher spells it: no passphrase derivation (the key is 256 bits already).
    return f"\"x'{key.hex()}'\""


def _cipher_settings(connection: Any, schema: str = "main") -> None:
    connection.execute(f"PRAGMA {schema}.cipher_page_size = {CIPHER_PAGE_SIZE}")
    connection.execute(f"PRAGMA {schema}.cipher_hmac_algorithm = HMAC_SHA1")
    connection.execute(f"PRAGMA {schema}.cipher_kdf_algorithm = PBKDF2_HMAC_SHA1")
    connection.execute(f"PRAGMA {schema}.kdf_iter = {KDF_ITERATIONS}")


def encrypt_in_place(path: Path, key: bytes) -> None:
    """Turn a plain SQLite file into a SQLCipher one under ``key``: its write-ahead log folded
    in, everything exported (``sqlcipher_export``) into ``<path>.encrypting`` (created 0600),
    which then replaces ``path`` by an atomic rename. A crash before the rename leaves the
    plain file as it was; the copy is made again on the next open."""
    temporary = path.with_name(path.name + ENCRYPTING_SUFFIX)
    for stale in (temporary, Path(f"{temporary}-journal")):
        stale.unlink(missing_ok=True)
    create_private(temporary)
    plain = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        # Fold the log into the file and leave WAL, so no plaintext -wal outlives the file.
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute("PRAGMA journal_mode = DELETE")
        version = int(plain.execute("PRAGMA user_version").fetchone()[0])
        plain.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(temporary), f"x'{key.hex()}'"))
        _cipher_settings(plain, "encrypted")
        plain.execute("SELECT sqlcipher_export('encrypted')")
        plain.execute(f"PRAGMA encrypted.user_version = {version}")
        plain.execute("DETACH DATABASE encrypted")
    finally:
        plain.close()
    with temporary.open("rb") as file:
        os.fsync(file.fileno())
    for leftover in ("-wal", "-shm", "-journal"):
        Path(f"{path}{leftover}").unlink(missing_ok=True)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    DATABASE_MIGRATIONS.labels(step="encrypt").inc()


def connect(path: Path, key: bytes) -> Any:
    """Open the chat database at ``path`` under ``key`` (32 bytes), creating it 0600 or
    encrypting a plain one first, and bring its schema to :data:`SCHEMA_VERSION`.

    Returns a sqlcipher3 connection (sqlite3's interface). Raises :class:`DatabaseError` when
    the key does not open the file, the file is not a database, or its schema is newer than
    this code; the text never carries the key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_plaintext(path):
        encrypt_in_place(path, key)
    create_private(path)
    # Opened on a worker thread and then used only on aiosqlite's one thread, never at once.
    connection = sqlcipher3.connect(str(path), check_same_thread=False)
    try:
        connection.execute(f"PRAGMA key = {_key_pragma(key)}")
        _cipher_settings(connection)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError:
            DATABASE_FAILURES.labels(reason="wrong_key").inc()
            raise DatabaseError(
                f"{path} does not open with this account's database key (or is damaged)"
            ) from None
        connection.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL: a committed message survives the process being killed (the OS
        # holds the log); only a power cut may lose the last commits.
        connection.execute("PRAGMA synchronous = NORMAL")
        migrate(connection, key)
    except BaseException:
        connection.close()
        raise
    return connection


def migrate(connection: Any, key: bytes) -> None:
    """Apply each step from the file's ``user_version`` up to :data:`SCHEMA_VERSION`, each in
    its own transaction together with its new version number."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        DATABASE_FAILURES.labels(reason="newer_schema").inc()
        raise DatabaseError(
            f"the chat database has schema version {version}; this pystatus knows up to "
            f"{SCHEMA_VERSION}"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            STEPS[target](connection, key)
            connection.execute(f"PRAGMA user_version = {target}")
            connection.execute("COMMIT")
        except BaseException:
            # A failed COMMIT may have ended the transaction already; the first error is
            # the one to report (a full disk, not "no transaction is active").
            with contextlib.suppress(*SQLITE_ERRORS):
                connection.execute("ROLLBACK")
            raise
        DATABASE_MIGRATIONS.labels(step=str(target)).inc()


def _to_1(connection: Any, key: bytes) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    for table, column, statement in COLUMNS:
        columns = {str(row[1]) for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            connection.execute(statement)


def _to_2(connection: Any, key: bytes) -> None:
    """Open every sealed value (see the module docstring of :mod:`pystatus.chat.database`
    for why nothing is sealed twice any more) and index message texts."""
    aead = AESGCM(key)

    def unseal(associated: str, sealed: bytes) -> bytes:
        try:
            return aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated.encode())
        except InvalidTag:
            DATABASE_FAILURES.labels(reason="sealed_value").inc()
            raise DatabaseError(
                f"a sealed value ({associated}) does not open with this key"
            ) from None

    rows = connection.execute("SELECT rowid, id, body, deleted FROM messages").fetchall()
    connection.execute(SEARCH_SCHEMA)
    for rowid, message_id, sealed, deleted in rows:
        body = unseal(str(message_id), bytes(sealed))
        connection.execute("UPDATE messages SET body = ? WHERE rowid = ?", (body, rowid))
        text = message_text(body)
        if text and not deleted:
            connection.execute(
                "INSERT INTO message_search (rowid, text) VALUES (?, ?)", (rowid, text)
            )
    for (sealed,) in connection.execute("SELECT sealed FROM device_state").fetchall():
        connection.execute("UPDATE device_state SET sealed = ?", (unseal(STATE_ID, bytes(sealed)),))
    for sync_id, peer, sealed in connection.execute(
        "SELECT sync_id, peer, body FROM outbox"
    ).fetchall():
        connection.execute(
            "UPDATE outbox SET body = ? WHERE sync_id = ? AND peer = ?",
            (unseal(bytes(sync_id).hex(), bytes(sealed)), sync_id, peer),
        )
    for name, sealed in connection.execute("SELECT key, sealed FROM sync_state").fetchall():
        connection.execute(
            "UPDATE sync_state SET sealed = ? WHERE key = ?",
            (unseal(str(name), bytes(sealed)), name),
        )


STEPS: dict[int, Callable[[Any, bytes], None]] = {1: _to_1, 2: _to_2}
"""The step that brings a file to each schema version from the one before it."""

# sqlcipher3 mirrors sqlite3's exception classes without subclassing them.
SQLITE_ERRORS: tuple[type[Exception], ...] = (sqlcipher3.Error, sqlite3.Error)
