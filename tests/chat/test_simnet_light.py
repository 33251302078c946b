"""The reliability scenarios for light clients, on a virtual clock: ChatSessions whose
transport decides with light_core's own FilterPlan, ServiceNodes and RecentHashes, against
simulated service nodes (filter, light push) and the relay's store
(:mod:`pystatus.testnet.simlight`), light <-> light and light <-> relay. A lossy link, a light
client offline for half an hour, a filter node that dies or forgets its subscribers, a light-push
node that drops, refuses or swallows requests, a light client that crashes: every message the
API acknowledged ends stored once by its recipient, in one order on both sides, and
"delivered" to its sender. Then a stateful hypothesis test under any interleaving of them.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from pystatus.chat.light import LightConfig
from pystatus.chat.light_core import MAX_CRITERIA_PER_NODE, Criterion
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.testnet.simdevice import SimulationError
from pystatus.testnet.simnet import (
    PERFECT,
    RELAY,
    LightSetup,
    LinkFaults,
    ServiceFaults,
    SimNetwork,
)
from pystatus.testnet.simservice import MAX_SUBSCRIBERS, SUBSCRIPTION_TIMEOUT, SimServiceNode
from tests.chat.test_simnet import SETTLE, Conversation, TwoSessions, _talk

NODES = ("svc-1", "svc-2", "svc-3")
KINDS = [("light", "light"), ("light", "relay"), ("relay", "light")]
"""alice's and bob's transports: light clients both, or a mixed pair."""


def _net(
    seed: int,
    faults: LinkFaults = PERFECT,
    kinds: tuple[str, str] = ("light", "light"),
    *,
    nodes: tuple[str, ...] = NODES,
    config: LightConfig | None = None,
) -> SimNetwork:
    """alice and bob, contacts, each a light client of every service node (and the relay's
    store) or a relay device, as ``kinds`` says."""
    net = SimNetwork(seed=seed, faults=faults, config=ReliabilityConfig())
    for name in nodes:
        net.add_service_node(name)
    setup = LightSetup(nodes, nodes, (RELAY,), config or LightConfig())
    for name, kind in zip(("alice", "bob"), kinds, strict=True):
        net.add_device(name, light=setup if kind == "light" else False)
    net.befriend("alice", "bob")
    net.run_for(1.0)
    return net


def _wanted(net: SimNetwork, name: str) -> set[Criterion]:
    return net.light.clients[name].plan.wanted()


def _held_twice(net: SimNetwork, name: str) -> bool:
    """Every content topic the light device listens to is held by two filter nodes that are
    up (the nodes' own tables, not the client's belief)."""
    wanted = _wanted(net, name)
    held = [
        node.subscriptions.get(name, set())
        for node in net.light.nodes.values()
        if node.up and node.serves_filter
    ]
    return bool(wanted) and all(sum(c in h for h in held) >= 2 for c in wanted)


@pytest.mark.parametrize("kinds", KINDS)
def test_lossy_links_deliver_everything_once_in_order(kinds: tuple[str, str]) -> None:
    net = _net(21, LinkFaults(loss=0.2, duplicate=0.1, reorder=0.1), kinds)
    chat = Conversation(net)
    _talk(chat, 300)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.lost > 0 and net.stats.light_push_failures > 0
    assert net.stats.filter_pushes > 0
    assert net.stats.filter_duplicates > 0, "a second filter node pushed the same message"


@pytest.mark.parametrize("kinds", [("light", "light"), ("relay", "light")])
def test_a_light_client_offline_for_half_an_hour_catches_up_from_the_store(
    kinds: tuple[str, str],
) -> None:
    net = _net(22, kinds=kinds)
    chat = Conversation(net)
    _talk(chat, 300, {90: lambda: net.link("bob", False)})
    net.run_for(1800.0)
    assert not chat.settled()
    assert not net.connected(net.devices["bob"]), "no light-push node is reachable"
    net.link("bob", True)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.history_fetched >= 100, "what bob missed came from the store"
    assert net.stats.dial_failures > 0
    assert net.run_until_true(lambda: _held_twice(net, "bob"), limit=120.0)


@pytest.mark.parametrize("silent", [False, True], ids=["restarts", "vanishes"])
def test_a_filter_node_that_dies_hands_its_subscriptions_to_another(silent: bool) -> None:
    net = _net(23, LinkFaults(loss=0.05))
    chat = Conversation(net)
    assert net.run_until_true(lambda: _held_twice(net, "alice"), limit=60.0)
    busiest = max(NODES, key=lambda n: len(net.light.nodes[n].subscriptions.get("alice", ())))
    _talk(chat, 200, {60: lambda: net.light.down(busiest, silent=silent)})
    chat.settle()
    chat.check_one_to_one("alice", "bob")

    # A restart closes the connections at once; a vanished node is found by two failed
    # pings (the next within 60 s, then 5 s each).
    def moved() -> bool:
        return all(
            net.light.clients[name].plan.is_down(busiest) and _held_twice(net, name)
            for name in ("alice", "bob")
        )

    assert net.run_until_true(moved, limit=90.0)
    assert net.stats.failovers >= 2, "alice and bob each gave the node up"


@pytest.mark.parametrize("silent", [False, True], ids=["restarts", "vanishes"])
def test_a_restarted_filter_node_gets_its_subscriptions_again(silent: bool) -> None:
    # Two filter nodes only: nowhere to fail over to, so the one that restarted (and forgot
    # its subscribers) must be subscribed at again once it is back.
    net = _net(24, nodes=("svc-1", "svc-2"))
    chat = Conversation(net)
    assert net.run_until_true(lambda: _held_twice(net, "alice"), limit=60.0)
    _talk(chat, 100, {30: lambda: net.light.restart("svc-1", 20.0, silent=silent)})
    assert not net.light.nodes["svc-1"].subscriptions, "the restart forgot its subscribers"
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    both = lambda: _held_twice(net, "alice") and _held_twice(net, "bob")  # noqa: E731
    assert net.run_until_true(both, limit=180.0)


def test_a_filter_node_that_forgot_its_subscribers_is_subscribed_at_again() -> None:
    net = _net(25, nodes=("svc-1", "svc-2"))
    assert net.run_until_true(lambda: _held_twice(net, "alice"), limit=60.0)
    net.light.forget("svc-1")
    failures = net.stats.filter_failures
    # The next ping (within 60 s) is answered 404; the client subscribes there again.
    assert net.run_until_true(lambda: _held_twice(net, "alice"), limit=70.0)
    assert net.stats.filter_failures > failures, "a ping was answered 404"
    assert net.stats.failovers == 0, "the node stayed up: nothing moved"
    chat = Conversation(net)
    _talk(chat, 40)
    chat.settle()
    chat.check_one_to_one("alice", "bob")


@pytest.mark.parametrize(
    "faults",
    [ServiceFaults(drop_pushes=1.0), ServiceFaults(refuse_pushes=1.0)],
    ids=["drops", "refuses"],
)
@pytest.mark.parametrize("kinds", [("light", "light"), ("light", "relay")])
def test_a_light_push_node_that_fails_every_request_is_failed_over(
    faults: ServiceFaults, kinds: tuple[str, str]
) -> None:
    net = _net(26, kinds=kinds)
    net.light.nodes["svc-1"].faults = faults
    chat = Conversation(net)
    _talk(chat, 100)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.light_push_failures > 0
    assert net.stats.light_publish_failures == 0, "each push failed over within its publish"
    assert net.stats.service_dropped > 0 or faults.drop_pushes == 0


def test_a_light_push_node_that_loses_some_requests_costs_resends_only() -> None:
    net = _net(27)
    for name in NODES:
        faults = ServiceFaults(drop_pushes=0.2, refuse_pushes=0.1, swallow_pushes=0.3)
        net.light.nodes[name].faults = faults
    chat = Conversation(net)
    for n in range(60):  # each in its own push (MVDS would batch quicker sends)
        chat.send(*(("alice", "bob") if n % 2 else ("bob", "alice")))
        net.run_for(1.0)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.service_swallowed > 0, "only the store check saw those"
    assert net.stats.service_dropped > 0 and net.stats.light_push_failures > 0


def test_pushing_to_two_nodes_gets_past_one_that_answers_and_never_relays() -> None:
    net = _net(28, config=LightConfig(push_peers=2))
    net.light.nodes["svc-1"].faults = ServiceFaults(swallow_pushes=1.0)
    chat = Conversation(net)
    _talk(chat, 60)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.service_swallowed > 0


def test_one_node_that_answers_and_never_relays_does_not_silence_a_light_client() -> None:
    net = _net(29)
    net.light.nodes["svc-1"].faults = ServiceFaults(swallow_pushes=1.0)
    chat = Conversation(net)
    _talk(chat, 10)
    assert net.run_until_true(chat.settled, limit=120.0), chat.statuses()


@pytest.mark.parametrize("kinds", KINDS)
def test_what_a_light_client_acknowledged_survives_its_crash(kinds: tuple[str, str]) -> None:
    net = _net(30, LinkFaults(loss=0.1), kinds)
    chat = Conversation(net)
    _talk(chat, 100)
    burst = [chat.send("alice", "bob") for _ in range(10)]  # committed, not yet published
    net.crash("alice")
    _talk(chat, 40)  # bob talks on meanwhile, into the store
    net.run_for(5.0)
    net.restart("alice")  # from its database; a new transport subscribes anew
    _talk(chat, 60)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert all(net.devices["bob"].db.announced[s.id] == 1 for s in burst)


def test_a_light_client_crashing_between_receiving_and_committing_loses_nothing() -> None:
    net = SimNetwork(seed=31, write_delay=0.5)
    for name in NODES:
        net.add_service_node(name)
    net.add_device("alice", light=True)
    net.add_device("bob", light=True)
    net.befriend("alice", "bob")
    net.run_for(1.0)
    chat = Conversation(net)
    _talk(chat, 60)
    for _ in range(20):
        chat.send("alice", "bob")
    net.run_for(0.6)  # pushed and received, not yet committed
    net.crash("bob")
    net.run_for(3.0)
    net.restart("bob")
    _talk(chat, 30)
    chat.settle()
    chat.check_one_to_one("alice", "bob")


def test_a_relay_restart_makes_light_push_answer_503_until_it_is_back() -> None:
    net = _net(32, LinkFaults(loss=0.05), ("light", "relay"))
    chat = Conversation(net)
    _talk(chat, 200, {80: lambda: net.relay_restart(30.0)})
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.light_publish_failures > 0, "no service node had a relay peer"


def _public_chat(seed: int, light_faults: LinkFaults) -> tuple[SimNetwork, Conversation]:
    """alice and carol (light) and bob (relay, on a link losing a fifth) in one public chat,
    150 messages from all three."""
    net = SimNetwork(seed=seed, faults=light_faults)
    net.set_faults(LinkFaults(loss=0.2, duplicate=0.1), "bob")
    for name in NODES:
        net.add_service_node(name)
    members = ["alice", "bob", "carol"]
    for name in members:
        net.add_device(name, light=name != "bob").join_public("status")
    net.run_for(1.0)
    chat = Conversation(net)
    for n in range(150):
        chat.send(members[n % 3], "status")
        net.run_for(0.05)
    return net, chat


def test_a_public_chat_of_light_and_relay_members_reaches_everyone_once() -> None:
    net, chat = _public_chat(33, LinkFaults(duplicate=0.1))
    chat.settle("stored")
    members = ["alice", "bob", "carol"]
    everyone = lambda: all(  # noqa: E731
        len(net.public_chat(m, "status")) == len(chat.sent) for m in members
    )
    assert net.run_until_true(everyone, limit=SETTLE), net.stats
    chat.check_public("status", members)
    assert net.stats.filter_pushes > 0 and net.stats.forwarded > 0


@pytest.mark.xfail(
    strict=True,
    reason="a public message no node took is now sent again (ChatSession.unpublished), but on "
    "links losing a tenth each way the light clients still do not settle in 120 s: the "
    "Messenger awaits each light push in turn and a lost request costs its 10 s timeout, "
    "so about one push a second gets out while retries and acknowledgements queue behind",
)
def test_a_public_message_whose_light_push_failed_everywhere_is_sent_again() -> None:
    net, chat = _public_chat(33, LinkFaults(loss=0.1, duplicate=0.1))
    assert net.run_until_true(lambda: chat.settled("stored"), limit=120.0), chat.statuses()


def test_light_scenarios_repeat_under_a_seed() -> None:
    def run() -> tuple[int, int, int, int]:
        net = _net(34, LinkFaults(loss=0.3, duplicate=0.2, reorder=0.2), ("light", "relay"))
        chat = Conversation(net)
        _talk(chat, 40)
        chat.settle()
        return net.stats.light_pushes, net.stats.lost, net.stats.timers, net.stats.dials

    assert run() == run()


def test_a_service_node_answers_as_nwaku_and_keeps_its_bounds() -> None:
    node = SimServiceNode("svc")
    topic = "/waku/2/rs/16/32"
    assert node.ping("alice", 0.0) == 404, "no subscription yet"
    assert node.unsubscribe("alice", topic, ["/t/1"], 0.0) == 404
    assert node.subscribe("alice", topic, ["/t/1", "/t/2"], 0.0) == 200
    assert node.ping("alice", 0.0) == 200
    assert node.subscribers(topic, "/t/2", 0.0) == ["alice"]
    too_many = [f"/x/{n}" for n in range(MAX_CRITERIA_PER_NODE - 1)]  # 1001 with the two
    assert node.subscribe("alice", topic, too_many, 0.0) == 503, "past --filter-max-criteria"
    assert node.unsubscribe("alice", topic, ["/t/1", "/t/2"], 0.0) == 200
    assert node.ping("alice", 0.0) == 404
    for n in range(MAX_SUBSCRIBERS):
        assert node.subscribe(f"peer-{n}", topic, ["/t/1"], 0.0) == 200
    assert node.subscribe("one-more", topic, ["/t/1"], 0.0) == 503, "past the subscriber limit"
    node.stop()
    assert node.subscribers(topic, "/t/1", 0.0) == [], "a restart forgets every subscriber"
    with pytest.raises(ValueError, match="probabilities"):
        ServiceFaults(drop_pushes=0.6, swallow_pushes=0.6)


def test_a_service_node_drops_a_subscriber_that_stopped_pinging() -> None:
    node = SimServiceNode("svc")
    topic = "/waku/2/rs/16/32"
    assert node.subscribe("alice", topic, ["/t/1"], 0.0) == 200
    assert node.subscribe("bob", topic, ["/t/1"], 0.0) == 200
    assert node.ping("alice", SUBSCRIPTION_TIMEOUT - 1.0) == 200
    assert node.subscribers(topic, "/t/1", SUBSCRIPTION_TIMEOUT) == ["alice"]
    assert node.ping("bob", SUBSCRIPTION_TIMEOUT) == 404


def test_a_service_node_restarted_while_down_waits_from_the_second_restart() -> None:
    net = SimNetwork(seed=36)
    node = net.add_service_node("svc-1")
    net.light.restart("svc-1", 100.0)
    net.run_for(50.0)
    net.light.restart("svc-1", 100.0, silent=True)
    net.run_for(70.0)
    assert not node.up, "the first restart's end no longer brings it back"
    net.run_for(40.0)
    assert node.up and not node.silent


def test_a_light_device_needs_filter_and_light_push_nodes() -> None:
    net = SimNetwork(seed=35)
    net.add_service_node("svc-1", lightpush=False)
    with pytest.raises(SimulationError):
        net.add_device("alice", light=True)
    with pytest.raises(SimulationError):
        net.add_service_node("svc-1")


# -- any interleaving ------------------------------------------------------------------------

SERVICE = st.sampled_from(NODES)


class LightSessions(TwoSessions):
    """:class:`TwoSessions` with one or both accounts as light clients, and service nodes
    that restart, vanish, forget their subscribers or mishandle light pushes meanwhile."""

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)  # the network comes with the kinds, below
        self.ranks: dict[str, int] = {}

    @initialize(kinds=st.sampled_from(KINDS))
    def build(self, kinds: tuple[str, str]) -> None:
        self.net = _net(7, kinds=kinds)
        self.chat = Conversation(self.net)

    @rule(node=SERVICE, down_for=st.sampled_from([1.0, 30.0, 300.0]), silent=st.booleans())
    def service_restart(self, node: str, down_for: float, silent: bool) -> None:
        self.net.light.restart(node, down_for, silent=silent)

    @rule(node=SERVICE)
    def service_forgets(self, node: str) -> None:
        self.net.light.forget(node)

    @rule(
        node=SERVICE,
        faults=st.sampled_from(
            [
                ServiceFaults(),
                ServiceFaults(drop_pushes=1.0),
                ServiceFaults(refuse_pushes=0.5),
                ServiceFaults(drop_pushes=0.3, swallow_pushes=0.3),
            ]
        ),
    )
    def service_faults(self, node: str, faults: ServiceFaults) -> None:
        self.net.light.nodes[node].faults = faults

    def teardown(self) -> None:
        for node in self.net.light.nodes.values():
            node.faults = ServiceFaults()
        super().teardown()


LightSessions.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_interleaving_with_light_clients_delivers_every_message_once = LightSessions.TestCase
