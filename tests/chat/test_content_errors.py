"""How content fails: builders refuse with ContentRefused what status-go would drop, parsers
raise nothing but InvalidContent, whatever the bytes (pystatus.chat.content.errors)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import content as c
from pystatus.chat.content import (
    Audio,
    ContentRefused,
    EmojiType,
    Image,
    InvalidContent,
    PropagatedState,
    Sticker,
    SyncedContact,
)
from pystatus.errors import ChatError
from tests.chat.content_helpers import BOB_ID, ONE_TO_ONE


def test_builders_refuse_what_status_go_would_drop() -> None:
    refusals: list[Callable[[], bytes]] = [
        lambda: c.build_chat_message(0, 1, BOB_ID, ONE_TO_ONE, "hi"),
        lambda: c.build_chat_message(1, 0, BOB_ID, ONE_TO_ONE, "hi"),
        lambda: c.build_chat_message(1, 1, "bob", ONE_TO_ONE, "hi"),
        lambda: c.build_chat_message(1, 1, BOB_ID, ONE_TO_ONE, ""),
        lambda: c.build_chat_message(1, 1, BOB_ID, ONE_TO_ONE, "hi", display_name="x.eth"),
        lambda: c.build_chat_message(
            1, 1, BOB_ID, ONE_TO_ONE, "hi", sticker=Sticker("h"), audio=Audio(b"a", 1)
        ),
        lambda: c.build_chat_message(1, 1, BOB_ID, ONE_TO_ONE, image=Image(b"?", 0)),
        lambda: c.build_chat_message(-1, 1, BOB_ID, ONE_TO_ONE, "hi"),
        lambda: c.build_chat_message(1, -1, BOB_ID, ONE_TO_ONE, "hi"),
        lambda: c.build_chat_message(
            1, 1, BOB_ID, ONE_TO_ONE, "hi", propagated_state=PropagatedState(-1)
        ),
        lambda: c.build_edit(1, BOB_ID, "", "new", ONE_TO_ONE),
        lambda: c.build_delete(0, BOB_ID, "m", ONE_TO_ONE),
        lambda: c.build_delete_for_me(1, ""),
        lambda: c.build_pin(1, BOB_ID, "", ONE_TO_ONE),
        lambda: c.build_pin(1, "bob", "m", ONE_TO_ONE),
        lambda: c.build_emoji_reaction(
            1, BOB_ID, "m", ONE_TO_ONE, EmojiType.UNKNOWN_EMOJI_REACTION_TYPE
        ),
        lambda: c.build_accept_contact_request("", 1),
        lambda: c.build_accept_contact_request("x", 0),
        lambda: c.build_retract_contact_request(0),
        lambda: c.build_retract_contact_request(1 << 64),
        lambda: c.build_contact_update(0),
        lambda: c.build_contact_update(1, display_name="no"),
        lambda: c.build_chat_identity(0, "Alice"),
        lambda: c.build_chat_identity(1, "Alice", "b" * 241),
        lambda: c.build_pair_installation(1, "", "d", "n"),
        lambda: c.build_synced_contact(SyncedContact("bob")),
        lambda: c.build_request_decision(0, "r", accepted=True),
    ]
    for refusal in refusals:
        with pytest.raises(ContentRefused):
            refusal()
    assert issubclass(ContentRefused, ChatError) and issubclass(InvalidContent, ChatError)


PARSERS: list[Callable[[bytes], object]] = [
    c.parse_chat_message,
    c.parse_edit,
    c.parse_delete,
    c.parse_delete_for_me,
    c.parse_pin,
    c.parse_emoji_reaction,
    c.parse_accept_contact_request,
    c.parse_retract_contact_request,
    c.parse_contact_update,
    c.parse_chat_identity,
    c.parse_contact_code_advertisement,
    c.parse_pair_installation,
    c.parse_synced_contact,
    c.parse_request_decision,
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: getattr(p, "__name__", "?"))
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_parsers_parse_or_raise_invalid_content(
    parser: Callable[[bytes], object], data: bytes
) -> None:
    with contextlib.suppress(InvalidContent):
        parser(data)
