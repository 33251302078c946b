"""The reliability scenarios on a virtual clock: ChatSessions joined by the simulated network
of :mod:`pystatus.testnet.simnet` (loss, duplicates, reordering, an offline recipient, a relay
restart, a sender's crash, a public chat), and a stateful hypothesis test of two sessions
under any interleaving of sends and faults. No sockets, no sleeps: each runs in seconds.

Every scenario checks what the real-process ones (tests/testnet) check, on the databases the
devices committed: every message the API acknowledged is stored once by its recipient and
announced once, both sides show each chat in the same Lamport-clock order (each sender's
messages in the order sent, each message after everything its sender had seen), and the
sender's status ends "delivered" (1:1) or "stored" (public).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pystatus.chat.actions import AdvertiseContactCode
from pystatus.chat.reliability import (
    DROPPED,
    OWED_ACKS,
    OWED_EVENTS,
    OwedAcks,
    OwedAcksError,
    ReliabilityConfig,
)
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.testnet.simdevice import StoredText
from pystatus.testnet.simnet import PERFECT, LinkFaults, SimNetwork

RATE = 20.0
"""Messages per second of virtual time, as the real-process scenarios send them."""
SETTLE = 6 * 3600.0
"""Virtual seconds a scenario may take to settle once the faults are over."""


@dataclass(frozen=True, slots=True)
class Sent:
    sender: str
    recipient: str
    """The other account, or the public chat's name."""
    index: int
    """The sender's count of its messages to this chat."""
    id: str
    seen_clock: int
    """The largest clock in the sender's view of the chat when it sent this."""


class Conversation:
    """Messages sent both ways at ``RATE`` with faults injected at given message counts."""

    def __init__(self, net: SimNetwork) -> None:
        self.net = net
        self.sent: list[Sent] = []

    def send(self, sender: str, recipient: str) -> Sent:
        device = self.net.devices[sender]
        if recipient in self.net.devices:
            view = self.net.chat(sender, recipient)
            message_id = self.net.send(sender, recipient, f"{sender} {len(self.sent)}")
        else:
            view = self.net.public_chat(sender, recipient)
            message_id = self.net.send_public(sender, recipient, f"{sender} {len(self.sent)}")
        index = sum(1 for s in self.sent if (s.sender, s.recipient) == (sender, recipient))
        seen = max((m.clock for m in view), default=0)
        sent = Sent(sender, recipient, index, message_id, seen)
        assert device.db.messages[message_id].clock > seen, "a clock after all it has seen"
        self.sent.append(sent)
        return sent

    def settled(self, final: str = "delivered") -> bool:
        return all(self.net.devices[s.sender].status(s.id) == final for s in self.sent)

    def settle(self, final: str = "delivered") -> None:
        assert self.net.run_until_true(lambda: self.settled(final), limit=SETTLE), (
            f"not every status reached {final} in {SETTLE} virtual seconds: "
            f"{self.statuses()} ({self.net.stats})"
        )

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.sent:
            status = str(self.net.devices[s.sender].status(s.id))
            counts[status] = counts.get(status, 0) + 1
        return counts

    def check_one_to_one(self, a: str, b: str) -> None:
        """Everything delivered once and shown in one Lamport order on both sides."""
        ours = [s for s in self.sent if {s.sender, s.recipient} == {a, b}]
        for viewer, other in ((a, b), (b, a)):
            device = self.net.devices[viewer]
            received = [m for m in self.net.chat(viewer, other) if not m.outgoing]
            wanted = {s.id for s in ours if s.recipient == viewer}
            assert {m.message_id for m in received} == wanted, "each message stored, no other"
            assert all(device.db.announced[i] == 1 for i in wanted), "announced once each"
            assert device.redelivered == 0, "data sync kept acknowledged copies back"
        self._check_order([self.net.chat(a, b), self.net.chat(b, a)], ours)
        assert all(self.net.devices[s.sender].status(s.id) == "delivered" for s in ours)

    def check_public(self, name: str, members: list[str]) -> None:
        ours = [s for s in self.sent if s.recipient == name]
        views = []
        for viewer in members:
            device = self.net.devices[viewer]
            view = self.net.public_chat(viewer, name)
            assert {m.message_id for m in view} == {s.id for s in ours}
            others = {s.id for s in ours if s.sender != viewer}
            assert all(device.db.announced[i] == 1 for i in others), "announced once each"
            views.append(view)
        self._check_order(views, ours)

    def _check_order(self, views: list[list[StoredText]], sent: list[Sent]) -> None:
        by_id = {s.id: s for s in sent}
        orders = [[m.message_id for m in view] for view in views]
        assert all(order == orders[0] for order in orders), "one order on every device"
        last: dict[str, int] = {}
        clocks = {m.message_id: m.clock for m in views[0]}
        for message_id in orders[0]:
            item = by_id[message_id]
            assert item.index > last.get(item.sender, -1), "each sender's in the order sent"
            last[item.sender] = item.index
            assert clocks[message_id] > item.seen_clock, "after all its sender had seen"


