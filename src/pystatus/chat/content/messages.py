"""Chat messages (CHAT_MESSAGE) as status-go builds and reads them: text, images, audio,
stickers, community links and bridged messages, and what a person sees of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from pystatus.chat.content.contacts import PropagatedState, _propagated_of, _put_propagated
from pystatus.chat.content.enums import AudioType, ChatMessageType, ContentType, ImageFormat
from pystatus.chat.content.errors import ContentRefused, InvalidContent
from pystatus.chat.content.validation import (
    _build_chat_id,
    _build_clock,
    _checked,
    _decode,
    _encoding,
    _known,
    _require,
    _validate_wire_chat_type,
    _wire_chat_type,
    validate_clock,
    validate_display_name,
    validate_text,
)
from pystatus.chat.proto import chat_message_pb2


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
        _put_propagated(message, propagated_state)
    return _checked(message, parse_chat_message)


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
    _require(message.chat_id, "chatId")
    _validate_wire_chat_type(chat_type)
    message_type = _wire_chat_type(chat_type)
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
    if message_type == ChatMessageType.PUBLIC_GROUP and content_type in (
        ContentType.IMAGE,
        ContentType.AUDIO,
    ):
        raise InvalidContent("images and audio are not allowed in public chats")
    return ChatContent(
        clock=message.clock,
        timestamp=message.timestamp,
        chat_id=message.chat_id,
        message_type=message_type,
        content_type=_known(ContentType, content_type),
        text=message.text,
        response_to=message.response_to,
        ens_name=message.ens_name,
        display_name=display_name,
        sticker=sticker_of(message),
        image=image_of(message),
        audio=audio_of(message),
        community=message.community if payload == "community" else None,
        discord=_discord_of(message),
        bridge=_bridge_of(message),
        propagated_state=_propagated_of(message),
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


def _discord_of(message: chat_message_pb2.ChatMessage) -> Discord | None:
    if message.WhichOneof("payload") != "discord_message":
        return None
    discord = message.discord_message
    return Discord(discord.id, discord.content, discord.author.name, discord.timestamp)


def _bridge_of(message: chat_message_pb2.ChatMessage) -> Bridge | None:
    if message.WhichOneof("payload") != "bridge_message":
        return None
    bridge = message.bridge_message
    return Bridge(
        bridge.bridgeName,
        bridge.userName,
        bridge.content,
        bridge.userAvatar,
        bridge.userID,
        bridge.messageID,
        bridge.parentMessageID,
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
        audio, bridge, discord = audio_of(message), _bridge_of(message), _discord_of(message)
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
