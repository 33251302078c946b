"""Nothing acknowledged is lost: kill -9 a store node while it archives ~1,000 msg/s over REST,
restart it, and find every acknowledged message; the database opens clean. SQLite and Postgres."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from pystatus.archive.base import Archive
from pystatus.archive.open import open_archive
from pystatus.archive.postgres import PostgresArchive
from pystatus.archive.sqlite import SqliteArchive
from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store import StoreQuery
from tests.archive.backends import PG_URL, postgres_schema
from tests.p2p.hosts import wait_for, within

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
TOPIC = "/waku/2/rs/1/0"
CONTENT = "/app/1/durable/proto"
RATE = 1000.0
WORKERS = 16


@contextlib.asynccontextmanager
async def _node_process(db_url: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, str]]:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        "--cluster-id=1",
        "--shard=0",
        "--store=true",
        f"--store-message-db-url={db_url}",
        "--rest=true",
        "--rest-port=0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        addr = rest = ""
        async with asyncio.timeout(30):
            while not (addr and rest):
                line = (await process.stdout.readline()).decode()
                assert line, "node exited early"
                if line.startswith("listening on "):
                    addr = line.removeprefix("listening on ").strip()
                elif line.startswith("REST API on "):
                    rest = line.removeprefix("REST API on ").strip()
        yield process, addr, rest
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _publish_until_killed(
    api: str, process: asyncio.subprocess.Process, kill_after: int
) -> list[bytes]:
    """POST paced messages; SIGKILL the node once ``kill_after`` were acknowledged."""
    acknowledged: list[bytes] = []
    counter = iter(range(10**9))
    started = time.perf_counter()
    path = f"/relay/v1/messages/{quote(TOPIC, safe='')}"

    async def worker(client: httpx.AsyncClient) -> None:
        while process.returncode is None:
            index = next(counter)
            # Paced to RATE messages a second across all workers.
            delay = started + index / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            message = WakuMessage(f"durable {index}".encode(), CONTENT, timestamp=time.time_ns())
            body = {
                "payload": base64.b64encode(message.payload).decode(),
                "contentTopic": CONTENT,
                "timestamp": message.timestamp,
            }
            try:
                reply = await client.post(path, json=body)
            except httpx.TransportError:
                return  # the node is gone: this one was never acknowledged
            if reply.status_code == 200:
                acknowledged.append(message_hash(TOPIC, message))
                if len(acknowledged) == kill_after:
                    process.send_signal(signal.SIGKILL)

    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        await within(asyncio.gather(*(worker(client) for _ in range(WORKERS))), 60)
    return acknowledged


async def _missing(archive: Archive, hashes: list[bytes]) -> list[bytes]:
    found: set[bytes] = set()
    for start in range(0, len(hashes), 100):
        chunk = tuple(hashes[start : start + 100])
        entries, _ = await archive.query(StoreQuery(message_hashes=chunk, limit=100))
        found.update(entry.hash for entry in entries)
    return [h for h in hashes if h not in found]


async def _kill_and_check(db_url: str, reopen: Archive) -> None:
    async with _node_process(db_url) as (process, addr, api):
        # A relay peer, so that publishing has somewhere to go and answers 200.
        async with WakuNode(
            NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=1, shards=(0,))
        ) as peer:
            await within(peer.connect(addr))
            await wait_for(lambda: peer.relay is not None and peer.relay.mesh_size(TOPIC) > 0, 15)
            acknowledged = await _publish_until_killed(api, process, kill_after=1500)
        await process.wait()
        assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 1500
    # Restarting the node on the same database works...
    async with (
        _node_process(db_url) as (_, _, api),
        httpx.AsyncClient(base_url=api, timeout=10) as client,
    ):
        assert (await client.get("/health")).status_code == 200
    # ...and every acknowledged message is there.
    await reopen.open()
    try:
        assert await _missing(reopen, acknowledged) == []
        if isinstance(reopen, SqliteArchive):
            assert reopen._db is not None
            async with reopen._db.execute("PRAGMA integrity_check") as cursor:
                assert [tuple(row) for row in await cursor.fetchall()] == [("ok",)]
    finally:
        await reopen.close()


@pytest.mark.slow
async def test_kill_9_loses_nothing_acknowledged_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/durable.sqlite3"
    await _kill_and_check(url, open_archive(url))


@pytest.mark.slow
async def test_kill_9_loses_nothing_acknowledged_postgres() -> None:
    async with postgres_schema() as schema:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        await _kill_and_check(url, PostgresArchive(PG_URL, schema=schema))
