"""The group-committing writer: acknowledgement after commit, retries, bounded queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import REGISTRY

from pystatus.archive.base import ArchivedMessage
from pystatus.archive.errors import ArchiveUnavailable
from pystatus.archive.sqlite import SqliteArchive
from pystatus.archive.writer import ArchiveWriter
from tests.archive.test_archive import make
from tests.p2p.hosts import within


class FlakyArchive(SqliteArchive):
    """Fails its first ``failures`` writes, as a lost connection or a full disk would."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures
        self.batches: list[int] = []

    async def insert(self, messages: list[ArchivedMessage]) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise ArchiveUnavailable("database connection lost")
        self.batches.append(len(messages))
        return await super().insert(messages)


def _write_errors() -> float:
    return REGISTRY.get_sample_value("waku_archive_errors_total", {"operation": "write"}) or 0.0


async def test_concurrent_stores_share_commits_and_all_land(tmp_path: Path) -> None:
    archive = FlakyArchive(tmp_path / "a.sqlite3", failures=0)
    await archive.open()
    writer = ArchiveWriter(archive)
    writer.start()
    try:
        await within(asyncio.gather(*(writer.store(make(i)) for i in range(500))))
        assert await archive.count() == 500
        assert len(archive.batches) < 500  # group commit, not one transaction per message
    finally:
        await writer.stop()
        await archive.close()


async def test_failed_writes_are_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    archive = FlakyArchive(tmp_path / "a.sqlite3", failures=3)
    await archive.open()
    writer = ArchiveWriter(archive)
    writer.start()
    before = _write_errors()
    try:
        await within(asyncio.gather(*(writer.store(make(i)) for i in range(50))), 30)
        assert await archive.count() == 50
        assert _write_errors() == before + 3
    finally:
        await writer.stop()
        await archive.close()


async def test_full_queue_refuses_submissions_and_counts_them(tmp_path: Path) -> None:
    archive = FlakyArchive(tmp_path / "a.sqlite3", failures=0)
    await archive.open()
    writer = ArchiveWriter(archive, max_pending=10)  # not started: nothing drains
    try:
        accepted = [writer.submit(make(i)) for i in range(15)]
        assert accepted == [True] * 10 + [False] * 5
        await writer.stop()
        writer.start()
        await writer.stop()  # stopping commits what was queued
        assert await archive.count() == 10
    finally:
        await archive.close()
