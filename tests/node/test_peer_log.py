"""The connection log: the sans-IO core makes one row per (peer, UTC day), a connection held
across midnight counting on both days; its queues are bounded with metrics; network text is
cleaned and bounded (hypothesis); the SQLite file upserts, migrates, prunes past 400 days in
bounded batches and is 0600; the salt is made once, 0600, and no raw peer id reaches the file;
a real node records a real connection with its identify protocols and agent."""

from __future__ import annotations

import datetime
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.peer_log import (
    MAX_AGENT_LENGTH,
    MAX_PROTOCOL_LENGTH,
    MAX_PROTOCOLS,
    PeerDay,
    PeerLog,
    clean_agent,
    day_of,
    peer_hash,
)
from pystatus.node.peer_log_recorder import PeerLogRecorder
from pystatus.node.peer_log_store import (
    PEER_LOG_FILE,
    PRUNE_BATCH,
    SALT_FILE,
    PeerLogError,
    PeerLogStore,
    load_salt,
)
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.peer_id import PeerId
from tests.p2p.hosts import wait_for, within

MIDNIGHT = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC).timestamp()
DAY = day_of(MIDNIGHT)
A, B = b"a" * 32, b"b" * 32


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _peer() -> PeerId:
    return PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


def _rows(rows: list[PeerDay]) -> dict[tuple[bytes, int], PeerDay]:
    return {(r.peer_hash, r.day): r for r in rows}


# -- the core -----------------------------------------------------------------------------------


def test_connections_of_one_day_make_one_row_per_peer() -> None:
    log = PeerLog(flush_interval=60.0)
    assert log.next_deadline() is None
    log.connected(A, wall=MIDNIGHT + 100, now=10.0)
    assert log.next_deadline() == 70.0
    log.identified(A, ["/b", "/a", "/a"], "nwaku/v0.30", wall=MIDNIGHT + 101, now=11.0)
    log.disconnected(A, wall=MIDNIGHT + 200, now=20.0)
    log.connected(A, wall=MIDNIGHT + 300, now=30.0)
    log.disconnected(A, wall=MIDNIGHT + 400, now=40.0)
    log.connected(B, wall=MIDNIGHT + 500, now=50.0)
    assert log.handle_timer(now=69.9, wall=MIDNIGHT + 519) == [], "not before the deadline"
    rows = _rows(log.handle_timer(now=70.0, wall=MIDNIGHT + 520))
    assert rows[(A, DAY)] == PeerDay(
        A, DAY, MIDNIGHT + 100, MIDNIGHT + 400, 2, ("/a", "/b"), "nwaku/v0.30"
    )
    assert rows[(B, DAY)].first_seen == MIDNIGHT + 500
    assert rows[(B, DAY)].last_seen == MIDNIGHT + 520, "a connected peer is seen at the flush"
    assert len(rows) == 2
    assert log.pending == 0
    assert log.next_deadline() == 130.0, "B is still connected: seen again an interval on"


def test_a_connection_held_across_midnight_counts_on_both_days() -> None:
    log = PeerLog(flush_interval=60.0)
    log.connected(A, wall=MIDNIGHT - 30, now=0.0)
    log.identified(A, ["/relay"], "go-waku", wall=MIDNIGHT - 29, now=1.0)
    before = _rows(log.handle_timer(now=60.0, wall=MIDNIGHT + 30))
    assert set(before) == {(A, DAY - 1), (A, DAY)}
    after_midnight = before[(A, DAY)]
    assert after_midnight.connections == 0, "opened the day before"
    assert after_midnight.protocols == ("/relay",) and after_midnight.agent == "go-waku"
    log.disconnected(A, wall=MIDNIGHT + 45, now=75.0)
    rows = _rows(log.handle_timer(now=120.0, wall=MIDNIGHT + 90))
    assert list(rows) == [(A, DAY)] and rows[(A, DAY)].last_seen == MIDNIGHT + 45
    assert log.next_deadline() is None, "nobody connected, nothing queued"
    assert log.open_peers == 0


def test_the_queue_is_bounded_and_drops_are_counted() -> None:
    before = _metric("pystatus_peer_log_dropped_total", reason="queue_full")
    log = PeerLog(max_pending=2, max_open=2)
    for index in range(4):
        log.connected(bytes([index]) * 32, wall=MIDNIGHT + index, now=float(index))
    assert log.pending == 2
    assert _metric("pystatus_peer_log_pending") == 2
    # Only two of the four are followed as connected either.
    assert log.open_peers == 2
    assert _metric("pystatus_peer_log_dropped_total", reason="queue_full") == before + 2
    # A queued pair is still updated when the queue is full.
    log.disconnected(bytes([0]) * 32, wall=MIDNIGHT + 9, now=9.0)
    rows = _rows(log.drain(wall=MIDNIGHT + 10))
    assert rows[(bytes([0]) * 32, DAY)].last_seen == MIDNIGHT + 9


