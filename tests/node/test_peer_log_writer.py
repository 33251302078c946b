"""The connection log writes off the event loop: a flush of thousands of rows leaves the loop
responsive (a loop-lag probe runs meanwhile) and the rows land; the writer's queue is bounded,
its drops and failed writes counted, and a clean stop writes every accepted row and ends the
thread."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from pystatus.node.peer_log import PeerDay
from pystatus.node.peer_log_recorder import PeerLogRecorder
from pystatus.node.peer_log_store import PEER_LOG_FILE, PeerLogError, PeerLogStore
from pystatus.node.peer_log_writer import PeerLogWriter
from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.host import Host

BIG_FLUSH = 10_000
"""Rows of one large flush: a full queue (MAX_PENDING), about 0.5-1 s of SQLite work."""
DEADLINE = 60.0
"""Seconds a write may take on a loaded machine before the test counts it as hung."""


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _row(index: int, day: int = 20_000) -> PeerDay:
    return PeerDay(
        peer_hash=index.to_bytes(32, "big"),
        day=day,
        first_seen=day * 86400.0 + 1,
        last_seen=day * 86400.0 + 2,
        connections=1,
        protocols=("/vac/waku/relay/2.0.0",),
        agent="test",
    )


def _count(path: Path) -> int:
    """Rows in the log, read on a connection of the calling thread's own."""
    db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM peer_days").fetchone()[0])
    finally:
        db.close()


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "peer log writer"]


async def test_a_large_flush_leaves_the_event_loop_responsive(tmp_path: Path) -> None:
    """About 1 s of CPU (SQLite upserts of 10,000 rows).

    A probe sleeps 5 ms at a time and notes each wake-up. What is measured is the rows'
    preparation and write after flush() returned. Written on the loop, it was done by then
    (no wake-up while it ran); off it, the loop keeps waking while the rows go in, each time
    on time but for GIL switches and the machine's other load."""
    path = tmp_path / PEER_LOG_FILE
    host = Host(HostConfig(identity=Secp256k1PrivateKey.generate()))
    recorder = PeerLogRecorder(host, path)
    recorder.start()
    try:
        wall, now = time.time(), time.monotonic()
        for index in range(BIG_FLUSH):
            recorder.core.connected(index.to_bytes(32, "big"), wall=wall, now=now)
        wakes: list[tuple[float, float]] = []  # (asleep at, awake at), monotonic seconds
        ticking = True

        async def probe() -> None:
            while ticking:
                before = time.monotonic()
                await asyncio.sleep(0.005)
                wakes.append((before, time.monotonic()))

        # The set-up's 20,000 objects owe the collector a full pass (75-230 ms here), which
        # would fall on whichever thread allocates next and stall every thread alike (it
        # holds the GIL), wherever the rows are prepared: paid before the window, not in it.
        gc.collect()
        prober = asyncio.get_running_loop().create_task(probe())
        await asyncio.sleep(0.02)
        recorder.flush()
        handed = time.monotonic()
        async with asyncio.timeout(DEADLINE):
            while await asyncio.to_thread(_count, path) < BIG_FLUSH:
                await asyncio.sleep(0.01)
        landed = time.monotonic()
        ticking = False
        await prober
        during = [(a, b) for a, b in wakes if a >= handed and b <= landed]
        took = landed - handed
        assert len(during) >= 5, f"the loop woke {len(during)} times in a {took:.3f} s write"
        worst = max(b - a - 0.005 for a, b in during)
        assert worst < took / 3, f"the loop stalled {worst:.3f} s in a {took:.3f} s write"
    finally:
        await recorder.stop()
    assert not _writer_threads()


async def test_a_flush_of_ten_thousand_connected_peers_prepares_no_rows_on_the_loop(
    tmp_path: Path,
) -> None:
    """About 1 s of CPU (10,000 rows written in the writer's thread).

    The flush itself, on the loop, only hands the queue over: it costs the loop's thread
    under 5 ms of CPU (time.thread_time, so other load on the machine does not count; about
    0.4 ms measured) where preparing the 10,000 rows there took about 25 ms of its CPU (75-90
    ms of wall time on a loaded machine). Every row still lands."""
    path = tmp_path / PEER_LOG_FILE
    host = Host(HostConfig(identity=Secp256k1PrivateKey.generate()))
    recorder = PeerLogRecorder(host, path)
    recorder.start()
    try:
        wall, now = time.time(), time.monotonic()
        for index in range(BIG_FLUSH):
            recorder.core.connected(index.to_bytes(32, "big"), wall=wall, now=now)
            recorder.core.identified(
                index.to_bytes(32, "big"), ["/vac/waku/relay/2.0.0"], "test", wall=wall, now=now
            )
        before = time.thread_time()
        recorder.flush()
        spent = time.thread_time() - before
        async with asyncio.timeout(DEADLINE):
            await recorder.written()
        assert await asyncio.to_thread(_count, path) == BIG_FLUSH
        assert spent < 0.005, f"the flush took {spent * 1000:.1f} ms of the loop's CPU"
    finally:
        await recorder.stop()
    assert not _writer_threads()


