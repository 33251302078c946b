"""Private group membership events: signatures, status-go's rules, the folded group, and a
fuzzed decoder (:mod:`pystatus.chat.membership`)."""

from __future__ import annotations

import contextlib
import uuid

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat.membership import (
    MAX_FUTURE_DRIFT_MS,
    REJECTED,
    EventType,
    InvalidMembershipUpdate,
    MembershipEvent,
    check_clocks,
    decode_event,
    decode_update,
    encode_update,
    fold,
    key_text,
    new_chat_id,
    sign_event,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import membership_update_message_pb2 as pb
from pystatus.waku.enr import keccak256

ALICE = coincurve.PrivateKey(keccak256(b"group test alice"))
BOB = coincurve.PrivateKey(keccak256(b"group test bob"))
CAROL = coincurve.PrivateKey(keccak256(b"group test carol"))
A, B, C = (key_text(k.public_key.format(compressed=False)) for k in (ALICE, BOB, CAROL))
CHAT = new_chat_id(ALICE.public_key.format(), uuid.UUID("6f1c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5"))
T = 1_700_000_000_000


def ev(signer: coincurve.PrivateKey, type: EventType, clock: int, **kw: object) -> MembershipEvent:
    return sign_event(signer.secret, CHAT, type, clock, **kw)  # type: ignore[arg-type]


def base() -> list[MembershipEvent]:
    return [
        ev(ALICE, EventType.CHAT_CREATED, T, name="g", color="#887af9"),
        ev(ALICE, EventType.MEMBERS_ADDED, T + 1, members=[B, C]),
    ]


def rejected(reason: str) -> float:
    return float(REJECTED.labels(reason)._value.get())


def test_chat_id_is_a_uuid_then_the_creators_key() -> None:
    assert CHAT == "6f1c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5-" + A
    assert A.startswith("0x04") and len(A) == 132
    fresh = new_chat_id(ALICE.public_key.format())
    assert uuid.UUID(fresh[:36]).version == 4 and fresh.endswith(A)


def test_the_signature_covers_the_chat_id_and_the_event_and_recovers_the_author() -> None:
    event = ev(ALICE, EventType.NAME_CHANGED, T, name="x")
    recovered = coincurve.PublicKey.from_signature_and_message(
        event.signature, keccak256(CHAT.encode() + event.raw), hasher=None
    )
    assert key_text(recovered.format()) == A == event.author
    parsed = pb.MembershipUpdateEvent.FromString(event.raw)
    assert (int(parsed.type), parsed.clock, parsed.name) == (EventType.NAME_CHANGED, T, "x")
    again = decode_event(CHAT, event.wire)
    assert again == event
    # The same bytes under another chat id recover someone else: not Alice's event there.
    assert decode_event(CHAT + "x", event.wire).author != A


def test_a_short_or_forged_event_is_refused_and_counted() -> None:
    before = rejected("length")
    with pytest.raises(InvalidMembershipUpdate):
        decode_event(CHAT, b"\x00" * 65)
    assert rejected("length") == before + 1
    before = rejected("signature")
    with pytest.raises(InvalidMembershipUpdate):
        decode_event(CHAT, b"\x00" * 64 + b"\x07" + b"\x08\x01")  # recovery id 7
    assert rejected("signature") == before + 1


def test_the_group_folds_its_events_in_clock_order() -> None:
    events = [
        *base(),
        ev(BOB, EventType.MEMBER_JOINED, T + 2),
        ev(ALICE, EventType.ADMINS_ADDED, T + 3, members=[B]),
        ev(BOB, EventType.NAME_CHANGED, T + 4, name="renamed"),
        ev(CAROL, EventType.COLOR_CHANGED, T + 5, color="#ff0000"),
        ev(ALICE, EventType.IMAGE_CHANGED, T + 6, image=b"\x01\x02"),
        ev(BOB, EventType.MEMBER_REMOVED, T + 7, members=[C]),
    ]
    group = fold(CHAT, reversed(events))
    assert (group.creator, group.name, group.color, group.image) == (
        A,
        "renamed",
        "#ff0000",
        b"\x01\x02",
    )
    assert group.members == (A, B)
    assert group.admins == (A, B)
    assert group.removed_at == {C: T + 7}
    assert group.was_ever_member(C) and not group.is_member(C)
    assert [e.clock for e in group.events] == sorted(e.clock for e in events)


@pytest.mark.parametrize(
    ("label", "extra"),
    [
        ("outsider adds", lambda: ev(CAROL, EventType.MEMBERS_ADDED, T + 1, members=[C])),
        ("outsider renames", lambda: ev(CAROL, EventType.NAME_CHANGED, T + 1, name="x")),
        ("empty name", lambda: ev(ALICE, EventType.NAME_CHANGED, T + 1, name="")),
        ("empty colour", lambda: ev(ALICE, EventType.COLOR_CHANGED, T + 1, color="")),
        ("non-member joins", lambda: ev(CAROL, EventType.MEMBER_JOINED, T + 1)),
        ("admin of a non-member", lambda: ev(ALICE, EventType.ADMINS_ADDED, T + 1, members=[C])),
        ("created twice", lambda: ev(ALICE, EventType.CHAT_CREATED, T + 1, name="again")),
        ("removing two", lambda: ev(ALICE, EventType.MEMBER_REMOVED, T + 1, members=[A, B])),
        ("unknown type", lambda: ev(ALICE, EventType.UNKNOWN, T + 1)),
    ],
)
def test_events_status_go_refuses_reject_the_whole_update(label: str, extra: object) -> None:
    created = ev(ALICE, EventType.CHAT_CREATED, T, name="g")
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [created, extra()])  # type: ignore[operator]