def _net(seed: int, faults: LinkFaults = PERFECT, *, write_delay: float = 0.005) -> SimNetwork:
    net = SimNetwork(seed=seed, faults=faults, config=ReliabilityConfig(), write_delay=write_delay)
    net.add_device("alice")
    net.add_device("bob")
    net.befriend("alice", "bob")
    net.run_for(1.0)
    return net


def _talk(
    chat: Conversation, messages: int, at: dict[int, Callable[[], None]] | None = None
) -> None:
    """``messages`` alternately from alice and bob; ``at``: what happens before message n."""
    for n in range(messages):
        action = (at or {}).get(n)
        if action is not None:
            action()
        sender, other = ("alice", "bob") if n % 2 == 0 else ("bob", "alice")
        if not chat.net.devices[sender].running:
            sender, other = other, sender  # the other one talks meanwhile
        chat.send(sender, other)
        chat.net.run_for(1.0 / RATE)


def test_lossy_one_to_one_delivers_everything_once_in_order() -> None:
    faults = LinkFaults(loss=0.2, duplicate=0.1, reorder=0.1)
    net = _net(1, faults)
    chat = Conversation(net)
    _talk(chat, 400)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.lost > 0.15 * (net.stats.published + net.stats.forwarded)
    assert net.stats.duplicated > 0 and net.stats.relay_duplicates > 0


def test_recipient_offline_for_hours_gets_everything_from_the_store() -> None:
    net = _net(2)
    chat = Conversation(net)
    _talk(chat, 300, {90: lambda: net.link("bob", False)})
    assert not net.devices["bob"].link_up
    net.run_for(2 * 3600.0)  # bob's messages meanwhile wait in his outbox
    assert not chat.settled()
    net.link("bob", True)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.history_fetched >= 100, "what bob missed came from the store"
    assert net.stats.refused > 0, "bob's sends found no network while offline"


def test_relay_restart_loses_what_was_in_flight_and_nothing_more() -> None:
    net = _net(3, LinkFaults(loss=0.05))
    chat = Conversation(net)
    _talk(chat, 400, {160: lambda: net.relay_restart(10.0), 200: lambda: net.relay_restart(1.0)})
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.refused > 0 and net.stats.store_failures > 0


def test_what_a_sender_acknowledged_survives_its_crash() -> None:
    net = _net(4, LinkFaults(loss=0.1))
    chat = Conversation(net)
    _talk(chat, 150)
    # Ten sends the API acknowledged (committed), then the process dies before the next MVDS
    # epoch could publish any of them.
    burst = [chat.send("alice", "bob") for _ in range(10)]
    assert net.devices["alice"].session is not None
    assert net.devices["alice"].session.unacknowledged() >= 10
    net.crash("alice")
    _talk(chat, 50)  # bob talks on meanwhile, into the store
    net.run_for(5.0)
    net.restart("alice")
    _talk(chat, 100)
    chat.settle()
    chat.check_one_to_one("alice", "bob")
    assert all(net.devices["bob"].db.announced[s.id] == 1 for s in burst)


