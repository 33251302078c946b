"""What Status messages say, built and read as status-go v1.1.0 does it.

Pure functions and frozen dataclasses, no I/O and no clock reads: every clock and timestamp is
an argument. Each ``build_*`` returns the protobuf bytes that go inside the signed wrapper
(:func:`pystatus.chat.wrapper.wrap`, with the :class:`~pystatus.chat.wrapper.MessageType` named
in its docstring); each ``parse_*`` takes those bytes and returns a typed value or raises
:class:`InvalidContent`.

Two rules for the checks:

- ``parse_*`` rejects exactly what status-go's handlers reject (``protocol/message_validator.go``
  and the ``Handle*`` functions of ``protocol/messenger_handler.go``), so that pystatus drops the
  same messages a Status app drops, and shows the ones it shows. Where status-go's check needs
  its database (is the sender the author of the edited message?) the rule is a separate
  function here (:func:`check_edit`, :func:`check_delete`, :func:`local_chat_id`).
- ``build_*`` refuses (:class:`ContentRefused`) anything status-go would drop, and also what
  status-go never sends (a zero Lamport clock), so what pystatus writes is always accepted.

The second half is :class:`ContactRequestMachine`: the contact-request state status-go keeps for
one contact (``protocol/contact.go``), as a sans-IO state machine with a transition table, whose
``on_*`` methods say what status-go would send, show and notify for each step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from types import MappingProxyType
from typing import Final, TypeVar

import coincurve
from google.protobuf.message import Message

from pystatus.chat.proto import (
    chat_identity_pb2,
    chat_message_pb2,
    contact_pb2,
    pairing_pb2,
    pin_message_pb2,
    push_notifications_pb2,
)
from pystatus.chat.wrapper import MessageType
from pystatus.errors import ChatError
from pystatus.waku.errors import DecodeError
from pystatus.waku.wire import parse as _parse_protobuf

# --------------------------------------------------------------------------------------------
# Errors


class ContentError(ChatError):
    """A Status payload that status-go would not accept."""


class InvalidContent(ContentError):
    """Received bytes that do not decode, or that status-go's handlers reject (remote error)."""


class ContentRefused(ContentError):
    """We were asked to build a payload status-go would reject or never sends (local error)."""


# --------------------------------------------------------------------------------------------
# Wire enums (numbers as status-go v1.1.0 sends them)


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

DEFAULT_CONTACT_REQUEST_TEXT: Final = "Please add me to your contacts"
"""The text status-go gives contact requests it makes up (``defaultContactRequestText``)."""

MAX_TEXT_LENGTH: Final = 4096
"""Characters in a chat message or edit (``maxChatMessageTextLength``)."""

MAX_BIO_LENGTH: Final = 240
"""Characters in a profile description (``maxBioLength``, ``messenger_identity.go``)."""

MAX_CLOCK_DRIFT_MS: Final = 120_000
"""How far a Lamport clock may run ahead of the envelope's time (``maxWhisperFutureDriftMs``)."""

PUBLIC_KEY_ID_LENGTH: Final = 132
"""``0x`` and an uncompressed secp256k1 key in hex (``PubKeyStringLength``, messenger.go)."""

EDITABLE: Final = frozenset(
    {ContentType.TEXT_PLAIN, ContentType.EMOJI, ContentType.IMAGE, ContentType.BRIDGE_MESSAGE}
)
"""Content types an author may edit (``Messenger.EditMessage``, messenger_messages.go)."""

DELETABLE: Final = frozenset(
    {
        ContentType.TEXT_PLAIN,
        ContentType.BRIDGE_MESSAGE,
        ContentType.STICKER,
        ContentType.EMOJI,
        ContentType.IMAGE,
        ContentType.AUDIO,
    }
)
"""Content types that may be deleted for everyone (``DeleteMessageAndSend``)."""

DELETABLE_FOR_ME: Final = DELETABLE - {ContentType.BRIDGE_MESSAGE}
"""Content types that may be hidden on one's own devices (``DeleteMessageForMeAndSync``)."""

_WIRE_CHAT_TYPES: Final = frozenset(
    {
        ChatMessageType.ONE_TO_ONE,
        ChatMessageType.PUBLIC_GROUP,
        ChatMessageType.PRIVATE_GROUP,
        ChatMessageType.COMMUNITY_CHAT,
    }
)

E = TypeVar("E", bound=IntEnum)
M = TypeVar("M", bound=Message)


def _known(enum: type[E], value: int) -> E | int:
    """``value`` as a member of ``enum`` when it names one; newer clients may send numbers
    status-go v1.1.0 does not know, which it passes through as plain numbers."""
    try:
        return enum(value)
    except ValueError:
        return value


def _decode(message: M, data: bytes, what: str) -> M:
    try:
        return _parse_protobuf(message, data, what)
    except DecodeError as exc:
        raise InvalidContent(str(exc)) from None


# --------------------------------------------------------------------------------------------
# status-go's field rules


# Go's unicode.IsSpace, which strings.TrimSpace uses; Python's str.strip() also strips the
# ASCII separators 0x1c-0x1f, which Go keeps.
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# `^[\w-\s]{5,24}$` under Go's RE2: \w and \s are ASCII only (\s without \v).
_DISPLAY_NAME: Final = re.compile(r"[0-9A-Za-z_\-\t\n\f\r ]{5,24}")
_DISPLAY_NAME_SUFFIXES: Final = ("_eth", ".eth", "-eth")


def validate_display_name(name: str) -> str:
    """The display name status-go stores for ``name``: trimmed, then empty or 5 to 24 ASCII
    letters, digits, ``_``, ``-`` and spaces, not ending in ``eth`` after ``_``/``.``/``-``
    (``ValidateDisplayName``, status-go ``common/utils.go``). Raises :class:`InvalidContent`.

    status-go also refuses a name that is a generated three-word alias ("Adjective Adjective
    Animal"); pystatus has not got the word lists and lets those through.
    """
    trimmed = name.strip(_GO_SPACE)
    if not trimmed:
        return ""
    if _DISPLAY_NAME.fullmatch(trimmed) is None:
        raise InvalidContent("a display name is 5 to 24 letters, digits, _, - or spaces")
    if trimmed.endswith(_DISPLAY_NAME_SUFFIXES):
        raise InvalidContent('a display name may not end with "eth"')
    return trimmed


