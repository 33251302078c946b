"""The account's own database: chats, contacts and messages, the whole file encrypted with
SQLCipher under the account's database key (EIP-1581's m/43'/60'/1581'/1'/0), as status-go keeps
its own (see :mod:`pystatus.chat.database_schema` for the cipher settings, file modes and
schema versions), with full-text search over message texts.

Bodies are no longer sealed one by one (schema version 2 opened the sealed ones): the file's
encryption covers them under the same key, and the search index must hold message texts in
the clear inside it anyway, so a second seal would hide nothing from anyone who cannot open the
file and would cost an AES-GCM pass per row read.

Besides messages: each contact's contact-request state (status-go's ``Contact`` fields, as
JSON), display name and the clock it was learnt at; whether a 1:1 chat is active or sits in
"requests"; which messages are edited, deleted and pinned.

Every SQLite failure leaves this module as :class:`DatabaseError` (a ``ChatError``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite
from prometheus_client import Counter

from pystatus.chat.database_records import (
    Batch,
    Chat,
    ChatRow,
    ContactRecord,
    EditRecord,
    OutboxEntry,
    PinRecord,
    StoredMessage,
    StoredReaction,
)
from pystatus.chat.database_schema import (
    DATABASE_FAILURES,
    SQLITE_ERRORS,
    DatabaseError,
    connect,
    message_text,
)
from pystatus.errors import ChatError

__all__ = [
    "Batch",
    "Chat",
    "ChatDatabase",
    "ChatRow",
    "ContactRecord",
    "DatabaseError",
    "EditRecord",
    "InvalidSearch",
    "OutboxEntry",
    "PinRecord",
    "StoredMessage",
    "StoredReaction",
]

MAX_SEARCH_LIMIT = 500
MAX_QUERY_LENGTH = 1_000  # characters
SEARCHES = Counter("chat_searches", "Message searches, by result (ok, invalid)", ["result"])

_P = ParamSpec("_P")
_T = TypeVar("_T")


class InvalidSearch(ChatError):
    """A search query or limit this database does not take (empty, too long, not text)."""


def _translated(
    method: Callable[Concatenate[ChatDatabase, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[ChatDatabase, _P], Coroutine[Any, Any, _T]]:
    """Turn SQLite's (and SQLCipher's) errors into :class:`DatabaseError`, counted."""

    async def wrapper(self: ChatDatabase, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(self, *args, **kwargs)
        except SQLITE_ERRORS as exc:
            DATABASE_FAILURES.labels(reason="sqlite").inc()
            raise DatabaseError(f"the chat database failed: {exc}") from exc

    functools.update_wrapper(wrapper, method)
    return wrapper


_MESSAGES = (
    "SELECT m.id, m.chat_id, m.author, m.clock, m.timestamp, m.body, m.status, m.edited_at,"
    " m.deleted, coalesce(p.pinned, 0) FROM messages m"
    " LEFT JOIN pins p ON p.chat_id = m.chat_id AND p.message_id = m.id"
)


class ChatDatabase:
    """The chat database of one account at ``path``, opened under its 32-byte database key.

    Every method raises :class:`DatabaseError` on SQLite's failures; :meth:`open` raises it
    too when the key does not open the file or the schema is newer than this code."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key
        self._db: aiosqlite.Connection | None = None

    def __repr__(self) -> str:
        return f"ChatDatabase({str(self.path)!r})"  # never the key

    async def open(self) -> None:
        """Open (creating, encrypting a plain file from older pystatus, migrating) the
        database; the blocking part runs on a worker thread. Raises :class:`DatabaseError`
        (a wrong key, a damaged file, a newer schema) and ``OSError`` (a directory that
        cannot be written)."""
        path, key = self.path, self._key
        try:
            # Opened before aiosqlite takes it: a failure leaves no connection thread behind
            # (aiosqlite's would outlive the event loop), and the key never goes through
            # aiosqlite, which logs every call's arguments at DEBUG.
            connection = await asyncio.to_thread(connect, path, key)
        except SQLITE_ERRORS as exc:
            DATABASE_FAILURES.labels(reason="sqlite").inc()
            raise DatabaseError(f"the chat database {path} does not open: {exc}") from exc
        self._db = await aiosqlite.Connection(lambda: connection, iter_chunk_size=64)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise DatabaseError("the chat database is not open")
        return self._db

    @_translated
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

    @_translated
    async def add_contact(self, chat_key: str, added_at: int) -> None:
        cursor = await self.db.execute(
            "INSERT INTO contacts (chat_key, added_at) VALUES (?, ?)"
            " ON CONFLICT (chat_key) DO NOTHING",
            (chat_key, added_at),
        )
        if cursor.rowcount:
            await self.db.commit()

    @_translated
    async def contacts(self) -> list[str]:
        async with self.db.execute("SELECT chat_key FROM contacts ORDER BY added_at") as rows:
            return [str(row[0]) async for row in rows]

    @_translated
    async def contact_record(self, chat_key: str) -> ContactRecord | None:
        async with self.db.execute(
            "SELECT chat_key, added_at, request_state, display_name, name_clock FROM contacts"
            " WHERE chat_key = ?",
            (chat_key,),
        ) as rows:
            row = await rows.fetchone()
        return _contact(row) if row is not None else None

    @_translated
    async def contact_records(self) -> list[ContactRecord]:
        async with self.db.execute(
            "SELECT chat_key, added_at, request_state, display_name, name_clock FROM contacts"
            " ORDER BY added_at"
        ) as rows:
            return [_contact(row) async for row in rows]

    @_translated
    async def request_chats(self) -> list[Chat]:
        """1:1 chats sitting in "requests", most recently active first."""
        return [c for c in await self.chats() if not c.active]

    @_translated
    async def pin_clock(self, chat_id: str, message_id: str) -> int:
        """The clock of the last pin or unpin of a message in a chat (0: none)."""
        async with self.db.execute(
            "SELECT clock FROM pins WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ) as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0

    @_translated
    async def pinned(self, chat_id: str) -> list[str]:
        """Ids of the messages pinned in a chat, latest pin first."""
        async with self.db.execute(
            "SELECT message_id FROM pins WHERE chat_id = ? AND pinned = 1 ORDER BY clock DESC",
            (chat_id,),
        ) as rows:
            return [str(row[0]) async for row in rows]

    @_translated
    async def add_message(self, message: StoredMessage | StoredReaction) -> bool:
        """Store ``message``; False when its id is already stored (a duplicate)."""
        return (await self.add_messages([message]))[0]

    @_translated
    async def add_messages(
        self,
        messages: Sequence[StoredMessage | StoredReaction],
        *,
        device_state: bytes | None = None,
    ) -> list[bool]:
        """Store messages and reactions (and the device's encryption state) in one
        transaction; for each, whether it changed anything."""
        return await self.commit(Batch(list(messages), device_state=device_state))

    @_translated
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
            cursor = await self.db.execute(
                "UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND edited_at < ?",
                (edit.body, edit.clock, edit.message_id, edit.clock),
            )
            if cursor.rowcount:
                await self._index(edit.message_id, edit.body)
        if batch.deletes:
            await self.db.executemany(
                "UPDATE messages SET deleted = 1 WHERE id = ?", [(d,) for d in batch.deletes]
            )
            await self.db.executemany(
                "DELETE FROM message_search WHERE rowid IN"
                " (SELECT rowid FROM messages WHERE id = ?)",
                [(d,) for d in batch.deletes],
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
                (batch.device_state,),
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
                        e.body,
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
                (key, value),
            )
        await self.db.commit()
        return added

    @_translated
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
                    bytes(r[5]),
                )
                async for r in rows
            ]

    @_translated
    async def sync_state(self) -> dict[str, bytes]:
        async with self.db.execute("SELECT key, sealed FROM sync_state") as rows:
            return {str(r[0]): bytes(r[1]) async for r in rows}

    @_translated
    async def unfinished(self, author: str) -> list[tuple[str, str, str]]:
        """(id, status, chat id) of ``author``'s messages neither delivered nor failed."""
        async with self.db.execute(
            "SELECT id, status, chat_id FROM messages WHERE author = ? AND status IS NOT NULL"
            " AND status NOT IN ('delivered', 'failed')",
            (author,),
        ) as rows:
            return [(str(r[0]), str(r[1]), str(r[2])) async for r in rows]

    @_translated
    async def message(self, message_id: str) -> StoredMessage | None:
        async with self.db.execute(f"{_MESSAGES} WHERE m.id = ?", (message_id,)) as rows:
            row = await rows.fetchone()
        return self._row(row) if row is not None else None

    @_translated
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
            bytes(r[5]),  # type: ignore[call-overload]
            None if r[6] is None else str(r[6]),
            int(r[7]),  # type: ignore[call-overload]
            bool(r[8]),
            bool(r[9]),
        )

    @_translated
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

    @_translated
    async def reactions(self, message_id: str) -> list[tuple[str, int]]:
        """(author, reaction type) of the reactions standing on a message."""
        async with self.db.execute(
            "SELECT author, type FROM reactions WHERE message_id = ? AND retracted = 0"
            " ORDER BY clock",
            (message_id,),
        ) as rows:
            return [(str(r[0]), int(r[1])) async for r in rows]

    @_translated
    async def device_state(self) -> bytes | None:
        async with self.db.execute("SELECT sealed FROM device_state WHERE id = 1") as rows:
            row = await rows.fetchone()
        return bytes(row[0]) if row is not None else None

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
                message.body,
                message.status,
                message.edited_at,
                int(message.deleted),
            ),
        )
        await self.db.execute(
            "UPDATE chats SET last_clock = max(last_clock, ?) WHERE id = ?",
            (message.clock, message.chat_id),
        )
        if cursor.rowcount != 1:
            return False
        text = "" if message.deleted else message_text(message.body)
        if text:  # a new row: nothing of it is indexed yet
            await self.db.execute(
                "INSERT INTO message_search (rowid, text) VALUES (?, ?)", (cursor.lastrowid, text)
            )
        return True

    async def _index(self, message_id: str, body: bytes) -> None:
        """Make the search index hold ``body``'s text for a message that is not deleted."""
        await self.db.execute(
            "DELETE FROM message_search WHERE rowid IN (SELECT rowid FROM messages WHERE id = ?)",
            (message_id,),
        )
        text = message_text(body)
        if text:
            await self.db.execute(
                "INSERT INTO message_search (rowid, text) SELECT rowid, ? FROM messages"
                " WHERE id = ? AND deleted = 0",
                (text, message_id),
            )

    @_translated
    async def search(self, query: str, limit: int = 50) -> list[StoredMessage]:
        """The newest ``limit`` (1 to 500) messages whose text holds every word of ``query``
        (words as SQLite FTS5's unicode61 tokenizer splits them: case and diacritics
        ignored), newest first (by clock); deleted messages are never found, edited ones by
        their edited text.

        The query is taken as plain words: each is quoted for FTS5, so its syntax (``"``,
        ``AND``, ``*``, ``col:``) is matched as text, never interpreted. Raises
        :class:`InvalidSearch` for an empty or over-long query (1,000 characters), one that
        is not valid Unicode, or a limit out of range."""
        # FTS5 reads its query up to a NUL; the tokenizer takes NUL for a separator anyway.
        words = query.replace("\x00", " ").split()
        if not words or len(query) > MAX_QUERY_LENGTH or not 1 <= limit <= MAX_SEARCH_LIMIT:
            SEARCHES.labels(result="invalid").inc()
            raise InvalidSearch(
                f"a search takes 1 to {MAX_QUERY_LENGTH} characters with a word in them and a"
                f" limit of 1 to {MAX_SEARCH_LIMIT}"
            )
        try:
            query.encode()
        except UnicodeEncodeError:
            SEARCHES.labels(result="invalid").inc()
            raise InvalidSearch("a search query must be valid Unicode text") from None
        # An FTS5 string: the word between double quotes, each quote inside doubled.
        match = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        async with self.db.execute(
            f"{_MESSAGES} JOIN message_search s ON s.rowid = m.rowid"
            " WHERE s.message_search MATCH ? AND m.deleted = 0"
            " ORDER BY m.clock DESC, m.id DESC LIMIT ?",
            (match, limit),
        ) as rows:
            found = [self._row(r) async for r in rows]
        SEARCHES.labels(result="ok").inc()
        return found

    @_translated
    async def chats(self) -> list[Chat]:
        async with self.db.execute(
            "SELECT id, kind, name, last_clock, active FROM chats ORDER BY last_clock DESC"
        ) as rows:
            return [
                Chat(str(r[0]), str(r[1]), str(r[2]), int(r[3]), bool(r[4])) async for r in rows
            ]

    @_translated
    async def history(self, chat_id: str, limit: int = 50) -> list[StoredMessage]:
        """The newest ``limit`` messages of a chat, oldest first."""
        async with self.db.execute(
            f"{_MESSAGES} WHERE m.chat_id = ? ORDER BY m.clock DESC, m.id DESC LIMIT ?",
            (chat_id, limit),
        ) as rows:
            found = [self._row(r) async for r in rows]
        return found[::-1]

    @_translated
    async def author_messages(
        self, author: str, chat_prefix: str, limit: int = 1000
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages by ``author`` (``zQ3...``), not deleted, in chats whose id
        starts with ``chat_prefix`` (a community's channels), newest first."""
        async with self.db.execute(
            f"{_MESSAGES} WHERE m.author = ? AND m.deleted = 0 AND substr(m.chat_id, 1, ?) = ?"
            " ORDER BY m.clock DESC LIMIT ?",
            (author, len(chat_prefix), chat_prefix, limit),
        ) as rows:
            return [self._row(r) async for r in rows]

    @_translated
    async def max_clock(self) -> int:
        async with self.db.execute("SELECT coalesce(max(clock), 0) FROM messages") as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0

    @_translated
    async def leave_chat(self, chat_id: str) -> None:
        """Mark a chat inactive (a public chat left; its history stays; joining it again
        with :meth:`upsert_chat` makes it active again)."""
        await self.db.execute("UPDATE chats SET active = 0 WHERE id = ?", (chat_id,))
        await self.db.commit()


def _contact(r: Sequence[object]) -> ContactRecord:
    return ContactRecord(
        str(r[0]),
        int(r[1]),  # type: ignore[call-overload]
        "" if r[2] is None else str(r[2]),
        str(r[3]),
        int(r[4]),  # type: ignore[call-overload]
    )
