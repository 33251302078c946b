"""The account's own database (SQLite): chats, contacts and messages, bodies sealed.

Message bodies are sealed with AES-256-GCM under the account's database key (EIP-1581's
m/43'/60'/1581'/1'/0), bound to the message id, so the file alone reveals who talked when but
not what was said. An edit replaces a message's sealed body with the edited one.

Besides messages: each contact's contact-request state (status-go's ``Contact`` fields, as
JSON), display name and the clock it was learnt at; whether a 1:1 chat is active or sits in
"requests"; which messages are edited, deleted and pinned.
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
CREATE TABLE IF NOT EXISTS pins (
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    clock INTEGER NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
"""
MIGRATIONS = (
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
NONCE_SIZE = 12
STATE_ID = "device-state"
_MESSAGES = (
    "SELECT m.id, m.chat_id, m.author, m.clock, m.timestamp, m.body, m.status, m.edited_at,"
    " m.deleted, coalesce(p.pinned, 0) FROM messages m"
    " LEFT JOIN pins p ON p.chat_id = m.chat_id AND p.message_id = m.id"
)


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
    """The ChatMessage; once edited, the edited one."""
    status: str | None = None
    edited_at: int = 0
    """The clock of the edit that gave ``body`` (0: never edited)."""
    deleted: bool = False
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message waiting for a peer's data sync acknowledgement."""

    sync_id: bytes
    peer: bytes
    message_id: str
    group_id: bytes
    timestamp: int
    body: bytes


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat to create, or to make active: ``active`` False only creates it inactive
    (a chat never falls back into requests by an upsert)."""

    id: str
    kind: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class ContactRecord:
    chat_key: str
    added_at: int
    """When the contact was first seen or added (ns since the epoch)."""
    request_state: str
    """The contact-request state, JSON (see :mod:`pystatus.chat.contacts`)."""
    display_name: str = ""
    name_clock: int = 0


@dataclass(frozen=True, slots=True)
class EditRecord:
    message_id: str
    body: bytes
    """The edited ChatMessage."""
    clock: int


@dataclass(frozen=True, slots=True)
class PinRecord:
    chat_id: str
    message_id: str
    pinned: bool
    clock: int
    author: str


@dataclass(slots=True)
class Batch:
    """Everything one commit writes."""

    messages: list[StoredMessage | StoredReaction] = field(default_factory=list)
    device_state: bytes | None = None
    outbox_added: list[OutboxEntry] = field(default_factory=list)
    outbox_removed: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    sync_state: dict[str, bytes] = field(default_factory=dict)
    chats: list[ChatRow] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    edits: list[EditRecord] = field(default_factory=list)
    """Applied only when newer than the message's last edit."""
    deletes: list[str] = field(default_factory=list)
    pins: list[PinRecord] = field(default_factory=list)
    """Applied only when newer than the chat's last pin of that message."""

    def merge(self, other: Batch) -> None:
        """Take ``other``'s chats, contacts, edits, deletes, pins and sync state (not its
        messages: a commit reports on those one by one, in order)."""
        if other.messages:
            raise ValueError("messages are not merged")
        self.outbox_added += other.outbox_added
        self.outbox_removed += other.outbox_removed
        self.statuses += other.statuses
        self.sync_state.update(other.sync_state)
        self.chats += other.chats
        self.contacts += other.contacts
        self.edits += other.edits
        self.deletes += other.deletes
        self.pins += other.pins


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
    active: bool = True
    """False: a 1:1 chat in "requests" (someone we have not added wrote first)."""


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

    async def upsert_chat(self, chat_id: str, kind: str, name: str, *, active: bool = True) -> None:
        """Create a chat; ``active``: make it active too (out of requests) if it was not."""
        if await self._upsert_chat(ChatRow(chat_id, kind, name, active)):
            await self.db.commit()

    async def _upsert_chat(self, chat: ChatRow) -> bool:
        cursor = await self.db.execute(
            "INSERT INTO chats (id, kind, name, active) VALUES (?, ?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET active = 1 WHERE excluded.active = 1 AND chats.active = 0",
            (chat.id, chat.kind, chat.name, int(chat.active)),
        )
        return bool(cursor.rowcount)

    async def add_contact(self, chat_key: str, added_at: int) -> None:
        cursor = await self.db.execute(
            "INSERT INTO contacts (chat_key, added_at) VALUES (?, ?)"
            " ON CONFLICT (chat_key) DO NOTHING",
            (chat_key, added_at),
        )
        if cursor.rowcount:
            await self.db.commit()

    async def contacts(self) -> list[str]:
        async with self.db.execute("SELECT chat_key FROM contacts ORDER BY added_at") as rows:
            return [str(row[0]) async for row in rows]

    async def contact_record(self, chat_key: str) -> ContactRecord | None:
        async with self.db.execute(
            "SELECT chat_key, added_at, request_state, display_name, name_clock FROM contacts"
            " WHERE chat_key = ?",
            (chat_key,),
        ) as rows:
            row = await rows.fetchone()
        return _contact(row) if row is not None else None

    async def contact_records(self) -> list[ContactRecord]:
        async with self.db.execute(
            "SELECT chat_key, added_at, request_state, display_name, name_clock FROM contacts"
            " ORDER BY added_at"
        ) as rows:
            return [_contact(row) async for row in rows]

    async def request_chats(self) -> list[Chat]:
        """1:1 chats sitting in "requests", most recently active first."""
        return [c for c in await self.chats() if not c.active]

    async def pin_clock(self, chat_id: str, message_id: str) -> int:
        """The clock of the last pin or unpin of a message in a chat (0: none)."""
        async with self.db.execute(
            "SELECT clock FROM pins WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ) as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0

    async def pinned(self, chat_id: str) -> list[str]:
        """Ids of the messages pinned in a chat, latest pin first."""
        async with self.db.execute(
            "SELECT message_id FROM pins WHERE chat_id = ? AND pinned = 1 ORDER BY clock DESC",
            (chat_id,),
        ) as rows:
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
        for chat in batch.chats:
            await self._upsert_chat(chat)
        if batch.contacts:
            await self.db.executemany(
                "INSERT INTO contacts (chat_key, added_at, request_state, display_name,"
                " name_clock) VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_key) DO UPDATE"
                " SET request_state = excluded.request_state,"
                " display_name = excluded.display_name, name_clock = excluded.name_clock",
                [
                    (c.chat_key, c.added_at, c.request_state, c.display_name, c.name_clock)
                    for c in batch.contacts
                ],
            )
        added = [
            await (
                self._insert(item) if isinstance(item, StoredMessage) else self.add_reaction(item)
            )
            for item in batch.messages
        ]
        for edit in batch.edits:
            await self.db.execute(
                "UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND edited_at < ?",
                (self._seal(edit.message_id, edit.body), edit.clock, edit.message_id, edit.clock),
            )
        if batch.deletes:
            await self.db.executemany(
                "UPDATE messages SET deleted = 1 WHERE id = ?", [(d,) for d in batch.deletes]
            )
        if batch.pins:
            await self.db.executemany(
                "INSERT INTO pins VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET pinned = excluded.pinned, clock = excluded.clock, author = excluded.author"
                " WHERE excluded.clock > pins.clock",
                [(p.chat_id, p.message_id, int(p.pinned), p.clock, p.author) for p in batch.pins],
            )
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
        async with self.db.execute(f"{_MESSAGES} WHERE m.id = ?", (message_id,)) as rows:
            row = await rows.fetchone()
        return self._row(row) if row is not None else None

    async def has_message(self, message_id: str) -> bool:
        async with self.db.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)) as rows:
            return await rows.fetchone() is not None

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
            int(r[7]),  # type: ignore[call-overload]
            bool(r[8]),
            bool(r[9]),
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
            "INSERT INTO messages (id, chat_id, author, clock, timestamp, body, status,"
            " edited_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                message.id,
                message.chat_id,
                message.author,
                message.clock,
                message.timestamp,
                self._seal(message.id, message.body),
                message.status,
                message.edited_at,
                int(message.deleted),
            ),
        )
        await self.db.execute(
            "UPDATE chats SET last_clock = max(last_clock, ?) WHERE id = ?",
            (message.clock, message.chat_id),
        )
        return cursor.rowcount == 1

    async def chats(self) -> list[Chat]:
        async with self.db.execute(
            "SELECT id, kind, name, last_clock, active FROM chats ORDER BY last_clock DESC"
        ) as rows:
            return [
                Chat(str(r[0]), str(r[1]), str(r[2]), int(r[3]), bool(r[4])) async for r in rows
            ]

    async def history(self, chat_id: str, limit: int = 50) -> list[StoredMessage]:
        """The newest ``limit`` messages of a chat, oldest first."""
        async with self.db.execute(
            f"{_MESSAGES} WHERE m.chat_id = ? ORDER BY m.clock DESC, m.id DESC LIMIT ?",
            (chat_id, limit),
        ) as rows:
            found = [self._row(r) async for r in rows]
        return found[::-1]

    async def max_clock(self) -> int:
        async with self.db.execute("SELECT coalesce(max(clock), 0) FROM messages") as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0


def _contact(r: Sequence[object]) -> ContactRecord:
    return ContactRecord(
        str(r[0]),
        int(r[1]),  # type: ignore[call-overload]
        "" if r[2] is None else str(r[2]),
        str(r[3]),
        int(r[4]),  # type: ignore[call-overload]
    )
