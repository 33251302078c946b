"""ChatSession driven by hand on an explicit clock: no sockets, no sleeps.

Two sessions are joined by handing one's Publish actions to the other's receive (or dropping
them); commits are taken as done at once; every ``now`` is chosen by the test.
"""

from __future__ import annotations

import json
import logging
import random

import coincurve
import pytest

from pystatus.chat import encryption, mvds
from pystatus.chat.actions import (
    Action,
    AdvertiseContactCode,
    CheckStored,
    Commit,
    Deliver,
    Publish,
    SyncHistory,
)
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.encryption import EncryptionService, export_state
from pystatus.chat.ratchet import AlreadyRead, RatchetState
from pystatus.chat.reliability import DROPPED, ReliabilityConfig
from pystatus.chat.session import ChatSession
from pystatus.chat.state import StateVersionError, dump_device_state, load_device_state
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from pystatus.waku.message import WakuMessage, message_hash

PUBSUB = "/waku/2/rs/16/32"
T0_NS = 1_700_000_000 * 10**9


class Clock:
    """Monotonic seconds and the wall clock moving together."""

    def __init__(self) -> None:
        self.now = 1000.0

    @property
    def ns(self) -> int:
        return T0_NS + int(self.now * 1e9)


def _session(clock: Clock, name: str, *, store: bool = False, seed: int = 1) -> ChatSession:
    identity = coincurve.PrivateKey().secret
    encryption = EncryptionService(identity, name, clock=lambda: clock.ns)
    config = ReliabilityConfig(resend_interval=30.0, max_sends=3)
    session = ChatSession(
        identity,
        encryption,
        config=config,
        has_store=store,
        segment_size=1 << 20,
        mvds_state=mvds.MVDS(rng=random.Random(seed), resend_interval=30.0, max_sends=3),
    )
    session.listen_own()
    session.set_connected(True, clock.now)
    return session


def _publishes(actions: list[Action]) -> list[Publish]:
    return [a for a in actions if isinstance(a, Publish)]


def _deliver(session: ChatSession, publishes: list[Publish], now: float) -> list[Action]:
    out: list[Action] = []
    for p in publishes:
        message = WakuMessage(p.payload, p.content_topic, version=1, timestamp=p.timestamp_ns)
        out += session.receive(message, message_hash(PUBSUB, message), now)
    return out


def _run_until(
    session: ChatSession, clock: Clock, until: float, stored: frozenset[bytes] = frozenset()
) -> list[Action]:
    """Advance the clock deadline by deadline up to ``until``; every action, in order. The
    store answers at once: it holds ``stored``; history brings nothing."""
    out: list[Action] = []
    while True:
        deadline = session.next_deadline()
        if deadline is None or deadline > until:
            clock.now = max(clock.now, until)
            return out
        clock.now = max(clock.now, deadline)
        actions = session.handle_timer(clock.now, clock.ns)
        out += actions
        for action in actions:
            if isinstance(action, CheckStored):
                out += session.store_answer(stored & set(action.hashes), clock.now)
            elif isinstance(action, SyncHistory):
                out += session.history_synced(action, clock.now)


def _statuses(actions: list[Action]) -> list[tuple[str, str]]:
    return [s for a in actions if isinstance(a, Commit) for s in a.statuses]


def _send(alice: ChatSession, bob: ChatSession, clock: Clock, text: bytes) -> str:
    wrapped = wrap(text, MessageType.CHAT_MESSAGE, alice.identity)
    message_id = "0x" + bytes(32).hex() + text.hex()
    entry = alice.outbox_entry(bob.public_key, message_id, wrapped, clock.ns)
    alice.track(message_id, "0x" + bob.public_key.hex(), DeliveryStatus.PENDING)
    alice.queue([entry], clock.now)
    return message_id


def _drain_contact_code(session: ChatSession, clock: Clock) -> None:
    actions = session.handle_timer(clock.now, clock.ns)
    assert any(isinstance(a, AdvertiseContactCode) for a in actions)


