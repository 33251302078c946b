"""Edits, deletes, pins and emoji reactions as status-go v1.1.0 builds and reads them, and who
may edit or delete what (pystatus.chat.content.actions)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import content as c
from pystatus.chat.content import ChatMessageType, ContentType, EmojiType, InvalidContent
from pystatus.chat.proto import chat_message_pb2, pin_message_pb2
from tests.chat.content_helpers import (
    ALICE_ID,
    BOB_ID,
    CLOCKS,
    ENUM_VALUES,
    ONE_TO_ONE,
    PUBLIC,
    TEXTS,
    pb,
)


def test_edits_deletes_pins_reactions_round_trip() -> None:
    edit = c.parse_edit(
        c.build_edit(9, BOB_ID, "0x01", "fixed", ONE_TO_ONE, content_type=ContentType.EMOJI)
    )
    assert edit == c.Edit(9, BOB_ID, "0x01", "fixed", ONE_TO_ONE, ContentType.EMOJI)
    delete = c.parse_delete(c.build_delete(9, "group-1", "0x01", ChatMessageType.PRIVATE_GROUP))
    assert delete == c.Delete(9, "group-1", "0x01", ChatMessageType.PRIVATE_GROUP)
    by_admin = c.build_delete(9, "x", "0x01", ChatMessageType.COMMUNITY_CHAT, deleted_by=ALICE_ID)
    assert c.parse_delete(by_admin).deleted_by == ALICE_ID
    assert c.parse_delete_for_me(c.build_delete_for_me(4, "0x02")) == c.DeleteForMe(4, "0x02")
    pin = c.parse_pin(c.build_pin(3, BOB_ID, "0x01", ONE_TO_ONE))
    assert pin == c.Pin(3, BOB_ID, "0x01", True, ONE_TO_ONE)
    assert not c.parse_pin(c.build_pin(4, "status", "0x01", PUBLIC, pinned=False)).pinned
    reaction = c.build_emoji_reaction(3, "status", "0x01", PUBLIC, EmojiType.LAUGH, retracted=True)
    assert c.parse_emoji_reaction(reaction) == c.Reaction(
        3, "status", "0x01", PUBLIC, EmojiType.LAUGH, True
    )


def _edit(**fields: Any) -> bytes:
    message: dict[str, Any] = {
        "clock": 5,
        "text": "new",
        "chat_id": "status",
        "message_id": "0x01",
        "message_type": PUBLIC,
    }
    message.update(fields)
    return chat_message_pb2.EditMessage(**message).SerializeToString()


@pytest.mark.parametrize(
    "fields",
    [
        {"clock": 0},
        {"chat_id": ""},
        {"message_id": ""},
        {"message_type": 0},
        {"message_type": 4},
        {"text": " "},
        {"text": "y" * 4097},
    ],
)
def test_edits_status_go_rejects(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidContent):
        c.parse_edit(_edit(**fields))


def test_edit_rules() -> None:
    edit = c.parse_edit(_edit())
    assert c.check_edit(edit, editor=ALICE_ID, author=ALICE_ID, edited_at=0)
    assert not c.check_edit(edit, editor=ALICE_ID, author=ALICE_ID, edited_at=5), "stale"
    with pytest.raises(InvalidContent, match="author"):
        c.check_edit(edit, editor=BOB_ID, author=ALICE_ID, edited_at=0)
    assert ContentType.STICKER not in c.EDITABLE
    assert ContentType.IMAGE in c.EDITABLE


def test_delete_rules() -> None:
    with pytest.raises(InvalidContent):
        c.parse_delete(
            pb(chat_message_pb2.DeleteMessage, chat_id="x", message_type=2).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_delete(
            pb(chat_message_pb2.DeleteMessage, message_id="m", message_type=2).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_delete(
            chat_message_pb2.DeleteMessage(chat_id="x", message_id="m").SerializeToString()
        )
    clockless = pb(chat_message_pb2.DeleteMessage, chat_id="x", message_id="m", message_type=2)
    assert c.parse_delete(clockless.SerializeToString()).clock == 0, "status-go takes it"
    delete = c.parse_delete(c.build_delete(2, "group", "0x01", ChatMessageType.PRIVATE_GROUP))
    c.check_delete(delete, deleter=ALICE_ID, author=ALICE_ID)
    c.check_delete(delete, deleter=BOB_ID, author=ALICE_ID, admin=True)
    with pytest.raises(InvalidContent):
        c.check_delete(delete, deleter=BOB_ID, author=ALICE_ID)
    with pytest.raises(InvalidContent):
        c.parse_delete_for_me(chat_message_pb2.SyncDeleteForMeMessage(clock=1).SerializeToString())
    assert ContentType.BRIDGE_MESSAGE in c.DELETABLE
    assert ContentType.BRIDGE_MESSAGE not in c.DELETABLE_FOR_ME


def test_pin_and_reaction_rules() -> None:
    for message_type in (0, 4, 6, 7):
        bad = pb(pin_message_pb2.PinMessage, clock=1, chat_id="x", message_type=message_type)
        with pytest.raises(InvalidContent):
            c.parse_pin(bad.SerializeToString())
    with pytest.raises(InvalidContent):
        c.parse_pin(pb(pin_message_pb2.PinMessage, clock=1, message_type=2).SerializeToString())
    # 1:1 pins from others are filed under their signer: no chat id needed
    assert (
        c.parse_pin(pb(pin_message_pb2.PinMessage, message_type=1).SerializeToString()).chat_id
        == ""
    )

    good = {"clock": 1, "chat_id": "x", "message_id": "m", "message_type": 2, "type": 1}
    assert c.parse_emoji_reaction(pb(chat_message_pb2.EmojiReaction, **good).SerializeToString())
    for change in (
        {"clock": 0},
        {"chat_id": ""},
        {"message_id": ""},
        {"type": 0},
        {"message_type": 0},
    ):
        bad_reaction = pb(chat_message_pb2.EmojiReaction, **(good | change))
        with pytest.raises(InvalidContent):
            c.parse_emoji_reaction(bad_reaction.SerializeToString())
    with pytest.raises(InvalidContent, match="too high"):
        c.parse_emoji_reaction(
            pb(chat_message_pb2.EmojiReaction, **good | {"clock": 200_001}).SerializeToString(),
            sent_at_ms=80_000,
        )


@settings(max_examples=300, deadline=None)
@given(
    clock=CLOCKS,
    chat_id=st.sampled_from(["", "status", BOB_ID]),
    message_id=st.sampled_from(["", "0x01"]),
    text=TEXTS,
    message_type=ENUM_VALUES,
    which=st.sampled_from(["edit", "delete", "pin", "reaction"]),
)
def test_structured_entities_parse_or_raise(
    clock: int, chat_id: str, message_id: str, text: str, message_type: int, which: str
) -> None:
    common: dict[str, Any] = {"clock": clock, "chat_id": chat_id, "message_id": message_id}
    entity: Any
    parser: Callable[[bytes], object]
    if which == "edit":
        entity, parser = chat_message_pb2.EditMessage(**common, text=text), c.parse_edit
    elif which == "delete":
        entity, parser = chat_message_pb2.DeleteMessage(**common), c.parse_delete
    elif which == "pin":
        entity, parser = pin_message_pb2.PinMessage(**common), c.parse_pin
    else:
        entity = pb(chat_message_pb2.EmojiReaction, **common, type=message_type % 8)
        parser = c.parse_emoji_reaction
    entity.message_type = message_type
    with contextlib.suppress(InvalidContent):
        parser(entity.SerializeToString())
