"""Archive backends for tests: SQLite in a temporary folder, PostgreSQL in a private schema.

PostgreSQL tests skip with a printed reason when no server answers at 127.0.0.1:5432, and
fail instead when PYSTATUS_REQUIRE_PG=1 (as .ci/run sets).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pystatus.archive.base import Archive
from pystatus.archive.postgres import PostgresArchive
from pystatus.archive.sqlite import SqliteArchive

PG_URL = os.environ.get("PYSTATUS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


async def _require_postgres() -> None:
    try:
        connection = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at {PG_URL} does not answer: {exc}"
        if os.environ.get("PYSTATUS_REQUIRE_PG") == "1":
            pytest.fail(reason + " (PYSTATUS_REQUIRE_PG=1)")
        print(reason)
        pytest.skip(reason)
    await connection.close()


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh schema, dropped afterwards."""
    await _require_postgres()
    schema = f"pystatus_test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(PG_URL)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
        yield schema
    finally:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await connection.close()


@contextlib.asynccontextmanager
async def open_backend(kind: str, tmp_path: Path) -> AsyncIterator[Archive]:
    archive: Archive
    if kind == "sqlite":
        archive = SqliteArchive(tmp_path / "archive.sqlite3")
        await archive.open()
        try:
            yield archive
        finally:
            await archive.close()
        return
    async with postgres_schema() as schema:
        archive = PostgresArchive(PG_URL, schema=schema)
        await archive.open()
        try:
            yield archive
        finally:
            await archive.close()
