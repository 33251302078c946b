"""Store confirmations are batched as go-waku's message check batches them, on a virtual clock.

go-waku (``waku/v2/api/publish/message_check.go``) asks a store at most every 3 s for up to
50 hashes of messages sent 3 s ago or more, and stops watching a message once MVDS has it
acknowledged (status-go's ``ConfirmMessageDelivered``). A conversation at one message a second
so costs a store query every few seconds, not one per message and side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pystatus.chat.actions import Action, CheckStored, Deliver, Publish
from pystatus.chat.delivery import DeliveryStatus, DeliveryTracker, Envelope
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.message import WakuMessage, message_hash
from tests.chat.test_session import PUBSUB, Clock, _send, _session, _statuses


@dataclass
class Network:
    """Both sessions' publishes reach the other and a store that keeps them all."""

    clock: Clock
    store: set[bytes] = field(default_factory=set)
    checks: list[CheckStored] = field(default_factory=list)
    publishes: int = 0
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def perform(
        self, session: ChatSession, peer: ChatSession | None, actions: list[Action]
    ) -> None:
        now = self.clock.now
        for action in actions:
            self.statuses += _statuses([action])
            if isinstance(action, Publish):
                self.publishes += 1
                message = WakuMessage(
                    action.payload, action.content_topic, version=1, timestamp=action.timestamp_ns
                )
                digest = message_hash(PUBSUB, message)
                self.store.add(digest)
                self.perform(session, peer, session.published(action, (digest, 1), now))
                if peer is not None:
                    self.perform(peer, session, peer.receive(message, digest, now))
            elif isinstance(action, Deliver) and action.ack is not None:
                session.acknowledge(action.ack, now)  # stored at once
            elif isinstance(action, CheckStored):
                self.checks.append(action)
                found = self.store & set(action.hashes)
                self.perform(session, peer, session.store_answer(found, now))

    def run(self, pairs: list[tuple[ChatSession, ChatSession | None]], until: float) -> None:
        """Every session's timers, deadline by deadline, up to ``until``."""
        while True:
            deadlines = [d for s, _ in pairs if (d := s.next_deadline()) is not None]
            due = min(deadlines, default=until)
            if due > until:
                self.clock.now = until
                return
            self.clock.now = max(self.clock.now, due)
            for session, peer in pairs:
                self.perform(session, peer, session.handle_timer(self.clock.now, self.clock.ns))


def test_a_conversation_costs_a_store_query_every_few_seconds_not_one_per_message() -> None:
    clock = Clock()
    alice = _session(clock, "alice", store=True)
    bob = _session(clock, "bob", store=True, seed=2)
    net = Network(clock)
    pairs: list[tuple[ChatSession, ChatSession | None]] = [(alice, bob), (bob, alice)]
    net.run(pairs, clock.now + 1)
    sent = []
    for index in range(30):  # one message a second, as a conversation goes
        sent.append(_send(alice, bob, clock, b"message %d" % index))
        net.run(pairs, clock.now + 1)
    net.run(pairs, clock.now + 10)

    assert all(alice.tracker.status(m) == DeliveryStatus.DELIVERED for m in sent)
    asked = [h for check in net.checks for h in check.hashes]
    # Alice's messages were acknowledged within a second: no store is asked about them.
    # Bob's 30 acknowledgements are, 3 s after they left, in one query per 3 s.
    assert len(net.checks) <= 2 * (30 // 3 + 2), len(net.checks)
    assert len(asked) == len(set(asked)) <= 30, "each asked about once, acknowledged ones never"
    assert net.publishes <= 2 * 30 + 4, "nothing was sent again"


def test_a_burst_is_confirmed_in_batches_of_50() -> None:
    clock = Clock()
    alice = _session(clock, "alice", store=True)
    alice.watch_public("status")
    net = Network(clock)
    net.run([(alice, None)], clock.now + 1)
    posted = [f"0x{index:064x}" for index in range(120)]
    for message_id in posted:
        alice.track(message_id, "status", DeliveryStatus.PENDING)
        wrapped = wrap(message_id.encode(), MessageType.CHAT_MESSAGE, alice.identity)
        net.perform(alice, None, alice.send_public("status", wrapped, clock.ns, [message_id]))
    net.run([(alice, None)], clock.now + 10)

    assert [len(check.hashes) for check in net.checks] == [50, 50, 20]
    stored = {m for m, status in net.statuses if status == "stored"}
    assert stored == set(posted)
    checked_at = clock.now  # the checks ran at least 3 s apart
    assert checked_at >= 1000 + 1 + 3 + 2 * 3


def test_an_acknowledged_message_is_not_asked_about_and_a_missing_one_is_handed_back() -> None:
    tracker = DeliveryTracker(store_check_after=3, republish_after=6)
    for message_id in ("acked", "lost"):
        tracker.track(message_id)
        tracker.published(Envelope(message_id.encode(), 0.0, [message_id]), relay_peers=1)
    tracker.published(Envelope(b"ack only", 0.0, []), relay_peers=1)
    assert tracker.delivered("acked")
    assert tracker.store_checks_due(2.9) == []
    assert tracker.store_checks_due(3.0) == [b"lost", b"ack only"]
    assert tracker.stored([b"ack only"]) == []
    assert tracker.overdue(5.9) == [], "not yet: a late store gets its chance"
    assert [e.hash for e in tracker.overdue(6.0)] == [b"lost"]
    assert tracker.next_deadline() is None
