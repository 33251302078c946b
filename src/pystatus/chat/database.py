"""The account's own database (SQLite): chats, contacts and messages, bodies sealed.

Message bodies are sealed with AES-256-GCM under the account's database key (EIP-1581's
m/43'/60'/1581'/1'/0), bound to the message id, so the file alone reveals who talked when but
not what was said.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pystatus.errors import ChatError

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
"""
MIGRATIONS = (
    # Outgoing messages' delivery status (NULL for received ones).
    ("messages", "status", "ALTER TABLE messages ADD COLUMN status TEXT"),
)
NONCE_SIZE = 12
STATE_ID = "device-state"


class DatabaseError(ChatError):
    """The chat database could not be read or written, or a sealed body does not open."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    chat_id: str
    author: str
    clock: int
    timestamp: int
    body: bytes
    status: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message waiting for a peer's data sync acknowledgement."""

    sync_id: bytes
    peer: bytes
    message_id: str
    group_id: bytes
    timestamp: int
    body: bytes


@dataclass(slots=True)
class Batch:
    """Everything one commit writes."""

    messages: list[StoredMessage | StoredReaction] = field(default_factory=list)
    device_state: bytes | None = None
    outbox_added: list[OutboxEntry] = field(default_factory=list)
    outbox_removed: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    sync_state: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredReaction:
    message_id: str
    author: str
    type: int
    clock: int
    retracted: bool


@dataclass(frozen=True, slots=True)
class Chat:
    id: str
    kind: str
    name: str
    last_clock: int


