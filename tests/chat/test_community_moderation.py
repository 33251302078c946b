"""Deleting a member's community messages, sans-IO (:mod:`pystatus.chat.community_moderation`):
status-go v1.1.0's DeleteCommunityMemberMessages (type 85) decoded and checked, the signer's
rights, and the members a description bans with ``delete_all_messages``."""

from __future__ import annotations

import contextlib
import time

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import community_control as control
from pystatus.chat.community import Community, InvalidCommunity, member_key
from pystatus.chat.community_moderation import (
    MAX_NAMED,
    check_sender,
    decode_member_deletes,
    deleting_all,
    encode_member_deletes,
)
from pystatus.chat.proto import community_moderation_pb2 as pb

OWNER = coincurve.PrivateKey()
MEMBER = coincurve.PrivateKey()
OWNER_KEY = member_key(OWNER.public_key.format(compressed=False))
MEMBER_KEY = member_key(MEMBER.public_key.format(compressed=False))


def _community() -> tuple[bytes, Community]:
    now = int(time.time() * 1000)
    key, community = control.create(OWNER.public_key.format(compressed=False), "Cats", now)
    community = control.add_member(community, key, MEMBER_KEY, now + 1)
    return key, community


def test_round_trip_all_and_named() -> None:
    _, community = _community()
    order = decode_member_deletes(encode_member_deletes(community, MEMBER_KEY, 7))
    assert (order.clock, order.community_id, order.member, order.messages) == (
        7,
        community.id,
        MEMBER_KEY,
        (),
    )
    named = [("0x" + "ab" * 32, community.id + "general")]
    order = decode_member_deletes(encode_member_deletes(community, MEMBER_KEY, 8, named))
    assert order.messages == tuple(named)


@pytest.mark.parametrize(
    "change",
    [
        {"community_id": b"\x02" * 32},
        {"community_id": b"\x05" + b"\x01" * 32},
        {"member_id": "0xnothex"},
        {"member_id": ""},
        {"messages": [pb.DeleteCommunityMemberMessage(id="", chat_id="x")]},
        {"messages": [pb.DeleteCommunityMemberMessage(id="0x01", chat_id="0x02other")]},
        {"messages": [pb.DeleteCommunityMemberMessage(id="a", chat_id="b")] * (MAX_NAMED + 1)},
    ],
)
def test_malformed_orders_are_refused(change: dict[str, object]) -> None:
    _, community = _community()
    message = pb.DeleteCommunityMemberMessages.FromString(
        encode_member_deletes(community, MEMBER_KEY, 1)
    )
    for field, value in change.items():
        if field == "messages":
            message.messages.extend(value)  # type: ignore[arg-type]
        else:
            setattr(message, field, value)
    with pytest.raises(InvalidCommunity) as caught:
        decode_member_deletes(message.SerializeToString())
    assert caught.value.reason in ("member_deletes", "id")  # a point off the curve: "id"


def test_only_the_control_node_or_an_admin_may_order() -> None:
    _, community = _community()
    check_sender(community, community.control_node)
    check_sender(community, OWNER_KEY)
    with pytest.raises(InvalidCommunity) as caught:
        check_sender(community, MEMBER_KEY)
    assert caught.value.reason == "not_privileged"


def test_members_banned_deleting_all() -> None:
    key, community = _community()
    now = int(time.time() * 1000) + 10
    assert deleting_all(control.ban(community, key, MEMBER_KEY, now)) == []
    banned = control.ban(community, key, MEMBER_KEY, now, delete_all_messages=True)
    assert deleting_all(banned) == [MEMBER_KEY]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_member_deletes_decoder_parses_or_raises(data: bytes) -> None:
    with contextlib.suppress(InvalidCommunity):
        decode_member_deletes(data)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=33, max_size=33),
    st.text(max_size=140),
    st.lists(st.tuples(st.text(max_size=80), st.text(max_size=80)), max_size=5),
)
def test_fuzz_member_deletes_fields_parse_or_raise(
    community_id: bytes, member: str, named: list[tuple[str, str]]
) -> None:
    message = pb.DeleteCommunityMemberMessages(
        clock=1,
        community_id=community_id,
        member_id=member,
        messages=[pb.DeleteCommunityMemberMessage(id=i, chat_id=c) for i, c in named],
    )
    with contextlib.suppress(InvalidCommunity):
        decode_member_deletes(message.SerializeToString())
