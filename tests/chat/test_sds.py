"""SDS on a virtual clock: causal order, acknowledgements, resends, repair, lost messages."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.chat.bloom import BloomFilter
from pystatus.chat.proto import sds_pb2
from pystatus.chat.sds import (
    INCOMING_TIMEOUT,
    MAX_RESENDS,
    REPAIR_T_MAX,
    RESEND_UNACKNOWLEDGED,
    SdsChannel,
    SdsError,
    parse,
)

CHANNEL = "#status"


def _channel(name: str, **options: object) -> SdsChannel:
    return SdsChannel(CHANNEL, name, bloom=BloomFilter(100, 0.01), **options)  # type: ignore[arg-type]


def test_messages_arriving_in_any_order_are_delivered_in_the_order_sent() -> None:
    alice, bob = _channel("alice"), _channel("bob")
    sent = [alice.wrap(f"m{i}".encode(), f"id{i}", now=i) for i in range(60)]
    shuffled = sent[:]
    random.Random(7).shuffle(shuffled)
    delivered = [d for data in shuffled for d in bob.receive(data, now=100)]
    assert [d.content for d in delivered] == [f"m{i}".encode() for i in range(60)]
    assert bob.waiting() == 0
    assert bob.lamport >= alice.lamport
    # A copy arriving again is not delivered twice.
    assert bob.receive(sent[5], now=101) == []


def test_a_later_message_naming_ours_acknowledges_it() -> None:
    alice, bob = _channel("alice"), _channel("bob")
    first = alice.wrap(b"hello", "a1", now=0)
    assert alice.unacknowledged() == ["a1"]
    bob.receive(first, now=1)
    alice.receive(bob.wrap(b"hi", "b1", now=2), now=3)
    assert alice.acknowledged == ["a1"]
    assert alice.unacknowledged() == []


def test_bloom_filters_claiming_a_message_twice_acknowledge_it() -> None:
    alice, bob, carol = _channel("alice"), _channel("bob"), _channel("carol")
    sent = [alice.wrap(f"{i}".encode(), f"a{i}", now=0) for i in range(3)]
    for other in (bob, carol):
        for data in sent:
            other.receive(data, now=0)
    # A sync message names the log's last two (a1, a2); a0 is only in its bloom filter.
    alice.receive(bob.sync_message(now=1), now=1)
    assert sorted(alice.acknowledged) == ["a1", "a2"]
    assert alice.unacknowledged() == ["a0"]
    alice.receive(carol.sync_message(now=2), now=2)
    assert alice.acknowledged[-1] == "a0"
    assert alice.unacknowledged() == []


def test_unacknowledged_messages_are_broadcast_again_then_reported_failed() -> None:
    alice = _channel("alice")
    data = alice.wrap(b"anyone?", "a1", now=0)
    assert alice.sweep(now=RESEND_UNACKNOWLEDGED - 1).rebroadcast == []
    now = 0.0
    for _ in range(MAX_RESENDS):
        now += RESEND_UNACKNOWLEDGED
        assert alice.sweep(now).rebroadcast == [data]
    now += RESEND_UNACKNOWLEDGED
    assert alice.sweep(now).failed == ["a1"]
    assert alice.unacknowledged() == []


def test_a_missing_message_is_repaired_by_its_sender() -> None:
    alice, carol = _channel("alice"), _channel("carol")
    lost = alice.wrap(b"lost", "a1", now=0)
    later = alice.wrap(b"later", "a2", now=1)
    assert carol.receive(later, now=1) == []
    assert set(carol.missing()) == {"a1"}
    # Before T_req nothing is asked; after T_max it certainly is.
    request = parse(carol.sync_message(now=2))
    assert list(request.repair_request) == []
    request = parse(carol.sync_message(now=1 + REPAIR_T_MAX))
    assert [e.message_id for e in request.repair_request] == ["a1"]
    alice.receive(request.SerializeToString(), now=1 + REPAIR_T_MAX)
    # The original sender answers at once (distance 0).
    repaired = alice.sweep(now=1 + REPAIR_T_MAX).rebroadcast
    assert lost in repaired
    delivered = carol.receive(lost, now=2 + REPAIR_T_MAX)
    assert [d.message_id for d in delivered] == ["a1", "a2"]


def test_a_dependency_never_seen_is_given_up_after_the_timeout() -> None:
    alice, bob = _channel("alice"), _channel("bob")
    alice.wrap(b"never arrives", "a1", now=0)
    second = alice.wrap(b"second", "a2", now=0)
    third = alice.wrap(b"third", "a3", now=0)
    bob.receive(third, now=0)
    bob.receive(second, now=0)
    assert bob.sweep(now=INCOMING_TIMEOUT - 1).delivered == []
    delivered = bob.sweep(now=INCOMING_TIMEOUT + 1).delivered
    assert [d.message_id for d in delivered] == ["a2", "a3"]
    assert delivered[0].lost == ("a1",)


def test_state_survives_a_restart() -> None:
    alice, bob = _channel("alice"), _channel("bob")
    first = alice.wrap(b"1", "a1", now=0)
    bob.receive(first, now=0)
    restarted = _channel("bob")
    restarted.restore(bob.export())
    assert restarted.knows("a1")
    assert [d.message_id for d in restarted.receive(alice.wrap(b"2", "a2", now=1), now=1)] == ["a2"]


def test_refuses_other_channels_and_malformed_messages() -> None:
    bob = _channel("bob")
    other = SdsChannel("#other", "x").wrap(b"x", "x1", now=0)
    with pytest.raises(SdsError):
        bob.receive(other, now=0)
    with pytest.raises(SdsError):
        bob.receive(sds_pb2.SdsMessage(channel_id=CHANNEL).SerializeToString(), now=0)
    with pytest.raises(SdsError):
        bob.receive(b"\xff\xff\xff", now=0)


@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_only_typed_errors(data: bytes) -> None:
    channel = _channel("fuzz")
    with contextlib.suppress(SdsError):
        channel.receive(data, now=0)


def test_sending_a_message_again_sends_the_same_message() -> None:
    alice, bob = _channel("alice"), _channel("bob")
    first = alice.wrap(b"1", "a1", now=0)
    assert alice.wrap(b"1", "a1", now=5) == first
    assert [d.message_id for d in bob.receive(first, now=6)] == ["a1"]
    restarted = _channel("alice")
    restarted.restore(alice.export())
    again = parse(restarted.wrap(b"1", "a1", now=7))
    assert "a1" not in [e.message_id for e in again.causal_history], "never its own cause"
