"""Chat identities and contact-code adverts as status-go v1.1.0 builds and reads them
(pystatus.chat.content.profiles)."""

from __future__ import annotations

import pytest

from pystatus.chat import content as c
from pystatus.chat.content import IdentityImage, ImageFormat, ImageSourceType, InvalidContent
from pystatus.chat.proto import chat_identity_pb2, contact_pb2, push_notifications_pb2


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
