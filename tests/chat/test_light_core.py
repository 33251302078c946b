"""The light client's decisions on a virtual clock: spreading filter subscriptions over nodes,
pings at status-go's interval, failover on ping or subscribe failures and timeouts,
resubscription after a reconnection or a 404, chunked requests, and push/store node order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat.light_core import (
    PING_INTERVAL,
    PING_TIMEOUT,
    REQUEST_TIMEOUT,
    RETRY_MIN,
    TOPICS_PER_REQUEST,
    Failure,
    FilterAction,
    FilterPlan,
    LightClientError,
    NodeDown,
    NodeUp,
    Ping,
    PushLedger,
    RecentHashes,
    ServiceNodes,
    Subscribe,
    Unsubscribe,
)

TOPIC = "/waku/2/rs/16/32"


def _answer_all(plan: FilterPlan, actions: list[FilterAction], now: float) -> None:
    for action in actions:
        plan.done(action.seq, now)


def _settled(nodes: list[str], topics: list[str], now: float = 0.0) -> FilterPlan:
    plan = FilterPlan(nodes)
    plan.listen(TOPIC, topics)
    while actions := plan.poll(now):
        _answer_all(plan, actions, now)
    return plan


def test_each_topic_at_two_of_three_nodes() -> None:
    plan = FilterPlan(["a", "b", "c"])
    plan.listen(TOPIC, ["/waku/1/0x01/rfc26", "/waku/1/0x02/rfc26"])
    actions = plan.poll(0.0)
    assert [type(a) for a in actions] == [Subscribe, Subscribe]
    assert {a.node for a in actions} == {"a", "b"}
    assert plan.poll(0.0) == []  # one request in flight per node, nothing left to assign
    _answer_all(plan, actions, 0.0)
    assert plan.holders((TOPIC, "/waku/1/0x01/rfc26")) == 2
    assert plan.subscriptions()["c"] == set()
    assert plan.poll(1.0) == []


def test_pings_every_interval_and_only_nodes_with_subscriptions() -> None:
    plan = _settled(["a", "b", "c"], ["/t/1"])
    assert plan.next_deadline() == PING_INTERVAL
    assert plan.poll(PING_INTERVAL - 0.001) == []
    pings = plan.poll(PING_INTERVAL)
    assert sorted((type(p), p.node) for p in pings) == [(Ping, "a"), (Ping, "b")]
    _answer_all(plan, pings, PING_INTERVAL + 0.2)
    assert plan.next_deadline() == pytest.approx(2 * PING_INTERVAL + 0.2)


def test_a_node_failing_two_pings_fails_over_to_the_spare() -> None:
    plan = _settled(["a", "b", "c"], ["/t/1"])
    pings = {p.node: p for p in plan.poll(PING_INTERVAL)}
    plan.done(pings["b"].seq, PING_INTERVAL)
    # a's ping times out (no answer within PING_TIMEOUT): retried at once, not given up yet
    assert plan.next_deadline() == PING_INTERVAL + PING_TIMEOUT
    retry = plan.poll(PING_INTERVAL + PING_TIMEOUT)
    assert [(type(a), a.node) for a in retry] == [(Ping, "a")]
    assert not plan.is_down("a")
    plan.failed(retry[0].seq, PING_INTERVAL + PING_TIMEOUT + 1, Failure.ERROR)
    assert plan.is_down("a")
    assert plan.events() == [NodeDown("a", "ping error")]
    moved = plan.poll(PING_INTERVAL + PING_TIMEOUT + 1)
    assert [(type(a), a.node) for a in moved] == [(Subscribe, "c")]
    # a late answer to the timed-out ping changes nothing
    plan.done(pings["a"].seq, PING_INTERVAL + 7)
    assert plan.is_down("a")


def test_subscribe_failure_fails_over_and_the_node_is_retried_after_back_off() -> None:
    plan = FilterPlan(["a", "b"], peers_per_topic=1)
    plan.listen(TOPIC, ["/t/1"])
    (first,) = plan.poll(0.0)
    assert first.node == "a"
    plan.failed(first.seq, 1.0, Failure.ERROR)
    (second,) = plan.poll(1.0)
    assert second.node == "b"
    plan.done(second.seq, 1.0)
    assert plan.next_deadline() == 1.0 + RETRY_MIN  # a's back-off ends before b's ping
    assert plan.poll(1.0 + RETRY_MIN) == []  # served by b: a is not needed
    # b disconnects: nothing holds the topic, a is tried again once its back-off ends
    plan.disconnected("b", 2.0)
    assert plan.poll(2.0) == []
    (again,) = plan.poll(1.0 + RETRY_MIN)
    assert again.node == "a" and isinstance(again, Subscribe)
    plan.done(again.seq, 7.0)
    assert plan.events() == [
        NodeDown("a", "subscribe error"),
        NodeDown("b", "disconnected"),
        NodeUp("a"),
    ]


def test_subscribe_timeout_counts_as_failure() -> None:
    plan = FilterPlan(["a", "b"], peers_per_topic=1)
    plan.listen(TOPIC, ["/t/1"])
    (first,) = plan.poll(0.0)
    assert plan.next_deadline() == REQUEST_TIMEOUT
    (second,) = plan.poll(REQUEST_TIMEOUT)
    assert (first.node, second.node) == ("a", "b")
    assert plan.is_down("a")


def test_back_off_doubles_while_a_node_keeps_failing() -> None:
    plan = FilterPlan(["a"])
    plan.listen(TOPIC, ["/t/1"])
    now = 0.0
    waits = []
    for _ in range(4):
        (action,) = plan.poll(now)
        plan.failed(action.seq, now, Failure.ERROR)
        deadline = plan.next_deadline()
        assert deadline is not None
        waits.append(deadline - now)
        now = deadline
    assert waits == [RETRY_MIN, 2 * RETRY_MIN, 4 * RETRY_MIN, 8 * RETRY_MIN]


def test_reconnection_and_404_resubscribe_everything() -> None:
    topics = [f"/t/{i}" for i in range(3)]
    plan = _settled(["a", "b"], topics)
    plan.reconnected("a", 10.0)
    (again,) = plan.poll(10.0)
    assert isinstance(again, Subscribe) and again.node == "a"
    assert set(again.content_topics) == set(topics)
    plan.done(again.seq, 10.0)
    pings = {p.node: p for p in plan.poll(10.0 + PING_INTERVAL)}
    assert set(pings) == {"a", "b"}  # b's ping was due at 60, a's at 70
    plan.failed(pings["b"].seq, 71.0, Failure.NOT_SUBSCRIBED)
    assert not plan.is_down("b")
    (resub,) = plan.poll(71.0)
    assert isinstance(resub, Subscribe) and resub.node == "b"


def test_requests_are_chunked_and_split_by_pubsub_topic() -> None:
    plan = FilterPlan(["a"])
    plan.listen(TOPIC, [f"/t/{i:03}" for i in range(200)])
    plan.listen("/waku/2/rs/16/64", ["/c/1"])
    sizes: list[tuple[str, int]] = []
    while actions := plan.poll(0.0):
        for action in actions:
            assert isinstance(action, Subscribe)
            sizes.append((action.pubsub_topic, len(action.content_topics)))
            plan.done(action.seq, 0.0)
    assert max(n for _, n in sizes) == TOPICS_PER_REQUEST
    assert sorted(sizes) == sorted([("/waku/2/rs/16/64", 1), (TOPIC, 90), (TOPIC, 90), (TOPIC, 20)])


def test_unlisten_unsubscribes_where_held() -> None:
    plan = _settled(["a", "b"], ["/t/1", "/t/2"])
    plan.unlisten(TOPIC, ["/t/2"])
    actions = plan.poll(1.0)
    assert sorted((type(a), a.node) for a in actions) == [(Unsubscribe, "a"), (Unsubscribe, "b")]
    assert all(a.content_topics == ("/t/2",) for a in actions if isinstance(a, Unsubscribe))
    _answer_all(plan, actions, 1.0)
    assert plan.subscriptions() == {"a": {(TOPIC, "/t/1")}, "b": {(TOPIC, "/t/1")}}


def test_more_topics_than_a_node_keeps_is_refused() -> None:
    plan = FilterPlan(["a"], max_criteria_per_node=10)
    plan.listen(TOPIC, [f"/t/{i}" for i in range(10)])
    with pytest.raises(LightClientError):
        plan.listen(TOPIC, ["/t/extra"])
    assert len(plan.wanted()) == 10
    with pytest.raises(LightClientError):
        FilterPlan([])


def test_service_nodes_order_failover_and_back_off() -> None:
    nodes = ServiceNodes(["a", "b", "c"])
    assert nodes.order(0.0) == ["a", "b", "c"]
    assert nodes.answered() == []
    assert nodes.failed("a", 0.0) is True
    assert nodes.failed("a", 1.0) is False  # reported once
    assert nodes.order(2.0) == ["b", "c", "a"]
    assert nodes.succeeded("c") is False
    assert nodes.order(2.0) == ["c", "b", "a"]  # the one that answered first
    assert nodes.answered() == ["c"]
    assert nodes.order(1.0 + 2 * RETRY_MIN) == ["c", "a", "b"]  # a's back-off is over
    assert nodes.succeeded("a") is True
    assert nodes.retry_at("a") == 0.0


def test_recent_hashes_are_bounded() -> None:
    recent = RecentHashes(3)
    assert recent.add(b"1") and recent.add(b"2") and recent.add(b"3")
    assert not recent.add(b"1")
    assert recent.add(b"4")  # evicts 2, the least recently seen
    assert len(recent) == 3
    assert recent.add(b"2")
    assert not recent.add(b"1")


@settings(max_examples=200, deadline=None)
@given(
    nodes=st.integers(min_value=1, max_value=4),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["kill", "revive", "reconnect", "listen", "unlisten", "wait"]),
            st.integers(min_value=0, max_value=3),
            st.floats(min_value=0.0, max_value=30.0),
        ),
        max_size=40,
    ),
)
def test_any_history_settles_with_each_topic_at_enough_nodes(
    nodes: int, steps: list[tuple[str, int, float]]
) -> None:
    """Whatever nodes died, came back or reconnected, and whatever was listened to, once
    every node answers again each wanted topic ends up at min(2, nodes) of them and nothing
    unwanted is held; never more than one request per node is in flight."""
    names = [f"n{i}" for i in range(nodes)]
    plan = FilterPlan(names)
    alive = set(names)
    now = 0.0

    def run_until(end: float) -> None:
        nonlocal now
        while True:
            actions = plan.poll(now)
            assert len({a.node for a in actions}) == len(actions)
            for action in actions:
                if action.node in alive:
                    plan.done(action.seq, now)
                else:
                    plan.failed(action.seq, now, Failure.ERROR)
            if actions:
                continue
            deadline = plan.next_deadline()
            # nothing to do now, so nothing can be due now: an adapter would spin
            assert deadline is None or deadline > now
            if deadline is None or deadline > end:
                now = end
                return
            now = max(now, deadline)

    for kind, index, wait in steps:
        name = names[index % nodes]
        if kind == "kill":
            alive.discard(name)
        elif kind == "revive":
            alive.add(name)
        elif kind == "reconnect":
            plan.reconnected(name, now)
        elif kind == "listen":
            plan.listen(TOPIC, [f"/t/{index}"])
        elif kind == "unlisten":
            plan.unlisten(TOPIC, [f"/t/{index}"])
        run_until(now + wait)
    alive = set(names)
    run_until(now + 200.0)
    held = plan.subscriptions()
    for criterion in plan.wanted():
        assert plan.holders(criterion) == min(2, nodes), (criterion, held)
    assert all(criteria <= plan.wanted() for criteria in held.values())


def test_a_push_node_whose_messages_a_store_keeps_missing_is_at_fault() -> None:
    ledger = PushLedger(capacity=3)
    ledger.took(b"a", "svc-1")
    ledger.took(b"b", "svc-2")
    ledger.took(b"c", "svc-1")
    # The store may lag once: a first miss blames nobody; a find clears the message.
    assert ledger.verdict([b"a", b"b", b"c"], [b"b"]) == []
    assert ledger.verdict([b"a", b"c"], []) == ["svc-1"]  # each node once
    assert len(ledger) == 0
    for digest in (b"1", b"2", b"3", b"4"):
        ledger.took(digest, "svc-3")
    assert len(ledger) == 3  # bounded: the oldest forgotten
    assert ledger.verdict([b"1"], []) == []
