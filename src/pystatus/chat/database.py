"""The account's own database (SQLite): chats, contacts and messages, bodies sealed.

Message bodies are sealed with AES-256-GCM under the account's database key (EIP-1581's
m/43'/60'/1581'/1'/0), bound to the message id, so the file alone reveals who talked when but
not what was said.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
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
"""
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
        added = [
            await (
                self._insert(item) if isinstance(item, StoredMessage) else self.add_reaction(item)
            )
            for item in messages
        ]
        if device_state is not None:
            await self.db.execute(
                "INSERT INTO device_state VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
                " SET sealed = excluded.sealed",
                (self._seal(STATE_ID, device_state),),
            )
        await self.db.commit()
        return added

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
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                message.id,
                message.chat_id,
                message.author,
                message.clock,
                message.timestamp,
                self._seal(message.id, message.body),
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
            "SELECT id, chat_id, author, clock, timestamp, body FROM messages"
            " WHERE chat_id = ? ORDER BY clock DESC, id DESC LIMIT ?",
            (chat_id, limit),
        ) as rows:
            found = [
                StoredMessage(
                    str(r[0]),
                    str(r[1]),
                    str(r[2]),
                    int(r[3]),
                    int(r[4]),
                    self._open(str(r[0]), bytes(r[5])),
                )
                async for r in rows
            ]
        return found[::-1]

    async def max_clock(self) -> int:
        async with self.db.execute("SELECT coalesce(max(clock), 0) FROM messages") as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0