async def test_stop_writes_every_accepted_row_and_ends_the_thread(tmp_path: Path) -> None:
    path = tmp_path / PEER_LOG_FILE
    host = Host(HostConfig(identity=Secp256k1PrivateKey.generate()))
    recorder = PeerLogRecorder(host, path)
    recorder.start()
    assert len(_writer_threads()) == 1
    wall, now = time.time(), time.monotonic()
    for index in range(3_000):
        recorder.core.connected(index.to_bytes(32, "big"), wall=wall, now=now)
    recorder.flush()  # handed over, probably not written yet
    for index in range(3_000, 3_500):  # and some still queued in the core at stop
        recorder.core.connected(index.to_bytes(32, "big"), wall=wall, now=now)
    await asyncio.wait_for(recorder.stop(), DEADLINE)
    assert not _writer_threads()
    assert await asyncio.to_thread(_count, path) == 3_500
    assert recorder.core.pending == 0


class _GatedStore(PeerLogStore):
    """A store whose writes wait for ``gate`` (a disk that cannot keep up), and whose first
    ``failures`` writes fail."""

    def __init__(self, path: Path, gate: threading.Event, failures: int = 0) -> None:
        super().__init__(path)
        self.gate = gate
        self.failures = failures

    def write(self, rows: list[PeerDay]) -> int:  # type: ignore[override]
        self.gate.wait(DEADLINE)
        if self.failures:
            self.failures -= 1
            raise PeerLogError("peer log: disk I/O error (test)")
        return super().write(rows)


async def test_the_write_queue_is_bounded_and_drops_are_counted(tmp_path: Path) -> None:
    gate = threading.Event()
    path = tmp_path / PEER_LOG_FILE
    writer = PeerLogWriter(path, max_queued_rows=100, open_store=lambda p: _GatedStore(p, gate))
    writer.start()
    behind = _metric("pystatus_peer_log_dropped_total", reason="writer_behind")
    try:
        today = 20_000  # the rows' day: none past the retention
        assert writer.submit([_row(i) for i in range(60)], today=today) == 0
        assert writer.submit([_row(i) for i in range(60, 120)], today=today) == 20
        assert writer.submit([_row(i) for i in range(120, 130)], today=today) == 10
        assert writer.queued_rows == 100
        assert _metric("pystatus_peer_log_write_queue") == 100
        assert _metric("pystatus_peer_log_dropped_total", reason="writer_behind") == behind + 30
    finally:
        gate.set()
        await asyncio.wait_for(writer.aclose(), DEADLINE)
    assert await asyncio.to_thread(_count, path) == 100
    assert writer.queued_rows == 0
    assert writer.submit([_row(1)], today=0) == 1, "a closed writer takes nothing"


async def test_a_failed_write_is_counted_and_the_writer_carries_on(tmp_path: Path) -> None:
    gate = threading.Event()
    gate.set()
    path = tmp_path / PEER_LOG_FILE
    writer = PeerLogWriter(path, open_store=lambda p: _GatedStore(p, gate, failures=1))
    writer.start()
    errors = _metric("pystatus_peer_log_write_errors_total")
    failed = _metric("pystatus_peer_log_dropped_total", reason="write_failed")
    try:
        writer.submit([_row(i) for i in range(5)], today=20_000)
        writer.submit([_row(i) for i in range(5, 8)], today=20_000)
        await asyncio.wait_for(writer.written(), DEADLINE)
        assert _metric("pystatus_peer_log_write_errors_total") == errors + 1
        assert _metric("pystatus_peer_log_dropped_total", reason="write_failed") == failed + 5
        assert writer.running
    finally:
        await asyncio.wait_for(writer.aclose(), DEADLINE)
    assert await asyncio.to_thread(_count, path) == 3


def test_a_log_that_cannot_be_opened_fails_start_and_leaves_no_thread(tmp_path: Path) -> None:
    writer = PeerLogWriter(tmp_path / "missing-dir" / PEER_LOG_FILE)
    with pytest.raises(PeerLogError):
        writer.start()
    assert not _writer_threads()
