"""The PostgreSQL archive, for when one machine's disk is outgrown (asyncpg)."""

from __future__ import annotations

import re

import asyncpg

from pystatus.archive import migrations
from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.errors import ArchiveUnavailable, MigrationError
from pystatus.archive.retention import RetentionPolicy
from pystatus.waku.store_codec import StoreBackendError

_PLACEHOLDER = re.compile(r"\?")
# Failures where retrying later can succeed: the server went away or refused us for now.
_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


def _numbered(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _redacted(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


class PostgresArchive(Archive):
    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self._dsn = url
        self.url = _redacted(url)
        self._schema = schema
        self._pool: asyncpg.Pool | None = None

    @property
    def _db(self) -> asyncpg.Pool:
        if self._pool is None:
            raise ArchiveUnavailable("the archive is not open")
        return self._pool

    async def open(self) -> None:
        settings = {"search_path": self._schema} if self._schema else None
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=8, server_settings=settings, timeout=10
            )
            await self._migrate()
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise ArchiveUnavailable(f"cannot open the archive at {self.url}: {exc}") from None

    async def _migrate(self) -> None:
        async with self._db.acquire() as connection, connection.transaction():
            # One migrator at a time, whichever node gets there first.
            await connection.execute("SELECT pg_advisory_xact_lock(7245021)")
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            current = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
            if current > migrations.latest(migrations.POSTGRES):
                raise MigrationError(f"archive schema {current} is newer than this pystatus knows")
            for version, statements in migrations.POSTGRES:
                if version <= current:
                    continue
                for statement in statements:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_version (version) VALUES ($1)", version
                )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

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
        try:
            async with self._db.acquire() as connection, connection.transaction():
                inserted = await connection.fetch(
                    "INSERT INTO messages "
                    "(hash, pubsub_topic, content_topic, timestamp, received_at, message) "
                    "SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], "
                    "$5::bigint[], $6::bytea[]) ON CONFLICT (hash) DO NOTHING RETURNING 1",
                    *map(list, zip(*rows, strict=True)),
                )
            return len(inserted)
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise ArchiveUnavailable(f"archive write failed: {exc}") from None

    async def _select(self, sql: str, params: list[object]) -> list[tuple[bytes, str, bytes]]:
        try:
            rows = await self._db.fetch(_numbered(sql), *params)
        except (*_UNAVAILABLE, asyncpg.PostgresError, ArchiveUnavailable) as exc:
            raise StoreBackendError(f"archive query failed: {exc}") from None
        return [(row[0], row[1], row[2]) for row in rows]

    async def _cursor_timestamp(self, cursor: bytes) -> int | None:
        try:
            value = await self._db.fetchval(
                "SELECT timestamp FROM messages WHERE hash = $1", cursor
            )
        except (*_UNAVAILABLE, asyncpg.PostgresError, ArchiveUnavailable) as exc:
            raise StoreBackendError(f"archive query failed: {exc}") from None
        return None if value is None else int(value)

    async def _scalar(self, sql: str, *params: object) -> int | None:
        try:
            value = await self._db.fetchval(sql, *params)
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise ArchiveUnavailable(f"archive read failed: {exc}") from None
        return None if value is None else int(value)

    async def count(self) -> int:
        return await self._scalar("SELECT COUNT(*) FROM messages") or 0

    async def size_bytes(self) -> int:
        return await self._scalar("SELECT pg_total_relation_size('messages')") or 0

    async def newest_timestamp(self) -> int | None:
        return await self._scalar("SELECT MAX(timestamp) FROM messages")

    async def _delete_oldest(self, count: int) -> int:
        result = await self._db.execute(
            "DELETE FROM messages WHERE hash IN "
            "(SELECT hash FROM messages ORDER BY timestamp, hash LIMIT $1)",
            count,
        )
        return int(result.split()[-1])

    async def apply_retention(self, policy: RetentionPolicy, now_ns: int) -> int:
        try:
            if policy.max_age_seconds is not None:
                cutoff = now_ns - policy.max_age_seconds * 10**9
                result = await self._db.execute("DELETE FROM messages WHERE timestamp < $1", cutoff)
                return int(result.split()[-1])
            if policy.max_messages is not None:
                excess = await self.count() - policy.max_messages
                return await self._delete_oldest(excess) if excess > 0 else 0
            if policy.max_bytes is not None and await self.size_bytes() > policy.max_bytes:
                return await self._delete_oldest(max(1, await self.count() // 5))
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise ArchiveUnavailable(f"archive retention failed: {exc}") from None
        return 0
