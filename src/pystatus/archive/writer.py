"""Group commit: messages queue up while one transaction runs, and go in with the next.

``store()`` returns once its message is durably committed, which is what acknowledgement
means. ``submit()`` is for the relay observer, which cannot wait. A failing database is
retried with back-off; queued messages stay queued until it recovers.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from pystatus.archive import metrics
from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.errors import ArchiveUnavailable

log = logging.getLogger(__name__)

MAX_BATCH = 2000
RETRY_MIN = 0.1
RETRY_MAX = 10.0


class ArchiveWriter:
    def __init__(self, archive: Archive, *, max_pending: int = 200_000) -> None:
        self.archive = archive
        self._max_pending = max_pending
        self._pending: collections.deque[tuple[ArchivedMessage, asyncio.Future[None] | None]] = (
            collections.deque()
        )
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="archive writer")

    async def stop(self) -> None:
        """Commit what is queued (while the database answers), then stop."""
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        if self._pending:
            try:
                await self._commit(MAX_BATCH * 1000)
            except ArchiveUnavailable as exc:
                log.error("%d messages not archived at shutdown: %s", len(self._pending), exc)
                for _, waiter in self._pending:
                    if waiter is not None and not waiter.done():
                        waiter.set_exception(exc)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, message: ArchivedMessage) -> bool:
        """Queue without waiting; False (and counted) when the queue is full."""
        if len(self._pending) >= self._max_pending:
            metrics.DROPPED.inc()
            return False
        self._enqueue(message, None)
        return True

    async def store(self, message: ArchivedMessage) -> None:
        """Queue and wait until the message (or an earlier copy of it) is committed."""
        while len(self._pending) >= self._max_pending:
            self._space.clear()
            await self._space.wait()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(message, waiter)
        await waiter

    def _enqueue(self, message: ArchivedMessage, waiter: asyncio.Future[None] | None) -> None:
        self._pending.append((message, waiter))
        metrics.QUEUE.set(len(self._pending))
        self._wake.set()

    async def _run(self) -> None:
        delay = RETRY_MIN
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                try:
                    await self._commit(MAX_BATCH)
                    delay = RETRY_MIN
                except ArchiveUnavailable as exc:
                    metrics.ERRORS.labels("write").inc()
                    log.warning("archive write failed, retrying in %.1f s: %s", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)

    async def _commit(self, limit: int) -> None:
        batch = [self._pending[i] for i in range(min(limit, len(self._pending)))]
        inserted = await self.archive.insert([message for message, _ in batch])
        for _ in batch:
            self._pending.popleft()
        metrics.QUEUE.set(len(self._pending))
        metrics.INSERTED.inc(inserted)
        self._space.set()
        for _, waiter in batch:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