def validate_text(text: str) -> None:
    """Non-blank and at most 4096 characters (``ValidateText``, message_validator.go)."""
    if not text.strip(_GO_SPACE):
        raise InvalidContent("text can't be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidContent(f"text is longer than {MAX_TEXT_LENGTH} characters")


def validate_clock(clock: int, sent_at_ms: int | None = None) -> None:
    """A Lamport clock status-go takes (``validateClockValue``): not zero, and, when the
    envelope's time ``sent_at_ms`` (Unix ms) is known, not more than two minutes ahead of it."""
    if clock == 0:
        raise InvalidContent("clock can't be 0")
    if sent_at_ms is not None and clock > sent_at_ms and clock - sent_at_ms > MAX_CLOCK_DRIFT_MS:
        raise InvalidContent("clock value too high")


def _validate_wire_chat_type(message_type: int) -> None:
    # ValidateEditMessage / ValidateDeleteMessage / ValidateReceivedChatMessage
    if message_type in (
        ChatMessageType.UNKNOWN_MESSAGE_TYPE,
        ChatMessageType.SYSTEM_MESSAGE_PRIVATE_GROUP,
    ):
        raise InvalidContent("unknown message type")


@contextmanager
def _refusing() -> Iterator[None]:
    """Builders check their output with the matching parser: what it would reject, they refuse."""
    try:
        yield
    except InvalidContent as exc:
        raise ContentRefused(str(exc)) from None


@contextmanager
def _encoding() -> Iterator[None]:
    """Values protobuf cannot hold (a negative uint, a number past its width) are refused."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise ContentRefused(f"does not encode: {exc}") from None


def _build_clock(clock: int) -> None:
    if not 0 < clock < 1 << 64:
        raise ContentRefused("a Lamport clock is a non-zero uint64 (status-go never sends 0)")


_HEX_KEY: Final = re.compile(r"[0-9a-fA-F]{130}")


def _is_public_key_id(text: str) -> bool:
    """``0x04...``: what status-go's ``UnmarshalPubkey`` takes (uncompressed, on the curve)."""
    if (
        len(text) != PUBLIC_KEY_ID_LENGTH
        or not text.startswith("0x")
        or _HEX_KEY.fullmatch(text, 2) is None
    ):
        return False
    key = bytes.fromhex(text[2:])
    if key[0] != 4:
        return False
    try:
        coincurve.PublicKey(key)
    except ValueError:
        return False
    return True


def local_chat_id(message_type: int, chat_id: str, *, author: bytes, me: bytes) -> str:
    """The chat a received chat message, edit, delete, pin or reaction files under, as
    status-go's ``matchChatEntity`` (messenger_handler.go) finds it.

    ``author`` and ``me`` are uncompressed public keys (65 bytes). 1:1 messages from someone
    else go to the chat named after the author's key, whatever ``chat_id`` says; our own 1:1
    messages (from a paired device) go to ``chat_id``, which must then name a public key.
    Public, group and community messages go to ``chat_id``; that such a chat exists, and that
    the author may post in it, is the caller's check. Raises :class:`InvalidContent`.
    """
    if message_type == ChatMessageType.ONE_TO_ONE:
        if author != me:
            return "0x" + author.hex()
        if not _is_public_key_id(chat_id):
            raise InvalidContent("a 1:1 chat id is 0x and an uncompressed public key")
        return chat_id
    if message_type in _WIRE_CHAT_TYPES:
        if not chat_id:
            raise InvalidContent("chat-id can't be empty")
        return chat_id
    raise InvalidContent(f"no chat takes messages of type {message_type}")


def _build_chat_id(message_type: int, chat_id: str) -> None:
    """What our own paired devices check when they read what we send (matchChatEntity)."""
    if message_type == ChatMessageType.ONE_TO_ONE and not _is_public_key_id(chat_id):
        raise ContentRefused("a 1:1 chat id is 0x and the recipient's uncompressed public key")


# --------------------------------------------------------------------------------------------
# Chat messages (CHAT_MESSAGE)


@dataclass(frozen=True, slots=True)
class PropagatedState:
    """One side's view of the contact request, carried by every 1:1 chat message and contact
    update (``ContactRequestPropagatedState``): the sender's own half (``local_*``) and the
    recipient's half as the sender last saw it (``remote_*``). The states are
    :class:`ContactRequestState` numbers, kept as sent: status-go does not check them."""

    local_clock: int = 0
    local_state: int = 0
    remote_clock: int = 0
    remote_state: int = 0


def _propagated_pb(state: PropagatedState) -> contact_pb2.ContactRequestPropagatedState:
    for value in (state.local_clock, state.local_state, state.remote_clock, state.remote_state):
        if not 0 <= value < 1 << 64:
            raise ContentRefused("contact request clocks and states are uint64")
    return contact_pb2.ContactRequestPropagatedState(
        local_clock=state.local_clock,
        local_state=state.local_state,
        remote_clock=state.remote_clock,
        remote_state=state.remote_state,
    )


def _propagated(message: contact_pb2.ContactRequestPropagatedState) -> PropagatedState:
    return PropagatedState(
        message.local_clock, message.local_state, message.remote_clock, message.remote_state
    )


@dataclass(frozen=True, slots=True)
class Sticker:
    hash: str
    pack: int = 0


@dataclass(frozen=True, slots=True)
class Image:
    payload: bytes = field(repr=False)
    format: ImageFormat | int
    album_id: str = ""
    width: int = 0
    height: int = 0
    album_images_count: int = 0


@dataclass(frozen=True, slots=True)
class Audio:
    payload: bytes = field(repr=False)
    type: AudioType | int
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class Bridge:
    """A message relayed from another network (``BridgeMessage``), e.g. Discord via a bot."""

    bridge_name: str
    user_name: str
    content: str
    user_avatar: str = ""
    user_id: str = ""
    message_id: str = ""
    parent_message_id: str = ""


@dataclass(frozen=True, slots=True)
class Discord:
    """An imported Discord message (``DiscordMessage``); attachments are left out."""

    id: str
    content: str
    author_name: str = ""
    timestamp: str = ""


@dataclass(frozen=True, slots=True)
class ChatContent:
    """A chat message as status-go reads it (``ChatMessage``)."""

    clock: int
    timestamp: int
    """Unix milliseconds, as the sender's clock had it."""
    chat_id: str
    """The chat as the *sender* names it: for 1:1 messages, the recipient (see
    :func:`local_chat_id`)."""
    message_type: ChatMessageType
    content_type: ContentType | int
    text: str = ""
    response_to: str = ""
    ens_name: str = ""
    display_name: str = ""
    """Trimmed, as status-go stores it."""
    sticker: Sticker | None = None
    image: Image | None = None
    audio: Audio | None = None
    community: bytes | None = field(default=None, repr=False)
    """A signed community description (not checked here)."""
    discord: Discord | None = None
    bridge: Bridge | None = None
    propagated_state: PropagatedState | None = None
    customization_color: int = 0


def _content_type_for(
    sticker: Sticker | None,
    image: Image | None,
    audio: Audio | None,
    community: bytes | None,
    bridge: Bridge | None,
) -> ContentType:
    if sticker is not None:
        return ContentType.STICKER
    if image is not None:
        return ContentType.IMAGE
    if audio is not None:
        return ContentType.AUDIO
    if community is not None:
        return ContentType.COMMUNITY
    if bridge is not None:
        return ContentType.BRIDGE_MESSAGE
    return ContentType.TEXT_PLAIN


def build_chat_message(
    clock: int,
    timestamp: int,
    chat_id: str,
    message_type: ChatMessageType,
    text: str = "",
    *,
    content_type: ContentType | None = None,
    response_to: str = "",
    ens_name: str = "",
    display_name: str = "",
    sticker: Sticker | None = None,
    image: Image | None = None,
    audio: Audio | None = None,
    community: bytes | None = None,
    bridge: Bridge | None = None,
    propagated_state: PropagatedState | None = None,
    customization_color: int = 0,
) -> bytes:
    """A ``ChatMessage`` (wrapper type ``CHAT_MESSAGE``) as status-go's ``sendChatMessage``
    writes it. ``content_type`` defaults to what the attachment implies (text otherwise);
    at most one attachment. For a 1:1 chat, ``chat_id`` is the recipient's ``0x04...`` key and
    ``propagated_state`` should be :meth:`ContactRequestMachine.propagated_state` (status-go
    puts it on every 1:1 message)."""
    _build_clock(clock)
    _build_chat_id(message_type, chat_id)
    attachments = [a for a in (sticker, image, audio, community, bridge) if a is not None]
    if len(attachments) > 1:
        raise ContentRefused("a chat message carries at most one attachment")
    if content_type is None:
        content_type = _content_type_for(sticker, image, audio, community, bridge)
    with _encoding():
        message = chat_message_pb2.ChatMessage(
            clock=clock,
            timestamp=timestamp,
            text=text,
            response_to=response_to,
            ens_name=ens_name,
            chat_id=chat_id,
            message_type=chat_message_pb2.MessageType.ValueType(message_type),
            content_type=chat_message_pb2.ChatMessage.ContentType.ValueType(content_type),
            display_name=display_name,
            customization_color=customization_color,
        )
        if sticker is not None:
            message.sticker.hash = sticker.hash
            message.sticker.pack = sticker.pack
        elif image is not None:
            message.image.CopyFrom(
                chat_message_pb2.ImageMessage(
                    payload=image.payload,
                    format=chat_message_pb2.ImageFormat.ValueType(image.format),
                    album_id=image.album_id,
                    width=image.width,
                    height=image.height,
                    album_images_count=image.album_images_count,
                )
            )
        elif audio is not None:
            message.audio.CopyFrom(
                chat_message_pb2.AudioMessage(
                    payload=audio.payload,
                    type=chat_message_pb2.AudioMessage.AudioType.ValueType(audio.type),
                    duration_ms=audio.duration_ms,
                )
            )
        elif community is not None:
            message.community = community
        elif bridge is not None:
            message.bridge_message.CopyFrom(
                chat_message_pb2.BridgeMessage(
                    bridgeName=bridge.bridge_name,
                    userName=bridge.user_name,
                    userAvatar=bridge.user_avatar,
                    userID=bridge.user_id,
                    content=bridge.content,
                    messageID=bridge.message_id,
                    parentMessageID=bridge.parent_message_id,
                )
            )
        if propagated_state is not None:
            message.contact_request_propagated_state.CopyFrom(_propagated_pb(propagated_state))
    data = _serialize(message)
    with _refusing():
        parse_chat_message(data)
    return data


def _serialize(message: Message) -> bytes:
    try:
        return message.SerializeToString()
    except (ValueError, TypeError) as exc:
        raise ContentRefused(f"does not encode: {exc}") from None


def parse_chat_message(data: bytes, *, sent_at_ms: int | None = None) -> ChatContent:
    """Read a ``ChatMessage``, rejecting what status-go's ``ValidateReceivedChatMessage``
    (message_validator.go) and ``handleChatMessage`` (messenger_handler.go) reject: a zero
    clock or one over two minutes ahead of ``sent_at_ms`` (the envelope's time, Unix ms, when
    known), a zero timestamp, blank or over-long text (images, Discord and bridge messages may
    have none), an empty chat id, a chat type no chat takes, an unknown or local-only content
    type, a sticker without hash, an image or audio clip without bytes or format, a bridge
    message without bridge, user or text, an invalid display name, and images or audio in a
    public chat."""
    message = _decode(chat_message_pb2.ChatMessage(), data, "chat message")
    validate_clock(message.clock, sent_at_ms)
    if message.timestamp == 0:
        raise InvalidContent("timestamp can't be 0")
    content_type = int(message.content_type)
    chat_type = int(message.message_type)
    if content_type not in (ContentType.DISCORD_MESSAGE, ContentType.BRIDGE_MESSAGE) and (
        content_type != ContentType.IMAGE or message.text != ""
    ):
        validate_text(message.text)
    if not message.chat_id:
        raise InvalidContent("chatId can't be empty")
    _validate_wire_chat_type(chat_type)
    if chat_type not in _WIRE_CHAT_TYPES:
        raise InvalidContent(f"no chat takes messages of type {chat_type}")
    payload = message.WhichOneof("payload")
    if content_type == ContentType.UNKNOWN_CONTENT_TYPE:
        raise InvalidContent("unknown content type")
    if content_type == ContentType.TRANSACTION_COMMAND:
        raise InvalidContent("transaction commands are not taken from others")
    if content_type == ContentType.STICKER:
        if payload != "sticker":
            raise InvalidContent("no sticker content")
        if not message.sticker.hash:
            raise InvalidContent("sticker hash not set")
    if content_type == ContentType.IMAGE:
        if payload != "image":
            raise InvalidContent("no image content")
        if not message.image.payload:
            raise InvalidContent("image payload empty")
        if int(message.image.format) == ImageFormat.UNKNOWN_IMAGE_FORMAT:
            raise InvalidContent("image type unknown")
    if content_type == ContentType.BRIDGE_MESSAGE:
        if payload != "bridge_message":
            raise InvalidContent("no bridge message content")
        bridged = message.bridge_message
        if not bridged.userName or not bridged.bridgeName or not bridged.content:
            raise InvalidContent("a bridge message names its bridge and user, and has text")
    if content_type == ContentType.AUDIO:
        if payload != "audio":
            raise InvalidContent("no audio content")
        if not message.audio.payload:
            raise InvalidContent("audio payload empty")
        if int(message.audio.type) == AudioType.UNKNOWN_AUDIO_TYPE:
            raise InvalidContent("audio type unknown")
    if content_type in (
        ContentType.SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED,
    ):
        raise InvalidContent("system message content types are local only")
    display_name = validate_display_name(message.display_name)
    if chat_type == ChatMessageType.PUBLIC_GROUP and content_type in (
        ContentType.IMAGE,
        ContentType.AUDIO,
    ):
        raise InvalidContent("images and audio are not allowed in public chats")
    return ChatContent(
        clock=message.clock,
        timestamp=message.timestamp,
        chat_id=message.chat_id,
        message_type=ChatMessageType(chat_type),
        content_type=_known(ContentType, content_type),
        text=message.text,
        response_to=message.response_to,
        ens_name=message.ens_name,
        display_name=display_name,
        sticker=Sticker(message.sticker.hash, message.sticker.pack)
        if payload == "sticker"
        else None,
        image=_image(message.image) if payload == "image" else None,
        audio=Audio(
            message.audio.payload,
            _known(AudioType, message.audio.type),
            message.audio.duration_ms,
        )
        if payload == "audio"
        else None,
        community=message.community if payload == "community" else None,
        discord=_discord(message.discord_message) if payload == "discord_message" else None,
        bridge=_bridge(message.bridge_message) if payload == "bridge_message" else None,
        propagated_state=_propagated(message.contact_request_propagated_state)
        if message.HasField("contact_request_propagated_state")
        else None,
        customization_color=message.customization_color,
    )


def _image(image: chat_message_pb2.ImageMessage) -> Image:
    return Image(
        image.payload,
        _known(ImageFormat, image.format),
        image.album_id,
        image.width,
        image.height,
        image.album_images_count,
    )


def _discord(message: chat_message_pb2.DiscordMessage) -> Discord:
    return Discord(message.id, message.content, message.author.name, message.timestamp)


def _bridge(message: chat_message_pb2.BridgeMessage) -> Bridge:
    return Bridge(
        message.bridgeName,
        message.userName,
        message.content,
        message.userAvatar,
        message.userID,
        message.messageID,
        message.parentMessageID,
    )


# --------------------------------------------------------------------------------------------
# What a person sees


def sniff_image_format(payload: bytes) -> ImageFormat:
    """The format of image bytes by their first bytes, as status-go's ``images.GetType``
    (images/decode.go) tells it: what status-go puts in ``format`` when it sends a picture."""
    if len(payload) > 2 and payload[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if len(payload) > 3 and payload[:4] == b"\x89PNG":
        return ImageFormat.PNG
    if len(payload) > 2 and payload[:3] == b"GIF":
        return ImageFormat.GIF
    if len(payload) > 11 and payload[8:12] == b"WEBP":
        return ImageFormat.WEBP
    return ImageFormat.UNKNOWN_IMAGE_FORMAT


IMAGE_MIME_TYPES: Final = MappingProxyType(
    {
        ImageFormat.PNG: "image/png",
        ImageFormat.JPEG: "image/jpeg",
        ImageFormat.WEBP: "image/webp",
        ImageFormat.GIF: "image/gif",
    }
)


def image_of(message: chat_message_pb2.ChatMessage | ChatContent) -> Image | None:
    """The picture a chat message carries, if any."""
    if isinstance(message, ChatContent):
        return message.image
    return _image(message.image) if message.WhichOneof("payload") == "image" else None


def audio_of(message: chat_message_pb2.ChatMessage | ChatContent) -> Audio | None:
    """The voice message a chat message carries, if any."""
    if isinstance(message, ChatContent):
        return message.audio
    if message.WhichOneof("payload") != "audio":
        return None
    audio = message.audio
    return Audio(audio.payload, _known(AudioType, audio.type), audio.duration_ms)


def sticker_of(message: chat_message_pb2.ChatMessage | ChatContent) -> Sticker | None:
    """The sticker a chat message carries, if any."""
    if isinstance(message, ChatContent):
        return message.sticker
    if message.WhichOneof("payload") != "sticker":
        return None
    return Sticker(message.sticker.hash, message.sticker.pack)


def _with_text(label: str, text: str) -> str:
    text = text.strip()
    return f"{label} {text}" if text else label


def describe(message: chat_message_pb2.ChatMessage | ChatContent) -> str:
    """The line a person sees for a chat message: its text, or for other content a short
    label ("[image]", "[audio 3 s]", "[sticker]", ...), with any caption after it."""
    if isinstance(message, ChatContent):
        content_type, text = int(message.content_type), message.text
        audio, bridge, discord = message.audio, message.bridge, message.discord
    else:
        content_type, text = message.content_type, message.text
        payload = message.WhichOneof("payload")
        audio = audio_of(message)
        bridge = _bridge(message.bridge_message) if payload == "bridge_message" else None
        discord = _discord(message.discord_message) if payload == "discord_message" else None
    if content_type == ContentType.IMAGE:
        return _with_text("[image]", text)
    if content_type == ContentType.AUDIO:
        seconds = (audio.duration_ms + 500) // 1000 if audio is not None else 0
        return f"[audio {seconds} s]" if seconds else "[audio]"
    if content_type == ContentType.STICKER:
        return "[sticker]"
    if content_type == ContentType.COMMUNITY:
        return _with_text("[community]", text)
    if content_type == ContentType.TRANSACTION_COMMAND:
        return "[transaction]"
    if content_type == ContentType.CONTACT_REQUEST:
        return _with_text("[contact request]", text)
    if content_type == ContentType.IDENTITY_VERIFICATION:
        return _with_text("[identity verification]", text)
    if content_type == ContentType.BRIDGE_MESSAGE and bridge is not None:
        return f"{bridge.user_name}: {bridge.content}"
    if content_type == ContentType.DISCORD_MESSAGE and discord is not None:
        return (
            f"{discord.author_name}: {discord.content}" if discord.author_name else discord.content
        )
    if content_type == ContentType.SYSTEM_MESSAGE_PINNED_MESSAGE:
        return "[pinned a message]"
    if content_type == ContentType.SYSTEM_MESSAGE_GAP:
        return "[history gap]"
    labels = {
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT: "[contact request sent]",
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED: "[contact request accepted]",
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED: "[contact removed]",
    }
    if content_type in labels:
        return text or labels[ContentType(content_type)]
    return text if text else "[unsupported message]"


# --------------------------------------------------------------------------------------------
# Edits, deletes, pins, reactions (EDIT_MESSAGE, DELETE_MESSAGE, SYNC_DELETE_FOR_ME_MESSAGE,
# PIN_MESSAGE, EMOJI_REACTION)


@dataclass(frozen=True, slots=True)
class Edit:
    clock: int
    chat_id: str
    message_id: str
    text: str
    message_type: ChatMessageType | int
    content_type: ContentType | int
    """The edited message's new content type; ``UNKNOWN_CONTENT_TYPE`` keeps the old one."""


def build_edit(
    clock: int,
    chat_id: str,
    message_id: str,
    text: str,
    message_type: ChatMessageType,
    *,
    content_type: ContentType = ContentType.TEXT_PLAIN,
) -> bytes:
    """An ``EditMessage`` (wrapper type ``EDIT_MESSAGE``) giving our message ``message_id``
    the new ``text``, as status-go's ``Messenger.EditMessage`` (messenger_messages.go) sends
    it: ``chat_id`` is the original message's ``chat_id``, and only :data:`EDITABLE` content
    may be edited (the caller knows the original)."""
    _build_clock(clock)
    with _encoding():
        message = chat_message_pb2.EditMessage(
            clock=clock,
            text=text,
            chat_id=chat_id,
            message_id=message_id,
            message_type=chat_message_pb2.MessageType.ValueType(message_type),
            content_type=chat_message_pb2.ChatMessage.ContentType.ValueType(content_type),
        )
    data = _serialize(message)
    with _refusing():
        parse_edit(data)
    return data


def parse_edit(data: bytes) -> Edit:
    """Read an ``EditMessage``, rejecting what ``ValidateEditMessage`` (message_validator.go)
    rejects: a zero clock, an empty chat or message id, an unknown chat type, blank or
    over-long text."""
    message = _decode(chat_message_pb2.EditMessage(), data, "edit")
    validate_clock(message.clock)
    if not message.chat_id:
        raise InvalidContent("chat-id can't be empty")
    if not message.message_id:
        raise InvalidContent("message-id can't be empty")
    _validate_wire_chat_type(message.message_type)
    validate_text(message.text)
    return Edit(
        message.clock,
        message.chat_id,
        message.message_id,
        message.text,
        _known(ChatMessageType, message.message_type),
        _known(ContentType, message.content_type),
    )


def check_edit(edit: Edit, *, editor: str, author: str, edited_at: int) -> bool:
    """Whether ``edit`` from ``editor`` applies to a message by ``author`` last edited at
    clock ``edited_at`` (0: never), as status-go's ``handleEditMessage`` decides: someone
    else's edit raises :class:`InvalidContent`; an edit no newer than the last one is kept as
    history only (False)."""
    if editor != author:
        raise InvalidContent("invalid edit, not the right author")
    return edit.clock > edited_at


@dataclass(frozen=True, slots=True)
class Delete:
    clock: int
    chat_id: str
    message_id: str
    message_type: ChatMessageType | int
    deleted_by: str = ""
    """Set when an admin deletes someone else's message: the admin's ``0x04...`` key."""


def build_delete(
    clock: int,
    chat_id: str,
    message_id: str,
    message_type: ChatMessageType,
    *,
    deleted_by: str = "",
) -> bytes:
    """A ``DeleteMessage`` (wrapper type ``DELETE_MESSAGE``) deleting ``message_id`` for
    everyone, as status-go's ``DeleteMessageAndSend`` (messenger_messages.go) sends it:
    ``deleted_by`` only when deleting someone else's message as a group or community admin;
    only :data:`DELETABLE` content may be deleted (the caller knows the original)."""
    _build_clock(clock)
    with _encoding():
        message = chat_message_pb2.DeleteMessage(
            clock=clock,
            chat_id=chat_id,
            message_id=message_id,
            message_type=chat_message_pb2.MessageType.ValueType(message_type),
            deleted_by=deleted_by,
        )
    data = _serialize(message)
    with _refusing():
        parse_delete(data)
    return data


def parse_delete(data: bytes) -> Delete:
    """Read a ``DeleteMessage``, rejecting what ``ValidateDeleteMessage`` rejects: an empty
    chat or message id, an unknown chat type. (status-go does not look at its clock.)"""
    message = _decode(chat_message_pb2.DeleteMessage(), data, "delete")
    if not message.chat_id:
        raise InvalidContent("chat-id can't be empty")
    if not message.message_id:
        raise InvalidContent("message-id can't be empty")
    _validate_wire_chat_type(message.message_type)
    return Delete(
        message.clock,
        message.chat_id,
        message.message_id,
        _known(ChatMessageType, message.message_type),
        message.deleted_by,
    )


def check_delete(delete: Delete, *, deleter: str, author: str, admin: bool = False) -> None:
    """Whether ``deleter`` may delete a message by ``author``, as status-go's
    ``handleDeleteMessage`` decides: its author may, and in a group or community chat an
    admin may (``admin``: the deleter is one there; never true for 1:1 or public chats).
    Raises :class:`InvalidContent` otherwise."""
    if deleter != author and not admin:
        raise InvalidContent("invalid delete, not the right author")


@dataclass(frozen=True, slots=True)
class DeleteForMe:
    clock: int
    message_id: str


def build_delete_for_me(clock: int, message_id: str) -> bytes:
    """A ``SyncDeleteForMeMessage`` (wrapper type ``SYNC_DELETE_FOR_ME_MESSAGE``), sent to the
    account's own devices only, hiding ``message_id`` there (``DeleteMessageForMeAndSync``);
    only :data:`DELETABLE_FOR_ME` content may be hidden."""
    _build_clock(clock)
    with _encoding():
        message = chat_message_pb2.SyncDeleteForMeMessage(clock=clock, message_id=message_id)
    data = _serialize(message)
    with _refusing():
        parse_delete_for_me(data)
    return data


def parse_delete_for_me(data: bytes) -> DeleteForMe:
    """Read a ``SyncDeleteForMeMessage``; status-go requires a message id
    (``ValidateDeleteForMeMessage``) and ignores it unless our own key signed it."""
    message = _decode(chat_message_pb2.SyncDeleteForMeMessage(), data, "delete for me")
    if not message.message_id:
        raise InvalidContent("message-id can't be empty")
    return DeleteForMe(message.clock, message.message_id)


@dataclass(frozen=True, slots=True)
class Pin:
    clock: int
    chat_id: str
    message_id: str
    pinned: bool
    """False: the message is unpinned."""
    message_type: ChatMessageType


def build_pin(
    clock: int,
    chat_id: str,
    message_id: str,
    message_type: ChatMessageType,
    *,
    pinned: bool = True,
) -> bytes:
    """A ``PinMessage`` (wrapper type ``PIN_MESSAGE``) pinning (or with ``pinned=False``
    unpinning) ``message_id`` in chat ``chat_id`` (for 1:1 chats the other person's key), as
    status-go's ``sendPinMessage`` (messenger_pin_messages.go) sends it."""
    _build_clock(clock)
    _build_chat_id(message_type, chat_id)
    if not message_id:
        raise ContentRefused("a pin names the message it pins")
    with _encoding():
        message = pin_message_pb2.PinMessage(
            clock=clock,
            message_id=message_id,
            chat_id=chat_id,
            pinned=pinned,
            message_type=chat_message_pb2.MessageType.ValueType(message_type),
        )
    data = _serialize(message)
    with _refusing():
        parse_pin(data)
    return data


def parse_pin(data: bytes) -> Pin:
    """Read a ``PinMessage``. status-go has no validator for pins; its ``handlePinMessage``
    drops those no chat takes (``matchChatEntity``): an unknown or local-only chat type, or
    an empty chat id outside 1:1 chats (1:1 pins from others are filed by their signer)."""
    message = _decode(pin_message_pb2.PinMessage(), data, "pin")
    chat_type = int(message.message_type)
    if chat_type not in _WIRE_CHAT_TYPES:
        raise InvalidContent(f"no chat takes messages of type {chat_type}")
    if chat_type != ChatMessageType.ONE_TO_ONE and not message.chat_id:
        raise InvalidContent("chat-id can't be empty")
    return Pin(
        message.clock,
        message.chat_id,
        message.message_id,
        message.pinned,
        ChatMessageType(chat_type),
    )


@dataclass(frozen=True, slots=True)
class Reaction:
    clock: int
    chat_id: str
    message_id: str
    message_type: ChatMessageType
    emoji: EmojiType | int
    retracted: bool = False


def build_emoji_reaction(
    clock: int,
    chat_id: str,
    message_id: str,
    message_type: ChatMessageType,
    emoji: EmojiType,
    *,
    retracted: bool = False,
) -> bytes:
    """An ``EmojiReaction`` (wrapper type ``EMOJI_REACTION``); ``retracted`` takes one back."""
    _build_clock(clock)
    _build_chat_id(message_type, chat_id)
    with _encoding():
        message = chat_message_pb2.EmojiReaction(
            clock=clock,
            chat_id=chat_id,
            message_id=message_id,
            message_type=chat_message_pb2.MessageType.ValueType(message_type),
            type=chat_message_pb2.EmojiReaction.Type.ValueType(emoji),
            retracted=retracted,
        )
    data = _serialize(message)
    with _refusing():
        parse_emoji_reaction(data)
    return data


def parse_emoji_reaction(data: bytes, *, sent_at_ms: int | None = None) -> Reaction:
    """Read an ``EmojiReaction``, rejecting what ``ValidateReceivedEmojiReaction`` and
    ``matchChatEntity`` reject: a bad clock, an empty message or chat id, an unknown emoji, a
    chat type no chat takes."""
    message = _decode(chat_message_pb2.EmojiReaction(), data, "emoji reaction")
    chat_type = int(message.message_type)
    validate_clock(message.clock, sent_at_ms)
    if not message.message_id:
        raise InvalidContent("message-id can't be empty")
    if not message.chat_id:
        raise InvalidContent("chat-id can't be empty")
    if int(message.type) == EmojiType.UNKNOWN_EMOJI_REACTION_TYPE:
        raise InvalidContent("unknown emoji reaction type")
    if chat_type not in _WIRE_CHAT_TYPES:
        raise InvalidContent(f"no chat takes messages of type {chat_type}")
    return Reaction(
        message.clock,
        message.chat_id,
        message.message_id,
        ChatMessageType(chat_type),
        _known(EmojiType, message.type),
        message.retracted,
    )


# --------------------------------------------------------------------------------------------
# Contacts (CONTACT_UPDATE, ACCEPT_CONTACT_REQUEST, RETRACT_CONTACT_REQUEST)


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    id: str
    """The id of the contact-request message accepted (may name none we know)."""
    clock: int


def build_accept_contact_request(id: str, clock: int) -> bytes:
    """An ``AcceptContactRequest`` (wrapper type ``ACCEPT_CONTACT_REQUEST``) for the
    contact-request message ``id``, as status-go's ``updateAcceptedContactRequest``
    (messenger_contacts.go) sends it to the requester when we accept."""
    _build_clock(clock)
    if not id:
        raise ContentRefused("an acceptance names the request it accepts")
    with _encoding():
        return _serialize(contact_pb2.AcceptContactRequest(id=id, clock=clock))


def parse_accept_contact_request(data: bytes) -> AcceptRequest:
    """Read an ``AcceptContactRequest``. status-go checks nothing here: an unknown id is an
    acceptance of whatever request we sent (``handleAcceptContactRequest``), and a clock no
    newer than the contact's is ignored by :meth:`ContactRequestMachine.on_received_accept`."""
    message = _decode(contact_pb2.AcceptContactRequest(), data, "contact request acceptance")
    return AcceptRequest(message.id, message.clock)


@dataclass(frozen=True, slots=True)
class RetractRequest:
    id: str
    """Empty from status-go, which does not fill it."""
    clock: int


def build_retract_contact_request(clock: int) -> bytes:
    """A ``RetractContactRequest`` (wrapper type ``RETRACT_CONTACT_REQUEST``): we remove the
    contact, and they should remove us. status-go's ``sendRetractContactRequest``
    (messenger_contacts.go) leaves the id empty and uses a clock newer than the one it
    retracted with locally."""
    _build_clock(clock)
    return _serialize(contact_pb2.RetractContactRequest(clock=clock))


def parse_retract_contact_request(data: bytes) -> RetractRequest:
    """Read a ``RetractContactRequest`` (status-go checks nothing but the clock, see
    :meth:`ContactRequestMachine.on_received_retract`)."""
    message = _decode(contact_pb2.RetractContactRequest(), data, "contact request retraction")
    return RetractRequest(message.id, message.clock)


@dataclass(frozen=True, slots=True)
class ContactUpdate:
    clock: int
    display_name: str = ""
    ens_name: str = ""
    profile_image: str = ""
    contact_request_clock: int = 0
    """The sender's own contact-request clock (status-go: ``ContactRequestLocalClock``)."""
    propagated_state: PropagatedState | None = None
    public_key: str = ""
    """The *recipient's* ``0x04...`` key, as status-go fills it; receivers ignore it."""
    customization_color: int = CUSTOMIZATION_COLOR_BLUE


def build_contact_update(
    clock: int,
    *,
    display_name: str = "",
    ens_name: str = "",
    profile_image: str = "",
    contact_request_clock: int = 0,
    propagated_state: PropagatedState | None = None,
    public_key: str = "",
    customization_color: int = CUSTOMIZATION_COLOR_BLUE,
) -> bytes:
    """A ``ContactUpdate`` (wrapper type ``CONTACT_UPDATE``), as status-go's
    ``sendContactUpdate`` (messenger_contacts.go) writes it: our display and ENS names, our
    contact-request clock and propagated state for this contact (see
    :meth:`ContactRequestMachine.contact_update`), and the recipient's key.

    status-go sends one when adding a contact through ``AddContact``, when our profile changes
    (to every contact we added), and to answer an out-of-date propagated state; not when a
    request is accepted (that is :func:`build_accept_contact_request`), declined (nothing is
    sent) or retracted (:func:`build_retract_contact_request`).
    """
    _build_clock(clock)
    with _encoding():
        message = contact_pb2.ContactUpdate(
            clock=clock,
            ens_name=ens_name,
            profile_image=profile_image,
            display_name=display_name,
            contact_request_clock=contact_request_clock,
            public_key=public_key,
            customization_color=customization_color,
        )
        if propagated_state is not None:
            message.contact_request_propagated_state.CopyFrom(_propagated_pb(propagated_state))
    data = _serialize(message)
    with _refusing():
        parse_contact_update(data)
    return data


def parse_contact_update(data: bytes) -> ContactUpdate:
    """Read a ``ContactUpdate``, rejecting an invalid display name as ``HandleContactUpdate``
    (messenger_handler.go) does. (A zero clock is taken: it updates nothing, but the
    propagated state it carries still counts.)"""
    message = _decode(contact_pb2.ContactUpdate(), data, "contact update")
    display_name = validate_display_name(message.display_name)
    return ContactUpdate(
        clock=message.clock,
        display_name=display_name,
        ens_name=message.ens_name,
        profile_image=message.profile_image,
        contact_request_clock=message.contact_request_clock,
        propagated_state=_propagated(message.contact_request_propagated_state)
        if message.HasField("contact_request_propagated_state")
        else None,
        public_key=message.public_key,
        customization_color=message.customization_color,
    )


def default_contact_request_id(contact_id: str) -> str:
    """The id status-go gives a contact request it makes up for ``contact_id`` (``0x04...``)
    when one arrives by contact update or contact sync instead of as a message
    (``defaultContactRequestID``, messenger_contacts.go)."""
    key = contact_id[2:] if contact_id[:2] in ("0x", "0X") else contact_id
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise ContentRefused("a contact id is a hex public key") from None
    return "0x" + (raw + b"\x20").hex()


# --------------------------------------------------------------------------------------------
# Profiles (CHAT_IDENTITY, CONTACT_CODE_ADVERTISEMENT)


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
    data = _serialize(_identity_pb(identity))
    with _refusing():
        parse_chat_identity(data)
    return data


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
    data = _serialize(message)
    with _refusing():
        parse_contact_code_advertisement(data)
    return data


def parse_contact_code_advertisement(data: bytes) -> ContactCodeAdvertisement:
    """Read a ``ContactCodeAdvertisement``; status-go reads only its chat identity
    (``HandleContactCodeAdvertisement``), which is checked as :func:`parse_chat_identity`."""
    message = _decode(
        push_notifications_pb2.ContactCodeAdvertisement(), data, "contact code advertisement"
    )
    if not message.HasField("chat_identity"):
        return ContactCodeAdvertisement(None)
    return ContactCodeAdvertisement(_identity(message.chat_identity))


# --------------------------------------------------------------------------------------------
# The account's own devices (SYNC_PAIR_INSTALLATION, SYNC_INSTALLATION_CONTACT_V2,
# SYNC_CONTACT_REQUEST_DECISION)


@dataclass(frozen=True, slots=True)
class Installation:
    clock: int
    installation_id: str
    device_type: str
    name: str
    version: int = 0


def build_pair_installation(
    clock: int, installation_id: str, device_type: str, name: str, *, version: int = 0
) -> bytes:
    """A ``SyncPairInstallation`` (pystatus's ``PairInstallation``; wrapper type
    ``SYNC_PAIR_INSTALLATION``): this device introducing itself to the account's others."""
    _build_clock(clock)
    with _encoding():
        message = chat_message_pb2.PairInstallation(
            clock=clock,
            installation_id=installation_id,
            device_type=device_type,
            name=name,
            version=version,
        )
    data = _serialize(message)
    with _refusing():
        parse_pair_installation(data)
    return data


def parse_pair_installation(data: bytes, *, sent_at_ms: int | None = None) -> Installation:
    """Read a ``SyncPairInstallation``, rejecting what ``ValidateReceivedPairInstallation``
    rejects: a bad clock, a blank name, device type or installation id. (status-go takes it
    only from our own key.)"""
    message = _decode(chat_message_pb2.PairInstallation(), data, "pair installation")
    validate_clock(message.clock, sent_at_ms)
    if not message.name.strip(_GO_SPACE):
        raise InvalidContent("name can't be empty")
    if not message.device_type.strip(_GO_SPACE):
        raise InvalidContent("device type can't be empty")
    if not message.installation_id.strip(_GO_SPACE):
        raise InvalidContent("installationId can't be empty")
    return Installation(
        message.clock, message.installation_id, message.device_type, message.name, message.version
    )


def _go_uint64(value: int) -> int:
    """Go's ``uint64(int64)``: what status-go makes of the signed clocks in contact sync."""
    return value % (1 << 64)


@dataclass(frozen=True, slots=True)
class SyncedContact:
    """A contact as another device of the account has it (``SyncInstallationContactV2``)."""

    id: str
    last_updated_locally: int = 0
    last_updated: int = 0
    display_name: str = ""
    ens_name: str = ""
    local_nickname: str = ""
    added: bool = False
    has_added_us: bool = False
    blocked: bool = False
    muted: bool = False
    removed: bool = False
    local_state: int = ContactRequestState.NONE
    local_clock: int = 0
    remote_state: int = ContactRequestState.NONE
    remote_clock: int = 0
    verification_status: int = 0
    trust_status: int = 0
    customization_color: int = 0


def build_synced_contact(contact: SyncedContact) -> bytes:
    """A ``SyncInstallationContactV2`` (wrapper type ``SYNC_INSTALLATION_CONTACT_V2``), what
    status-go's ``syncContact`` sends the account's other devices whenever a contact changes
    (``buildSyncContactMessage``, messenger_backup.go)."""
    if not _is_public_key_id(contact.id):
        raise ContentRefused("a synced contact's id is its 0x04... key")
    with _encoding():
        message = pairing_pb2.SyncInstallationContactV2(
            last_updated_locally=contact.last_updated_locally,
            id=contact.id,
            ens_name=contact.ens_name,
            last_updated=contact.last_updated,
            local_nickname=contact.local_nickname,
            added=contact.added,
            blocked=contact.blocked,
            muted=contact.muted,
            removed=contact.removed,
            has_added_us=contact.has_added_us,
            verification_status=contact.verification_status,
            trust_status=contact.trust_status,
            contact_request_local_state=contact.local_state,
            contact_request_local_clock=contact.local_clock,
            contact_request_remote_state=contact.remote_state,
            contact_request_remote_clock=contact.remote_clock,
            display_name=contact.display_name,
            customization_color=contact.customization_color,
        )
    data = _serialize(message)
    with _refusing():
        parse_synced_contact(data)
    return data


def parse_synced_contact(data: bytes) -> SyncedContact:
    """Read a ``SyncInstallationContactV2``; its id must name a public key (status-go's
    ``HandleSyncInstallationContactV2`` fails on one that does not). status-go takes it only
    from our own key and skips the one about ourselves (the caller's checks)."""
    message = _decode(pairing_pb2.SyncInstallationContactV2(), data, "contact sync")
    if not _is_public_key_id(message.id):
        raise InvalidContent("a synced contact's id is its 0x04... key")
    return SyncedContact(
        id=message.id,
        last_updated_locally=message.last_updated_locally,
        last_updated=message.last_updated,
        display_name=message.display_name,
        ens_name=message.ens_name,
        local_nickname=message.local_nickname,
        added=message.added,
        has_added_us=message.has_added_us,
        blocked=message.blocked,
        muted=message.muted,
        removed=message.removed,
        local_state=_go_uint64(message.contact_request_local_state),
        local_clock=_go_uint64(message.contact_request_local_clock),
        remote_state=_go_uint64(message.contact_request_remote_state),
        remote_clock=_go_uint64(message.contact_request_remote_clock),
        verification_status=message.verification_status,
        trust_status=message.trust_status,
        customization_color=message.customization_color,
    )


@dataclass(frozen=True, slots=True)
class RequestDecision:
    """A contact request accepted or declined on another device (``SyncContactRequestDecision``)."""

    clock: int
    request_id: str
    accepted: bool
    contact_id: str = ""


def build_request_decision(
    clock: int, request_id: str, *, accepted: bool, contact_id: str = ""
) -> bytes:
    """A ``SyncContactRequestDecision`` (wrapper type ``SYNC_CONTACT_REQUEST_DECISION``), what
    status-go's ``syncContactRequestDecision`` (messenger_pairing_and_syncing.go) sends the
    account's other devices after we accept or decline a request."""
    _build_clock(clock)
    status = pairing_pb2.SyncContactRequestDecision.ACCEPTED
    if not accepted:
        status = pairing_pb2.SyncContactRequestDecision.DECLINED
    with _encoding():
        message = pairing_pb2.SyncContactRequestDecision(
            clock=clock, requestId=request_id, decision_status=status, contactId=contact_id
        )
    return _serialize(message)


def parse_request_decision(data: bytes) -> RequestDecision:
    """Read a ``SyncContactRequestDecision``: any status but ``ACCEPTED`` (0) is a decline,
    as ``HandleSyncContactRequestDecision`` reads it."""
    message = _decode(pairing_pb2.SyncContactRequestDecision(), data, "request decision")
    return RequestDecision(
        message.clock,
        message.requestId,
        message.decision_status == pairing_pb2.SyncContactRequestDecision.ACCEPTED,
        message.contactId,
    )


# --------------------------------------------------------------------------------------------
# The contact-request state of one contact


class ContactEvent(Enum):
    """What can happen to a contact's request state (status-go ``protocol/contact.go``)."""

    SEND = "send"
    """We ask them (``ContactRequestSent``)."""
    ACCEPT = "accept"
    """We accept their request: the same as asking (``AcceptContactRequest``)."""
    DECLINE = "decline"
    """We decline their request (``DismissContactRequest``)."""
    RETRACT = "retract"
    """We remove them: both halves reset (``RetractContactRequest``)."""
    RECEIVE = "receive"
    """Their request reached us (``ContactRequestReceived``)."""
    RECEIVE_ACCEPT = "receive_accept"
    """They accepted ours: the same as receiving (``ContactRequestAccepted``)."""
    RECEIVE_RETRACT = "receive_retract"
    """They removed us; our half resets too unless we declined (``ContactRequestRetracted``)."""
    IMPLICIT_RETRACT = "implicit_retract"
    """Their propagated state says our half is none, at a newer clock than ours: a retraction
    we missed (``ContactRequestPropagatedStateReceived``); not applied once we declined."""
    SYNC_REMOTE_RETRACT = "sync_remote_retract"
    """Another of our devices saw their half reset (``ContactRequestRetracted`` from sync):
    our half stays."""


_NONE = ContactRequestState.NONE
_SENT = ContactRequestState.SENT
_RECEIVED = ContactRequestState.RECEIVED
_DISMISSED = ContactRequestState.DISMISSED
_E = ContactEvent

ContactHalves = tuple[ContactRequestState, ContactRequestState]
"""(our half, their half): ours is NONE, SENT or DISMISSED, theirs NONE or RECEIVED."""

TRANSITIONS: Final[Mapping[ContactHalves, Mapping[ContactEvent, ContactHalves]]] = {
    (_NONE, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_NONE, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_NONE, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_NONE, _NONE),
    },
    (_NONE, _RECEIVED): {
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_NONE, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_NONE, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_NONE, _NONE),
    },
    (_SENT, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_SENT, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_SENT, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_SENT, _NONE),
    },
    (_SENT, _RECEIVED): {  # mutual
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_SENT, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_SENT, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_SENT, _NONE),
    },
    (_DISMISSED, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_RETRACT: (_DISMISSED, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_DISMISSED, _NONE),
    },
    (_DISMISSED, _RECEIVED): {
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_RETRACT: (_DISMISSED, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_DISMISSED, _NONE),
    },
}
"""Where each event takes a contact, h11 style: ``TRANSITIONS[(ours, theirs)][event]``. An
event missing from a row does not apply in that state."""

