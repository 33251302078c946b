"""The peer store kept across restarts: ``<data dir>/peers.sqlite3`` (nwaku's
``--peer-persistence``, ``waku/node/peer_manager/peer_store/waku_peer_storage.nim`` keeps the
same facts in its own SQLite table).

One row per peer: peer id, addresses, signed record (ENR text), origin, protocols, cluster and
shards, when last seen (wall-clock Unix seconds: the only clock that means something after a
restart) and failed dials in a row. The table is bounded: past ``capacity`` rows the least
recently seen are deleted (``pystatus_peer_store_evictions_total``). The file is created 0600
and runs in WAL mode. Every ``sqlite3`` error becomes :class:`PeerStoreError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge

from pystatus.errors import NodeError
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId

PEER_STORE_FILE = "peers.sqlite3"
DEFAULT_CAPACITY = 1000
SCHEMA_VERSION = 1

STORED = Gauge("pystatus_peer_store_peers", "Peers saved in the persistent peer store")
EVICTIONS = Counter(
    "pystatus_peer_store_evictions", "Peers deleted from the persistent peer store when full"
)
BAD_ROWS = Counter("pystatus_peer_store_bad_rows", "Saved peers that could not be read back")


class PeerStoreError(NodeError):
    """The peer store file cannot be opened, read or written."""


@dataclass(frozen=True, slots=True)
class SavedPeer:
    """One row: ``last_seen`` in wall-clock Unix seconds, ``origin`` an
    :class:`~pystatus.node.peer_manager_rules.Origin` value."""

    peer_id: PeerId
    addrs: tuple[Multiaddr, ...]
    enr: str | None
    origin: str
    protocols: tuple[str, ...]
    cluster_id: int | None
    shards: tuple[int, ...]
    last_seen: float
    failures: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS peers (
    peer_id TEXT PRIMARY KEY,
    addrs TEXT NOT NULL,
    enr TEXT,
    origin TEXT NOT NULL,
    protocols TEXT NOT NULL,
    cluster_id INTEGER,
    shards TEXT NOT NULL,
    last_seen REAL NOT NULL,
    failures INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS peers_last_seen ON peers (last_seen);
"""


class PeerStore:
    """The saved peers in one SQLite file. Use from one thread; ``close()`` when done."""

    def __init__(self, path: Path, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise PeerStoreError("the peer store capacity must be at least 1")
        self.path = path
        self.capacity = capacity
        try:
            # Created 0600 before SQLite opens it: peers we talk to are nobody else's business.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise PeerStoreError(f"peer store {path}: {exc}") from None
        STORED.set(len(self))

    def __len__(self) -> int:
        try:
            row = self._db.execute("SELECT COUNT(*) FROM peers").fetchone()
        except sqlite3.Error as exc:
            raise PeerStoreError(f"peer store {self.path}: {exc}") from None
        return int(row[0])

    def save(self, peers: Iterable[SavedPeer]) -> int:
        """Insert or replace ``peers`` in one transaction, then delete the least recently
        seen rows past capacity; returns how many were deleted."""
        rows = [
            (
                str(p.peer_id),
                json.dumps([str(a) for a in p.addrs]),
                p.enr,
                p.origin,
                json.dumps(list(p.protocols)),
                p.cluster_id,
                json.dumps(list(p.shards)),
                p.last_seen,
                p.failures,
            )
            for p in peers
        ]
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO peers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
                evicted = self._db.execute(
                    "DELETE FROM peers WHERE peer_id IN (SELECT peer_id FROM peers "
                    "ORDER BY last_seen DESC LIMIT -1 OFFSET ?)",
                    (self.capacity,),
                ).rowcount
        except sqlite3.Error as exc:
            raise PeerStoreError(f"peer store {self.path}: {exc}") from None
        EVICTIONS.inc(max(evicted, 0))
        STORED.set(len(self))
        return max(evicted, 0)

    def delete(self, peer: PeerId) -> None:
        try:
            self._db.execute("DELETE FROM peers WHERE peer_id = ?", (str(peer),))
        except sqlite3.Error as exc:
            raise PeerStoreError(f"peer store {self.path}: {exc}") from None

    def load(self) -> list[SavedPeer]:
        """Every saved peer, most recently seen first; rows that do not parse are skipped
        and counted (``pystatus_peer_store_bad_rows_total``)."""
        try:
            rows = self._db.execute(
                "SELECT peer_id, addrs, enr, origin, protocols, cluster_id, shards, last_seen, "
                "failures FROM peers ORDER BY last_seen DESC LIMIT ?",
                (self.capacity,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise PeerStoreError(f"peer store {self.path}: {exc}") from None
        saved = []
        for row in rows:
            try:
                saved.append(
                    SavedPeer(
                        peer_id=PeerId.from_string(row[0]),
                        addrs=tuple(Multiaddr.from_string(a) for a in json.loads(row[1])),
                        enr=row[2],
                        origin=str(row[3]),
                        protocols=tuple(str(p) for p in json.loads(row[4])),
                        cluster_id=None if row[5] is None else int(row[5]),
                        shards=tuple(int(s) for s in json.loads(row[6])),
                        last_seen=float(row[7]),
                        failures=int(row[8]),
                    )
                )
            except (P2PError, ValueError, TypeError):
                # A row written by a newer version, or damaged: the peer is lost, not the node.
                BAD_ROWS.inc()
        return saved

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
