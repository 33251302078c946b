"""Archive benchmark: acknowledged insert rate and store-query latency at a million messages.

The same workload runs on SQLite and on PostgreSQL (when one answers), side by side.
Insert rate is measured through the group-committing writer, each message acknowledged only
after its commit, as the REST API acknowledges. Queries are what Status clients send: a page
of 20 on one content topic within a time range.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.postgres import PostgresArchive
from pystatus.archive.sqlite import SqliteArchive
from pystatus.archive.writer import ArchiveWriter
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import StoreQuery

PG_URL = os.environ.get("PYSTATUS_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
PUBSUB_TOPICS = [f"/waku/2/rs/1/{shard}" for shard in range(8)]
CONTENT_TOPICS = [f"/bench/1/chat-{i}/proto" for i in range(100)]
BASE_NS = 1_700_000_000 * 10**9
SPACING_NS = 10**7  # 100 messages a second of simulated history


@dataclass(frozen=True)
class ArchiveResult:
    backend: str
    messages: int
    acked_msgs_per_s: float
    bulk_msgs_per_s: float
    query_p50_ms: float
    query_p99_ms: float


def _message(index: int) -> ArchivedMessage:
    content = CONTENT_TOPICS[index % len(CONTENT_TOPICS)]
    topic = PUBSUB_TOPICS[index % len(PUBSUB_TOPICS)]
    timestamp = BASE_NS + index * SPACING_NS
    message = WakuMessage(index.to_bytes(8, "big") + bytes(200), content, timestamp=timestamp)
    return ArchivedMessage.of(topic, message, timestamp)


async def _acked_rate(archive: Archive, count: int, producers: int = 2000) -> float:
    writer = ArchiveWriter(archive)
    writer.start()
    pending = iter(range(count))

    async def producer() -> None:
        for index in pending:
            await writer.store(_message(index))

    started = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(producers)))
    elapsed = time.perf_counter() - started
    await writer.stop()
    return count / elapsed


async def _bulk_rate(archive: Archive, start: int, end: int, batch: int = 5000) -> float:
    started = time.perf_counter()
    for low in range(start, end, batch):
        await archive.insert([_message(i) for i in range(low, min(end, low + batch))])
    return (end - start) / (time.perf_counter() - started)


async def _query_latencies(archive: Archive, total: int, samples: int) -> list[float]:
    rng = random.Random(7)
    latencies = []
    for _ in range(samples):
        index = rng.randrange(total)
        content_index = index % len(CONTENT_TOPICS)
        pubsub = PUBSUB_TOPICS[content_index % len(PUBSUB_TOPICS)]
        start = BASE_NS + index * SPACING_NS
        query = StoreQuery(
            pubsub_topic=pubsub,
            content_topics=(CONTENT_TOPICS[content_index],),
            time_start=start,
            time_end=start + 3600 * 10**9,
            forward=rng.random() < 0.5,
            limit=20,
        )
        began = time.perf_counter()
        await archive.query(query)
        latencies.append((time.perf_counter() - began) * 1000)
    return sorted(latencies)


async def _run(name: str, archive: Archive, total: int, samples: int) -> ArchiveResult:
    acked_count = min(100_000, total)
    acked = await _acked_rate(archive, acked_count)
    bulk = await _bulk_rate(archive, acked_count, total)
    latencies = await _query_latencies(archive, total, samples)
    return ArchiveResult(
        name,
        await archive.count(),
        acked,
        bulk,
        statistics.median(latencies),
        latencies[int(0.99 * (len(latencies) - 1))],
    )


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[PostgresArchive | None]:
    try:
        connection = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    schema = f"pystatus_bench_{secrets.token_hex(4)}"
    await connection.execute(f"CREATE SCHEMA {schema}")
    archive = PostgresArchive(PG_URL, schema=schema)
    try:
        await archive.open()
        yield archive
    finally:
        await archive.close()
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        await connection.close()


async def run_archive(total: int = 1_000_000, samples: int = 500) -> list[ArchiveResult]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        sqlite = SqliteArchive(Path(directory) / "bench.sqlite3")
        await sqlite.open()
        try:
            results.append(await _run("SQLite", sqlite, total, samples))
        finally:
            await sqlite.close()
    async with _postgres() as postgres:
        if postgres is not None:
            results.append(await _run("PostgreSQL", postgres, total, samples))
    return results
