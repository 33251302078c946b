"""The archive on real SQLite and real PostgreSQL: the same behaviour from both."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.archive import migrations
from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.errors import MigrationError
from pystatus.archive.retention import RetentionPolicy
from pystatus.archive.sqlite import SqliteArchive
from pystatus.errors import ConfigError
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import CursorNotFound, StoreQuery
from tests.archive.backends import open_backend

TOPIC = "/waku/2/rs/1/0"
OTHER_TOPIC = "/waku/2/rs/1/1"
BASE = 1_700_000_000 * 10**9


def make(index: int, *, content: str = "/app/1/a/proto", topic: str = TOPIC) -> ArchivedMessage:
    message = WakuMessage(f"m{index}".encode(), content, timestamp=BASE + index * 10**6)
    return ArchivedMessage.of(topic, message, received_at=BASE + index * 10**6 + 5)


@pytest.fixture(params=["sqlite", "postgres"])
async def archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Archive]:
    async with open_backend(request.param, tmp_path) as opened:
        yield opened


async def _all(archive: Archive, query: StoreQuery) -> tuple[list[bytes], int]:
    hashes: list[bytes] = []
    pages = 0
    while True:
        entries, cursor = await archive.query(query)
        pages += 1
        if query.forward:
            hashes += [e.hash for e in entries]
        else:
            hashes = [e.hash for e in entries] + hashes
        if cursor is None:
            return hashes, pages
        query = dataclasses.replace(query, cursor=cursor)


async def test_insert_deduplicates_and_counts(archive: Archive) -> None:
    messages = [make(i) for i in range(10)]
    assert await archive.insert(messages) == 10
    assert await archive.insert([*messages[:5], make(10)]) == 1
    assert await archive.count() == 11
    assert await archive.newest_timestamp() == BASE + 10 * 10**6
    assert await archive.size_bytes() > 0


async def test_paging_both_ways_with_exclusive_cursors(archive: Archive) -> None:
    messages = [make(i) for i in range(45)]
    await archive.insert(messages)
    expected = [m.hash for m in messages]
    forward, pages = await _all(archive, StoreQuery(forward=True, limit=20))
    assert forward == expected and pages == 3
    backward, pages = await _all(archive, StoreQuery(forward=False, limit=20))
    assert backward == expected and pages == 3
    # A backward page is still in ascending order, and starts from the newest.
    entries, cursor = await archive.query(StoreQuery(forward=False, limit=5))
    assert [e.hash for e in entries] == expected[-5:]
    assert cursor == expected[-5]
    entries, _ = await archive.query(StoreQuery(forward=True, cursor=expected[-1]))
    assert entries == []  # js-waku's last page: empty, not an error
    entries, _ = await archive.query(StoreQuery(forward=True))
    assert len(entries) == 20  # the default page
    entries, _ = await archive.query(StoreQuery(forward=True, limit=1000))
    assert len(entries) == 45  # clamped to 100, and only 45 exist


async def test_equal_timestamps_order_by_hash(archive: Archive) -> None:
    same = [
        ArchivedMessage.of(TOPIC, WakuMessage(f"x{i}".encode(), "/a/1/b/c", timestamp=BASE), BASE)
        for i in range(30)
    ]
    await archive.insert(same)
    forward, _ = await _all(archive, StoreQuery(forward=True, limit=7))
    assert forward == sorted(m.hash for m in same)


async def test_filters(archive: Archive) -> None:
    messages = [
        make(i, content="/app/1/a/proto" if i % 2 else "/app/1/b/proto") for i in range(40)
    ] + [make(100 + i, topic=OTHER_TOPIC) for i in range(5)]
    await archive.insert(messages)
    by_content, _ = await _all(
        archive,
        StoreQuery(pubsub_topic=TOPIC, content_topics=("/app/1/a/proto",), forward=True),
    )
    assert by_content == [
        m.hash for m in messages[:40] if m.message.content_topic.endswith("a/proto")
    ]
    start, end = BASE + 10 * 10**6, BASE + 20 * 10**6
    by_time, _ = await _all(archive, StoreQuery(time_start=start, time_end=end, forward=True))
    assert by_time == [m.hash for m in messages if start <= m.timestamp <= end]
    wanted = (messages[3].hash, messages[41].hash, b"\x00" * 32)
    by_hash, _ = await _all(archive, StoreQuery(message_hashes=wanted, forward=True))
    assert by_hash == [messages[3].hash, messages[41].hash]
    # js-waku sends the pubsub topic along with hash look-ups.
    by_hash, _ = await _all(
        archive, StoreQuery(message_hashes=wanted, pubsub_topic=OTHER_TOPIC, forward=True)
    )
    assert by_hash == [messages[41].hash]


async def test_time_range_end_is_inclusive_as_in_nwaku(archive: Archive) -> None:
    """nwaku's drivers match ``timestamp >= start AND timestamp <= end``: js-waku asking for
    [ts(m10), ts(m19)] gets m10..m19, and start == end == ts(m) finds m."""
    messages = [make(i) for i in range(30)]
    await archive.insert(messages)
    for forward in (True, False):
        window, _ = await _all(
            archive,
            StoreQuery(
                time_start=messages[10].timestamp,
                time_end=messages[19].timestamp,
                forward=forward,
                limit=4,
            ),
        )
        assert window == [m.hash for m in messages[10:20]]
    at = messages[7].timestamp
    exact, _ = await _all(archive, StoreQuery(time_start=at, time_end=at, forward=True))
    assert exact == [messages[7].hash]
    # With content filters too, as js-waku sends them.
    exact, _ = await _all(
        archive,
        StoreQuery(
            pubsub_topic=TOPIC, content_topics=("/app/1/a/proto",), time_start=at, time_end=at
        ),
    )
    assert exact == [messages[7].hash]
    assert (await archive.query(StoreQuery(time_start=at + 1, time_end=at)))[0] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_archive_from_schema_1_migrates_and_keeps_its_messages(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 2 re-keys the content-topic index by content topic first, for queries that
    name no pubsub topic; an archive written under version 1 opens and answers as before."""
    messages = [make(i, content=f"/app/1/{i % 3}/proto") for i in range(12)]
    with monkeypatch.context() as early:
        early.setattr(migrations, "SQLITE", migrations.SQLITE[:1])
        early.setattr(migrations, "POSTGRES", migrations.POSTGRES[:1])
        async with open_backend(backend, tmp_path) as old:
            await old.insert(messages)
            await old.close()
            early.undo()
            await old.open()  # the same database, now brought to the latest schema
            assert await old.count() == 12
            found, _ = await _all(old, StoreQuery(content_topics=("/app/1/1/proto",)))
            wanted = [m for m in messages if m.message.content_topic == "/app/1/1/proto"]
            assert found == [m.hash for m in wanted]