def test_the_salted_hash_depends_on_the_salt() -> None:
    peer = _peer()
    assert peer_hash(b"s" * 32, peer) == peer_hash(b"s" * 32, peer)
    assert peer_hash(b"s" * 32, peer) != peer_hash(b"t" * 32, peer)
    assert len(peer_hash(b"s" * 32, peer)) == 32
    assert peer.to_bytes() not in peer_hash(b"s" * 32, peer)


_EVENT = st.tuples(
    st.sampled_from(["connected", "identified", "disconnected", "timer"]),
    st.sampled_from([A, B]),
    st.floats(min_value=0, max_value=3 * 86400),
    st.lists(st.text(max_size=300), max_size=40),
    st.text(max_size=1000),
)


@settings(max_examples=60)  # each example is up to 40 events of long text: about 1 s in all
@given(st.lists(_EVENT, max_size=40))
def test_any_events_give_bounded_consistent_rows(
    events: list[tuple[str, bytes, float, list[str], str]],
) -> None:
    log = PeerLog(flush_interval=5.0, max_pending=3)
    rows: list[PeerDay] = []
    now = 0.0
    for kind, peer, offset, protocols, agent in events:
        now += 1.0
        wall = MIDNIGHT + offset
        if kind == "connected":
            log.connected(peer, wall=wall, now=now)
        elif kind == "identified":
            log.identified(peer, protocols, agent, wall=wall, now=now)
        elif kind == "disconnected":
            log.disconnected(peer, wall=wall, now=now)
        else:
            rows += log.handle_timer(now=now, wall=wall)
        assert log.pending <= 3
    rows += log.drain(wall=MIDNIGHT)
    for row in rows:
        assert row.first_seen <= row.last_seen
        assert day_of(row.first_seen) == row.day == day_of(row.last_seen)
        assert len(row.agent) <= MAX_AGENT_LENGTH and row.agent.isprintable()
        assert len(row.protocols) <= MAX_PROTOCOLS
        assert all(0 < len(p) <= MAX_PROTOCOL_LENGTH and p.isprintable() for p in row.protocols)
        assert list(row.protocols) == sorted(set(row.protocols))


def test_agent_text_from_the_network_is_cleaned() -> None:
    assert clean_agent("nwaku\n\x1b[31mred\ud800") == "nwaku??[31mred?"
    assert len(clean_agent("x" * 10_000)) == MAX_AGENT_LENGTH


# -- the file -----------------------------------------------------------------------------------


def _row(peer: bytes, day: int, first: float, last: float, connections: int = 1) -> PeerDay:
    return PeerDay(peer, day, first, last, connections, ("/p",), "agent")


def test_flushes_upsert_one_row_per_peer_and_day(tmp_path: Path) -> None:
    path = tmp_path / PEER_LOG_FILE
    store = PeerLogStore(path)
    store.write([_row(A, DAY, 100.0, 200.0), _row(B, DAY, 150.0, 150.0)])
    store.write([PeerDay(A, DAY, 50.0, 120.0, 0, (), ""), _row(A, DAY + 1, 300.0, 300.0)])
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = PeerLogStore(path, readonly=True)
    rows = _rows(reopened.rows())
    assert rows[(A, DAY)] == PeerDay(A, DAY, 50.0, 200.0, 1, ("/p",), "agent"), (
        "earliest first, latest last, connections added, empty protocols and agent keep the old"
    )
    assert len(rows) == 3
    assert sorted(reopened.activity(DAY, DAY)) == sorted([(DAY, A), (DAY, B)])
    reopened.close()


def test_rows_past_the_retention_are_pruned_in_bounded_batches(tmp_path: Path) -> None:
    before = _metric("pystatus_peer_log_pruned_total")
    store = PeerLogStore(tmp_path / PEER_LOG_FILE)
    old = [_row(i.to_bytes(32, "big"), DAY - 400, 1.0, 1.0) for i in range(PRUNE_BATCH + 5)]
    store.write([*old, _row(A, DAY - 399, 2.0, 2.0), _row(B, DAY, 3.0, 3.0)])
    assert store.prune(DAY) == PRUNE_BATCH
    assert store.prune(DAY) == 5
    assert store.prune(DAY) == 0
    assert sorted(store.activity(0, DAY)) == sorted([(DAY - 399, A), (DAY, B)])
    assert _metric("pystatus_peer_log_pruned_total") == before + PRUNE_BATCH + 5
    store.close()