def test_lost_message_is_resent_on_the_mvds_backoff_and_acknowledged() -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob", seed=2)
    _drain_contact_code(alice, clock)
    _drain_contact_code(bob, clock)
    message_id = _send(alice, bob, clock, b"hello")

    first = _publishes(_run_until(alice, clock, clock.now + 1))
    assert len(first) == 1 and first[0].carried == (message_id,)
    sent_at = clock.now
    # Lost. Nothing leaves again before the first backoff (30 s, plus up to 9 s of jitter).
    assert not _publishes(_run_until(alice, clock, sent_at + 29.9))
    again = _publishes(_run_until(alice, clock, sent_at + 40))
    assert len(again) == 1 and again[0].carried == (message_id,)
    assert 30 <= clock.now - sent_at <= 40

    received = _deliver(bob, again, clock.now)
    [deliver] = [a for a in received if isinstance(a, Deliver)]
    assert unwrap(deliver.wrapped).payload == b"hello"
    assert deliver.ack is not None
    # The same payload again (relay and store both bring it): dropped as a duplicate.
    before = DROPPED.labels("duplicate")._value.get()
    assert _deliver(bob, again, clock.now) == []
    assert DROPPED.labels("duplicate")._value.get() == before + 1

    bob.acknowledge(deliver.ack, clock.now)  # stored
    acks = _publishes(_run_until(bob, clock, clock.now + 2))
    assert acks and all(p.kind == "ack" for p in acks)
    back = _deliver(alice, acks, clock.now)
    assert (message_id, "delivered") in _statuses(back)
    assert alice.unacknowledged() == 0
    removed = [r for a in back if isinstance(a, Commit) for r in a.outbox_removed]
    assert removed and removed[0][1] == bob.public_key


def test_ratchet_state_is_committed_before_the_ciphertext_and_only_when_changed() -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob")
    _drain_contact_code(alice, clock)
    alice.state_saved()
    _send(alice, bob, clock, b"one")
    actions = _run_until(alice, clock, clock.now + 1)
    kinds = [type(a).__name__ for a in actions if isinstance(a, Publish | Commit)]
    first_publish = kinds.index("Publish")
    commits = [a for a in actions[: first_publish + 1] if isinstance(a, Commit)]
    assert any(c.device_state is not None for c in commits)
    assert alice.device_state() is None, "nothing changed since"


def test_store_confirmation_moves_a_public_message_to_stored() -> None:
    clock = Clock()
    alice = _session(clock, "alice", store=True)
    alice.watch_public("status")
    out = alice.handle_timer(clock.now, clock.ns)
    assert any(isinstance(a, SyncHistory) for a in out)
    wrapped = wrap(b"hi all", MessageType.CHAT_MESSAGE, alice.identity)
    alice.track("0xabc", "status", DeliveryStatus.PENDING)
    [publish] = _publishes(alice.send_public("status", wrapped, clock.ns, ["0xabc"]))
    assert publish.track and publish.carried == ("0xabc",)
    digest = b"\x01" * 32
    assert _statuses(alice.published(publish, (digest, 3), clock.now)) == [("0xabc", "sent")]
    _run_until(alice, clock, clock.now + 2.5)
    check = [a for a in alice.handle_timer(clock.now + 1.0, clock.ns) if isinstance(a, CheckStored)]
    assert check and digest in check[0].hashes
    assert _statuses(alice.store_answer([digest], clock.now + 1.1)) == [("0xabc", "stored")]


def test_unconfirmed_public_message_is_published_again() -> None:
    clock = Clock()
    alice = _session(clock, "alice", store=True)
    alice.watch_public("status")
    wrapped = wrap(b"hi all", MessageType.CHAT_MESSAGE, alice.identity)
    alice.track("0xabc", "status", DeliveryStatus.PENDING)
    [publish] = _publishes(alice.send_public("status", wrapped, clock.ns, ["0xabc"]))
    alice.published(publish, (b"\x02" * 32, 1), clock.now)
    # The store never saw it: asked about, and once overdue (republish_after) it leaves again.
    again = [p for p in _publishes(_run_until(alice, clock, clock.now + 15)) if p.carried]
    assert again and again[0].carried == ("0xabc",)