async def test_unknown_cursor(archive: Archive) -> None:
    await archive.insert([make(0)])
    with pytest.raises(CursorNotFound):
        await archive.query(StoreQuery(cursor=b"\x01" * 32))


async def test_retention_policies(archive: Archive) -> None:
    await archive.insert([make(i) for i in range(100)])
    now = BASE + 100 * 10**6
    removed = await archive.apply_retention(RetentionPolicy(max_messages=60), now)
    assert removed == 40 and await archive.count() == 60
    oldest, _ = await archive.query(StoreQuery(forward=True, limit=1))
    assert oldest[0].hash == make(40).hash
    removed = await archive.apply_retention(
        RetentionPolicy.parse("time:0.05".replace("0.05", "1")), now + 10**9 // 2
    )
    assert await archive.count() == 60 - removed
    removed = await archive.apply_retention(RetentionPolicy(max_bytes=1), now)
    assert removed > 0


def test_retention_policy_spellings() -> None:
    assert RetentionPolicy.parse("time:86400").max_age_seconds == 86400
    assert RetentionPolicy.parse("capacity:25000").max_messages == 25000
    assert RetentionPolicy.parse("size:2GB").max_bytes == 2 * 1024**3
    assert RetentionPolicy.parse("size:500mb").max_bytes == 500 * 1024**2
    for bad in ("", "time:", "time:-1", "capacity:x", "size:lots", "age:5"):
        with pytest.raises(ConfigError, match="retention"):
            RetentionPolicy.parse(bad)


async def test_sqlite_reopens_without_migrating_again_and_refuses_newer_schemas(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.sqlite3"
    first = SqliteArchive(path)
    await first.open()
    await first.insert([make(1)])
    await first.close()
    again = SqliteArchive(path)
    await again.open()
    assert await again.count() == 1
    assert again._db is not None
    await again._db.execute("INSERT INTO schema_version (version) VALUES (99)")
    await again.close()
    newer = SqliteArchive(path)
    with pytest.raises(MigrationError):
        await newer.open()
    await newer.close()


async def test_a_cancellation_during_commit_stays_a_cancellation(tmp_path: Path) -> None:
    """Cancelled while aiosqlite's thread runs the COMMIT: the COMMIT ends the transaction,
    and the ROLLBACK that follows must not turn the cancellation into an archive error (a
    writer that swallowed it would never stop)."""
    archive = SqliteArchive(tmp_path / "archive.sqlite3")
    await archive.open()
    connection = archive._conn
    execute = connection.execute

    def commit_then_cancel(sql: str, *args: object) -> object:
        if sql != "COMMIT":
            return execute(sql, *args)

        async def run() -> object:
            await execute(sql, *args)
            raise asyncio.CancelledError

        return run()

    connection.execute = commit_then_cancel  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(asyncio.CancelledError):
            await archive.insert([make(1)])
        connection.execute = execute  # type: ignore[method-assign]
        assert await archive.count() == 1  # the COMMIT went through; the archive still works
        assert await archive.insert([make(2)]) == 1
    finally:
        connection.execute = execute  # type: ignore[method-assign]
        await archive.close()
