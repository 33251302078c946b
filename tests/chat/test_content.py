"""Status message contents as status-go v1.1.0 builds and reads them, and the contact-request
state machine (pystatus.chat.content)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from enum import IntEnum
from typing import Any, TypeVar

import coincurve
import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import content as c
from pystatus.chat.content import (
    TRANSITIONS,
    AcceptRequest,
    Audio,
    AudioType,
    Bridge,
    ChatMessageType,
    ContactActions,
    ContactEvent,
    ContactRequestMachine,
    ContactRequestState,
    ContactUpdate,
    ContentRefused,
    ContentType,
    EmojiType,
    IdentityImage,
    Image,
    ImageFormat,
    ImageSourceType,
    InvalidContent,
    MutualEvent,
    PropagatedState,
    RequestMessageState,
    Sticker,
    SyncedContact,
)
from pystatus.chat.proto import (
    application_metadata_message_pb2,
    chat_identity_pb2,
    chat_message_pb2,
    contact_pb2,
    pairing_pb2,
    pin_message_pb2,
    push_notifications_pb2,
)
from pystatus.chat.wrapper import MessageType
from pystatus.errors import ChatError

ALICE = coincurve.PrivateKey()
BOB = coincurve.PrivateKey()
ALICE_KEY = ALICE.public_key.format(compressed=False)
BOB_KEY = BOB.public_key.format(compressed=False)
ALICE_ID = "0x" + ALICE_KEY.hex()
BOB_ID = "0x" + BOB_KEY.hex()
M = TypeVar("M", bound=Message)


def _pb(cls: type[M], **fields: Any) -> M:
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


# ---- wire facts -------------------------------------------------------------------------------


def _enum_items(wrapper: EnumTypeWrapper) -> list[tuple[str, int]]:
    return [(v.name, v.number) for v in wrapper.DESCRIPTOR.values]


@pytest.mark.parametrize(
    ("python", "proto"),
    [
        (MessageType, application_metadata_message_pb2.ApplicationMetadataMessage.Type),
        (ChatMessageType, chat_message_pb2.MessageType),
        (ContentType, chat_message_pb2.ChatMessage.ContentType),
        (ImageFormat, chat_message_pb2.ImageFormat),
        (AudioType, chat_message_pb2.AudioMessage.AudioType),
        (EmojiType, chat_message_pb2.EmojiReaction.Type),
        (ImageSourceType, chat_identity_pb2.IdentityImage.SourceType),
    ],
)
def test_python_enums_mirror_the_protos(python: type[IntEnum], proto: EnumTypeWrapper) -> None:
    assert [(name, int(member)) for name, member in python.__members__.items()] == _enum_items(
        proto
    )


def test_payload_type_numbers_are_status_gos() -> None:
    expected = {
        "CHAT_MESSAGE": 1,
        "CONTACT_UPDATE": 2,
        "MEMBERSHIP_UPDATE_MESSAGE": 3,
        "SYNC_PAIR_INSTALLATION": 4,
        "SYNC_INSTALLATION_CONTACT_V2": 12,
        "CONTACT_CODE_ADVERTISEMENT": 15,
        "EMOJI_REACTION": 22,
        "GROUP_CHAT_INVITATION": 23,
        "CHAT_IDENTITY": 24,
        "COMMUNITY_DESCRIPTION": 25,
        "PIN_MESSAGE": 28,
        "EDIT_MESSAGE": 29,
        "DELETE_MESSAGE": 31,
        "SYNC_INSTALLATION_COMMUNITY": 32,
        "ACCEPT_CONTACT_REQUEST": 46,
        "RETRACT_CONTACT_REQUEST": 47,
        "COMMUNITY_REQUEST_TO_JOIN_RESPONSE": 48,
        "SYNC_CONTACT_REQUEST_DECISION": 56,
        "SYNC_DELETE_FOR_ME_MESSAGE": 58,
        "COMMUNITY_SHARED_ADDRESSES_RESPONSE": 90,
    }
    assert {name: int(MessageType[name]) for name in expected} == expected
    # pystatus's older names stay, as aliases
    assert MessageType["PAIR_INSTALLATION"] is MessageType["SYNC_PAIR_INSTALLATION"]
    assert MessageType["SYNC_INSTALLATION"] is MessageType["DEPRECATED_SYNC_INSTALLATION"]
    assert 14 not in {int(m) for m in MessageType}  # reserved by status-go
    assert 55 not in {int(m) for m in MessageType}


def _fields(descriptor: Descriptor) -> dict[str, int]:
    return {f.name: f.number for f in descriptor.fields}


@pytest.mark.parametrize(
    ("descriptor", "expected"),
    [
        (
            chat_message_pb2.ChatMessage.DESCRIPTOR,
            {
                "clock": 1,
                "timestamp": 2,
                "text": 3,
                "response_to": 4,
                "ens_name": 5,
                "chat_id": 6,
                "message_type": 7,
                "content_type": 8,
                "sticker": 9,
                "image": 10,
                "audio": 11,
                "community": 12,
                "grant": 13,
                "display_name": 14,
                "contact_request_propagated_state": 15,
                "unfurled_links": 16,
                "shard": 17,
                "unfurled_status_links": 18,
                "customization_color": 19,
                "discord_message": 99,
                "bridge_message": 100,
            },
        ),
        (
            chat_message_pb2.ImageMessage.DESCRIPTOR,
            {
                "payload": 1,
                "format": 2,
                "album_id": 3,
                "width": 4,
                "height": 5,
                "album_images_count": 6,
            },
        ),
        (chat_message_pb2.AudioMessage.DESCRIPTOR, {"payload": 1, "type": 2, "duration_ms": 3}),
        (chat_message_pb2.StickerMessage.DESCRIPTOR, {"hash": 1, "pack": 2}),
        (
            chat_message_pb2.EditMessage.DESCRIPTOR,
            {
                "clock": 1,
                "text": 2,
                "chat_id": 3,
                "message_id": 4,
                "grant": 5,
                "message_type": 6,
                "content_type": 7,
                "unfurled_links": 8,
                "unfurled_status_links": 9,
            },
        ),
        (
            chat_message_pb2.DeleteMessage.DESCRIPTOR,
            {
                "clock": 1,
                "chat_id": 2,
                "message_id": 3,
                "grant": 4,
                "message_type": 5,
                "deleted_by": 6,
            },
        ),
        (chat_message_pb2.SyncDeleteForMeMessage.DESCRIPTOR, {"clock": 1, "message_id": 2}),
        (
            pin_message_pb2.PinMessage.DESCRIPTOR,
            {"clock": 1, "message_id": 2, "chat_id": 3, "pinned": 4, "message_type": 5},
        ),
        (
            contact_pb2.ContactRequestPropagatedState.DESCRIPTOR,
            {"local_clock": 1, "local_state": 2, "remote_clock": 3, "remote_state": 4},
        ),
        (
            contact_pb2.ContactUpdate.DESCRIPTOR,
            {
                "clock": 1,
                "ens_name": 2,
                "profile_image": 3,
                "display_name": 4,
                "contact_request_clock": 5,
                "contact_request_propagated_state": 6,
                "public_key": 7,
                "customization_color": 8,
            },
        ),
        (contact_pb2.AcceptContactRequest.DESCRIPTOR, {"id": 1, "clock": 2}),
        (contact_pb2.RetractContactRequest.DESCRIPTOR, {"id": 1, "clock": 2}),
        (
            chat_identity_pb2.ChatIdentity.DESCRIPTOR,
            {
                "clock": 1,
                "ens_name": 2,
                "images": 3,
                "display_name": 4,
                "description": 5,
                "color": 6,
                "emoji": 7,
                "social_links": 8,
                "first_message_timestamp": 9,
                "customization_color": 11,
            },
        ),
        (
            chat_identity_pb2.IdentityImage.DESCRIPTOR,
            {
                "payload": 1,
                "source_type": 2,
                "image_format": 3,
                "encryption_keys": 4,
                "encrypted": 5,
            },
        ),
        (
            push_notifications_pb2.ContactCodeAdvertisement.DESCRIPTOR,
            {"push_notification_info": 1, "chat_identity": 2},
        ),
        (
            chat_message_pb2.PairInstallation.DESCRIPTOR,
            {"clock": 1, "installation_id": 2, "device_type": 3, "name": 4, "version": 5},
        ),
        (
            pairing_pb2.SyncContactRequestDecision.DESCRIPTOR,
            {"clock": 1, "requestId": 2, "decision_status": 3, "contactId": 4},
        ),
    ],
)
def test_field_numbers_are_status_gos(descriptor: Descriptor, expected: dict[str, int]) -> None:
    assert _fields(descriptor) == expected


def test_contact_sync_field_numbers_are_status_gos() -> None:
    fields = _fields(pairing_pb2.SyncInstallationContactV2.DESCRIPTOR)
    assert fields["has_added_us"] == 13
    assert fields["contact_request_local_state"] == 16
    assert fields["contact_request_remote_clock"] == 19
    assert fields["customization_color"] == 21
    assert 8 not in fields.values()


def test_bytes_on_the_wire() -> None:
    assert c.build_accept_contact_request("0x01", 5) == b"\x0a\x040x01\x10\x05"
    assert c.build_retract_contact_request(7) == b"\x10\x07", "status-go leaves the id out"
    assert c.build_delete_for_me(1, "m") == b"\x08\x01\x12\x01m"


# ---- round trips ------------------------------------------------------------------------------


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
    message = _pb(chat_message_pb2.ChatMessage, text=text, content_type=content_type)
    assert c.describe(message) == seen


def test_an_unknown_content_type_passes_as_status_go_shows_it() -> None:
    message = _pb(
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


def test_contact_messages_round_trip() -> None:
    assert c.parse_accept_contact_request(
        c.build_accept_contact_request("0xreq", 12)
    ) == AcceptRequest("0xreq", 12)
    assert c.parse_retract_contact_request(c.build_retract_contact_request(13)) == (
        c.RetractRequest("", 13)
    )
    state = PropagatedState(10, S, 4, R)
    update = c.build_contact_update(
        20,
        display_name="Alice L",
        ens_name="alice.stateofus.eth",
        contact_request_clock=10,
        propagated_state=state,
        public_key=BOB_ID,
    )
    assert c.parse_contact_update(update) == ContactUpdate(
        20, "Alice L", "alice.stateofus.eth", "", 10, state, BOB_ID, c.CUSTOMIZATION_COLOR_BLUE
    )
    assert c.parse_contact_update(c.build_contact_update(1)).propagated_state is None


def test_profiles_round_trip() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(10)
    identity = c.parse_chat_identity(
        c.build_chat_identity(
            1_700_000_000_000,
            "Alice L",
            "likes rabbits",
            images={"thumbnail": IdentityImage.raw(jpeg)},
            emoji="🐇",
        )
    )
    assert identity.display_name == "Alice L"
    assert identity.description == "likes rabbits"
    assert identity.emoji == "🐇"
    assert dict(identity.images) == {
        "thumbnail": IdentityImage(jpeg, ImageSourceType.RAW_PAYLOAD, ImageFormat.JPEG)
    }
    advert = c.parse_contact_code_advertisement(c.build_contact_code_advertisement(identity))
    assert advert.chat_identity == identity
    assert c.parse_contact_code_advertisement(b"").chat_identity is None
    assert c.parse_contact_code_advertisement(c.build_contact_code_advertisement()) == (
        c.ContactCodeAdvertisement(None)
    )


def test_device_messages_round_trip() -> None:
    installation = c.build_pair_installation(5, "inst-1", "desktop", "laptop")
    assert c.parse_pair_installation(installation) == c.Installation(
        5, "inst-1", "desktop", "laptop"
    )
    synced = SyncedContact(
        BOB_ID, last_updated=3, added=True, local_state=S, local_clock=9, display_name="Bob B"
    )
    assert c.parse_synced_contact(c.build_synced_contact(synced)) == synced
    for accepted in (True, False):
        decision = c.build_request_decision(8, "0xreq", accepted=accepted, contact_id=BOB_ID)
        assert c.parse_request_decision(decision) == c.RequestDecision(8, "0xreq", accepted, BOB_ID)


def test_negative_sync_clocks_read_as_go_does() -> None:
    raw = pairing_pb2.SyncInstallationContactV2(id=BOB_ID, contact_request_local_clock=-1)
    assert c.parse_synced_contact(raw.SerializeToString()).local_clock == (1 << 64) - 1


def test_the_old_pairing_message_reads_as_before() -> None:
    old = chat_message_pb2.PairInstallation(clock=1, installation_id="i", device_type="d", name="n")
    assert c.parse_pair_installation(old.SerializeToString()).version == 0


# ---- status-go's rules ------------------------------------------------------------------------


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
        {"content_type": ContentType.IMAGE, "image": _pb(chat_message_pb2.ImageMessage, format=1)},
        {"content_type": ContentType.IMAGE, "image": chat_message_pb2.ImageMessage(payload=b"x")},
        {"content_type": ContentType.AUDIO},
        {"content_type": ContentType.AUDIO, "audio": _pb(chat_message_pb2.AudioMessage, type=1)},
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
            "image": _pb(chat_message_pb2.ImageMessage, payload=b"x", format=1),
        },
        {
            "message_type": PUBLIC,
            "content_type": ContentType.AUDIO,
            "audio": _pb(chat_message_pb2.AudioMessage, payload=b"x", type=1),
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
    ("name", "stored"),
    [
        ("", ""),
        ("  \t", ""),
        ("Alice", "Alice"),
        ("  Alice L  ", "Alice L"),
        ("a_b-c d", "a_b-c d"),
        ("x" * 24, "x" * 24),
        ("\u3000Alice\u00a0", "Alice"),  # Go trims Unicode spaces
        ("al\tic", "al\tic"),
    ],
)
def test_display_names_status_go_takes(name: str, stored: str) -> None:
    assert c.validate_display_name(name) == stored


@pytest.mark.parametrize(
    "name",
    [
        "Ali",
        "x" * 25,
        "Alice!",
        "Ålice",
        "alice.eth",
        "alice_eth",
        "alice-eth",
        "al\x0bice",  # \v is not in Go's \s
        "\x1cAlice",  # Go does not trim the ASCII separators Python's strip() does
    ],
)
def test_display_names_status_go_rejects(name: str) -> None:
    with pytest.raises(InvalidContent):
        c.validate_display_name(name)


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
            _pb(chat_message_pb2.DeleteMessage, chat_id="x", message_type=2).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_delete(
            _pb(chat_message_pb2.DeleteMessage, message_id="m", message_type=2).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_delete(
            chat_message_pb2.DeleteMessage(chat_id="x", message_id="m").SerializeToString()
        )
    clockless = _pb(chat_message_pb2.DeleteMessage, chat_id="x", message_id="m", message_type=2)
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
        bad = _pb(pin_message_pb2.PinMessage, clock=1, chat_id="x", message_type=message_type)
        with pytest.raises(InvalidContent):
            c.parse_pin(bad.SerializeToString())
    with pytest.raises(InvalidContent):
        c.parse_pin(_pb(pin_message_pb2.PinMessage, clock=1, message_type=2).SerializeToString())
    # 1:1 pins from others are filed under their signer: no chat id needed
    assert (
        c.parse_pin(_pb(pin_message_pb2.PinMessage, message_type=1).SerializeToString()).chat_id
        == ""
    )

    good = {"clock": 1, "chat_id": "x", "message_id": "m", "message_type": 2, "type": 1}
    assert c.parse_emoji_reaction(_pb(chat_message_pb2.EmojiReaction, **good).SerializeToString())
    for change in (
        {"clock": 0},
        {"chat_id": ""},
        {"message_id": ""},
        {"type": 0},
        {"message_type": 0},
    ):
        bad_reaction = _pb(chat_message_pb2.EmojiReaction, **(good | change))
        with pytest.raises(InvalidContent):
            c.parse_emoji_reaction(bad_reaction.SerializeToString())
    with pytest.raises(InvalidContent, match="too high"):
        c.parse_emoji_reaction(
            _pb(chat_message_pb2.EmojiReaction, **good | {"clock": 200_001}).SerializeToString(),
            sent_at_ms=80_000,
        )


def test_profile_rules() -> None:
    with pytest.raises(InvalidContent, match="clock"):
        c.parse_chat_identity(
            chat_identity_pb2.ChatIdentity(display_name="Alice").SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_chat_identity(
            chat_identity_pb2.ChatIdentity(clock=1, display_name="Al").SerializeToString()
        )
    assert c.parse_chat_identity(c.build_chat_identity(1, "Alice", "b" * 240)).description
    with pytest.raises(InvalidContent, match="bio"):
        c.parse_chat_identity(
            chat_identity_pb2.ChatIdentity(clock=1, description="b" * 241).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_contact_code_advertisement(
            push_notifications_pb2.ContactCodeAdvertisement(
                chat_identity=chat_identity_pb2.ChatIdentity()
            ).SerializeToString()
        )
    with pytest.raises(InvalidContent):
        c.parse_contact_update(contact_pb2.ContactUpdate(display_name="x.eth").SerializeToString())
    assert c.parse_contact_update(b"").clock == 0, "status-go takes it (and updates nothing)"


def test_device_rules() -> None:
    good = {"clock": 1, "installation_id": "i", "device_type": "d", "name": "n"}
    for change in ({"clock": 0}, {"installation_id": " "}, {"device_type": ""}, {"name": "\t"}):
        bad = _pb(chat_message_pb2.PairInstallation, **(good | change))
        with pytest.raises(InvalidContent):
            c.parse_pair_installation(bad.SerializeToString())
    for bad_id in ("", "bob", BOB_ID[:-2], "0x02" + BOB_ID[4:], BOB_ID.replace("0x", "zz")):
        with pytest.raises(InvalidContent):
            c.parse_synced_contact(
                pairing_pb2.SyncInstallationContactV2(id=bad_id).SerializeToString()
            )
    odd = _pb(pairing_pb2.SyncContactRequestDecision, decision_status=7)
    assert not c.parse_request_decision(odd.SerializeToString()).accepted


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


def test_local_chat_id_files_messages_as_status_go_does() -> None:
    # someone else's 1:1 message: the signer's chat, whatever the chat id says
    assert c.local_chat_id(1, "anything", author=ALICE_KEY, me=BOB_KEY) == ALICE_ID
    # our own, from a paired device: the chat id, which must name a key
    assert c.local_chat_id(1, ALICE_ID, author=BOB_KEY, me=BOB_KEY) == ALICE_ID
    for bad in ("", "alice", ALICE_ID[:-1] + "z", "0x05" + ALICE_ID[4:], ALICE_ID.upper()):
        with pytest.raises(InvalidContent):
            c.local_chat_id(1, bad, author=BOB_KEY, me=BOB_KEY)
    assert c.local_chat_id(2, "status", author=ALICE_KEY, me=BOB_KEY) == "status"
    with pytest.raises(InvalidContent):
        c.local_chat_id(3, "", author=ALICE_KEY, me=BOB_KEY)
    for kind in (0, 4, 6, 99):
        with pytest.raises(InvalidContent):
            c.local_chat_id(kind, "status", author=ALICE_KEY, me=BOB_KEY)


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


def test_default_contact_request_id() -> None:
    assert c.default_contact_request_id("0x04ab") == "0x04ab20"
    assert c.default_contact_request_id(BOB_ID) == BOB_ID + "20"
    with pytest.raises(ContentRefused):
        c.default_contact_request_id("0xnothex")


# ---- fuzz: every parser parses or raises InvalidContent ---------------------------------------

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


_clocks = st.integers(0, 2**64 - 1)
_enums = st.integers(0, 20)
_texts = st.sampled_from(["", " ", "hi", "Alice", "x.eth", "a" * 4097, "\x1c", "Bob B"])


@st.composite
def _chat_messages(draw: st.DrawFn) -> bytes:
    message = _pb(
        chat_message_pb2.ChatMessage,
        clock=draw(_clocks),
        timestamp=draw(_clocks),
        text=draw(_texts),
        chat_id=draw(st.sampled_from(["", "status", BOB_ID])),
        message_type=draw(_enums),
        content_type=draw(_enums),
        display_name=draw(_texts),
    )
    attachment = draw(st.sampled_from(["", "sticker", "image", "audio", "bridge", "community"]))
    if attachment == "sticker":
        message.sticker.hash = draw(st.sampled_from(["", "0xabc"]))
    elif attachment == "image":
        message.image.CopyFrom(
            _pb(
                chat_message_pb2.ImageMessage,
                payload=draw(st.binary(max_size=4)),
                format=draw(_enums),
            )
        )
    elif attachment == "audio":
        message.audio.CopyFrom(
            _pb(
                chat_message_pb2.AudioMessage,
                payload=draw(st.binary(max_size=4)),
                type=draw(_enums),
                duration_ms=draw(_clocks),
            )
        )
    elif attachment == "bridge":
        message.bridge_message.userName = draw(_texts)
        message.bridge_message.bridgeName = draw(_texts)
        message.bridge_message.content = draw(_texts)
    elif attachment == "community":
        message.community = b"\x01"
    if draw(st.booleans()):
        message.contact_request_propagated_state.local_state = draw(_clocks)
    return message.SerializeToString()


@settings(max_examples=500, deadline=None)
@given(data=_chat_messages(), sent_at=st.none() | _clocks)
def test_structured_chat_messages_parse_or_raise(data: bytes, sent_at: int | None) -> None:
    try:
        message = c.parse_chat_message(data, sent_at_ms=sent_at)
    except InvalidContent:
        return
    assert message.clock != 0 and message.chat_id
    assert isinstance(c.describe(message), str)
    assert c.describe(message) == c.describe(chat_message_pb2.ChatMessage.FromString(data))


@settings(max_examples=300, deadline=None)
@given(
    clock=_clocks,
    chat_id=st.sampled_from(["", "status", BOB_ID]),
    message_id=st.sampled_from(["", "0x01"]),
    text=_texts,
    message_type=_enums,
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
        entity = _pb(chat_message_pb2.EmojiReaction, **common, type=message_type % 8)
        parser = c.parse_emoji_reaction
    entity.message_type = message_type
    with contextlib.suppress(InvalidContent):
        parser(entity.SerializeToString())


# ---- the contact-request state machine ----------------------------------------------------


def test_the_table_covers_every_state_and_stays_in_it() -> None:
    halves = {(N, N), (N, R), (S, N), (S, R), (D, N), (D, R)}
    assert set(TRANSITIONS) == halves
    for state, row in TRANSITIONS.items():
        expected = set(ContactEvent)
        if state[0] is D:
            expected.discard(ContactEvent.IMPLICIT_RETRACT)  # a decline is not undone by it
        assert set(row) == expected, state
        assert set(row.values()) <= halves
        # status-go's equivalences
        assert row[ContactEvent.ACCEPT] == row[ContactEvent.SEND]
        assert row[ContactEvent.RECEIVE_ACCEPT] == row[ContactEvent.RECEIVE]
        assert row[ContactEvent.RETRACT] == (N, N)
        assert row[ContactEvent.RECEIVE_RETRACT] == (D if state[0] is D else N, N)


def test_the_summary_state_is_status_gos() -> None:
    def summary(ours: ContactRequestState, theirs: ContactRequestState) -> ContactRequestState:
        return ContactRequestMachine(BOB_ID, ours=ours, theirs=theirs).state

    assert summary(N, N) is N
    assert summary(S, N) is S
    assert summary(N, R) is R
    assert summary(S, R) is ContactRequestState.MUTUAL
    assert summary(D, R) is D
    assert summary(D, N) is D
    with pytest.raises(ValueError, match="state"):
        ContactRequestMachine(BOB_ID, ours=R)


def test_clocks_guard_every_step() -> None:
    machine = ContactRequestMachine(BOB_ID)
    assert machine.handle(ContactEvent.SEND, 5)
    assert not machine.handle(ContactEvent.DECLINE, 5), "ours is judged by our clock"
    assert machine.handle(ContactEvent.RECEIVE, 1), "theirs by theirs"
    assert machine.mutual
    assert not machine.handle(ContactEvent.RECEIVE_RETRACT, 1)
    assert machine.handle(ContactEvent.RETRACT, 9)
    assert (machine.ours, machine.our_clock, machine.theirs, machine.their_clock) == (N, 9, N, 9)
    assert not machine.handle(ContactEvent.RECEIVE, 9), "a retraction voids what came before"


def test_a_request_sent_received_and_accepted() -> None:
    alice = ContactRequestMachine(BOB_ID)  # Alice's view of Bob
    bob = ContactRequestMachine(ALICE_ID)  # Bob's view of Alice

    sent = alice.on_sent_request(10)
    assert sent == ContactActions(
        processed=True,
        send=(MessageType.CHAT_IDENTITY, MessageType.CHAT_MESSAGE),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert alice.state is S
    assert alice.propagated_state() == PropagatedState(10, S, 0, N)

    # Bob gets it: into his requests, chat still hidden, pending
    received = bob.on_received_request(11, propagated=alice.propagated_state())
    assert received == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert bob.state is R
    # the same request again (a resend) changes nothing, and is no new request
    again = bob.on_received_request(11, propagated=PropagatedState(10, S, 0, N))
    assert not again.processed and not again.to_requests and again.show_message

    accepted = bob.on_accept(12)
    assert accepted == ContactActions(
        processed=True,
        send=(MessageType.ACCEPT_CONTACT_REQUEST, MessageType.CHAT_IDENTITY),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2, MessageType.SYNC_CONTACT_REQUEST_DECISION),
        chat_active=True,
        request_state=RequestMessageState.ACCEPTED,
        mutual_event=MutualEvent.ADDED,
    )
    assert bob.mutual

    got = alice.on_received_accept(13, request_chat_id=BOB_ID)
    assert got == ContactActions(
        processed=True,
        chat_active=True,
        request_state=RequestMessageState.ACCEPTED,
        mutual_event=MutualEvent.ADDED,
    )
    assert alice.mutual
    # a duplicate: nothing new, and no second "accepted" line once the request is accepted
    dup = alice.on_received_accept(13, request_chat_id=BOB_ID, request_accepted=True)
    assert not dup.processed and dup.mutual_event is None

    # from now on their messages open the chat
    assert alice.on_received_message(20, propagated=bob.propagated_state()).chat_active


def test_an_acceptance_for_someone_elses_request_is_refused() -> None:
    alice = ContactRequestMachine(BOB_ID)
    alice.on_sent_request(10)
    with pytest.raises(InvalidContent):
        alice.on_received_accept(11, request_chat_id=ALICE_ID)
    assert not alice.has_added_us
    # an acceptance naming no request we know counts (a legacy or unsynced request)
    assert alice.on_received_accept(11).processed
    assert alice.mutual
    # a stale one is ignored before the chat is even looked at
    assert not alice.on_received_accept(3, request_chat_id=ALICE_ID).processed


def test_a_chat_deleted_later_stays_deleted() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=10)
    assert alice.on_received_accept(11, deleted_at=12).chat_active is None


def test_a_declined_request_sends_nothing_and_stays_declined() -> None:
    alice = ContactRequestMachine(BOB_ID)
    bob = ContactRequestMachine(ALICE_ID)
    alice.on_sent_request(10)
    bob.on_received_request(11, propagated=alice.propagated_state())

    declined = bob.on_decline(12)
    assert declined == ContactActions(
        processed=True,
        sync=(MessageType.SYNC_CONTACT_REQUEST_DECISION,),
        request_state=RequestMessageState.DISMISSED,
    )
    assert bob.state is D

    # Alice insists: the request message is dropped, the decision stands
    alice.on_sent_request(20)
    again = bob.on_received_request(21, propagated=alice.propagated_state())
    assert not again.show_message and not again.to_requests
    assert bob.state is D
    # her retraction resets her half but not Bob's decline
    assert bob.on_received_retract(30).processed
    assert (bob.ours, bob.our_clock, bob.theirs, bob.their_clock) == (D, 12, N, 30)
    # an implicit retraction does not undo it either
    bob.on_received_message(31, propagated=PropagatedState(25, N, 40, N))
    assert bob.ours is D
    # Bob can still change his mind and ask her himself
    assert bob.on_sent_request(40).processed and bob.state is S


def test_retractions() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=10, theirs=R, their_clock=11)
    bob = ContactRequestMachine(ALICE_ID, ours=S, our_clock=12, theirs=R, their_clock=10)

    removed = alice.on_retract(20)
    assert removed == ContactActions(
        processed=True,
        send=(MessageType.RETRACT_CONTACT_REQUEST,),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
        mutual_event=MutualEvent.REMOVED,
    )
    assert alice.state is N and (alice.our_clock, alice.their_clock) == (20, 20)
    assert alice.on_retract(25, notify=False).send == ()

    got = bob.on_received_retract(21)
    assert got == ContactActions(processed=True, mutual_event=MutualEvent.REMOVED)
    assert bob.state is N and (bob.our_clock, bob.their_clock) == (21, 21)
    assert bob.on_received_retract(21) == ContactActions(), "stale"
    assert bob.on_received_retract(5) == ContactActions()


def test_crossed_requests_make_contacts() -> None:
    alice = ContactRequestMachine(BOB_ID)
    bob = ContactRequestMachine(ALICE_ID)
    alice.on_sent_request(10)
    sent = bob.on_sent_request(7)
    assert sent.request_state is RequestMessageState.PENDING
    # Bob reads Alice's request: mutual now; status-go drops the request message and, seeing
    # Alice does not know Bob's half, sends his state back
    crossed = bob.on_received_request(11, propagated=alice.propagated_state())
    assert bob.mutual
    assert not crossed.show_message
    assert crossed.send == (MessageType.CONTACT_UPDATE,)
    update = c.parse_contact_update(bob.contact_update(12, display_name="Bob B"))
    assert update.public_key == ALICE_ID and update.contact_request_clock == 7
    taken = alice.on_contact_update(update)
    assert alice.mutual
    assert taken.chat_active and taken.profile_updated and not taken.to_requests
    assert taken.request_state is RequestMessageState.ACCEPTED


def test_a_request_from_someone_we_asked_is_accepted_at_once() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=5)
    got = alice.on_received_request(9)  # an old client: no propagated state
    assert got == ContactActions(
        processed=True, chat_active=True, request_state=RequestMessageState.ACCEPTED
    )
    assert alice.mutual
    # asking someone who asked us is accepted at once too
    bob = ContactRequestMachine(ALICE_ID, theirs=R, their_clock=9)
    assert bob.on_sent_request(10).request_state is RequestMessageState.ACCEPTED


def test_a_message_carrying_a_request_counts_as_one() -> None:
    bob = ContactRequestMachine(ALICE_ID)
    got = bob.on_received_message(15, propagated=PropagatedState(10, S, 0, N))
    assert got == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert bob.has_added_us
    assert bob.on_received_message(16) == ContactActions()


def test_propagated_state_catches_up_both_ways() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=5, theirs=R, their_clock=6)
    # Bob thinks Alice's half is none as of clock 3 (behind ours): tell him
    behind = alice.on_received_message(20, propagated=PropagatedState(6, S, 3, N))
    assert behind.send == (MessageType.CONTACT_UPDATE,) and alice.mutual
    # Bob knows of a retraction of Alice's half at clock 9 that Alice missed (another of her
    # devices): both halves reset
    ahead = alice.on_received_message(21, propagated=PropagatedState(6, S, 9, N))
    assert ahead.processed and not ahead.send
    assert (alice.ours, alice.our_clock, alice.theirs) == (N, 9, N)
    # and Bob's own retraction, seen through his state
    carol = ContactRequestMachine(ALICE_ID, ours=S, our_clock=5, theirs=R, their_clock=6)
    carol.on_received_message(22, propagated=PropagatedState(8, N, 5, S))
    assert (carol.ours, carol.theirs, carol.our_clock, carol.their_clock) == (N, N, 8, 8)


def test_contact_updates() -> None:
    bob = ContactRequestMachine(ALICE_ID)
    request = ContactUpdate(
        30, "Alice L", contact_request_clock=10, propagated_state=PropagatedState(10, S, 0, N)
    )
    got = bob.on_contact_update(request)
    assert got == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        profile_updated=True,
    )
    assert bob.last_updated == 30 and bob.state is R
    stale = bob.on_contact_update(replace(request, clock=29))
    assert not stale.processed and not stale.profile_updated and not stale.to_requests
    # an old client's update: no propagated state, the request clock counts
    carol = ContactRequestMachine(ALICE_ID)
    legacy = carol.on_contact_update(ContactUpdate(3, contact_request_clock=2))
    assert legacy.to_requests and carol.has_added_us
    # a profile change from a contact: the chat shows, nothing else
    dave = ContactRequestMachine(ALICE_ID, ours=S, our_clock=4, theirs=R, their_clock=3)
    profile = dave.on_contact_update(
        ContactUpdate(
            50, "Alice M", contact_request_clock=3, propagated_state=PropagatedState(3, S, 4, S)
        )
    )
    assert profile == ContactActions(processed=True, chat_active=True, profile_updated=True)


def test_our_request_from_another_device() -> None:
    alice = ContactRequestMachine(BOB_ID)
    mine = alice.on_received_request(7, outgoing=True)
    assert mine == ContactActions(
        processed=True, chat_active=True, request_state=RequestMessageState.PENDING
    )
    assert alice.added
    assert not alice.on_received_request(7, outgoing=True).processed


def test_contact_sync_from_another_device() -> None:
    alice = ContactRequestMachine(BOB_ID)
    synced = SyncedContact(BOB_ID, local_state=S, local_clock=5, remote_state=R, remote_clock=4)
    assert alice.on_synced_contact(synced).processed
    assert alice.mutual
    assert not alice.on_synced_contact(synced).processed
    # another device removed Bob
    removal = SyncedContact(BOB_ID, local_state=N, local_clock=9, remote_state=N, remote_clock=9)
    assert alice.on_synced_contact(removal).processed
    assert alice.state is N
    # another device declined him
    assert alice.on_synced_contact(SyncedContact(BOB_ID, local_state=D, local_clock=12)).processed
    assert alice.state is D
    # a record without request clocks (an old client) is not modelled
    assert alice.on_synced_contact(SyncedContact(BOB_ID, added=True)) == ContactActions()
    with pytest.raises(ValueError, match="another contact"):
        alice.on_synced_contact(SyncedContact(ALICE_ID, local_clock=1))


_events = st.sampled_from(list(ContactEvent))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(_events, st.integers(0, 30)), max_size=30))
def test_any_sequence_stays_in_the_table_and_a_step_twice_is_a_no_op(
    steps: list[tuple[ContactEvent, int]],
) -> None:
    machine = ContactRequestMachine(BOB_ID)
    for event, clock in steps:
        before = (machine.ours, machine.theirs, machine.our_clock, machine.their_clock)
        applied = machine.handle(event, clock)
        after = (machine.ours, machine.theirs, machine.our_clock, machine.their_clock)
        assert (machine.ours, machine.theirs) in TRANSITIONS
        if not applied:
            assert after == before
        assert not machine.handle(event, clock), "the same step again"


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "sent",
                    "accept",
                    "decline",
                    "retract",
                    "request",
                    "message",
                    "got_accept",
                    "got_retract",
                    "update",
                ]
            ),
            st.integers(1, 40),
            st.tuples(*[st.integers(0, 40), st.integers(0, 4)] * 2),
        ),
        max_size=25,
    )
)
def test_any_conversation_gives_consistent_actions(
    steps: list[tuple[str, int, tuple[int, int, int, int]]],
) -> None:
    machine = ContactRequestMachine(BOB_ID)
    for step, clock, (lc, ls, rc, rs) in steps:
        propagated = PropagatedState(lc, ls, rc, rs)
        if step == "sent":
            actions = machine.on_sent_request(clock)
        elif step == "accept":
            actions = machine.on_accept(clock)
        elif step == "decline":
            actions = machine.on_decline(clock)
        elif step == "retract":
            actions = machine.on_retract(clock)
        elif step == "request":
            actions = machine.on_received_request(clock, propagated=propagated)
        elif step == "message":
            actions = machine.on_received_message(clock, propagated=propagated)
        elif step == "got_accept":
            actions = machine.on_received_accept(clock)
        elif step == "got_retract":
            actions = machine.on_received_retract(clock)
        else:
            actions = machine.on_contact_update(
                ContactUpdate(clock, contact_request_clock=lc, propagated_state=propagated)
            )
        assert (machine.ours, machine.theirs) in TRANSITIONS
        assert set(actions.send) <= {
            MessageType.CHAT_MESSAGE,
            MessageType.CHAT_IDENTITY,
            MessageType.CONTACT_UPDATE,
            MessageType.ACCEPT_CONTACT_REQUEST,
            MessageType.RETRACT_CONTACT_REQUEST,
        }
        if actions.to_requests:
            assert machine.has_added_us or not actions.show_message
        if actions.chat_active is not None:
            assert actions.chat_active
        # what we would put on our next message always decodes
        c.parse_contact_update(machine.contact_update(max(clock, 1)))
