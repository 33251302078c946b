"""Profiles as status-go sends them: our chat identity (CHAT_IDENTITY), alone or inside the
advertisement on our contact-code topic (CONTACT_CODE_ADVERTISEMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from pystatus.chat.content.enums import CUSTOMIZATION_COLOR_BLUE, ImageFormat, ImageSourceType
from pystatus.chat.content.errors import InvalidContent
from pystatus.chat.content.messages import sniff_image_format
from pystatus.chat.content.validation import (
    _build_clock,
    _checked,
    _decode,
    _encoding,
    _known,
    validate_display_name,
)
from pystatus.chat.proto import chat_identity_pb2, chat_message_pb2, push_notifications_pb2

MAX_BIO_LENGTH: Final = 240
"""Characters in a profile description (``maxBioLength``, ``messenger_identity.go``)."""


@dataclass(frozen=True, slots=True)
class IdentityImage:
    payload: bytes = field(repr=False)
    source_type: ImageSourceType | int = ImageSourceType.RAW_PAYLOAD
    image_format: ImageFormat | int = ImageFormat.UNKNOWN_IMAGE_FORMAT
    encryption_keys: tuple[bytes, ...] = field(default=(), repr=False)
    encrypted: bool = False
    """Sealed for contacts only: pystatus cannot open these yet."""

    @classmethod
    def raw(cls, payload: bytes) -> IdentityImage:
        """A picture sent as its bytes, its format told by :func:`sniff_image_format`, as
        status-go's ``adaptIdentityImageToProtobuf`` does."""
        return cls(payload, ImageSourceType.RAW_PAYLOAD, sniff_image_format(payload))


@dataclass(frozen=True, slots=True)
class ChatIdentity:
    clock: int
    display_name: str = ""
    description: str = ""
    """The bio."""
    ens_name: str = ""
    images: Mapping[str, IdentityImage] = field(default_factory=lambda: MappingProxyType({}))
    """By size name; status-go sends ``"thumbnail"`` and ``"large"``."""
    color: str = ""
    emoji: str = ""
    first_message_timestamp: int = 0
    customization_color: int = CUSTOMIZATION_COLOR_BLUE


def _identity_pb(identity: ChatIdentity) -> chat_identity_pb2.ChatIdentity:
    with _encoding():
        message = chat_identity_pb2.ChatIdentity(
            clock=identity.clock,
            ens_name=identity.ens_name,
            display_name=identity.display_name,
            description=identity.description,
            color=identity.color,
            emoji=identity.emoji,
            first_message_timestamp=identity.first_message_timestamp,
            customization_color=identity.customization_color,
        )
        for name, image in identity.images.items():
            message.images[name].CopyFrom(
                chat_identity_pb2.IdentityImage(
                    payload=image.payload,
                    source_type=chat_identity_pb2.IdentityImage.SourceType.ValueType(
                        image.source_type
                    ),
                    image_format=chat_message_pb2.ImageFormat.ValueType(image.image_format),
                    encryption_keys=list(image.encryption_keys),
                    encrypted=image.encrypted,
                )
            )
    return message


def _identity(message: chat_identity_pb2.ChatIdentity) -> ChatIdentity:
    """status-go's checks on a ``ChatIdentity`` (``HandleChatIdentity``, messenger_handler.go,
    and ``UpdateContactChatIdentity``, persistence.go): a clock, a valid display name, a bio
    of at most 240 characters. status-go checks the last two only when the clock is new to it;
    without that memory pystatus checks them always."""
    if message.clock == 0:
        raise InvalidContent("clock value unset")
    display_name = validate_display_name(message.display_name)
    if len(message.description) > MAX_BIO_LENGTH:
        raise InvalidContent(f"a bio is at most {MAX_BIO_LENGTH} characters")
    images = {
        name: IdentityImage(
            image.payload,
            _known(ImageSourceType, image.source_type),
            _known(ImageFormat, image.image_format),
            tuple(image.encryption_keys),
            image.encrypted,
        )
        for name, image in message.images.items()
    }
    return ChatIdentity(
        clock=message.clock,
        display_name=display_name,
        description=message.description,
        ens_name=message.ens_name,
        images=MappingProxyType(images),
        color=message.color,
        emoji=message.emoji,
        first_message_timestamp=message.first_message_timestamp,
        customization_color=message.customization_color,
    )


def build_chat_identity(
    clock: int,
    display_name: str,
    description: str = "",
    *,
    ens_name: str = "",
    images: Mapping[str, IdentityImage] | None = None,
    color: str = "",
    emoji: str = "",
    first_message_timestamp: int = 0,
    customization_color: int = CUSTOMIZATION_COLOR_BLUE,
) -> bytes:
    """A ``ChatIdentity`` (wrapper type ``CHAT_IDENTITY``): our profile, as status-go's
    ``createChatIdentity`` (messenger.go) writes it, its clock the current time in Unix ms.
    status-go sends it to a 1:1 or public chat before its first message there (then at most
    every few hours), and inside :func:`build_contact_code_advertisement`."""
    _build_clock(clock)
    identity = ChatIdentity(
        clock,
        display_name,
        description,
        ens_name,
        MappingProxyType(dict(images or {})),
        color,
        emoji,
        first_message_timestamp,
        customization_color,
    )
    return _checked(_identity_pb(identity), parse_chat_identity)


def parse_chat_identity(data: bytes) -> ChatIdentity:
    """Read a ``ChatIdentity`` (checks: see ``_identity``)."""
    return _identity(_decode(chat_identity_pb2.ChatIdentity(), data, "chat identity"))


@dataclass(frozen=True, slots=True)
class ContactCodeAdvertisement:
    chat_identity: ChatIdentity | None
    """None: nothing for the chat layer (the push-notification part is left out)."""


def build_contact_code_advertisement(identity: ChatIdentity | None = None) -> bytes:
    """A ``ContactCodeAdvertisement`` (wrapper type ``CONTACT_CODE_ADVERTISEMENT``), what
    status-go publishes on its contact-code topic: our profile, when given."""
    message = push_notifications_pb2.ContactCodeAdvertisement()
    if identity is not None:
        _build_clock(identity.clock)
        message.chat_identity.CopyFrom(_identity_pb(identity))
    return _checked(message, parse_contact_code_advertisement)


def parse_contact_code_advertisement(data: bytes) -> ContactCodeAdvertisement:
    """Read a ``ContactCodeAdvertisement``; status-go reads only its chat identity
    (``HandleContactCodeAdvertisement``), which is checked as :func:`parse_chat_identity`."""
    message = _decode(
        push_notifications_pb2.ContactCodeAdvertisement(), data, "contact code advertisement"
    )
    if not message.HasField("chat_identity"):
        return ContactCodeAdvertisement(None)
    return ContactCodeAdvertisement(_identity(message.chat_identity))