class ChatDatabase:
    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._aead = AESGCM(key)
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL: a committed message survives the process being killed (the OS
        # holds the log); only a power cut may lose the last commits.
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.executescript(SCHEMA)
        for table, column, statement in MIGRATIONS:
            async with self._db.execute(f"PRAGMA table_info({table})") as rows:
                columns = {str(row[1]) async for row in rows}
            if column not in columns:
                await self._db.execute(statement)
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise DatabaseError("the chat database is not open")
        return self._db

    def _seal(self, message_id: str, body: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, body, message_id.encode())

    def _open(self, message_id: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], message_id.encode())
        except InvalidTag:
            raise DatabaseError(f"message {message_id} does not open with this key") from None

    async def upsert_chat(self, chat_id: str, kind: str, name: str) -> None:
        cursor = await self.db.execute(
            "INSERT INTO chats (id, kind, name) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (chat_id, kind, name),
        )
        if cursor.rowcount:
            await self.db.commit()

    async def add_contact(self, chat_key: str, added_at: int) -> None:
        cursor = await self.db.execute(
            "INSERT INTO contacts VALUES (?, ?) ON CONFLICT (chat_key) DO NOTHING",
            (chat_key, added_at),
        )
        if cursor.rowcount:
            await self.db.commit()

    async def contacts(self) -> list[str]:
        async with self.db.execute("SELECT chat_key FROM contacts ORDER BY added_at") as rows:
            return [str(row[0]) async for row in rows]

    async def add_message(self, message: StoredMessage | StoredReaction) -> bool:
        """Store ``message``; False when its id is already stored (a duplicate)."""
        return (await self.add_messages([message]))[0]

    async def add_messages(
        self,
        messages: Sequence[StoredMessage | StoredReaction],
        *,
        device_state: bytes | None = None,
    ) -> list[bool]:
        """Store messages and reactions (and the device's encryption state, sealed) in one
        transaction; for each, whether it changed anything."""
        return await self.commit(Batch(list(messages), device_state=device_state))

    async def commit(self, batch: Batch) -> list[bool]:
        """Write ``batch`` in one transaction; for each message, whether it was new."""
        added = [
            await (
                self._insert(item) if isinstance(item, StoredMessage) else self.add_reaction(item)
            )
            for item in batch.messages
        ]
        if batch.device_state is not None:
            await self.db.execute(
                "INSERT INTO device_state VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
                " SET sealed = excluded.sealed",
                (self._seal(STATE_ID, batch.device_state),),
            )
        if batch.outbox_added:
            await self.db.executemany(
                "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (
                        e.sync_id,
                        e.peer,
                        e.message_id,
                        e.group_id,
                        e.timestamp,
                        self._seal(e.sync_id.hex(), e.body),
                    )
                    for e in batch.outbox_added
                ],
            )
        if batch.outbox_removed:
            await self.db.executemany(
                "DELETE FROM outbox WHERE sync_id = ? AND peer = ?", batch.outbox_removed
            )
        if batch.statuses:
            await self.db.executemany(
                "UPDATE messages SET status = ? WHERE id = ?",
                [(status, message_id) for message_id, status in batch.statuses],
            )
        for key, value in batch.sync_state.items():
            await self.db.execute(
                "INSERT INTO sync_state VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET sealed = excluded.sealed",
                (key, self._seal(key, value)),
            )
        await self.db.commit()
        return added

    async def outbox(self) -> list[OutboxEntry]:
        async with self.db.execute(
            "SELECT sync_id, peer, message_id, group_id, timestamp, body FROM outbox"
        ) as rows:
            return [
                OutboxEntry(
                    bytes(r[0]),
                    bytes(r[1]),
                    str(r[2]),
                    bytes(r[3]),
                    int(r[4]),
                    self._open(bytes(r[0]).hex(), bytes(r[5])),
                )
                async for r in rows
            ]

    async def sync_state(self) -> dict[str, bytes]:
        async with self.db.execute("SELECT key, sealed FROM sync_state") as rows:
            return {str(r[0]): self._open(str(r[0]), bytes(r[1])) async for r in rows}

    async def unfinished(self, author: str) -> list[tuple[str, str, str]]:
        """(id, status, chat id) of ``author``'s messages neither delivered nor failed."""
        async with self.db.execute(
            "SELECT id, status, chat_id FROM messages WHERE author = ? AND status IS NOT NULL"
            " AND status NOT IN ('delivered', 'failed')",
            (author,),
        ) as rows:
            return [(str(r[0]), str(r[1]), str(r[2])) async for r in rows]

    async def message(self, message_id: str) -> StoredMessage | None:
        async with self.db.execute(
            "SELECT id, chat_id, author, clock, timestamp, body, status FROM messages WHERE id = ?",
            (message_id,),
        ) as rows:
            row = await rows.fetchone()
        return self._row(row) if row is not None else None

    def _row(self, r: Sequence[object]) -> StoredMessage:
        message_id = str(r[0])
        return StoredMessage(
            message_id,
            str(r[1]),
            str(r[2]),
            int(r[3]),  # type: ignore[call-overload]
            int(r[4]),  # type: ignore[call-overload]
            self._open(message_id, bytes(r[5])),  # type: ignore[call-overload]
            None if r[6] is None else str(r[6]),
        )

    async def add_reaction(self, reaction: StoredReaction) -> bool:
        """Record a reaction or its retraction; the latest clock wins. Not committed here."""
        cursor = await self.db.execute(
            "INSERT INTO reactions VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
            " SET clock = excluded.clock, retracted = excluded.retracted"
            " WHERE excluded.clock > reactions.clock",
            (
                reaction.message_id,
                reaction.author,
                reaction.type,
                reaction.clock,
                int(reaction.retracted),
            ),
        )
        return cursor.rowcount == 1

    async def reactions(self, message_id: str) -> list[tuple[str, int]]:
        """(author, reaction type) of the reactions standing on a message."""
        async with self.db.execute(
            "SELECT author, type FROM reactions WHERE message_id = ? AND retracted = 0"
            " ORDER BY clock",
            (message_id,),
        ) as rows:
            return [(str(r[0]), int(r[1])) async for r in rows]

    async def device_state(self) -> bytes | None:
        async with self.db.execute("SELECT sealed FROM device_state WHERE id = 1") as rows:
            row = await rows.fetchone()
        return self._open(STATE_ID, bytes(row[0])) if row is not None else None

    async def _insert(self, message: StoredMessage) -> bool:
        cursor = await self.db.execute(
            "INSERT INTO messages (id, chat_id, author, clock, timestamp, body, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                message.id,
                message.chat_id,
                message.author,
                message.clock,
                message.timestamp,
                self._seal(message.id, message.body),
                message.status,
            ),
        )
        await self.db.execute(
            "UPDATE chats SET last_clock = max(last_clock, ?) WHERE id = ?",
            (message.clock, message.chat_id),
        )
        return cursor.rowcount == 1

    async def chats(self) -> list[Chat]:
        async with self.db.execute(
            "SELECT id, kind, name, last_clock FROM chats ORDER BY last_clock DESC"
        ) as rows:
            return [Chat(str(r[0]), str(r[1]), str(r[2]), int(r[3])) async for r in rows]

    async def history(self, chat_id: str, limit: int = 50) -> list[StoredMessage]:
        """The newest ``limit`` messages of a chat, oldest first."""
        async with self.db.execute(
            "SELECT id, chat_id, author, clock, timestamp, body, status FROM messages"
            " WHERE chat_id = ? ORDER BY clock DESC, id DESC LIMIT ?",
            (chat_id, limit),
        ) as rows:
            found = [self._row(r) async for r in rows]
        return found[::-1]

    async def max_clock(self) -> int:
        async with self.db.execute("SELECT coalesce(max(clock), 0) FROM messages") as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0