OUR_CLOCK_EVENTS: Final = frozenset(
    {_E.SEND, _E.ACCEPT, _E.DECLINE, _E.RETRACT, _E.IMPLICIT_RETRACT}
)
"""Events that must carry a clock newer than our half's, and then set it. The others must beat
their half's clock and set it. Besides: RETRACT also sets their clock, and RECEIVE_RETRACT sets
ours unless we had declined (status-go: everything before a retraction is void, whichever side
it came from)."""


@dataclass(frozen=True, slots=True)
class ContactActions:
    """What status-go does after one step of a contact's request state."""

    processed: bool = False
    """The step was new (its clock beat the one it is judged against) and was applied."""
    send: tuple[MessageType, ...] = ()
    """Payloads to send the contact, in status-go's order. A ``CHAT_MESSAGE`` here is the
    contact request itself (content type ``CONTACT_REQUEST``); ``CHAT_IDENTITY`` status-go
    sends only when none went to this chat lately; ``CONTACT_UPDATE`` is
    :meth:`ContactRequestMachine.contact_update`."""
    sync: tuple[MessageType, ...] = ()
    """Payloads for the account's own other devices (when it has any)."""
    chat_active: bool | None = None
    """True: the 1:1 chat becomes visible; None: it stays as it was (status-go never hides it
    here: a chat with a stranger stays hidden until they become a contact)."""
    to_requests: bool = False
    """A new incoming request: status-go files it in the contact-requests inbox (an
    activity-centre notification) rather than the chat list."""
    show_message: bool = True
    """For received chat messages: False when status-go drops the message altogether."""
    request_state: RequestMessageState | None = None
    """The state the contact-request message concerned takes (None: unchanged / none)."""
    mutual_event: MutualEvent | None = None
    """The system message status-go adds to the 1:1 chat ("... sent you a contact request",
    "You accepted ...", "... removed you as a contact"): incoming for ``on_received_*``,
    outgoing otherwise."""
    profile_updated: bool = False
    """For contact updates: the display name, ENS name and colour it carries are newer than
    what we have, and replace it."""