def test_who_may_remove_whom() -> None:
    events = base()
    # A member removes only themselves; an admin removes a non-admin, never another admin.
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [*events, ev(BOB, EventType.MEMBER_REMOVED, T + 2, members=[C])])
    left = fold(CHAT, [*events, ev(BOB, EventType.MEMBER_REMOVED, T + 2, members=[B])])
    assert left.members == (A, C)
    removed = fold(CHAT, [*events, ev(ALICE, EventType.MEMBER_REMOVED, T + 2, members=[B])])
    assert removed.members == (A, C)
    admins = [*events, ev(ALICE, EventType.ADMINS_ADDED, T + 2, members=[B])]
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [*admins, ev(ALICE, EventType.MEMBER_REMOVED, T + 3, members=[B])])
    # An admin drops only their own admin rights.
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [*admins, ev(ALICE, EventType.ADMIN_REMOVED, T + 3, members=[B])])
    stepped_down = fold(CHAT, [*admins, ev(BOB, EventType.ADMIN_REMOVED, T + 3, members=[B])])
    assert stepped_down.admins == (A,)


def test_the_chat_id_must_end_with_the_creators_key() -> None:
    other = new_chat_id(BOB.public_key.format())
    created = sign_event(ALICE.secret, other, EventType.CHAT_CREATED, T, name="g")
    with pytest.raises(InvalidMembershipUpdate, match="chat_id"):
        fold(other, [created])
    bare = sign_event(ALICE.secret, A, EventType.CHAT_CREATED, T, name="g")
    with pytest.raises(InvalidMembershipUpdate, match="chat_id"):
        fold(A, [bare])
    with pytest.raises(InvalidMembershipUpdate, match="chat_id"):
        fold(CHAT, [created])  # an event of another group


def test_the_first_event_must_be_chat_created() -> None:
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [])
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, [ev(ALICE, EventType.NAME_CHANGED, T, name="x")])


def test_merging_keeps_each_event_once() -> None:
    group = fold(CHAT, base())
    again = group.apply([*base(), ev(BOB, EventType.MEMBER_JOINED, T + 2)])
    assert len(again.events) == 3
    assert group.apply(base()) == group


def test_clocks_must_be_set_and_not_too_far_ahead() -> None:
    check_clocks(base(), T)
    check_clocks([ev(ALICE, EventType.CHAT_CREATED, T + MAX_FUTURE_DRIFT_MS, name="g")], T)
    with pytest.raises(InvalidMembershipUpdate, match="clock"):
        check_clocks([ev(ALICE, EventType.CHAT_CREATED, 0, name="g")], T)
    with pytest.raises(InvalidMembershipUpdate, match="clock"):
        check_clocks([ev(ALICE, EventType.CHAT_CREATED, T + MAX_FUTURE_DRIFT_MS + 1, name="g")], T)


def test_an_update_round_trips_with_its_message() -> None:
    message = chat_message_pb2.ChatMessage(clock=T + 5, text="hi", chat_id=CHAT)
    data = encode_update(CHAT, base(), message)
    update = decode_update(data)
    assert update.chat_id == CHAT and update.events == tuple(base())
    assert update.message == message and update.emoji_reaction is None
    bare = decode_update(encode_update(CHAT, base()))
    assert bare.message is None
    raw = pb.MembershipUpdateMessage.FromString(data)
    assert raw.events[0][:65] == base()[0].signature, "signature first, then the event"


def test_too_many_events_are_refused_before_any_signature_is_checked() -> None:
    data = pb.MembershipUpdateMessage(chat_id=CHAT, events=[b"\x00"] * 1001).SerializeToString()
    with pytest.raises(InvalidMembershipUpdate, match="too_many"):
        decode_update(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzzed_updates_parse_or_raise_invalid(data: bytes) -> None:
    try:
        update = decode_update(data)
    except InvalidMembershipUpdate:
        return
    with contextlib.suppress(InvalidMembershipUpdate):
        fold(update.chat_id, update.events)


KEYS = {A: ALICE, B: BOB, C: CAROL}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(KEYS)),
            st.integers(0, 10),
            st.lists(st.sampled_from(sorted(KEYS)), max_size=3),
            st.text(max_size=3),
        ),
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_fuzzed_event_histories_fold_or_raise_whatever_their_order(
    steps: list[tuple[str, int, list[str], str]], rnd: object
) -> None:
    """Random signed histories after a CHAT_CREATED: the fold raises
    InvalidMembershipUpdate or gives the same group whatever order the events came in."""
    events = [sign_event(ALICE.secret, CHAT, EventType.CHAT_CREATED, T, name="g")]
    for i, (signer, type, members, text) in enumerate(steps):
        events.append(
            decode_event(
                CHAT,
                sign_event(
                    KEYS[signer].secret,
                    CHAT,
                    EventType.UNKNOWN if type > 9 else EventType(type),
                    T + i + 1,
                    members=members,
                    name=text,
                    color=text,
                    image=text.encode(),
                ).wire,
            )
        )
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    try:
        group = fold(CHAT, events)
    except InvalidMembershipUpdate:
        with pytest.raises(InvalidMembershipUpdate):
            fold(CHAT, shuffled)
        return
    assert group.creator == A
    assert fold(CHAT, shuffled) == group
    assert decode_update(encode_update(CHAT, group.events)).events == group.events
