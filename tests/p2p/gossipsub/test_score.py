"""Scores of honest peers stay within their bounds; penalties come only from misbehaviour and
decay (gossipsub-v1.1.md "The Score Function", "PRUNE Backoff and Peer Exchange").

Two routers exchange RPCs on a virtual clock with a latency per RPC, heartbeating at their
own phase, as two nodes on one machine do.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable

from pystatus.p2p.gossipsub import rpc as wire
from pystatus.p2p.gossipsub.backoff import Backoffs
from pystatus.p2p.gossipsub.events import SendRpc
from pystatus.p2p.gossipsub.params import GossipsubParams, TopicScoreParams
from pystatus.p2p.gossipsub.router import GossipsubRouter
from tests.p2p.gossipsub.sim import TOPIC

A, B = b"a", b"b"


def honest_bound(topics: int = 1) -> float:
    """The most P1 and P2 can give an honest peer (no penalty can make it negative)."""
    p = TopicScoreParams()
    per_topic = p.time_in_mesh_cap * p.time_in_mesh_weight
    per_topic += p.first_message_deliveries_cap * p.first_message_deliveries_weight
    return topics * per_topic * p.topic_weight


class Pair:
    """Routers ``a`` and ``b`` on a virtual clock; ``latency(data)`` seconds per RPC."""

    def __init__(self, latency: Callable[[bytes], float], *, phase: float = 0.0) -> None:
        self.now = 0.0
        self.latency = latency
        self.routers = {
            key: GossipsubRouter(GossipsubParams(), rng=random.Random(i))
            for i, key in enumerate((A, B))
        }
        self.a, self.b = self.routers[A], self.routers[B]
        self._queue: list[tuple[float, int, bytes, bytes, bytes]] = []
        self._order = itertools.count()
        self._heartbeats = {A: 1.0 + phase, B: 1.0 + phase + 0.5}
        self.a.add_peer(B, 0.0, outbound=True)
        self.b.add_peer(A, 0.0, outbound=False)
        self.flush()

    def flush(self) -> None:
        for key, router in self.routers.items():
            for event in router.events():
                if isinstance(event, SendRpc):
                    at = self.now + self.latency(event.data)
                    heapq.heappush(
                        self._queue, (at, next(self._order), key, event.peer, event.data)
                    )

    def run_until(self, until: float, check: Callable[[], None] = lambda: None) -> None:
        """Deliver RPCs and run heartbeats in time order up to ``until``; ``check`` after each."""
        while True:
            beat_key = min(self._heartbeats, key=self._heartbeats.__getitem__)
            beat_at = self._heartbeats[beat_key]
            rpc_at = self._queue[0][0] if self._queue else float("inf")
            at = min(beat_at, rpc_at)
            if at > until:
                self.now = until
                return
            self.now = at
            if rpc_at <= beat_at:
                _, _, sender, receiver, data = heapq.heappop(self._queue)
                self.routers[receiver].receive_rpc(sender, data, at)
            else:
                self.routers[beat_key].heartbeat(at)
                self._heartbeats[beat_key] = at + 1.0
            self.flush()
            check()

    def scores_within(self, low: float, high: float) -> None:
        for key, router in self.routers.items():
            for peer in router.peers:
                score = router.peer_score(peer, self.now)
                assert low <= score <= high, (key, peer, self.now, score)


def _slow_prunes(data: bytes) -> float:
    """A PRUNE crosses in 50 ms (its sender was busy), everything else in 5 ms."""
    rpc = wire.decode_rpc(data, GossipsubParams())
    return 0.05 if rpc.HasField("control") and rpc.control.prune else 0.005


def test_a_peer_that_regrafts_when_its_backoff_ends_is_not_penalised() -> None:
    # a's heartbeats fall 10 ms after the back-off it set ends; its PRUNE reached b 50 ms
    # after it left, so b's back-off runs 40 ms longer than a's. Grafting at once would be
    # a GRAFT within b's back-off: penalised (P7) and refused for another minute.
    pair = Pair(_slow_prunes, phase=0.31)
    pair.a.subscribe(TOPIC, pair.now)
    pair.b.subscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(10.3)
    assert B in pair.a.mesh_peers(TOPIC) and A in pair.b.mesh_peers(TOPIC)
    pair.a.unsubscribe(TOPIC, pair.now)  # PRUNE with unsubscribe_backoff (5 s)
    pair.flush()
    pair.run_until(11.3)
    pair.a.subscribe(TOPIC, pair.now)  # b stays out of a's mesh until the back-off ends
    pair.flush()
    assert B not in pair.a.mesh_peers(TOPIC)
    pair.run_until(120.0, lambda: pair.scores_within(0.0, honest_bound()))
    assert pair.b.counters["graft_during_backoff"] == 0
    # The slack costs two heartbeats, not a minute's back-off.
    assert B in pair.a.mesh_peers(TOPIC) and A in pair.b.mesh_peers(TOPIC)


def test_scores_stay_within_bounds_over_many_heartbeats_with_traffic() -> None:
    rng = random.Random(7)
    pair = Pair(lambda data: rng.uniform(0.0005, 0.03), phase=rng.random())
    for router in pair.routers.values():
        router.subscribe(TOPIC, pair.now)
    pair.flush()
    for second in range(1, 600):
        pair.run_until(second, lambda: pair.scores_within(0.0, honest_bound()))
        sender = pair.a if second % 2 else pair.b
        sender.publish(TOPIC, b"message %d" % second, pair.now)
        if second % 97 == 0:  # leave and come back now and then
            pair.b.unsubscribe(TOPIC, pair.now)
            pair.flush()
            pair.run_until(second + 0.5)
            pair.b.subscribe(TOPIC, pair.now)
        pair.flush()
    assert pair.a.counters["graft_during_backoff"] == 0
    assert pair.b.counters["graft_during_backoff"] == 0
    assert pair.a.counters["messages_delivered"] > 250


def test_behaviour_penalties_decay_to_zero() -> None:
    pair = Pair(lambda data: 0.001)
    for router in pair.routers.values():
        router.subscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(2.0)
    # a leaves (b backs off a for 5 s), then grafts b three times within that back-off:
    # three penalty points, 3² times nwaku's weight of -10.
    pair.a.unsubscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(2.1)
    graft = wire.control_fragment(wire.ControlMessage(graft=[wire.ControlGraft(topicID=TOPIC)]))
    for _ in range(3):
        pair.b.receive_rpc(A, graft, pair.now)
    assert pair.b.counters["graft_during_backoff"] == 3
    params = GossipsubParams()
    assert pair.b.peer_score(A, pair.now) == 9 * params.behaviour_penalty_weight == -90.0
    # One decay step every decay_interval: the penalty is multiplied by behaviour_penalty_decay.
    start = pair.now
    for step in (1, 10, 100):
        pair.run_until(start + step * params.decay_interval + 0.5)
        expected = (3 * params.behaviour_penalty_decay**step) ** 2
        expected *= params.behaviour_penalty_weight
        assert abs(pair.b.peer_score(A, pair.now) - expected) < 1e-6, step
    # Under decay_to_zero it is forgotten: 3 * 0.986^n < 0.01 from n = 405.
    pair.run_until(start + 406 * params.decay_interval + 0.5)
    assert pair.b.peer_score(A, pair.now) == 0.0


def test_a_graft_for_a_topic_we_do_not_join_is_ignored_not_pruned() -> None:
    # a's GRAFT crosses b's leaving (or b has not joined yet). A PRUNE in answer, as before,
    # backed both off for a minute: b's own join a moment later left a out of its mesh.
    pair = Pair(lambda data: 0.001)
    pair.a.subscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(0.5)
    graft = wire.control_fragment(wire.ControlMessage(graft=[wire.ControlGraft(topicID=TOPIC)]))
    pair.b.receive_rpc(A, graft, pair.now)
    assert pair.b.events() == []
    pair.b.subscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(1.0)
    assert B in pair.a.mesh_peers(TOPIC) and A in pair.b.mesh_peers(TOPIC)


def test_time_in_mesh_never_goes_negative() -> None:
    router = GossipsubRouter(GossipsubParams())
    router.subscribe(TOPIC, 100.0)
    router.add_peer(A, 100.0, outbound=True)
    router.receive_rpc(A, wire.subscription_fragment(TOPIC, True), 100.0)
    router.heartbeat(101.0)
    assert A in router.mesh_peers(TOPIC)
    # A time from before the GRAFT (another clock, or a caller's stale reading) gives 0.
    assert router.peer_score(A, 50.0) == 0.0
    assert router.peer_score(A, 106.0) == 5 * TopicScoreParams().time_in_mesh_weight


def test_backoffs_are_bounded() -> None:
    backoffs = Backoffs(slack=2.0, max_entries=3)
    evicted = [backoffs.extend(TOPIC, bytes([i]), 10.0 + i) for i in range(5)]
    assert evicted == [False, False, False, True, True]
    assert len(backoffs) == 3
    assert backoffs.may_graft(TOPIC, b"\x00", 0.0)  # the earliest set went first
    assert not backoffs.may_graft(TOPIC, b"\x04", 15.9)  # ended at 14, slack until 16
    assert not backoffs.refuses_graft(TOPIC, b"\x04", 14.0)
    backoffs.expire(15.5)
    assert len(backoffs) == 1


def test_ip_colocation_spares_loopback_and_counts_ipv6_by_its_64() -> None:
    params = GossipsubParams()
    router = GossipsubRouter(params)
    threshold = int(params.ip_colocation_factor_threshold)
    crowd = threshold + 3
    for i in range(crowd):
        router.add_peer(b"local%d" % i, 0.0, outbound=False, ip="127.0.0.1")
        router.add_peer(b"v4-%d" % i, 0.0, outbound=False, ip="192.0.2.7")
        router.add_peer(b"v6-%d" % i, 0.0, outbound=False, ip=f"2001:db8::{i + 1}")
    # Nodes on one machine (tests, a developer's local network) are not a Sybil attack.
    assert router.peer_score(b"local0", 1.0) == 0.0
    surplus = crowd - threshold
    expected = surplus * surplus * params.ip_colocation_factor_weight
    assert router.peer_score(b"v4-0", 1.0) == expected
    # Distinct IPv6 addresses in one /64 count as one place.
    assert router.peer_score(b"v6-0", 1.0) == expected
    router.remove_peer(b"v4-0", 2.0)
    surplus -= 1
    assert router.peer_score(b"v4-1", 2.0) == surplus * surplus * params.ip_colocation_factor_weight


def test_the_hot_path_sees_a_score_fall_at_once_and_a_rise_by_the_next_heartbeat() -> None:
    pair = Pair(lambda data: 0.001)
    for router in pair.routers.values():
        router.subscribe(TOPIC, pair.now)
    pair.flush()
    pair.run_until(3.0)
    score = pair.b.score
    before = score.cached_score(A, pair.now)
    assert before <= pair.b.peer_score(A, pair.now)  # time in mesh grew since the heartbeat
    score.add_penalty(A, 2.0)  # falls: seen at once
    assert score.cached_score(A, pair.now) == pair.b.peer_score(A, pair.now) < before
    score.invalid_delivery(A, TOPIC)
    assert score.cached_score(A, pair.now) == pair.b.peer_score(A, pair.now)
    score.first_delivery(A, TOPIC)  # rises: the cached value may lag until the heartbeat
    assert score.cached_score(A, pair.now) < pair.b.peer_score(A, pair.now)
    pair.run_until(4.0)
    assert score.cached_score(A, pair.now) == pair.b.peer_score(A, pair.now)
