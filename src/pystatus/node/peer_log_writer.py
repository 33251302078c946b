"""The connection log's writer thread: :class:`~pystatus.node.peer_log_store.PeerLogStore`
writes off the event loop.

A flush of a busy node's log is thousands of upserts (about 150 ms per 2,000 rows), once a
minute: run on the event loop, it stalled relay, pings and every stream of a node with
thousands of peers. Here one thread owns the SQLite connection (``sqlite3`` connections belong
to the thread that made them) from open to close; the loop only hands it batches of rows,
or the core's unprepared :class:`~pystatus.node.peer_log.HandOver`, which the thread turns into
rows (75-90 ms for 10,000, once on the loop) before writing them.

- Pending rows wait in a queue bounded by ``max_queued_rows`` (``pystatus_peer_log_write_queue``
  rows; a hand-over counts as its ``size``, the most rows it can give). A batch that does not
  fit is cut to what fits and the rest dropped and counted
  (``pystatus_peer_log_dropped_total{reason="writer_behind"}``): a disk that cannot keep up
  must not grow the node's memory.
- A failed write is logged, counted (``pystatus_peer_log_write_errors_total``) and its rows
  dropped (``reason="write_failed"``); the thread carries on with the next batch.
- :meth:`PeerLogWriter.close` writes every batch accepted before it, closes the database and
  joins the thread (at most :data:`CLOSE_TIMEOUT` seconds; what is still queued then is logged
  and counted as ``reason="stop_timeout"``). A clean stop loses no accepted row.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Gauge

from pystatus.node.peer_log import DROPPED, MAX_PENDING, HandOver, PeerDay
from pystatus.node.peer_log_store import RETENTION_DAYS, WRITE_ERRORS, PeerLogError, PeerLogStore

log = logging.getLogger(__name__)

MAX_QUEUED_ROWS = 4 * MAX_PENDING
"""Rows waiting for the writer at most: four full flushes."""
OPEN_TIMEOUT = 30.0
"""Seconds :meth:`PeerLogWriter.start` waits for the thread to open the database."""
CLOSE_TIMEOUT = 30.0
"""Seconds :meth:`PeerLogWriter.close` waits for the queued rows to be written."""

QUEUED = Gauge("pystatus_peer_log_write_queue", "Connection log rows waiting for the writer")


@dataclass(frozen=True, slots=True)
class _Batch:
    rows: list[PeerDay] | HandOver
    today: int
    """The UTC day (days since 1970) the rows were handed over: the retention counts from it."""
    size: int
    """Rows reserved in the queue: the batch is cut to this many when it is written."""


class PeerLogWriter:
    """Writes :class:`PeerDay` rows to the log at ``path`` from a thread of its own, then
    prunes days older than ``retention_days`` (see the module). ``submit`` is called from one
    thread (the event loop's); ``open_store`` makes the store in the writer's thread (tests
    give a slow one)."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: int = RETENTION_DAYS,
        max_queued_rows: int = MAX_QUEUED_ROWS,
        open_store: Callable[[Path], PeerLogStore] = PeerLogStore,
    ) -> None:
        if max_queued_rows < 1:
            raise ValueError("the peer log writer needs room for one row")
        self.path = path
        self.retention_days = retention_days
        self.max_queued_rows = max_queued_rows
        self._open_store = open_store
        self._changed = threading.Condition()
        self._batches: collections.deque[_Batch] = collections.deque()
        self._queued_rows = 0
        self._accepted = 0  # batches accepted, ever
        self._done = 0  # batches written (or failed), ever
        self._closing = False
        self._opened = threading.Event()
        self._open_error: PeerLogError | None = None
        self._thread: threading.Thread | None = None

    @property
    def queued_rows(self) -> int:
        """Rows accepted and not written yet."""
        with self._changed:
            return self._queued_rows

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread and wait (at most :data:`OPEN_TIMEOUT` s) until it has opened the
        database. Raises :class:`PeerLogError` when it cannot be opened."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="peer log writer", daemon=True)
        self._thread.start()
        if not self._opened.wait(OPEN_TIMEOUT):
            self._stop_thread()
            raise PeerLogError(f"peer log {self.path}: not opened within {OPEN_TIMEOUT:g} s")
        if self._open_error is not None:
            self._thread.join()
            self._thread = None
            raise self._open_error

    def submit(self, rows: list[PeerDay] | HandOver, *, today: int) -> int:
        """Queue ``rows`` (or a hand-over, prepared in the writer's thread) for writing
        without waiting; returns how many were dropped because the queue is full (or the
        writer closed), counted with their reason. A hand-over that finds some room has what
        does not fit counted when the thread has prepared it (not returned here); one that
        finds none is dropped whole, counted as its ``size``."""
        size = rows.size if isinstance(rows, HandOver) else len(rows)
        if not size:
            return 0
        with self._changed:
            if self._closing or not self.running:
                DROPPED.labels("writer_closed").inc(size)
                return size
            kept = min(size, max(self.max_queued_rows - self._queued_rows, 0))
            if kept:
                self._batches.append(_Batch(rows, today, kept))
                self._queued_rows += kept
                self._accepted += 1
                QUEUED.set(self._queued_rows)
                self._changed.notify_all()
        if isinstance(rows, HandOver) and kept:
            return 0  # any excess is counted when the thread has prepared it
        dropped = size - kept
        if dropped:
            DROPPED.labels("writer_behind").inc(dropped)
            log.warning("peer log writer behind: %d rows dropped", dropped)
        return dropped

    def wait_written(self, timeout: float | None = None) -> bool:
        """Block until every batch accepted so far is written (or has failed); False when
        ``timeout`` seconds passed first. Not for the event loop: see :meth:`written`."""
        with self._changed:
            target = self._accepted
            return self._changed.wait_for(lambda: self._done >= target or not self.running, timeout)

    async def written(self) -> None:
        """Until every batch accepted so far is written (or has failed), waited for in a
        worker thread so the loop keeps running."""
        await asyncio.to_thread(self.wait_written)

    def close(self) -> None:
        """Write what is queued, close the database and join the thread (blocks: from the
        event loop use :meth:`aclose`). Idempotent."""
        self._stop_thread()

    async def aclose(self) -> None:
        """:meth:`close` in a worker thread."""
        await asyncio.to_thread(self.close)

    # -- the thread ---------------------------------------------------------------------------

    def _stop_thread(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        thread.join(CLOSE_TIMEOUT)
        if thread.is_alive():
            with self._changed:
                lost = self._queued_rows
            DROPPED.labels("stop_timeout").inc(lost)
            log.error(
                "peer log %s: writer still busy after %g s at stop; %d queued rows not written",
                self.path,
                CLOSE_TIMEOUT,
                lost,
            )
        self._thread = None

    def _run(self) -> None:
        try:
            store = self._open_store(self.path)
        except PeerLogError as exc:
            self._open_error = exc
            self._opened.set()
            return
        self._opened.set()
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: bool(self._batches) or self._closing)
                    if not self._batches:
                        return  # closing, and everything accepted is written
                    batch = self._batches.popleft()
                self._write(store, batch)
                with self._changed:
                    self._queued_rows -= batch.size
                    self._done += 1
                    QUEUED.set(self._queued_rows)
                    self._changed.notify_all()
        finally:
            store.close()

    def _write(self, store: PeerLogStore, batch: _Batch) -> None:
        rows: list[PeerDay] = []
        try:
            rows = batch.rows.rows() if isinstance(batch.rows, HandOver) else batch.rows
            if len(rows) > batch.size:
                # A hand-over larger than the room it found: the rest is the writer's lag.
                DROPPED.labels("writer_behind").inc(len(rows) - batch.size)
                log.warning("peer log writer behind: %d rows dropped", len(rows) - batch.size)
                rows = rows[: batch.size]
            store.write(rows)
            store.prune(batch.today, retention_days=self.retention_days)
        except PeerLogError as exc:
            self._failed(len(rows), str(exc))
        except Exception as exc:  # never let the thread die: later flushes would pile up
            self._failed(len(rows), f"{type(exc).__name__}: {exc}")

    def _failed(self, count: int, reason: str) -> None:
        WRITE_ERRORS.inc()
        DROPPED.labels("write_failed").inc(count)
        log.warning("peer log not written (%d rows dropped): %s", count, reason)
