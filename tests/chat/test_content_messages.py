"""Chat messages as status-go v1.1.0 builds, reads and shows them: text and attachments, its
rules for what it takes (pystatus.chat.content.messages)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import content as c
from pystatus.chat.content import (
    Audio,
    AudioType,
    Bridge,
    ChatMessageType,
    ContentType,
    Image,
    ImageFormat,
    InvalidContent,
    PropagatedState,
    Sticker,
)
from pystatus.chat.proto import chat_message_pb2
from tests.chat.content_helpers import BOB_ID, CLOCKS, ONE_TO_ONE, PUBLIC, N, S, chat_messages, pb


def test_text_message_round_trip() -> None:
    state = PropagatedState(local_clock=3, local_state=S, remote_clock=0, remote_state=N)
    data = c.build_chat_message(
        5,
        1_700_000_000_000,
        BOB_ID,
        ONE_TO_ONE,
        "hello",
        response_to="0xabc",
        display_name="  Alice L ",
        propagated_state=state,
        customization_color=3,
    )
    message = c.parse_chat_message(data)
    assert message == c.ChatContent(
        clock=5,
        timestamp=1_700_000_000_000,
        chat_id=BOB_ID,
        message_type=ONE_TO_ONE,
        content_type=ContentType.TEXT_PLAIN,
        text="hello",
        response_to="0xabc",
        display_name="Alice L",
        propagated_state=state,
        customization_color=3,
    )
    assert c.describe(message) == "hello"
    assert c.describe(chat_message_pb2.ChatMessage.FromString(data)) == "hello"


def test_attachments_round_trip_and_are_described() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(20)
    image = c.parse_chat_message(
        c.build_chat_message(
            1, 2, BOB_ID, ONE_TO_ONE, image=Image(png, c.sniff_image_format(png), width=4)
        )
    )
    assert image.content_type == ContentType.IMAGE
    assert image.image == Image(png, ImageFormat.PNG, width=4)
    assert c.image_of(image) == image.image
    assert c.describe(image) == "[image]"
    captioned = c.build_chat_message(1, 2, BOB_ID, ONE_TO_ONE, "look", image=Image(png, 1))
    assert c.describe(chat_message_pb2.ChatMessage.FromString(captioned)) == "[image] look"
    assert c.image_of(chat_message_pb2.ChatMessage.FromString(captioned)) == Image(png, 1)

    audio = c.build_chat_message(
        1, 2, BOB_ID, ONE_TO_ONE, "voice", audio=Audio(b"aac", AudioType.AAC, 2_600)
    )
    assert c.describe(c.parse_chat_message(audio)) == "[audio 3 s]"
    assert c.audio_of(chat_message_pb2.ChatMessage.FromString(audio)) == Audio(
        b"aac", AudioType.AAC, 2_600
    )

    sticker = c.build_chat_message(
        1, 2, "status", PUBLIC, "sticker", sticker=Sticker("0xe301", pack=3)
    )
    assert c.parse_chat_message(sticker).sticker == Sticker("0xe301", 3)
    assert c.sticker_of(chat_message_pb2.ChatMessage.FromString(sticker)) == Sticker("0xe301", 3)
    assert c.describe(chat_message_pb2.ChatMessage.FromString(sticker)) == "[sticker]"

    bridged = c.build_chat_message(
        1,
        2,
        "community-chat",
        ChatMessageType.COMMUNITY_CHAT,
        bridge=Bridge("discord", "bob", "hi"),
    )
    assert c.describe(c.parse_chat_message(bridged)) == "bob: hi"
    request = c.build_chat_message(
        1, 2, BOB_ID, ONE_TO_ONE, "add me", content_type=ContentType.CONTACT_REQUEST
    )
    assert c.describe(c.parse_chat_message(request)) == "[contact request] add me"
    assert c.image_of(c.parse_chat_message(request)) is None
    assert c.audio_of(chat_message_pb2.ChatMessage.FromString(request)) is None
    assert c.sticker_of(chat_message_pb2.ChatMessage.FromString(request)) is None


@pytest.mark.parametrize(
    ("content_type", "text", "seen"),
    [
        (ContentType.SYSTEM_MESSAGE_PINNED_MESSAGE, "", "[pinned a message]"),
        (ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT, "", "[contact request sent]"),
        (ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED, "You removed @x", "You removed @x"),
        (ContentType.TRANSACTION_COMMAND, "", "[transaction]"),
        (ContentType.COMMUNITY, "", "[community]"),
        (ContentType.EMOJI, "🎉", "🎉"),
        (ContentType.AUDIO, "", "[audio]"),
        (99, "", "[unsupported message]"),
        (99, "from the future", "from the future"),
    ],
)
def test_describe_other_content(content_type: int, text: str, seen: str) -> None:
    message = pb(chat_message_pb2.ChatMessage, text=text, content_type=content_type)
    assert c.describe(message) == seen


def test_an_unknown_content_type_passes_as_status_go_shows_it() -> None:
    message = pb(
        chat_message_pb2.ChatMessage,
        clock=1,
        timestamp=2,
        text="new kind",
        chat_id="status",
        message_type=2,
        content_type=42,
    )
    parsed = c.parse_chat_message(message.SerializeToString())
    assert parsed.content_type == 42
    assert c.describe(parsed) == "new kind"


def _chat(**fields: Any) -> bytes:
    message: dict[str, Any] = {
        "clock": 5,
        "timestamp": 1000,
        "text": "hi",
        "chat_id": BOB_ID,
        "message_type": ONE_TO_ONE,
        "content_type": ContentType.TEXT_PLAIN,
    }
    message.update(fields)
    return chat_message_pb2.ChatMessage(**message).SerializeToString()


@pytest.mark.parametrize(
    "fields",
    [
        {"clock": 0},
        {"timestamp": 0},
        {"text": ""},
        {"text": " \t\n"},
        {"text": "x" * 4097},
        {"chat_id": ""},
        {"message_type": ChatMessageType.UNKNOWN_MESSAGE_TYPE},
        {"message_type": ChatMessageType.SYSTEM_MESSAGE_PRIVATE_GROUP},
        {"message_type": ChatMessageType.SYSTEM_MESSAGE_GAP},
        {"message_type": 9},
        {"content_type": ContentType.UNKNOWN_CONTENT_TYPE},
        {"content_type": ContentType.TRANSACTION_COMMAND},
        {"content_type": ContentType.SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP},
        {"content_type": ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT},
        {"content_type": ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED},
        {"content_type": ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED},
        {"content_type": ContentType.STICKER},
        {"content_type": ContentType.STICKER, "sticker": chat_message_pb2.StickerMessage()},
        {"content_type": ContentType.IMAGE, "text": ""},
        {"content_type": ContentType.IMAGE, "image": pb(chat_message_pb2.ImageMessage, format=1)},
        {"content_type": ContentType.IMAGE, "image": chat_message_pb2.ImageMessage(payload=b"x")},
        {"content_type": ContentType.AUDIO},
        {"content_type": ContentType.AUDIO, "audio": pb(chat_message_pb2.AudioMessage, type=1)},
        {"content_type": ContentType.AUDIO, "audio": chat_message_pb2.AudioMessage(payload=b"x")},
        {"content_type": ContentType.BRIDGE_MESSAGE, "text": ""},
        {
            "content_type": ContentType.BRIDGE_MESSAGE,
            "bridge_message": chat_message_pb2.BridgeMessage(bridgeName="d", content="x"),
        },
        {"display_name": "abc"},
        {"display_name": "no.dots"},
        {"display_name": "somebody_eth"},
        {"display_name": "x" * 25},
        {
            "message_type": PUBLIC,
            "content_type": ContentType.IMAGE,
            "image": pb(chat_message_pb2.ImageMessage, payload=b"x", format=1),
        },
        {
            "message_type": PUBLIC,
            "content_type": ContentType.AUDIO,
            "audio": pb(chat_message_pb2.AudioMessage, payload=b"x", type=1),
        },
    ],
)
def test_chat_messages_status_go_rejects(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidContent):
        c.parse_chat_message(_chat(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "x" * 4096},
        {"text": "🎉" * 4096},
        {"content_type": ContentType.IMAGE, "text": "", "image": {"payload": b"x", "format": 3}},
        {"content_type": ContentType.DISCORD_MESSAGE, "text": ""},
        {"content_type": ContentType.SYSTEM_MESSAGE_GAP},
        {"content_type": ContentType.COMMUNITY, "community": b"unchecked"},
        {"display_name": "   "},
        {"display_name": " Alice - L_2 "},
        {"message_type": ChatMessageType.PRIVATE_GROUP, "chat_id": "group"},
        {"message_type": ChatMessageType.COMMUNITY_CHAT, "chat_id": "0x02aa-channel"},
    ],
)
def test_chat_messages_status_go_takes(fields: dict[str, Any]) -> None:
    c.parse_chat_message(_chat(**fields))


def test_a_clock_far_ahead_of_the_envelope_is_refused() -> None:
    data = _chat(clock=1_000_000 + 120_000)
    assert c.parse_chat_message(data, sent_at_ms=1_000_000).clock == 1_120_000
    with pytest.raises(InvalidContent, match="too high"):
        c.parse_chat_message(_chat(clock=1_120_001), sent_at_ms=1_000_000)
    assert c.parse_chat_message(_chat(clock=7), sent_at_ms=1_000_000).clock == 7


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0", ImageFormat.JPEG),
        (b"\xff\xd8\xff", ImageFormat.JPEG),
        (b"\xff\xd8", ImageFormat.UNKNOWN_IMAGE_FORMAT),
        (b"\x89PNG", ImageFormat.PNG),
        (b"\x89PN", ImageFormat.UNKNOWN_IMAGE_FORMAT),
        (b"GIF89a", ImageFormat.GIF),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ImageFormat.WEBP),
        (b"RIFF\x00\x00\x00\x00WEB", ImageFormat.UNKNOWN_IMAGE_FORMAT),
        (b"", ImageFormat.UNKNOWN_IMAGE_FORMAT),
    ],
)
def test_image_formats_are_sniffed_as_status_go_does(data: bytes, kind: ImageFormat) -> None:
    assert c.sniff_image_format(data) == kind


@settings(max_examples=500, deadline=None)
@given(data=chat_messages(), sent_at=st.none() | CLOCKS)
def test_structured_chat_messages_parse_or_raise(data: bytes, sent_at: int | None) -> None:
    try:
        message = c.parse_chat_message(data, sent_at_ms=sent_at)
    except InvalidContent:
        return
    assert message.clock != 0 and message.chat_id
    assert isinstance(c.describe(message), str)
    assert c.describe(message) == c.describe(chat_message_pb2.ChatMessage.FromString(data))