def test_cannot_read_is_counted_and_warned_once_per_sender(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob")
    _drain_contact_code(alice, clock)
    # Alice knows bob's bundle (installation "bob"); a second device of bob's account,
    # "bob-2", finds nothing for itself in what she sends.
    alice.encryption.add_bundle(bob.encryption.own_bundle())
    bob2 = ChatSession(
        bob.identity,
        EncryptionService(bob.identity, "bob-2", clock=lambda: clock.ns),
        segment_size=1 << 20,
    )
    bob2.listen_own()
    before = DROPPED.labels("not_for_this_installation")._value.get()
    with caplog.at_level(logging.WARNING, logger="pystatus.chat.session"):
        for n in range(2):
            _send(alice, bob, clock, b"more%d" % n)
            out = _publishes(_run_until(alice, clock, clock.now + 40))
            assert out
            _deliver(bob2, out, clock.now)
    assert DROPPED.labels("not_for_this_installation")._value.get() >= before + 2
    warnings = [r for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(warnings) == 1, "warned once per sender"


def test_failed_after_max_sends() -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob")
    _drain_contact_code(alice, clock)
    message_id = _send(alice, bob, clock, b"into the void")
    actions = _run_until(alice, clock, clock.now + 1000)
    assert (message_id, "failed") in _statuses(actions)
    assert len([p for p in _publishes(actions) if p.carried]) == 3
    deadline = alice.next_deadline()
    assert deadline is None or deadline > clock.now, "nothing left to do"


def test_offline_acks_wait_and_reconnect_resends_at_once() -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob")
    _drain_contact_code(alice, clock)
    message_id = _send(alice, bob, clock, b"hello")
    _run_until(alice, clock, clock.now + 1)
    alice.set_connected(False, clock.now)
    assert alice.next_deadline() is not None  # the offline re-check
    clock.now += 5
    alice.set_connected(True, clock.now)
    again = _publishes(_run_until(alice, clock, clock.now + 1))
    assert any(p.carried == (message_id,) for p in again), "resent at reconnection"


def test_mvds_peers_are_bounded() -> None:
    state = mvds.MVDS(max_peers=3)
    before = mvds.EVICTED.labels("peer")._value.get()
    for n in range(10):
        state.acknowledge(bytes([n]), b"x" * 32)
    assert len(state._peers) == 3
    assert mvds.EVICTED.labels("peer")._value.get() == before + 7


def test_device_state_is_versioned_and_reads_the_unversioned_form() -> None:
    identity = coincurve.PrivateKey().secret
    service = EncryptionService(identity, "dev")
    saved = dump_device_state(service)
    assert load_device_state(identity, saved).installation_id == "dev"
    legacy = json.dumps(export_state(service)).encode()
    assert load_device_state(identity, legacy).installation_id == "dev"
    with pytest.raises(StateVersionError):
        load_device_state(identity, b'{"version": 99}')
    with pytest.raises(StateVersionError):
        load_device_state(identity, b"not json")


def test_a_ratcheted_message_read_again_after_a_restart_is_a_duplicate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    alice, bob = _session(clock, "alice"), _session(clock, "bob")
    _drain_contact_code(alice, clock)
    alice.encryption.add_bundle(bob.encryption.own_bundle())
    _send(alice, bob, clock, b"once")
    sent = _publishes(_run_until(alice, clock, clock.now + 1))
    assert any(isinstance(a, Deliver) for a in _deliver(bob, sent, clock.now))
    bob._seen.clear()  # a restart: the hashes seen are not kept, the store brings it back
    before = DROPPED.labels("duplicate")._value.get()
    with caplog.at_level(logging.WARNING, logger="pystatus.chat.session"):
        assert not [a for a in _deliver(bob, sent, clock.now) if isinstance(a, Deliver)]
    assert DROPPED.labels("duplicate")._value.get() == before + 1
    assert not [r for r in caplog.records if "cannot read" in r.getMessage()]


def test_bundles_are_bounded_and_an_unchanged_bundle_is_no_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(encryption, "MAX_IDENTITIES", 3)
    me = EncryptionService(coincurve.PrivateKey().secret, "me")
    before = encryption.EVICTED.labels("identity")._value.get()
    others = [EncryptionService(coincurve.PrivateKey().secret, f"d{n}") for n in range(5)]
    for other in others:
        me.add_bundle(other.own_bundle())
    assert len(me.installations) == 3
    assert encryption.EVICTED.labels("identity")._value.get() == before + 2
    changes = me.changes
    me.add_bundle(others[-1].own_bundle())  # heard again, nothing new
    assert me.changes == changes


def test_a_message_of_an_earlier_ratchet_chain_read_again_is_already_read() -> None:
    shared = bytes(range(32))
    bob_pre_key = coincurve.PrivateKey()
    bob = RatchetState.responder(shared, bob_pre_key.secret)
    alice = RatchetState.initiator(shared, bob_pre_key.public_key.format(compressed=True))
    first = alice.encrypt(b"first")
    assert bob.decrypt(*first) == b"first"
    for n in range(3):  # back and forth: each turn moves the ratchet to a new chain
        assert alice.decrypt(*bob.encrypt(b"reply %d" % n)) == b"reply %d" % n
        assert bob.decrypt(*alice.encrypt(b"more %d" % n)) == b"more %d" % n
    with pytest.raises(AlreadyRead):
        bob.decrypt(*first)
    restored = RatchetState.restore(bob.export())  # what it remembers survives a restart
    with pytest.raises(AlreadyRead):
        restored.decrypt(*first)
