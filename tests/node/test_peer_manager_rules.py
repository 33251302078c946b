"""The peer manager's rules on a virtual clock: nwaku's budget split, backoff, the inbound
share, pruning by score, shard targets, service slots and service peers chosen by round trip."""

from __future__ import annotations

import random

import pytest

from pystatus.errors import ConfigError
from pystatus.node.peer_manager_rules import (
    CONNECTIVITY_INTERVAL,
    Connectedness,
    Dial,
    Disconnect,
    Origin,
    PeerBook,
    PeerManagerLimits,
)
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId

STORE = "/vac/waku/store-query/3.0.0"


def _peer() -> PeerId:
    return PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


def _addr(port: int = 1) -> Multiaddr:
    return Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{port}")


def _book(**limits: object) -> PeerBook:
    return PeerBook(PeerManagerLimits(**limits), rng=random.Random(7))  # type: ignore[arg-type]


def test_the_budget_is_split_as_nwaku_splits_it() -> None:
    limits = PeerManagerLimits(max_connections=300)
    # peer_manager.nim: relay = ceil(300 * 0.6), a third outbound, service = floor(300 * 0.4)
    assert (limits.relay_peers, limits.service_peers) == (180, 120)
    assert (limits.out_relay_target, limits.in_relay_target) == (60, 120)
    assert limits.max_inbound == 240
    for bad in ("60", "60:50", "a:b", "-10:110"):
        with pytest.raises(ConfigError):
            PeerManagerLimits(relay_service_ratio=bad)
    with pytest.raises(ConfigError):
        PeerManagerLimits(max_connections=300, capacity=100)


def test_failed_dials_back_off_exponentially_then_stop() -> None:
    book = _book()
    peer = _peer()
    book.learn(peer, Origin.DNS, 0.0, addrs=[_addr()])
    assert book.can_dial(peer, 0.0)
    book.dial_failed(peer, 0.0)
    assert book.get(peer) is not None
    assert book.get(peer).connectedness is Connectedness.CANNOT_CONNECT  # type: ignore[union-attr]
    assert not book.can_dial(peer, 119.9)
    assert book.can_dial(peer, 120.0)
    book.dial_failed(peer, 120.0)
    assert not book.can_dial(peer, 120.0 + 479.9)
    assert book.can_dial(peer, 120.0 + 480.0)
    for n in range(3):
        book.dial_failed(peer, 10_000.0 * (n + 1))
    assert not book.can_dial(peer, 10**9), "5 failures in a row: never dialed again"
    book.connected(peer, "inbound", 10**9)
    assert book.get(peer).failures == 0  # type: ignore[union-attr]


def test_inbound_connections_over_the_inbound_share_are_closed() -> None:
    book = _book(max_connections=6, relay_service_ratio="100:0")
    assert book.limits.max_inbound == 4
    peers = [_peer() for _ in range(5)]
    actions = [book.connected(p, "inbound", 1.0) for p in peers]
    assert actions[:4] == [[], [], [], []]
    assert actions[4] == [Disconnect(peers[4], "inbound_share")]
    assert book.connected(_peer(), "outbound", 1.0) == [], "outbound slots stay free"


def test_inbound_relay_peers_over_target_are_pruned_worst_score_first() -> None:
    book = _book(max_connections=10, relay_service_ratio="60:40")
    assert book.limits.in_relay_target == 4
    peers = [_peer() for _ in range(5)]
    scores = {p: float(i) for i, p in enumerate(peers)}
    scores[peers[3]] = -50.0
    actions = []
    for n, p in enumerate(peers):
        book.connected(p, "inbound", float(n))
        actions += book.identified(p, (RELAY_PROTOCOL_ID,), float(n), scores=scores)
    assert actions == [Disconnect(peers[3], "prune_relay")]


def test_each_shard_is_filled_from_known_peers_of_that_shard() -> None:
    book = _book(max_connections=20, cluster_id=16)  # relay 12, outbound target 4
    on_32 = [_peer() for _ in range(5)]
    on_64 = [_peer() for _ in range(5)]
    for p in on_32:
        book.learn(p, Origin.DNS, 0.0, addrs=[_addr()], relay_shards=(16, (32,)))
    for p in on_64:
        book.learn(p, Origin.DISCV5, 0.0, addrs=[_addr()], relay_shards=(16, (64,)))
    foreign = _peer()
    refused = book.learn(foreign, Origin.DNS, 0.0, addrs=[_addr()], relay_shards=(1, (32,)))
    assert refused is None and foreign not in book, "another cluster's peer is not kept"
    actions = book.plan(0.0, [32, 64])
    dials = [a for a in actions if isinstance(a, Dial)]
    assert len([d for d in dials if d.reason == "shard:32"]) == 2
    assert len([d for d in dials if d.reason == "shard:64"]) == 2
    assert {d.peer for d in dials if d.reason == "shard:32"} <= set(on_32)
    assert book.next_deadline() == CONNECTIVITY_INTERVAL
    # Being dialed: the next check does not dial them again.
    assert book.plan(1.0, [32, 64]) == []
    for d in dials:
        book.connected(d.peer, "outbound", 2.0)
        book.identified(d.peer, (RELAY_PROTOCOL_ID,), 2.0)
    assert book.plan(3.0, [32, 64]) == [], "both shards at target"


def test_service_slots_and_the_fastest_reliable_service_peer() -> None:
    book = _book(service_protocols=(STORE,))
    slow, fast, flaky = _peer(), _peer(), _peer()
    for p in (slow, fast, flaky):
        book.learn(p, Origin.DNS, 0.0, addrs=[_addr()], protocols=(STORE,))
    book.record_rtt(slow, 0.300)
    book.record_rtt(fast, 0.020)
    book.record_rtt(flaky, 0.001)
    book.request_failed(flaky, 0.0)
    assert book.select_service_peer(STORE, 0.0) == fast
    assert book.plan(0.0, [], relay=False) == [Dial(fast, f"service:{STORE}")]
    book.connected(fast, "outbound", 1.0)
    assert book.plan(2.0, [], relay=False) == [], "the slot is filled"


def test_the_book_is_bounded_and_keeps_connected_peers() -> None:
    book = _book(max_connections=2, capacity=3)
    first = _peer()
    book.learn(first, Origin.DNS, 0.0, addrs=[_addr()])
    book.connected(first, "outbound", 0.0)
    others = [_peer() for _ in range(4)]
    for n, p in enumerate(others):
        book.learn(p, Origin.PX, float(n + 1), addrs=[_addr()])
    assert len(book) == 3 and first in book
    assert book.evictions == 2
    assert others[0] not in book and others[1] not in book


def test_a_stronger_origin_wins() -> None:
    book = _book()
    peer = _peer()
    book.learn(peer, Origin.PX, 0.0)
    book.learn(peer, Origin.STATIC, 1.0)
    book.learn(peer, Origin.DNS, 2.0)
    assert book.get(peer).origin is Origin.STATIC  # type: ignore[union-attr]
    assert Origin.parse("discv5") is Origin.DISCV5 and Origin.parse("Dns") is Origin.DNS
