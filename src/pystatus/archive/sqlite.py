"""The SQLite archive: embedded, zero set-up, WAL mode, every commit synced."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import aiosqlite

from pystatus.archive import migrations
from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.errors import ArchiveUnavailable, MigrationError
from pystatus.archive.retention import RetentionPolicy
from pystatus.waku.store_codec import StoreBackendError


async def _rollback(db: aiosqlite.Connection) -> None:
    """Roll back after a failure without hiding it. The failure may be a cancellation that
    came while the COMMIT was already running in aiosqlite's thread: that COMMIT then ends
    the transaction, and ROLLBACK's "no transaction is active" would replace the
    cancellation (the writer would never stop)."""
    with contextlib.suppress(sqlite3.Error):
        await db.execute("ROLLBACK")


class SqliteArchive(Archive):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._db: aiosqlite.Connection | None = None

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise ArchiveUnavailable("the archive is not open")
        return self._db

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            for pragma in (
                "PRAGMA journal_mode=WAL",
                # An acknowledged message must survive a crash of the process or the machine.
                "PRAGMA synchronous=FULL",
                "PRAGMA busy_timeout=5000",
                # 64 MiB of page cache keeps the indexes' hot pages in memory while inserting.
                "PRAGMA cache_size=-65536",
            ):
                await self._db.execute(pragma)
            await self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise ArchiveUnavailable(f"cannot open the archive at {self.path}: {exc}") from exc

    async def _migrate(self) -> None:
        db = self._conn
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with db.execute("SELECT MAX(version) FROM schema_version") as cursor:
            row = await cursor.fetchone()
        current = (row[0] if row else None) or 0
        if current > migrations.latest(migrations.SQLITE):
            raise MigrationError(f"archive schema {current} is newer than this pystatus knows")
        for version, statements in migrations.SQLITE:
            if version <= current:
                continue
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                await db.execute("COMMIT")
            except BaseException:
                await _rollback(db)
                raise

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def insert(self, messages: list[ArchivedMessage]) -> int:
        rows = [
            (
                m.hash,
                m.pubsub_topic,
                m.message.content_topic,
                m.timestamp,
                m.received_at,
                m.message.encode(),
            )
            for m in messages
        ]
        db = self._conn
        try:
            before = db.total_changes
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.executemany(
                    "INSERT OR IGNORE INTO messages "
                    "(hash, pubsub_topic, content_topic, timestamp, received_at, message) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                await db.execute("COMMIT")
            except BaseException:
                await _rollback(db)
                raise
            return db.total_changes - before
        except sqlite3.Error as exc:
            raise ArchiveUnavailable(f"archive write failed: {exc}") from exc

    async def _select(self, sql: str, params: list[object]) -> list[tuple[bytes, str, bytes]]:
        try:
            async with self._conn.execute(sql, params) as cursor:
                return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]
        except (sqlite3.Error, ArchiveUnavailable) as exc:
            raise StoreBackendError(f"archive query failed: {exc}") from exc

    async def _cursor_timestamp(self, cursor: bytes) -> int | None:
        try:
            async with self._conn.execute(
                "SELECT timestamp FROM messages WHERE hash = ?", (cursor,)
            ) as rows:
                row = await rows.fetchone()
        except (sqlite3.Error, ArchiveUnavailable) as exc:
            raise StoreBackendError(f"archive query failed: {exc}") from exc
        return int(row[0]) if row else None

    async def _scalar(self, sql: str) -> int | None:
        try:
            async with self._conn.execute(sql) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise ArchiveUnavailable(f"archive read failed: {exc}") from exc
        return None if row is None or row[0] is None else int(row[0])

    async def count(self) -> int:
        return await self._scalar("SELECT COUNT(*) FROM messages") or 0

    async def size_bytes(self) -> int:
        pages = await self._scalar("PRAGMA page_count") or 0
        size = await self._scalar("PRAGMA page_size") or 0
        return pages * size

    async def newest_timestamp(self) -> int | None:
        return await self._scalar("SELECT MAX(timestamp) FROM messages")

    async def _delete_oldest(self, count: int) -> int:
        db = self._conn
        before = db.total_changes
        await db.execute(
            "DELETE FROM messages WHERE hash IN "
            "(SELECT hash FROM messages ORDER BY timestamp, hash LIMIT ?)",
            (count,),
        )
        return db.total_changes - before

    async def apply_retention(self, policy: RetentionPolicy, now_ns: int) -> int:
        db = self._conn
        try:
            if policy.max_age_seconds is not None:
                before = db.total_changes
                cutoff = now_ns - policy.max_age_seconds * 10**9
                await db.execute("DELETE FROM messages WHERE timestamp < ?", (cutoff,))
                return db.total_changes - before
            if policy.max_messages is not None:
                excess = await self.count() - policy.max_messages
                return await self._delete_oldest(excess) if excess > 0 else 0
            if policy.max_bytes is not None and await self.size_bytes() > policy.max_bytes:
                # Free a fifth of the rows, as nwaku does; SQLite reuses the freed pages.
                return await self._delete_oldest(max(1, await self.count() // 5))
        except sqlite3.Error as exc:
            raise ArchiveUnavailable(f"archive retention failed: {exc}") from exc
        return 0
