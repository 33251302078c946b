"""MVDS batch mode over a simulated lossy link on a virtual clock."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import random
import struct

import coincurve
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.chat.mvds import (
    MVDS,
    RESEND_INTERVAL,
    MvdsError,
    SyncMessage,
    message_id,
    one_to_one_group_id,
)
from pystatus.chat.proto import mvds_pb2
from pystatus.waku.enr import keccak256

GROUP = bytes(32)


def _run(
    alice: MVDS,
    bob: MVDS,
    *,
    loss: float,
    seconds: float,
    rng: random.Random,
    start: float = 0.0,
) -> list[SyncMessage]:
    """Tick both sides every 0.3 s (status-go's epoch), dropping payloads at random."""
    received: list[SyncMessage] = []
    now = start
    while now < start + seconds:
        for payload in alice.tick(now).payloads.values():
            if rng.random() >= loss:
                new = bob.receive("alice", payload)
                for message in new:
                    bob.acknowledge("alice", message.id)  # stored, so acknowledged
                received.extend(new)
        for payload in bob.tick(now).payloads.values():
            if rng.random() >= loss:
                alice.receive("bob", payload)
        now += 0.3
    return received


def test_message_id_is_the_specs() -> None:
    expected = hashlib.sha256(b"MESSAGE_ID" + GROUP + struct.pack("<Q", 7) + b"body").digest()
    assert message_id(GROUP, 7, b"body") == expected == SyncMessage(GROUP, 7, b"body").id


def test_everything_arrives_once_despite_heavy_loss() -> None:
    rng = random.Random(4)
    alice, bob = MVDS(rng=random.Random(1)), MVDS(rng=random.Random(2))
    sent = [alice.send(SyncMessage(GROUP, i, b"m%d" % i), ["bob"], 0.0) for i in range(200)]
    received = _run(alice, bob, loss=0.3, seconds=4000, rng=rng)
    assert sorted(m.id for m in received) == sorted(sent), "each exactly once"
    # Acknowledgements are not re-sent on their own: a lost one waits for the next resend.
    received += _run(alice, bob, loss=0.0, seconds=7500, rng=rng, start=4000)
    assert len(received) == len(sent), "resends after lost acks deliver nothing twice"
    assert all(not alice.pending(m) for m in sent), "every message acknowledged"
    assert {m for m, _ in alice.acknowledged} == set(sent)


def test_resends_back_off_exponentially() -> None:
    alice = MVDS(rng=random.Random(0))
    alice.send(SyncMessage(GROUP, 1, b"x"), ["bob"], 0.0)
    sent_at = [t for t in (x * 0.3 for x in range(int(400 / 0.3))) if alice.tick(t).payloads]
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert len(sent_at) >= 4
    for index, gap in enumerate(gaps[:3]):
        base = 2**index * RESEND_INTERVAL
        # status-go's jitter: up to 30 epochs of 300 ms on top of the backoff.
        assert base <= gap <= base + 0.3 * RESEND_INTERVAL + 0.3


def test_acknowledged_messages_stop_and_duplicates_are_reacked() -> None:
    alice, bob = MVDS(), MVDS()
    sent = alice.send(SyncMessage(GROUP, 1, b"x"), ["bob"], 0.0)
    payload = alice.tick(0.0).payloads["bob"]
    assert len(bob.receive("alice", payload)) == 1
    assert bob.tick(0.0).payloads == {}, "nothing acknowledged before the application stores it"
    bob.acknowledge("alice", sent)
    assert bob.receive("alice", payload) == [], "delivered once"
    assert bob.tick(0.5).payloads == {}, "acknowledgements wait for a message to ride along"
    acks = bob.tick(1.0).payloads["alice"]
    assert list(mvds_pb2.Payload.FromString(acks).acks) == [sent, sent], "and re-acknowledged"
    alice.receive("bob", acks)
    assert alice.pending(sent) == []
    assert alice.tick(10_000.0).payloads == {}, "nothing left to resend"


@given(st.binary(max_size=300))
def test_receive_raises_only_mvds_error(data: bytes) -> None:
    with contextlib.suppress(MvdsError):
        MVDS().receive("peer", data)


def test_oversized_payloads_are_refused() -> None:
    payload = mvds_pb2.Payload(acks=[bytes(32)] * 5000)
    with pytest.raises(MvdsError):
        MVDS().receive("peer", payload.SerializeToString())


def test_a_message_unanswered_after_max_sends_is_reported_failed() -> None:
    alice = MVDS(rng=random.Random(0), resend_interval=1.0, max_sends=3)
    sent = alice.send(SyncMessage(GROUP, 1, b"x"), ["bob"], 0.0)
    ticks = [alice.tick(t * 0.3) for t in range(100)]
    assert sum(1 for tick in ticks if tick.payloads) == 3
    assert [f for tick in ticks for f in tick.failed] == [(sent, "bob")]
    assert alice.pending(sent) == []


def test_resend_now_skips_the_backoff_and_payloads_fit_a_waku_message() -> None:
    alice = MVDS(max_payload_bytes=10_000)
    sent = [alice.send(SyncMessage(GROUP, i, bytes(1000)), ["bob"], 0.0) for i in range(25)]
    sizes: list[int] = []
    now = 0.0
    while len(sizes) < 3:
        tick = alice.tick(now)
        sizes += [len(p) for p in tick.payloads.values()]
        now += 0.3
    assert all(size <= 10_000 for size in sizes)
    assert alice.tick(now).payloads == {}, "all sent, the backoff holds the rest"
    assert alice.resend_now(sent[0], now)
    again = alice.tick(now)
    assert again.carried == {"bob": [sent[0]]}
    assert [o.send_count for o in alice.outgoing() if o.message.id == sent[0]] == [1]
    assert alice.tick(now).payloads == {}, "and the backoff still holds it"


def test_acknowledgements_ride_along_with_a_message_going_anyway() -> None:
    alice, bob = MVDS(), MVDS()
    sent = alice.send(SyncMessage(GROUP, 1, b"question"), ["bob"], 0.0)
    for message in bob.receive("alice", alice.tick(0.0).payloads["bob"]):
        bob.acknowledge("alice", message.id)
    bob.send(SyncMessage(GROUP, 2, b"answer"), ["alice"], 0.1)
    payload = mvds_pb2.Payload.FromString(bob.tick(0.3).payloads["alice"])
    assert list(payload.acks) == [sent] and len(payload.messages) == 1


def test_one_to_one_group_id_is_status_gos() -> None:
    """keccak256 of both compressed keys, the smaller x first, the same from both sides."""
    a = coincurve.PrivateKey(b"\x01" * 32).public_key
    b = coincurve.PrivateKey(b"\x02" * 32).public_key
    first, second = sorted((a, b), key=lambda k: k.point()[0])
    expected = keccak256(first.format() + second.format())
    assert one_to_one_group_id(a.format(False), b.format()) == expected
    assert one_to_one_group_id(b.format(), a.format(False)) == expected


def test_offers_are_requested_and_requests_answered() -> None:
    alice, bob = MVDS(), MVDS()
    message = SyncMessage(GROUP, 1, b"x")
    alice.send(message, ["bob"], 0.0)
    alice.tick(0.0)  # sent once (and lost)
    offer = mvds_pb2.Payload()
    offer.group_offers.add(group_id=GROUP, message_ids=[message.id])
    assert bob.receive("alice", offer.SerializeToString()) == []
    request = bob.tick(0.0).payloads["alice"]
    assert list(mvds_pb2.Payload.FromString(request).requests) == [message.id]
    alice.receive("bob", request)
    again = mvds_pb2.Payload.FromString(alice.tick(0.3).payloads["bob"])
    assert [m.body for m in again.messages] == [b"x"], "a request brings the message at once"
