"""Private group events against status-go v1.1.0's own answers
(``tests/vectors/statusgo/membership.json``, made by ``tests/interop/statusgo/groupvectors.go``
with ``protocol/v1``'s Sign, MembershipUpdateMessageFromProtobuf and NewGroupWithEvents)."""

from __future__ import annotations

from typing import Any

import pytest

from pystatus.chat.membership import (
    EventType,
    InvalidMembershipUpdate,
    decode_event,
    decode_update,
    encode_update,
    fold,
    sign_event,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import membership_update_message_pb2 as pb
from tests.vectors import load_vectors

V = load_vectors("statusgo/membership.json")
PRIVATE = {k["label"].split()[0]: bytes.fromhex(k["private"]) for k in V["keys"]}
PUBLIC = {"0x" + k["public"]: k["label"].split()[0] for k in V["keys"]}
CHAT = V["chat_id"]


@pytest.mark.parametrize("vector", V["events"], ids=lambda v: v["label"])
def test_we_sign_each_event_to_the_same_bytes_as_status_go(vector: dict[str, Any]) -> None:
    parsed = pb.MembershipUpdateEvent.FromString(bytes.fromhex(vector["raw"]))
    ours = sign_event(
        PRIVATE[PUBLIC[vector["from"]]],
        CHAT,
        EventType(vector["type"]),
        vector["clock"],
        members=list(parsed.members),
        name=parsed.name,
        color=parsed.color,
        image=bytes(parsed.image),
    )
    assert ours.raw.hex() == vector["raw"]
    assert ours.signature.hex() == vector["signature"]  # RFC 6979 nonces on both sides
    assert ours.wire.hex() == vector["wire"]
    decoded = decode_event(CHAT, bytes.fromhex(vector["wire"]))
    assert decoded.author == vector["from"]


def test_each_prefix_of_the_history_folds_to_status_gos_group() -> None:
    events = [decode_event(CHAT, bytes.fromhex(v["wire"])) for v in V["events"]]
    for n, state in enumerate(V["states"], start=1):
        group = fold(CHAT, events[:n])
        label = V["events"][n - 1]["label"]
        assert list(group.members) == state["members"], label
        assert list(group.admins) == state["admins"], label
        assert (group.name, group.color, group.image.hex()) == (
            state["name"],
            state["color"],
            state["image"],
        ), label


@pytest.mark.parametrize("vector", V["invalid"], ids=lambda v: v["label"])
def test_we_refuse_the_histories_status_go_refuses(vector: dict[str, Any]) -> None:
    assert vector["rejected"]
    events = [decode_event(CHAT, bytes.fromhex(w)) for w in vector["events"]]
    with pytest.raises(InvalidMembershipUpdate):
        fold(CHAT, events)
    fold(CHAT, events[:-1])  # what came before the bad event was a valid group


def test_a_chat_id_not_ending_with_the_creator_is_refused() -> None:
    wrong = V["wrong_chat_id"]
    assert wrong["rejected"]
    event = decode_event(wrong["chat_id"], bytes.fromhex(wrong["event"]))
    with pytest.raises(InvalidMembershipUpdate):
        fold(wrong["chat_id"], [event])


def test_a_group_message_encodes_as_status_gos() -> None:
    vector = V["message"]
    chat = chat_message_pb2.ChatMessage.FromString(bytes.fromhex(vector["chat_message"]))
    events = [decode_event(CHAT, bytes.fromhex(v["wire"])) for v in V["events"]]
    events = events[: vector["events"]]
    assert encode_update(CHAT, events, chat).hex() == vector["encoded"]
    update = decode_update(bytes.fromhex(vector["encoded"]))
    assert update.message is not None and update.message.text == "hello group"
    assert update.events == tuple(events)
