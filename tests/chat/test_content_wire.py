"""status-go v1.1.0's numbers as pystatus.chat.content uses them: the enums, payload types
and protobuf field numbers, and a few messages byte for byte."""

from __future__ import annotations

from enum import IntEnum

import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from pystatus.chat import content as c
from pystatus.chat.content import (
    AudioType,
    ChatMessageType,
    ContentType,
    EmojiType,
    ImageFormat,
    ImageSourceType,
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
