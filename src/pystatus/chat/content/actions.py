"""What is done to a chat message after it is sent, as status-go does it: edits
(EDIT_MESSAGE), deletes for everyone (DELETE_MESSAGE) and on one's own devices
(SYNC_DELETE_FOR_ME_MESSAGE), pins (PIN_MESSAGE) and emoji reactions (EMOJI_REACTION)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pystatus.chat.content.enums import ChatMessageType, ContentType, EmojiType
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
    validate_text,
)
from pystatus.chat.proto import chat_message_pb2, pin_message_pb2

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
    return _checked(message, parse_edit)


def parse_edit(data: bytes) -> Edit:
    """Read an ``EditMessage``, rejecting what ``ValidateEditMessage`` (message_validator.go)
    rejects: a zero clock, an empty chat or message id, an unknown chat type, blank or
    over-long text."""
    message = _decode(chat_message_pb2.EditMessage(), data, "edit")
    validate_clock(message.clock)
    _require(message.chat_id, "chat-id")
    _require(message.message_id, "message-id")
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
    return _checked(message, parse_delete)


def parse_delete(data: bytes) -> Delete:
    """Read a ``DeleteMessage``, rejecting what ``ValidateDeleteMessage`` rejects: an empty
    chat or message id, an unknown chat type. (status-go does not look at its clock.)"""
    message = _decode(chat_message_pb2.DeleteMessage(), data, "delete")
    _require(message.chat_id, "chat-id")
    _require(message.message_id, "message-id")
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
    return _checked(message, parse_delete_for_me)


def parse_delete_for_me(data: bytes) -> DeleteForMe:
    """Read a ``SyncDeleteForMeMessage``; status-go requires a message id
    (``ValidateDeleteForMeMessage``) and ignores it unless our own key signed it."""
    message = _decode(chat_message_pb2.SyncDeleteForMeMessage(), data, "delete for me")
    _require(message.message_id, "message-id")
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
    return _checked(message, parse_pin)


def parse_pin(data: bytes) -> Pin:
    """Read a ``PinMessage``. status-go has no validator for pins; its ``handlePinMessage``
    drops those no chat takes (``matchChatEntity``): an unknown or local-only chat type, or
    an empty chat id outside 1:1 chats (1:1 pins from others are filed by their signer)."""
    message = _decode(pin_message_pb2.PinMessage(), data, "pin")
    chat_type = _wire_chat_type(message.message_type)
    if chat_type != ChatMessageType.ONE_TO_ONE:
        _require(message.chat_id, "chat-id")
    return Pin(
        message.clock,
        message.chat_id,
        message.message_id,
        message.pinned,
        chat_type,
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
    return _checked(message, parse_emoji_reaction)


def parse_emoji_reaction(data: bytes, *, sent_at_ms: int | None = None) -> Reaction:
    """Read an ``EmojiReaction``, rejecting what ``ValidateReceivedEmojiReaction`` and
    ``matchChatEntity`` reject: a bad clock, an empty message or chat id, an unknown emoji, a
    chat type no chat takes."""
    message = _decode(chat_message_pb2.EmojiReaction(), data, "emoji reaction")
    validate_clock(message.clock, sent_at_ms)
    _require(message.message_id, "message-id")
    _require(message.chat_id, "chat-id")
    if int(message.type) == EmojiType.UNKNOWN_EMOJI_REACTION_TYPE:
        raise InvalidContent("unknown emoji reaction type")
    chat_type = _wire_chat_type(message.message_type)
    return Reaction(
        message.clock,
        message.chat_id,
        message.message_id,
        chat_type,
        _known(EmojiType, message.type),
        message.retracted,
    )