def test_a_crash_between_receiving_and_committing_loses_nothing() -> None:
    # The recipient dies while received messages wait for their write (write_delay): their
    # acknowledgements never left, so the sender sends them again.
    net = _net(5, write_delay=0.5)
    chat = Conversation(net)
    _talk(chat, 100)
    for _ in range(20):
        chat.send("alice", "bob")
    net.run_for(0.35)  # published and received, not yet committed
    net.crash("bob")
    net.run_for(3.0)
    net.restart("bob")
    _talk(chat, 50)
    chat.settle()
    chat.check_one_to_one("alice", "bob")


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.9])
def test_a_crash_right_after_receiving_still_acknowledges_within_seconds(delay: float) -> None:
    # The recipient committed the message, then died (``delay`` seconds later) before its
    # acknowledgement (which waits a second for a message to ride along) left. Its restart
    # sends that acknowledgement: the sender stops within seconds, not at its 30 s resend.
    net = _net(12)
    chat = Conversation(net)
    _talk(chat, 20)
    chat.settle()
    sent = chat.send("alice", "bob")
    bob = net.devices["bob"]
    assert net.run_until_true(lambda: sent.id in bob.db.messages, limit=5.0, step=0.001)
    net.run_for(delay)
    assert net.devices["alice"].status(sent.id) != "delivered", "the ack left before the crash"
    net.crash("bob")
    net.run_for(1.0)
    net.restart("bob")
    assert net.run_until_true(
        lambda: net.devices["alice"].status(sent.id) == "delivered", limit=5.0, step=0.1
    ), "the sender waits for its MVDS resend"
    alice = net.devices["alice"].live()
    assert alice.unacknowledged() == 0, "alice keeps resending"
    chat.check_one_to_one("alice", "bob")


def test_a_graceful_stop_sends_its_acknowledgements_at_once() -> None:
    # What Messenger.stop does before closing: the acknowledgements go out without their
    # second's delay, and none stays owed.
    net = _net(14)
    chat = Conversation(net)
    _talk(chat, 10)
    chat.settle()
    sent = chat.send("alice", "bob")
    bob = net.devices["bob"]
    assert net.run_until_true(lambda: sent.id in bob.db.messages, limit=5.0, step=0.001)
    net._perform(bob, bob.live().flush_acks(net.now, net.wall_ns()))
    net._perform(bob, bob.live().owed_commit())
    net.crash("bob")  # stopped: bob's timers run no more
    delivered = lambda: net.devices["alice"].status(sent.id) == "delivered"  # noqa: E731
    assert net.run_until_true(delivered, limit=1.0, step=0.05)
    assert OwedAcks.load(bob.db.sync_state[OWED_ACKS]) == []


def test_malformed_owed_acknowledgements_are_counted_and_skipped() -> None:
    net = _net(13)
    bob = net.devices["bob"]
    net.crash("bob")
    bob.db.sync_state[OWED_ACKS] = b"\x01" + b"\x04" * 50  # not a whole record
    before = OWED_EVENTS.labels("unreadable")._value.get()
    net.restart("bob")
    assert OWED_EVENTS.labels("unreadable")._value.get() == before + 1
    assert len(bob.live().owed_acks) == 0
    with pytest.raises(OwedAcksError):
        OwedAcks.load(b"\x02")


def test_public_chat_with_loss_reaches_every_member_once_in_order() -> None:
    net = SimNetwork(seed=6, faults=LinkFaults(loss=0.2, duplicate=0.1))
    members = ["alice", "bob", "carol"]
    for name in members:
        net.add_device(name).join_public("status")
    net.run_for(1.0)
    chat = Conversation(net)
    for n in range(300):
        chat.send(members[n % 3], "status")
        net.run_for(1.0 / RATE)
    chat.settle("stored")
    everyone_has_all = lambda: all(  # noqa: E731
        len(net.public_chat(m, "status")) == len(chat.sent) for m in members
    )
    assert net.run_until_true(everyone_has_all, limit=SETTLE), net.stats
    chat.check_public("status", members)
    assert net.stats.history_fetched > 0, "what a member's link lost came from the store"


def test_a_restart_reads_its_history_again_without_crying_cannot_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = _net(8)
    chat = Conversation(net)
    chat.send("alice", "bob")
    chat.settle()
    net.crash("bob")
    net.restart("bob")
    before = DROPPED.labels("no_session")._value.get()
    fetched = net.stats.history_fetched
    with caplog.at_level(logging.WARNING, logger="pystatus.chat.session"):
        net.run_for(5.0)
    assert net.stats.history_fetched > fetched, "the store brought back what bob had read"
    # Read before: its Double Ratchet key is spent, and that is a duplicate, not a device
    # that cannot read (another process on the data dir).
    assert DROPPED.labels("no_session")._value.get() == before, "counted as a duplicate"
    assert not [r for r in caplog.records if "cannot read" in r.getMessage()]


