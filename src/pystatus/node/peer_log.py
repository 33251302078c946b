"""The connection log's core (sans-IO): "peer X connected, identified with protocols P and
agent A, disconnected" turned into one row per (peer, UTC day), the input of the operator's
user reports (:mod:`pystatus.node.user_report`).

Shapes and clocks:

- A peer is known here only by its *salted hash*, :func:`peer_hash`: HMAC-SHA256 keyed with
  the node's salt over the peer id's bytes (32 bytes). The raw id never enters the log, so no
  row and no report holds one; matching a known id (a test peer to leave out) needs the salt.
- ``wall`` arguments are wall-clock Unix seconds (the only clock that names a day); ``now``
  arguments are monotonic seconds, used only for the flush deadline. The core reads no clock.
- A day is ``floor(wall / 86400)``: days since 1970-01-01, UTC.
- :class:`PeerDay` rows carry first and last sighting that day, connections opened that day,
  the protocols and the agent the peer's identify named (network text: bounded and made
  printable by :func:`clean_agent` and :func:`clean_protocols`).

A peer still connected is *seen* again at every flush, so a connection held across midnight
marks the peer active on both days. Rows wait in a bounded queue (``max_pending`` (peer, day)
pairs, ``pystatus_peer_log_pending``); when it is full a new pair is dropped and counted
(``pystatus_peer_log_dropped_total{reason="queue_full"}``), while pairs already queued keep
being updated. Connected peers are tracked in a table bounded the same way
(``reason="open_table_full"``). :meth:`PeerLog.timer_hand_over` hands the queued rows to the
adapter (:mod:`pystatus.node.peer_log_recorder`) once per ``flush_interval``: whatever is
queued when the process is killed (at most one interval of activity) is lost.

A hand-over is a :class:`HandOver`: the queue itself and a snapshot of the connected peers,
taken in constant time apart from one dict copy (about 1 ms for 10,000 peers). Turning them
into :class:`PeerDay` rows (:meth:`HandOver.rows`, 75-90 ms for 10,000) is left to the
writer's thread (:mod:`pystatus.node.peer_log_writer`), so a flush does not stall the event
loop. The core keeps no reference to what it handed over, and connected peers' entries are
never changed in place, so the thread reads them without a lock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from prometheus_client import Counter, Gauge

from pystatus.p2p.peer_id import PeerId

SECONDS_PER_DAY = 86400
FLUSH_INTERVAL = 60.0
"""Seconds between writes of the queued rows (and re-sightings of connected peers)."""
MAX_PENDING = 10_000
"""(peer, day) pairs queued between two flushes at most."""
MAX_OPEN = 10_000
"""Connected peers tracked at most (well above ``--max-connections``' default of 300)."""
MAX_AGENT_LENGTH = 128
"""Characters of an identify agent string kept (libp2p agents are ~30; the field is free)."""
MAX_PROTOCOLS = 32
"""Protocols kept per row: the first in sorted order (a Waku node names about a dozen)."""
MAX_PROTOCOL_LENGTH = 128
HASH_SIZE = 32
SALT_SIZE = 32

PENDING = Gauge("pystatus_peer_log_pending", "(peer, day) rows waiting to be written")
OPEN = Gauge("pystatus_peer_log_open_peers", "Connected peers the connection log follows")
DROPPED = Counter(
    "pystatus_peer_log_dropped",
    "Sightings the connection log could not keep, by reason",
    ["reason"],
)


def peer_hash(salt: bytes, peer: PeerId) -> bytes:
    """The salted hash a peer is logged under: HMAC-SHA256(``salt``, peer id bytes), 32
    bytes. Without the salt the hash cannot be checked against a guessed peer id."""
    return hmac.new(salt, peer.to_bytes(), hashlib.sha256).digest()


def day_of(wall: float) -> int:
    """The UTC day of wall-clock Unix seconds ``wall``, as days since 1970-01-01."""
    return int(wall // SECONDS_PER_DAY)


def clean_agent(agent: str) -> str:
    """An identify agent string as the log keeps it: non-printable characters (control
    characters, line breaks, lone surrogates) replaced by ``?``, at most
    :data:`MAX_AGENT_LENGTH` characters."""
    kept = agent[: MAX_AGENT_LENGTH * 2]
    printable = "".join(c if c.isprintable() and not _surrogate(c) else "?" for c in kept)
    return printable[:MAX_AGENT_LENGTH]


def clean_protocols(protocols: Iterable[str]) -> tuple[str, ...]:
    """Protocol ids as the log keeps them: printable, non-empty, at most
    :data:`MAX_PROTOCOL_LENGTH` characters (longer ones are left out), sorted, distinct, at
    most :data:`MAX_PROTOCOLS`."""
    kept = {
        p
        for p in protocols
        if 0 < len(p) <= MAX_PROTOCOL_LENGTH
        and p.isprintable()
        and not any(_surrogate(c) for c in p)
    }
    return tuple(sorted(kept)[:MAX_PROTOCOLS])


def _surrogate(character: str) -> bool:
    # A protobuf string decoded leniently may hold lone surrogates, which SQLite cannot store.
    return 0xD800 <= ord(character) <= 0xDFFF


@dataclass(frozen=True, slots=True)
class PeerDay:
    """One peer's activity on one UTC day: ``day`` in days since 1970-01-01, ``first_seen``
    and ``last_seen`` in wall-clock Unix seconds within that day, ``connections`` opened that
    day (0 when only a connection held from an earlier day was seen)."""

    peer_hash: bytes
    day: int
    first_seen: float
    last_seen: float
    connections: int
    protocols: tuple[str, ...]
    agent: str


@dataclass(slots=True)
class _Pending:
    first_seen: float
    last_seen: float
    connections: int = 0
    protocols: tuple[str, ...] = ()
    agent: str = ""


@dataclass(frozen=True, slots=True)
class _Open:
    # Frozen: a hand-over's snapshot shares these with the core (see the module).
    connections: int
    protocols: tuple[str, ...] = ()
    agent: str = ""


@dataclass(frozen=True, slots=True)
class HandOver:
    """Rows handed out by :class:`PeerLog`, not yet prepared: the queued (peer, day) entries
    and the peers connected at ``wall`` (wall-clock Unix seconds), who are seen then.
    :meth:`rows` prepares them, on any thread; ``size`` bounds how many it gives."""

    wall: float
    max_pending: int
    _pending: dict[tuple[bytes, int], _Pending]
    _open: dict[bytes, _Open]

    @property
    def size(self) -> int:
        """At most this many rows: queued entries and connected peers, within the queue's
        bound."""
        return min(self.max_pending, len(self._pending) + len(self._open))

    def rows(self) -> list[PeerDay]:
        """The :class:`PeerDay` rows, connected peers merged in as seen at ``wall``; a
        connected peer with no room left in the queue's bound is dropped and counted
        (``reason="queue_full"``). Call once: it consumes the hand-over."""
        pending, wall, today = self._pending, self.wall, day_of(self.wall)
        rows: list[PeerDay] = []
        room = self.max_pending - len(pending)
        for peer, state in self._open.items():
            entry = pending.get((peer, today))
            if entry is not None:
                _merge(entry, wall, state.protocols, state.agent)
            elif room > 0:
                # Made straight into a row: no queue entry to allocate for a peer only seen.
                room -= 1
                rows.append(PeerDay(peer, today, wall, wall, 0, state.protocols, state.agent))
            else:
                DROPPED.labels("queue_full").inc()
        self._open.clear()
        rows.extend(
            PeerDay(
                peer_hash=peer,
                day=day,
                first_seen=p.first_seen,
                last_seen=p.last_seen,
                connections=p.connections,
                protocols=p.protocols,
                agent=p.agent,
            )
            for (peer, day), p in pending.items()
        )
        pending.clear()
        return rows


@dataclass(slots=True)
class PeerLog:
    """The aggregation from connection events to :class:`PeerDay` rows (see the module)."""

    flush_interval: float = FLUSH_INTERVAL
    max_pending: int = MAX_PENDING
    max_open: int = MAX_OPEN
    _pending: dict[tuple[bytes, int], _Pending] = field(default_factory=dict, init=False)
    _open: dict[bytes, _Open] = field(default_factory=dict, init=False)
    _deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.flush_interval <= 0 or self.max_pending < 1 or self.max_open < 1:
            raise ValueError("the peer log needs a positive interval and room for one peer")

    # -- inputs -------------------------------------------------------------------------------

    def connected(self, peer: bytes, *, wall: float, now: float) -> None:
        """A connection to the peer hashed ``peer`` opened at ``wall``."""
        state = self._open.get(peer)
        if state is not None:
            self._open[peer] = replace(state, connections=state.connections + 1)
        elif len(self._open) < self.max_open:
            self._open[peer] = _Open(connections=1)
        else:
            DROPPED.labels("open_table_full").inc()
        self._see(peer, wall, now, opened=True)
        OPEN.set(len(self._open))

    def identified(
        self, peer: bytes, protocols: Iterable[str], agent: str, *, wall: float, now: float
    ) -> None:
        """The peer's identify named ``protocols`` and ``agent`` (network text, cleaned)."""
        cleaned, name = clean_protocols(protocols), clean_agent(agent)
        state = self._open.get(peer)
        if state is not None:
            self._open[peer] = replace(state, protocols=cleaned, agent=name)
        self._see(peer, wall, now, protocols=cleaned, agent=name)

    def disconnected(self, peer: bytes, *, wall: float, now: float) -> None:
        """One of the peer's connections closed at ``wall``."""
        state = self._open.get(peer)
        protocols, agent = ((), "") if state is None else (state.protocols, state.agent)
        if state is not None:
            if state.connections <= 1:
                del self._open[peer]
                OPEN.set(len(self._open))
            else:
                self._open[peer] = replace(state, connections=state.connections - 1)
        self._see(peer, wall, now, protocols=protocols, agent=agent)

    # -- timers -------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When (monotonic seconds) :meth:`handle_timer` has rows to hand out; None when
        nothing is queued and no peer is connected."""
        return self._deadline

    def handle_timer(self, *, now: float, wall: float) -> list[PeerDay]:
        """:meth:`timer_hand_over`'s rows, prepared here (empty before the deadline)."""
        handed = self.timer_hand_over(now=now, wall=wall)
        return [] if handed is None else handed.rows()

    def timer_hand_over(self, *, now: float, wall: float) -> HandOver | None:
        """At or after the deadline: every queued row, connected peers seen at ``wall``,
        handed out unprepared (None before the deadline). The next deadline is one interval
        on while peers stay connected."""
        if self._deadline is None or now < self._deadline:
            return None
        handed = self.hand_over(wall=wall)
        self._deadline = now + self.flush_interval if self._open else None
        return handed

    def drain(self, *, wall: float) -> list[PeerDay]:
        """:meth:`hand_over`'s rows, prepared here."""
        return self.hand_over(wall=wall).rows()

    def hand_over(self, *, wall: float) -> HandOver:
        """Every queued row now, connected peers seen at ``wall``, unprepared (at a flush,
        and when the node stops). Costs one copy of the connected peers' table."""
        handed = HandOver(wall, self.max_pending, self._pending, dict(self._open))
        self._pending = {}
        PENDING.set(0)
        return handed

    @property
    def pending(self) -> int:
        """(peer, day) rows queued."""
        return len(self._pending)

    @property
    def open_peers(self) -> int:
        """Connected peers followed."""
        return len(self._open)

    # -- internals ----------------------------------------------------------------------------

    def _see(
        self,
        peer: bytes,
        wall: float,
        now: float,
        *,
        opened: bool = False,
        protocols: tuple[str, ...] = (),
        agent: str = "",
    ) -> None:
        key = (peer, day_of(wall))
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                DROPPED.labels("queue_full").inc()
                return
            pending = self._pending[key] = _Pending(first_seen=wall, last_seen=wall)
            PENDING.set(len(self._pending))
        _merge(pending, wall, protocols, agent)
        if opened:
            pending.connections += 1
        if self._deadline is None:
            self._deadline = now + self.flush_interval


def _merge(pending: _Pending, wall: float, protocols: tuple[str, ...], agent: str) -> None:
    pending.first_seen = min(pending.first_seen, wall)
    pending.last_seen = max(pending.last_seen, wall)
    if protocols:
        pending.protocols = protocols
    if agent:
        pending.agent = agent
