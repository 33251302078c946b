"""What the tests of pystatus.chat.content share: two keys, shorthand for the enums they use
most, a loose protobuf constructor and the hypothesis strategies."""

from __future__ import annotations

from typing import Any, TypeVar

import coincurve
from google.protobuf.message import Message
from hypothesis import strategies as st

from pystatus.chat.content import ChatMessageType, ContactEvent, ContactRequestState
from pystatus.chat.proto import chat_message_pb2

ALICE = coincurve.PrivateKey()
BOB = coincurve.PrivateKey()
ALICE_KEY = ALICE.public_key.format(compressed=False)
BOB_KEY = BOB.public_key.format(compressed=False)
ALICE_ID = "0x" + ALICE_KEY.hex()
BOB_ID = "0x" + BOB_KEY.hex()
M = TypeVar("M", bound=Message)


def pb(cls: type[M], **fields: Any) -> M:
    """A protobuf message with fields given loosely (plain numbers for enums)."""
    return cls(**fields)


ONE_TO_ONE = ChatMessageType.ONE_TO_ONE
PUBLIC = ChatMessageType.PUBLIC_GROUP
N, S, R, D = (
    ContactRequestState.NONE,
    ContactRequestState.SENT,
    ContactRequestState.RECEIVED,
    ContactRequestState.DISMISSED,
)


# ---- hypothesis strategies --------------------------------------------------------------------

CLOCKS = st.integers(0, 2**64 - 1)
ENUM_VALUES = st.integers(0, 20)
TEXTS = st.sampled_from(["", " ", "hi", "Alice", "x.eth", "a" * 4097, "\x1c", "Bob B"])
CONTACT_EVENTS = st.sampled_from(list(ContactEvent))


@st.composite
def chat_messages(draw: st.DrawFn) -> bytes:
    """A serialized ChatMessage with any mix of fields and at most one attachment."""
    message = pb(
        chat_message_pb2.ChatMessage,
        clock=draw(CLOCKS),
        timestamp=draw(CLOCKS),
        text=draw(TEXTS),
        chat_id=draw(st.sampled_from(["", "status", BOB_ID])),
        message_type=draw(ENUM_VALUES),
        content_type=draw(ENUM_VALUES),
        display_name=draw(TEXTS),
    )
    attachment = draw(st.sampled_from(["", "sticker", "image", "audio", "bridge", "community"]))
    if attachment == "sticker":
        message.sticker.hash = draw(st.sampled_from(["", "0xabc"]))
    elif attachment == "image":
        message.image.CopyFrom(
            pb(
                chat_message_pb2.ImageMessage,
                payload=draw(st.binary(max_size=4)),
                format=draw(ENUM_VALUES),
            )
        )
    elif attachment == "audio":
        message.audio.CopyFrom(
            pb(
                chat_message_pb2.AudioMessage,
                payload=draw(st.binary(max_size=4)),
                type=draw(ENUM_VALUES),
                duration_ms=draw(CLOCKS),
            )
        )
    elif attachment == "bridge":
        message.bridge_message.userName = draw(TEXTS)
        message.bridge_message.bridgeName = draw(TEXTS)
        message.bridge_message.content = draw(TEXTS)
    elif attachment == "community":
        message.community = b"\x01"
    if draw(st.booleans()):
        message.contact_request_propagated_state.local_state = draw(CLOCKS)
    return message.SerializeToString()