def test_a_public_message_lost_before_its_sender_crashed_is_sent_again() -> None:
    net = SimNetwork(seed=9)
    for name in ("alice", "bob"):
        net.add_device(name).join_public("status")
    net.run_for(1.0)
    net.set_faults(LinkFaults(loss=1.0), "alice")
    chat = Conversation(net)
    lost = chat.send("alice", "status")  # committed: the API answered
    net.run_for(0.3)  # published into the void; the store check is not due yet
    net.crash("alice")
    net.set_faults(PERFECT)
    net.restart("alice")  # the Messenger publishes it again at start
    assert net.run_until_true(lambda: len(net.public_chat("bob", "status")) == 1, limit=SETTLE)
    assert net.run_until_true(lambda: chat.settled("stored"), limit=SETTLE)
    assert net.devices["bob"].db.announced[lost.id] == 1


def test_a_public_message_sent_while_offline_goes_out_once_back_online() -> None:
    net = SimNetwork(seed=12)
    for name in ("alice", "bob"):
        net.add_device(name).join_public("status")
    net.run_for(1.0)
    net.link("alice", False)
    chat = Conversation(net)
    chat.send("alice", "status")  # committed: the API answered
    net.run_for(5.0)
    net.link("alice", True)
    assert net.run_until_true(lambda: len(net.public_chat("bob", "status")) == 1, limit=600.0)


def test_a_restart_reads_a_back_and_forth_history_without_crying_cannot_read() -> None:
    net = _net(8)
    chat = Conversation(net)
    for _ in range(6):
        chat.send("alice", "bob")
        net.run_for(2.0)
        chat.send("bob", "alice")
        net.run_for(2.0)
    chat.settle()
    net.crash("bob")
    net.restart("bob")
    before = DROPPED.labels("no_session")._value.get()
    fetched = net.stats.history_fetched
    net.run_for(5.0)
    assert net.stats.history_fetched > fetched, "the store brought back what bob had read"
    assert DROPPED.labels("no_session")._value.get() == before, "counted as duplicates"


def test_the_contact_code_is_due_at_its_deadline() -> None:
    net = SimNetwork(seed=1, store=False)
    device = net.add_device("alice")
    session = device.live()
    advert = wrap(b"", MessageType.CONTACT_CODE_ADVERTISEMENT, device.identity)
    session.contact_code(advert, 129601.05, net.wall_ns())  # as at 36 h into a run
    deadline = session.next_deadline()
    assert deadline is not None
    actions = session.handle_timer(deadline, net.wall_ns())
    assert any(isinstance(a, AdvertiseContactCode) for a in actions)


def test_a_network_without_store_delivers_on_data_sync_alone() -> None:
    net = SimNetwork(seed=11, faults=LinkFaults(loss=0.2, duplicate=0.1), store=False)
    net.add_device("alice")
    net.add_device("bob")
    net.befriend("alice", "bob")
    chat = Conversation(net)
    _talk(chat, 100)
    # Lost acknowledgements wait for the next resend, on MVDS's doubling backoff.
    assert net.run_until_true(chat.settled, limit=4 * 24 * 3600.0, step=60.0), chat.statuses()
    chat.check_one_to_one("alice", "bob")
    assert net.stats.archived == 0 and net.stats.store_queries == 0


def _paired_accounts(seed: int, faults: LinkFaults) -> SimNetwork:
    """alice and bob with two paired devices each (alice2, bob2), all contacts."""
    net = SimNetwork(seed=seed, faults=faults)
    for name, account in (("alice", None), ("bob", None), ("alice2", "alice"), ("bob2", "bob")):
        net.add_device(name, account=account)
    net.pair("alice", "alice2")
    net.pair("bob", "bob2")
    for mine in ("alice", "alice2"):
        for theirs in ("bob", "bob2"):
            net.befriend(mine, theirs)
    net.run_for(1.0)
    return net


def _talk_from_every_device(net: SimNetwork, messages: int) -> Conversation:
    chat = Conversation(net)
    pairs = [("alice", "bob"), ("bob", "alice"), ("alice2", "bob"), ("bob2", "alice")]
    for n in range(messages):
        chat.send(*pairs[n % 4])
        net.run_for(1.0 / RATE)
    return chat


def test_every_device_of_both_accounts_holds_the_whole_conversation() -> None:
    net = _paired_accounts(10, LinkFaults(loss=0.1, duplicate=0.1))
    chat = _talk_from_every_device(net, 120)
    chat.settle()
    net.run_for(600.0)  # a history sync or two for what a device's link lost
    views = []
    for viewer in ("alice", "alice2", "bob", "bob2"):
        other = "bob" if viewer.startswith("alice") else "alice"
        view = net.chat(viewer, other)
        assert {m.message_id for m in view} == {s.id for s in chat.sent}, viewer
        device = net.devices[viewer]
        assert all(n == 1 for n in device.db.announced.values()), "announced once each"
        views.append(view)
    assert [[m.message_id for m in v] for v in views[1:]] == [[m.message_id for m in views[0]]] * 3


