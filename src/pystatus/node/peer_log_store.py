"""The connection log on disk: ``<data dir>/peer_log.sqlite3`` and the salt its peer ids are
hashed with, ``<data dir>/peer_log.salt``.

The database holds one table, ``peer_days``: one row per (salted peer hash, UTC day) with
first and last sighting (wall-clock Unix seconds), connections opened, protocols (a JSON
list) and identify agent; see :mod:`pystatus.node.peer_log`. A flush upserts rows (earliest
first sighting, latest last one, connections added) in one transaction, so the table grows by
the peers active each day, not by connections. A day takes new peers only while it holds fewer
than :data:`MAX_PEERS_PER_DAY`; the rest are counted in
``pystatus_peer_log_dropped_total{reason="day_full"}``. Rows older than the retention (400
days) are deleted a bounded batch at a time after each flush (``pystatus_peer_log_pruned_total``).
The schema version is ``PRAGMA user_version``; each migration step runs in its own transaction.

The salt is 32 random bytes written once as hex, 0600, beside the database but in a file of its
own: the database alone can be handed over for analysis without letting anyone test a guessed
peer id against it. Its value is registered with the log redaction filter and never printed.

Files are created 0600; the database runs in WAL mode, so ``pystatus report`` reads it while
the node writes. The node writes from a thread of its own, which opens, uses and closes its
:class:`PeerLogStore` (:mod:`pystatus.node.peer_log_writer`), never on the event loop.
Every ``sqlite3`` and ``OSError`` becomes :class:`PeerLogError`, whose text
names the path and never a salt.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from prometheus_client import Counter, Gauge

from pystatus import redaction
from pystatus.errors import NodeError
from pystatus.node.peer_log import DROPPED, SALT_SIZE, PeerDay

PEER_LOG_FILE = "peer_log.sqlite3"
SALT_FILE = "peer_log.salt"
RETENTION_DAYS = 400
PRUNE_BATCH = 10_000
"""Rows deleted per flush at most: one flush never stalls the node on a large backlog."""
MAX_PEERS_PER_DAY = 50_000
"""Distinct peers recorded per day at most (plus one flush's worth): the table stays bounded
by retention times this, even against a flood of fresh peer ids."""
SCHEMA_VERSION = 1

ROWS_WRITTEN = Counter("pystatus_peer_log_rows_written", "(peer, day) rows upserted")
PRUNED = Counter("pystatus_peer_log_pruned", "(peer, day) rows deleted past the retention")
WRITE_ERRORS = Counter("pystatus_peer_log_write_errors", "Flushes of the peer log that failed")
DAYS_KEPT = Gauge("pystatus_peer_log_oldest_day", "Oldest UTC day (days since 1970) kept")


class PeerLogError(NodeError):
    """The connection log's database or salt cannot be opened, read or written."""


def _to_1(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE peer_days ("
        " peer_hash BLOB NOT NULL,"
        " day INTEGER NOT NULL,"
        " first_seen REAL NOT NULL,"
        " last_seen REAL NOT NULL,"
        " connections INTEGER NOT NULL,"
        " protocols TEXT NOT NULL,"
        " agent TEXT NOT NULL,"
        " UNIQUE (peer_hash, day))"
    )
    db.execute("CREATE INDEX peer_days_day ON peer_days (day)")


STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_1}

_UPSERT = (
    "INSERT INTO peer_days (peer_hash, day, first_seen, last_seen, connections, protocols, agent)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (peer_hash, day) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen),"
    " connections = connections + excluded.connections,"
    " protocols = CASE WHEN excluded.protocols = '[]' THEN protocols"
    " ELSE excluded.protocols END,"
    " agent = CASE WHEN excluded.agent = '' THEN agent ELSE excluded.agent END"
)


_UPDATE = (
    "UPDATE peer_days SET"
    " first_seen = min(first_seen, ?1),"
    " last_seen = max(last_seen, ?2),"
    " connections = connections + ?3,"
    " protocols = CASE WHEN ?4 = '[]' THEN protocols ELSE ?4 END,"
    " agent = CASE WHEN ?5 = '' THEN agent ELSE ?5 END"
    " WHERE peer_hash = ?6 AND day = ?7"
)


def _values(row: PeerDay) -> tuple[bytes, int, float, float, int, str, str]:
    """A row's columns in table order."""
    return (
        row.peer_hash,
        row.day,
        row.first_seen,
        row.last_seen,
        row.connections,
        json.dumps(list(row.protocols)),
        row.agent,
    )


def _private_file(path: Path) -> None:
    # Created 0600 before SQLite opens it: who talks to this node is nobody else's business.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class PeerLogStore:
    """The ``peer_days`` table in one SQLite file. ``readonly`` opens an existing log for a
    report (raises :class:`PeerLogError` when there is none); ``max_peers_per_day`` bounds
    each day's rows. Use from one thread."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        max_peers_per_day: int = MAX_PEERS_PER_DAY,
    ) -> None:
        self.path = path
        self.max_peers_per_day = max_peers_per_day
        try:
            if readonly:
                if not path.is_file():
                    raise PeerLogError(
                        f"no peer log at {path} (a relay or store node with a data dir keeps "
                        "one unless --peer-log=false)"
                    )
                self._db = sqlite3.connect(
                    f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                _private_file(path)
                self._db = sqlite3.connect(path, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                # A flush that returned survives the process being killed; a power cut may
                # lose the last ones (WAL with NORMAL), which costs minutes of a report.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate(readonly)
        except sqlite3.Error as exc:
            raise PeerLogError(f"peer log {path}: {exc}") from None
        except OSError as exc:
            raise PeerLogError(f"peer log {path}: {exc.strerror or exc}") from None

    def _migrate(self, readonly: bool) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise PeerLogError(
                f"peer log {self.path} has schema version {version}; this pystatus knows up "
                f"to {SCHEMA_VERSION}"
            )
        if readonly:
            if version != SCHEMA_VERSION:
                raise PeerLogError(f"{self.path} is not a peer log of this pystatus")
            return
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                STEPS[target](self._db)
                self._db.execute(f"PRAGMA user_version={target}")

    def write(self, rows: Sequence[PeerDay]) -> int:
        """Upsert ``rows`` in one transaction (see the module). A day holding
        ``max_peers_per_day`` peers already takes updates of its peers only: new ones are
        dropped, counted, and their number returned."""
        by_day: dict[int, list[PeerDay]] = {}
        for row in rows:
            by_day.setdefault(row.day, []).append(row)
        dropped = 0
        try:
            with self._transaction():
                for day, found in by_day.items():
                    (held,) = self._db.execute(
                        "SELECT COUNT(*) FROM peer_days WHERE day = ?", (day,)
                    ).fetchone()
                    if int(held) < self.max_peers_per_day:
                        self._db.executemany(_UPSERT, [_values(r) for r in found])
                        continue
                    for row in found:
                        values = _values(row)
                        updated = self._db.execute(_UPDATE, (*values[2:], *values[:2]))
                        dropped += updated.rowcount == 0
        except sqlite3.Error as exc:
            raise PeerLogError(f"peer log {self.path}: {exc}") from None
        ROWS_WRITTEN.inc(len(rows) - dropped)
        DROPPED.labels("day_full").inc(dropped)
        return dropped

    def prune(self, today: int, *, retention_days: int = RETENTION_DAYS) -> int:
        """Delete up to :data:`PRUNE_BATCH` rows of days before the last ``retention_days``
        ending ``today``; returns how many."""
        oldest = today - retention_days + 1
        try:
            deleted = self._db.execute(
                "DELETE FROM peer_days WHERE rowid IN"
                " (SELECT rowid FROM peer_days WHERE day < ? LIMIT ?)",
                (oldest, PRUNE_BATCH),
            ).rowcount
        except sqlite3.Error as exc:
            raise PeerLogError(f"peer log {self.path}: {exc}") from None
        PRUNED.inc(max(deleted, 0))
        DAYS_KEPT.set(oldest)
        return max(deleted, 0)

    def activity(self, first_day: int, last_day: int) -> list[tuple[int, bytes]]:
        """(day, peer hash) of every row from ``first_day`` to ``last_day`` inclusive."""
        try:
            rows = self._db.execute(
                "SELECT day, peer_hash FROM peer_days WHERE day BETWEEN ? AND ?",
                (first_day, last_day),
            ).fetchall()
        except sqlite3.Error as exc:
            raise PeerLogError(f"peer log {self.path}: {exc}") from None
        return [(int(day), bytes(peer)) for day, peer in rows]

    def rows(self) -> list[PeerDay]:
        """Every row, by day then first sighting (for tests and inspection)."""
        try:
            found = self._db.execute(
                "SELECT peer_hash, day, first_seen, last_seen, connections, protocols, agent"
                " FROM peer_days ORDER BY day, first_seen"
            ).fetchall()
        except sqlite3.Error as exc:
            raise PeerLogError(f"peer log {self.path}: {exc}") from None
        return [
            PeerDay(
                peer_hash=bytes(r[0]),
                day=int(r[1]),
                first_seen=float(r[2]),
                last_seen=float(r[3]),
                connections=int(r[4]),
                protocols=tuple(str(p) for p in json.loads(r[5])),
                agent=str(r[6]),
            )
            for r in found
        ]

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def load_salt(path: Path, *, create: bool = False) -> bytes:
    """The salt kept in ``path`` (64 hex characters), created first when ``create`` and the
    file is missing (32 random bytes, 0600, written and fsynced before use). Raises
    :class:`PeerLogError` when it cannot be read or created, or does not hold a salt."""
    if create and not path.exists():
        _create_salt(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise PeerLogError(
            f"no salt at {path}: the peer ids of this log cannot be matched"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise PeerLogError(f"salt {path}: {reason or exc}") from None
    try:
        salt = bytes.fromhex(text)
    except ValueError:
        salt = b""
    if len(salt) != SALT_SIZE:
        raise PeerLogError(f"{path} does not hold a salt of {SALT_SIZE} bytes in hex")
    redaction.register_secret(salt)
    return salt


def _create_salt(path: Path) -> None:
    # Written whole to a file of our own, then linked into place: a process killed half-way
    # leaves no half-written salt, and of two processes racing the first link wins.
    text = secrets.token_bytes(SALT_SIZE).hex()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (text + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as exc:
        raise PeerLogError(f"salt {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