class ContactRequestMachine:
    """The contact-request state status-go keeps for one contact (``Contact`` in
    ``protocol/contact.go``): our half and theirs, each with its Lamport clock, and the clock
    of their last profile update. Sans-IO: each ``on_*`` method takes the step's clock, moves
    the state through :data:`TRANSITIONS` and says what to do in a :class:`ContactActions`.

    The rules are status-go v1.1.0's, from ``protocol/messenger_contacts.go`` (our actions)
    and ``protocol/messenger_handler.go`` (received ones); each method names its source. Not
    modelled: blocking, and the contact sync of clients too old to send request clocks.
    """

    def __init__(
        self,
        contact_id: str,
        *,
        ours: ContactRequestState = ContactRequestState.NONE,
        our_clock: int = 0,
        theirs: ContactRequestState = ContactRequestState.NONE,
        their_clock: int = 0,
        last_updated: int = 0,
    ) -> None:
        if (ours, theirs) not in TRANSITIONS:
            raise ValueError(f"no contact is in the state ({ours!r}, {theirs!r})")
        self.contact_id = contact_id
        """The contact's ``0x04...`` key: their 1:1 chat's id."""
        self._ours = ours
        self._theirs = theirs
        self._our_clock = our_clock
        self._their_clock = their_clock
        self._last_updated = last_updated

    # ---- the state ---------------------------------------------------------------------

    @property
    def ours(self) -> ContactRequestState:
        """Our half: NONE, SENT (we added them) or DISMISSED (we declined)."""
        return self._ours

    @property
    def theirs(self) -> ContactRequestState:
        """Their half as we know it: NONE or RECEIVED (they added us)."""
        return self._theirs

    @property
    def our_clock(self) -> int:
        return self._our_clock

    @property
    def their_clock(self) -> int:
        return self._their_clock

    @property
    def last_updated(self) -> int:
        """The clock of the last contact update from them we took."""
        return self._last_updated

    @property
    def added(self) -> bool:
        return self._ours == ContactRequestState.SENT

    @property
    def has_added_us(self) -> bool:
        return self._theirs == ContactRequestState.RECEIVED

    @property
    def mutual(self) -> bool:
        """A contact: both added (the request was accepted)."""
        return self.added and self.has_added_us

    @property
    def dismissed(self) -> bool:
        return self._ours == ContactRequestState.DISMISSED

    @property
    def state(self) -> ContactRequestState:
        """One word for the contact, as status-go reports it (``Contact.MarshalJSON``):
        MUTUAL, else DISMISSED, else SENT, else RECEIVED, else NONE."""
        if self.mutual:
            return ContactRequestState.MUTUAL
        if self.dismissed:
            return ContactRequestState.DISMISSED
        if self.added:
            return ContactRequestState.SENT
        if self.has_added_us:
            return ContactRequestState.RECEIVED
        return ContactRequestState.NONE

    def propagated_state(self) -> PropagatedState:
        """What to put on every 1:1 chat message and contact update we send them
        (``Contact.ContactRequestPropagatedState``)."""
        return PropagatedState(self._our_clock, self._ours, self._their_clock, self._theirs)

    def contact_update(
        self,
        clock: int,
        *,
        display_name: str = "",
        ens_name: str = "",
        profile_image: str = "",
        customization_color: int = CUSTOMIZATION_COLOR_BLUE,
    ) -> bytes:
        """The ``ContactUpdate`` status-go's ``sendContactUpdate`` sends this contact: our
        profile with our request clock, our propagated state, and their key."""
        return build_contact_update(
            clock,
            display_name=display_name,
            ens_name=ens_name,
            profile_image=profile_image,
            contact_request_clock=self._our_clock,
            propagated_state=self.propagated_state(),
            public_key=self.contact_id,
            customization_color=customization_color,
        )

    def handle(self, event: ContactEvent, clock: int) -> bool:
        """Apply one event at Lamport ``clock``; False (and no change) when the clock is not
        newer than the one the event is judged against, or the event does not apply."""
        ours_judged = event in OUR_CLOCK_EVENTS
        if clock <= (self._our_clock if ours_judged else self._their_clock):
            return False
        target = TRANSITIONS[(self._ours, self._theirs)].get(event)
        if target is None:
            return False
        had_declined = self.dismissed
        self._ours, self._theirs = target
        if ours_judged:
            self._our_clock = clock
        else:
            self._their_clock = clock
        if event is ContactEvent.RETRACT:
            self._their_clock = clock
        if event is ContactEvent.RECEIVE_RETRACT and not had_declined:
            self._our_clock = clock
        return True

    def _propagate(self, state: PropagatedState) -> tuple[bool, bool, bool]:
        """``ContactRequestPropagatedStateReceived``: their view of both halves (their "local"
        is our "remote"). Returns (processed, send our state back, new request)."""
        processed = send_back = new_request = False
        if state.remote_clock < self._our_clock and state.remote_state != self._ours:
            processed = send_back = True  # they are behind on our half: tell them
        if state.remote_state == ContactRequestState.NONE and self.handle(
            ContactEvent.IMPLICIT_RETRACT, state.remote_clock
        ):
            processed = True
        if state.local_clock > self._their_clock:
            if state.local_state == ContactRequestState.SENT:
                had_added_us = self.has_added_us
                if self.handle(ContactEvent.RECEIVE, state.local_clock):
                    processed = True
                    new_request = not had_added_us
            elif state.local_state == ContactRequestState.NONE and self.handle(
                ContactEvent.RECEIVE_RETRACT, state.local_clock
            ):
                processed = True
        return processed, send_back, new_request

    # ---- our actions ---------------------------------------------------------------------

    def on_sent_request(self, clock: int, *, add_contact: bool = False) -> ContactActions:
        """We ask them to become a contact (``SendContactRequest``, or with ``add_contact``
        ``AddContact``, which also sends a contact update; both through ``addContact``,
        messenger_contacts.go): our half becomes SENT; we send the request as a chat message
        of content type ``CONTACT_REQUEST`` (carrying :meth:`propagated_state`) and tell our
        devices. The request is accepted at once if they had asked us already."""
        processed = self.handle(ContactEvent.SEND, clock)
        send: tuple[MessageType, ...] = (MessageType.CHAT_IDENTITY, MessageType.CHAT_MESSAGE)
        if add_contact:
            send = (MessageType.CONTACT_UPDATE, *send)
        return ContactActions(
            processed,
            send=send,
            sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
            request_state=RequestMessageState.ACCEPTED
            if self.mutual
            else RequestMessageState.PENDING,
            mutual_event=MutualEvent.SENT,
        )

    def on_accept(self, clock: int) -> ContactActions:
        """We accept their request (``AcceptContactRequest`` -> ``addContact`` ->
        ``updateAcceptedContactRequest``, messenger_contacts.go): our half becomes SENT, we
        send them an ``AcceptContactRequest`` naming the request (and our chat identity), the
        chat becomes visible, and our devices learn the contact and the decision."""
        processed = self.handle(ContactEvent.ACCEPT, clock)
        return ContactActions(
            processed,
            send=(MessageType.ACCEPT_CONTACT_REQUEST, MessageType.CHAT_IDENTITY),
            sync=(
                MessageType.SYNC_INSTALLATION_CONTACT_V2,
                MessageType.SYNC_CONTACT_REQUEST_DECISION,
            ),
            chat_active=True,
            request_state=RequestMessageState.ACCEPTED,
            mutual_event=MutualEvent.ADDED,
        )

    def on_decline(self, clock: int) -> ContactActions:
        """We decline their request (``DeclineContactRequest`` -> ``declineContactRequest``,
        messenger_contacts.go): our half becomes DISMISSED and the request message dismissed.
        Nothing is sent to them; only our own devices hear of the decision. Their later
        requests and messages do not reopen it (see :meth:`on_received_request`)."""
        processed = self.handle(ContactEvent.DECLINE, clock)
        return ContactActions(
            processed,
            sync=(MessageType.SYNC_CONTACT_REQUEST_DECISION,),
            request_state=RequestMessageState.DISMISSED,
        )

    def on_retract(self, clock: int, *, notify: bool = True) -> ContactActions:
        """We remove them (``RetractContactRequest`` -> ``removeContact`` +
        ``sendRetractContactRequest``, messenger_contacts.go): both halves reset to NONE at
        ``clock``; we send a ``RetractContactRequest`` (with a newer clock) and tell our
        devices. ``notify=False`` is status-go's ``RemoveContact``, which sends them nothing."""
        processed = self.handle(ContactEvent.RETRACT, clock)
        return ContactActions(
            processed,
            send=(MessageType.RETRACT_CONTACT_REQUEST,) if notify else (),
            sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
            mutual_event=MutualEvent.REMOVED,
        )

    # ---- what they send -------------------------------------------------------------------

    def on_received_message(
        self, clock: int, *, propagated: PropagatedState | None = None
    ) -> ContactActions:
        """Any other 1:1 chat message from them (``handleChatMessage``,
        messenger_handler.go): the chat shows if we added them (``matchChatEntity``), and
        the propagated state it carries counts: if it says they asked us and we did not know,
        status-go treats the message as their request (pending, in the requests inbox); if it
        shows them behind on our half, we send a contact update back."""
        del clock  # status-go judges the propagated state by its own clocks
        chat_active = True if self.added else None
        if propagated is None:
            return ContactActions(chat_active=chat_active)
        processed, send_back, new_request = self._propagate(propagated)
        pending = new_request and self.has_added_us and not self.mutual
        return ContactActions(
            processed,
            send=(MessageType.CONTACT_UPDATE,) if send_back else (),
            chat_active=chat_active,
            to_requests=new_request,
            request_state=RequestMessageState.PENDING if pending else None,
            mutual_event=MutualEvent.SENT if new_request else None,
        )

    def on_received_request(
        self,
        clock: int,
        *,
        propagated: PropagatedState | None = None,
        outgoing: bool = False,
    ) -> ContactActions:
        """Their contact request arrives: a 1:1 chat message of content type
        ``CONTACT_REQUEST`` with Lamport ``clock`` (``handleChatMessage`` and
        ``handleContactRequestChatMessage``, messenger_handler.go).

        First the propagated state counts as for :meth:`on_received_message`. Then status-go
        drops the message outright if we are already contacts or declined them. Otherwise the
        message stays, pending (accepted if we had asked them too); if its clock is new their
        half becomes RECEIVED, and a first request goes to the requests inbox. The chat
        shows only if we had added them.

        ``outgoing``: the request is ours, sent from another of our devices; our half becomes
        SENT (the propagated state is not read).
        """
        if outgoing:
            if self.mutual or self.dismissed:
                return ContactActions(chat_active=True, show_message=False)
            processed = self.handle(ContactEvent.SEND, clock)
            return ContactActions(
                processed,
                chat_active=True,
                request_state=RequestMessageState.ACCEPTED
                if processed and self.mutual
                else RequestMessageState.PENDING,
            )
        chat_active = True if self.added else None
        processed = send_back = new_request = False
        if propagated is not None:
            processed, send_back, new_request = self._propagate(propagated)
        send = (MessageType.CONTACT_UPDATE,) if send_back else ()
        mutual_event = MutualEvent.SENT if new_request else None
        if self.mutual or self.dismissed:
            # status-go has filed the notification already when the propagated state made the
            # request new, then returns before keeping the message.
            return ContactActions(
                processed,
                send=send,
                chat_active=chat_active,
                to_requests=new_request,
                show_message=False,
                mutual_event=mutual_event,
            )
        had_added_us = self.has_added_us
        if not self.handle(ContactEvent.RECEIVE, clock):
            return ContactActions(
                processed,
                send=send,
                chat_active=chat_active,
                to_requests=new_request,
                request_state=RequestMessageState.PENDING,
                mutual_event=mutual_event,
            )
        accepted = self.mutual
        return ContactActions(
            True,
            send=send,
            chat_active=chat_active,
            to_requests=new_request or (not had_added_us and not accepted),
            request_state=RequestMessageState.ACCEPTED if accepted else RequestMessageState.PENDING,
            mutual_event=mutual_event,
        )

    def on_received_accept(
        self,
        clock: int,
        *,
        request_chat_id: str | None = None,
        request_accepted: bool = False,
        deleted_at: int = 0,
    ) -> ContactActions:
        """They accepted our request: an ``AcceptContactRequest`` with ``clock``
        (``handleAcceptContactRequest`` and ``handleAcceptContactRequestMessage``,
        messenger_handler.go). ``request_chat_id``: the chat of the request message its id
        names, when we have that message (it must be this contact's, or
        :class:`InvalidContent` is raised); ``request_accepted``: that message was already
        accepted; ``deleted_at``: the clock at which we deleted the chat, if we did.

        A clock no newer than their half's changes nothing; otherwise their half becomes
        RECEIVED and the request message accepted. Once we are contacts the chat shows again
        (unless deleted later than ``clock``) with an "accepted your request" event (once).
        """
        stale = self._their_clock > clock
        request_state = None
        processed = False
        if not stale:
            if request_chat_id is not None and request_chat_id != self.contact_id:
                raise InvalidContent("can't accept a contact request not sent to this user")
            processed = self.handle(ContactEvent.RECEIVE_ACCEPT, clock)
            if request_chat_id is not None:
                request_state = RequestMessageState.ACCEPTED
        return ContactActions(
            processed,
            chat_active=True if self.mutual and deleted_at < clock else None,
            request_state=request_state,
            mutual_event=MutualEvent.ADDED if self.mutual and not request_accepted else None,
        )

    def on_received_retract(self, clock: int) -> ContactActions:
        """They removed us: a ``RetractContactRequest`` with ``clock``
        (``handleRetractContactRequest``, messenger_handler.go). If the clock beats their
        half's, both halves reset to NONE (ours stays DISMISSED if we had declined), and
        status-go adds a "removed you" event and a "contact removed" notification. (It
        ignores retractions signed by our own key: the caller's check.)"""
        processed = self.handle(ContactEvent.RECEIVE_RETRACT, clock)
        return ContactActions(processed, mutual_event=MutualEvent.REMOVED if processed else None)

    def on_contact_update(self, update: ContactUpdate, *, deleted_at: int = 0) -> ContactActions:
        """A ``ContactUpdate`` from them (``HandleContactUpdate``, messenger_handler.go).

        Its propagated state counts first (as in :meth:`on_received_message`); a request
        learnt that way has no message of its own, so status-go makes one up (text
        :data:`DEFAULT_CONTACT_REQUEST_TEXT`, id :func:`default_contact_request_id`) with
        ``request_state``, into the requests inbox unless already accepted. Then, if the
        update is newer than the last one taken, its profile replaces ours and its
        ``contact_request_clock`` counts as a request received. Once we are contacts the chat
        shows (unless deleted later than the update). status-go ignores updates signed by our
        own key, and from strangers when we take messages from contacts only (the caller's
        checks).
        """
        processed = send_back = new_request = False
        if update.propagated_state is not None:
            processed, send_back, new_request = self._propagate(update.propagated_state)
        profile_updated = self._last_updated < update.clock
        if profile_updated:
            had_added_us = self.has_added_us
            if self.handle(ContactEvent.RECEIVE, update.contact_request_clock):
                new_request = new_request or not had_added_us
            self._last_updated = update.clock
            processed = True
        request_state = None
        if new_request:
            request_state = (
                RequestMessageState.ACCEPTED if self.mutual else RequestMessageState.PENDING
            )
        return ContactActions(
            processed,
            send=(MessageType.CONTACT_UPDATE,) if send_back else (),
            chat_active=True if self.mutual and deleted_at < update.clock else None,
            to_requests=new_request and not self.mutual,
            request_state=request_state,
            profile_updated=profile_updated,
        )

    # ---- our other devices ----------------------------------------------------------------

    def on_synced_contact(self, contact: SyncedContact) -> ContactActions:
        """Another of our devices sent its record of this contact
        (``HandleSyncInstallationContactV2`` -> ``ProcessSyncContactRequestState``,
        contact.go): our half follows theirs (SENT, DISMISSED, or NONE, which resets both
        halves), then their half (RECEIVED, or NONE), each only at a newer clock. Records
        without request clocks (from old clients) are not modelled."""
        if contact.id != self.contact_id:
            raise ValueError("this record is about another contact")
        if contact.local_clock == 0 and contact.remote_clock == 0:
            return ContactActions()
        processed = False
        local_events: dict[int, ContactEvent] = {
            ContactRequestState.DISMISSED: ContactEvent.DECLINE,
            ContactRequestState.NONE: ContactEvent.RETRACT,
            ContactRequestState.SENT: ContactEvent.SEND,
        }
        local_event = local_events.get(contact.local_state)
        if local_event is not None:
            processed = self.handle(local_event, contact.local_clock)
        if contact.remote_state == ContactRequestState.RECEIVED:
            processed = self.handle(ContactEvent.RECEIVE, contact.remote_clock) or processed
        elif contact.remote_state == ContactRequestState.NONE:
            processed = (
                self.handle(ContactEvent.SYNC_REMOTE_RETRACT, contact.remote_clock) or processed
            )
        return ContactActions(processed)
