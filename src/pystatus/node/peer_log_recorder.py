"""The connection log's asyncio adapter: feeds the host's connection and identify events into
:class:`~pystatus.node.peer_log.PeerLog` (peer ids hashed with the data dir's salt first) and
hands its rows to :class:`~pystatus.node.peer_log_writer.PeerLogWriter` when its deadline
comes (every :data:`~pystatus.node.peer_log.FLUSH_INTERVAL` seconds while there is activity).
The writer's thread prepares the rows (the core hands them over unprepared), upserts them
into :class:`~pystatus.node.peer_log_store.PeerLogStore` and prunes past the retention off
the event loop: a flush of thousands of rows no longer stalls relay. A last flush runs on
stop, which waits until the writer has written it and ended.

A killed process (SIGKILL, power cut) loses what was queued since the last flush: at most one
interval of sightings, and what the writer had not written yet. A failed write is logged and
counted (``pystatus_peer_log_write_errors_total``) and its rows dropped
(``pystatus_peer_log_dropped_total{reason="write_failed"}``), and so are rows past the
writer's bounded queue (``reason="writer_behind"``): a full or slow disk must not stop the
node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from pystatus.node.peer_log import FLUSH_INTERVAL, HandOver, PeerDay, PeerLog, day_of, peer_hash
from pystatus.node.peer_log_store import RETENTION_DAYS, SALT_FILE, load_salt
from pystatus.node.peer_log_writer import MAX_QUEUED_ROWS, PeerLogWriter
from pystatus.p2p.connection import Connection
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IdentifyInfo
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.tasks import TaskSet


class PeerLogRecorder:
    """Records ``host``'s peers in the log at ``path`` (salt in :data:`SALT_FILE` beside it).
    ``clock`` is monotonic seconds, ``wall_clock`` Unix seconds."""

    def __init__(
        self,
        host: Host,
        path: Path,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        retention_days: int = RETENTION_DAYS,
        max_queued_rows: int = MAX_QUEUED_ROWS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.path = path
        self.retention_days = retention_days
        self.max_queued_rows = max_queued_rows
        self.core = PeerLog(flush_interval=flush_interval)
        self._clock = clock
        self._wall = wall_clock
        self._salt: bytes | None = None
        self._writer: PeerLogWriter | None = None
        self._tasks = TaskSet("peer log")
        self._wake = asyncio.Event()
        self._listening = False

    def start(self) -> None:
        """Open the log (in the writer's thread, waited for) and its salt (created on first
        use) and follow the host's connections. Raises :class:`PeerLogError` when either
        cannot be opened."""
        self._salt = load_salt(self.path.with_name(SALT_FILE), create=True)
        writer = PeerLogWriter(
            self.path, retention_days=self.retention_days, max_queued_rows=self.max_queued_rows
        )
        writer.start()
        self._writer = writer
        if not self._listening:
            # The host keeps its listeners for its lifetime; after stop() they do nothing.
            self.host.on_connected(self._on_connected)
            self.host.on_disconnected(self._on_disconnected)
            self.host.on_identified(self._on_identified)
            self._listening = True
        for connection in self.host.connections():
            self._on_connected(connection)
        self._tasks.spawn(self._loop(), name="peer log")

    async def stop(self) -> None:
        """Stop the loop, hand over what is queued (connected peers seen now), and wait in a
        worker thread until the writer has written everything and closed the log."""
        await self._tasks.cancel_all()
        writer = self._writer
        if writer is not None:
            self._write(self.core.hand_over(wall=self._wall()))
            await writer.aclose()
        self._writer = None
        self._salt = None

    def flush(self) -> None:
        """Hand the queued rows to the writer now (connected peers seen now); they are
        written in its thread (:meth:`written` waits for that)."""
        if self._writer is not None:
            self._write(self.core.hand_over(wall=self._wall()))

    async def written(self) -> None:
        """Until the writer has written every row handed to it so far."""
        if self._writer is not None:
            await self._writer.written()

    # -- host events --------------------------------------------------------------------------

    def _hash(self, peer: PeerId) -> bytes | None:
        return None if self._salt is None else peer_hash(self._salt, peer)

    def _on_connected(self, connection: Connection) -> None:
        hashed = self._hash(connection.remote_peer)
        if hashed is not None:
            self.core.connected(hashed, wall=self._wall(), now=self._clock())
            self._wake.set()

    def _on_disconnected(self, connection: Connection) -> None:
        hashed = self._hash(connection.remote_peer)
        if hashed is not None:
            self.core.disconnected(hashed, wall=self._wall(), now=self._clock())
            self._wake.set()

    def _on_identified(self, peer: PeerId, info: IdentifyInfo) -> None:
        hashed = self._hash(peer)
        if hashed is not None:
            agent = info.agent_version or ""
            self.core.identified(
                hashed, info.protocols, agent, wall=self._wall(), now=self._clock()
            )
            self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            handed = self.core.timer_hand_over(now=now, wall=self._wall())
            if handed is not None:
                self._write(handed)
            deadline = self.core.next_deadline()
            if deadline is None:
                # Nothing queued and nobody connected: sleep until the next event.
                await self._wake.wait()
            else:
                await asyncio.sleep(max(0.0, deadline - self._clock()))

    def _write(self, rows: list[PeerDay] | HandOver) -> None:
        # Queued without waiting: the writer's thread prepares the rows, writes and prunes.
        if self._writer is not None:
            self._writer.submit(rows, today=day_of(self._wall()))