def test_a_newer_schema_and_a_missing_log_are_typed_errors(tmp_path: Path) -> None:
    path = tmp_path / PEER_LOG_FILE
    with pytest.raises(PeerLogError, match="no peer log"):
        PeerLogStore(path, readonly=True)
    PeerLogStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=9")
    db.close()
    with pytest.raises(PeerLogError, match="schema version 9"):
        PeerLogStore(path)
    with pytest.raises(PeerLogError):
        PeerLogStore(tmp_path / "missing-dir" / PEER_LOG_FILE)


def test_the_salt_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / SALT_FILE
    with pytest.raises(PeerLogError, match="no salt"):
        load_salt(path)
    salt = load_salt(path, create=True)
    assert len(salt) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_salt(path, create=True) == salt, "kept across restarts"
    assert [p.name for p in tmp_path.iterdir()] == [SALT_FILE], "no temporary file left"
    path.write_text("not hex\n")
    with pytest.raises(PeerLogError) as caught:
        load_salt(path)
    assert "not hex" not in str(caught.value)


# -- a real node --------------------------------------------------------------------------------


def _log_bytes(directory: Path) -> bytes:
    """Every byte of the log's files (the database, its WAL and shared memory if left)."""
    return b"".join(p.read_bytes() for p in directory.iterdir() if p.name.startswith(PEER_LOG_FILE))


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 16,
        "shards": (32,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


async def test_a_node_records_a_real_connection_under_a_salted_id(tmp_path: Path) -> None:
    path = tmp_path / PEER_LOG_FILE
    async with WakuNode(_config(peer_log_path=path)) as node:
        assert node.peer_log is not None
        async with WakuNode(_config()) as visitor:
            await within(visitor.connect(node.host.full_addrs()[0]))
            visitor_id = visitor.peer_id
            await wait_for(
                lambda: node.peer_log is not None and node.peer_log.core.open_peers == 1,
                10,
                "the connection followed",
            )
            # The peer manager hears identify after the log (it subscribed later).
            await wait_for(
                lambda: bool(getattr(node.peer_manager.book.get(visitor_id), "protocols", ())),
                10,
                "identified",
            )
    salt = load_salt(tmp_path / SALT_FILE)
    store = PeerLogStore(path, readonly=True)
    rows = store.rows()
    store.close()
    assert len(rows) == 1
    row = rows[0]
    assert row.peer_hash == peer_hash(salt, visitor_id)
    assert row.connections == 1
    assert RELAY_PROTOCOL_ID in row.protocols
    assert row.agent.startswith("pystatus")
    assert row.first_seen <= row.last_seen
    # No raw id anywhere in the database's files, in either spelling.
    raw = _log_bytes(tmp_path)
    assert visitor_id.to_bytes() not in raw
    assert str(visitor_id).encode() not in raw
    assert salt not in raw and salt.hex().encode() not in raw


async def test_rows_reach_the_file_within_a_flush_interval_while_the_node_runs(
    tmp_path: Path,
) -> None:
    """What a kill -9 would leave: rows written by the periodic flush, not by stop()."""
    path = tmp_path / PEER_LOG_FILE
    node = WakuNode(_config())
    node.peer_log = PeerLogRecorder(node.host, path, flush_interval=0.1)
    async with node, WakuNode(_config()) as visitor:
        await within(visitor.connect(node.host.full_addrs()[0]))
        await wait_for(lambda: path.exists(), 10, "the log created")
        reader = PeerLogStore(path, readonly=True)
        try:
            await wait_for(lambda: len(reader.rows()) == 1, 10, "a row flushed while running")
            first = reader.rows()[0]
            # Still connected: seen again at later flushes.
            await wait_for(lambda: reader.rows()[0].last_seen > first.last_seen, 10, "seen again")
        finally:
            reader.close()


def test_a_full_day_takes_updates_but_no_new_peers(tmp_path: Path) -> None:
    before = _metric("pystatus_peer_log_dropped_total", reason="day_full")
    store = PeerLogStore(tmp_path / PEER_LOG_FILE, max_peers_per_day=2)
    assert store.write([_row(A, DAY, 10.0, 10.0), _row(B, DAY, 20.0, 20.0)]) == 0
    c, d = b"c" * 32, b"d" * 32
    assert (
        store.write([_row(A, DAY, 5.0, 30.0), _row(c, DAY, 1.0, 1.0), _row(d, DAY + 1, 1.0, 1.0)])
        == 1
    )
    rows = _rows(store.rows())
    assert set(rows) == {(A, DAY), (B, DAY), (d, DAY + 1)}
    assert (rows[(A, DAY)].first_seen, rows[(A, DAY)].last_seen) == (5.0, 30.0)
    assert rows[(A, DAY)].connections == 2
    assert _metric("pystatus_peer_log_dropped_total", reason="day_full") == before + 1
    store.close()
