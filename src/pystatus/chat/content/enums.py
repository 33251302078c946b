"""The wire enums of Status message contents, numbered as status-go v1.1.0 sends them."""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class ChatMessageType(IntEnum):
    """The kind of chat a payload belongs to: status-go's ``MessageType`` (``enums.proto``),
    the ``message_type`` field of chat messages, edits, deletes, pins and reactions."""

    UNKNOWN_MESSAGE_TYPE = 0
    ONE_TO_ONE = 1
    PUBLIC_GROUP = 2
    PRIVATE_GROUP = 3
    SYSTEM_MESSAGE_PRIVATE_GROUP = 4  # local only
    COMMUNITY_CHAT = 5
    SYSTEM_MESSAGE_GAP = 6  # local only


class ContentType(IntEnum):
    """``ChatMessage.ContentType``; the ``SYSTEM_MESSAGE_*`` kinds are never sent."""

    UNKNOWN_CONTENT_TYPE = 0
    TEXT_PLAIN = 1
    STICKER = 2
    STATUS = 3
    EMOJI = 4
    TRANSACTION_COMMAND = 5
    SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP = 6
    IMAGE = 7
    AUDIO = 8
    COMMUNITY = 9
    SYSTEM_MESSAGE_GAP = 10
    CONTACT_REQUEST = 11
    DISCORD_MESSAGE = 12
    IDENTITY_VERIFICATION = 13
    SYSTEM_MESSAGE_PINNED_MESSAGE = 14
    SYSTEM_MESSAGE_MUTUAL_EVENT_SENT = 15
    SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED = 16
    SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED = 17
    BRIDGE_MESSAGE = 18


class ImageFormat(IntEnum):
    UNKNOWN_IMAGE_FORMAT = 0
    PNG = 1
    JPEG = 2
    WEBP = 3
    GIF = 4


class AudioType(IntEnum):
    UNKNOWN_AUDIO_TYPE = 0
    AAC = 1
    AMR = 2


class EmojiType(IntEnum):
    """``EmojiReaction.Type``: the six reactions Status offers."""

    UNKNOWN_EMOJI_REACTION_TYPE = 0
    LOVE = 1
    THUMBS_UP = 2
    THUMBS_DOWN = 3
    LAUGH = 4
    SAD = 5
    ANGRY = 6


class ImageSourceType(IntEnum):
    UNKNOWN_SOURCE_TYPE = 0
    RAW_PAYLOAD = 1
    ENS_AVATAR = 2


class ContactRequestState(IntEnum):
    """status-go's ``ContactRequestState`` (``protocol/contact.go``), the numbers carried in
    :class:`PropagatedState` and in contact sync. Each contact has two halves: our side
    (``NONE``, ``SENT``: we added them, ``DISMISSED``: we declined) and theirs as we know it
    (``NONE``, ``RECEIVED``: they added us). ``MUTUAL`` is only ever a summary (both added):
    it is what the brief calls "accepted"; "declined" is ``DISMISSED``."""

    NONE = 0
    MUTUAL = 1
    SENT = 2
    RECEIVED = 3
    DISMISSED = 4


class RequestMessageState(IntEnum):
    """The state of one contact-request *message* (status-go ``common.ContactRequestState``,
    ``protocol/common/message.go``), distinct from the contact's :class:`ContactRequestState`."""

    PENDING = 1
    ACCEPTED = 2
    DISMISSED = 3


class MutualEvent(IntEnum):
    """The system message status-go adds to a 1:1 chat when the contact relation changes
    (``MutualStateUpdateType`` in ``protocol/contact.go``; content types 15, 16, 17)."""

    SENT = 1
    ADDED = 2
    REMOVED = 3


CUSTOMIZATION_COLOR_BLUE: Final = 4
"""status-go's colour id for "blue", what it sends when an account has no colour set."""