def test_paired_devices_read_their_history_without_crying_cannot_read() -> None:
    net = _paired_accounts(3, LinkFaults(loss=0.1))
    before = DROPPED.labels("no_session")._value.get()
    chat = _talk_from_every_device(net, 60)
    chat.settle()
    net.run_for(600.0)
    assert net.stats.history_fetched > 0
    assert DROPPED.labels("no_session")._value.get() == before


@pytest.mark.parametrize("seed", range(3))
def test_the_scenarios_repeat_under_a_seed(seed: int) -> None:
    def run() -> tuple[int, int, int]:
        net = _net(100 + seed, LinkFaults(loss=0.3, duplicate=0.2, reorder=0.2))
        chat = Conversation(net)
        _talk(chat, 40)
        chat.settle()
        chat.check_one_to_one("alice", "bob")
        return net.stats.published, net.stats.lost, net.stats.timers

    assert run() == run()


# -- any interleaving ------------------------------------------------------------------------

NAMES = st.sampled_from(["alice", "bob"])
STATUS_RANK = {"pending": 0, "sent": 1, "stored": 2, "delivered": 3}
"""Where a 1:1 message's status stands (none fails here: no fault lasts ten days)."""


class TwoSessions(RuleBasedStateMachine):
    """Two accounts' sessions under any interleaving of sends, losses, duplicates, links
    going down and up, crashes and restarts, relay restarts and clock advances. Once the
    network heals and the clock runs on, every message the API acknowledged is delivered
    once and shown delivered to its sender."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _net(7)
        self.chat = Conversation(self.net)
        self.ranks: dict[str, int] = {}

    @invariant()
    def nothing_shown_twice_and_no_status_goes_back(self) -> None:
        for device in self.net.devices.values():
            assert all(n == 1 for n in device.db.announced.values()), device.name
            assert device.redelivered == 0, device.name
        for sent in self.chat.sent:
            status = self.net.devices[sent.sender].status(sent.id)
            rank = STATUS_RANK[str(status)]
            assert rank >= self.ranks.get(sent.id, 0), f"{sent.id} went back to {status}"
            self.ranks[sent.id] = rank

    @rule(sender=NAMES, count=st.integers(1, 3))
    def send(self, sender: str, count: int) -> None:
        if not self.net.devices[sender].running:
            return
        other = "bob" if sender == "alice" else "alice"
        for _ in range(count):
            self.chat.send(sender, other)

    @rule(
        name=st.none() | NAMES,
        loss=st.sampled_from([0.0, 0.3, 1.0]),
        duplicate=st.sampled_from([0.0, 0.5]),
        reorder=st.sampled_from([0.0, 0.5]),
    )
    def faults(self, name: str | None, loss: float, duplicate: float, reorder: float) -> None:
        self.net.set_faults(LinkFaults(loss=loss, duplicate=duplicate, reorder=reorder), name)

    @rule(name=NAMES, up=st.booleans())
    def link(self, name: str, up: bool) -> None:
        self.net.link(name, up)

    @rule(name=NAMES)
    def crash(self, name: str) -> None:
        if self.net.devices[name].running:
            self.net.crash(name)

    @rule(name=NAMES)
    def restart(self, name: str) -> None:
        if not self.net.devices[name].running:
            self.net.restart(name)

    @rule(down_for=st.sampled_from([0.5, 10.0, 120.0]))
    def relay_restart(self, down_for: float) -> None:
        self.net.relay_restart(down_for)

    @rule(seconds=st.sampled_from([0.001, 0.01, 0.2, 0.35, 1.0, 5.0, 40.0, 120.0]))
    def advance(self, seconds: float) -> None:
        self.net.run_for(seconds)

    def teardown(self) -> None:
        net = self.net
        net.set_faults(PERFECT)
        for name, device in net.devices.items():
            if not device.running:
                net.restart(name)
            net.link(name, True)
        self.chat.settle()
        self.chat.check_one_to_one("alice", "bob")


TwoSessions.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_interleaving_delivers_every_acknowledged_message_once = TwoSessions.TestCase
