"""The persistent peer store: rows round-trip, the file is 0600, the table is bounded by
least recent sighting with a metric, and a damaged row is skipped and counted."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from pystatus.node.peer_store import PeerStore, PeerStoreError, SavedPeer
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId


def _saved(last_seen: float, failures: int = 0) -> SavedPeer:
    peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    return SavedPeer(
        peer_id=peer,
        addrs=(Multiaddr.from_string("/ip4/127.0.0.1/tcp/60001"),),
        enr=None,
        origin="Dns",
        protocols=("/vac/waku/relay/2.0.0",),
        cluster_id=16,
        shards=(32, 64),
        last_seen=last_seen,
        failures=failures,
    )


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_rows_round_trip_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "peers.sqlite3"
    store = PeerStore(path)
    rows = [_saved(100.0, failures=2), _saved(200.0)]
    store.save(rows)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = PeerStore(path)
    assert reopened.load() == [rows[1], rows[0]], "most recently seen first"
    reopened.close()


def test_the_table_is_bounded_least_recently_seen_out(tmp_path: Path) -> None:
    before = _metric("pystatus_peer_store_evictions_total")
    store = PeerStore(tmp_path / "peers.sqlite3", capacity=3)
    rows = [_saved(float(t)) for t in range(5)]
    assert store.save(rows) == 2
    assert [r.last_seen for r in store.load()] == [4.0, 3.0, 2.0]
    assert len(store) == 3
    assert _metric("pystatus_peer_store_evictions_total") == before + 2
    assert _metric("pystatus_peer_store_peers") == 3
    store.close()


def test_a_damaged_row_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "peers.sqlite3"
    store = PeerStore(path)
    good = _saved(5.0)
    store.save([good])
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO peers VALUES ('not a peer id', '[]', NULL, 'Dns', '[]', NULL, '[]', 1, 0)"
    )
    db.commit()
    db.close()
    before = _metric("pystatus_peer_store_bad_rows_total")
    assert store.load() == [good]
    assert _metric("pystatus_peer_store_bad_rows_total") == before + 1
    store.close()


def test_an_unusable_path_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(PeerStoreError):
        PeerStore(tmp_path / "missing" / "peers.sqlite3")
