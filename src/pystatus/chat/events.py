"""What the messenger announces (:class:`ChatEvent`), and how a stored message reads as one."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.chat.content import ContentType, describe
from pystatus.chat.database import StoredMessage
from pystatus.chat.proto import chat_message_pb2

MESSAGE = "message"
CONTACT_REQUEST = "contact_request"
REACTION = "reaction"
STATUS = "status"
EDIT = "edit"
DELETE = "delete"
PIN = "pin"
CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """A chat message sent or received by this account, or news of one we sent, or of a
    contact. Every event is of one subclass per kind (:class:`MessageEvent`,
    :class:`ContactRequestEvent`, :class:`ReactionEvent`, :class:`StatusEvent`,
    :class:`EditEvent`, :class:`DeleteEvent`, :class:`PinEvent`, :class:`ContactEvent`);
    ``kind`` names it in the REST and CLI shapes, which read these fields."""

    id: str
    """The message's id; for ``reaction``, ``edit``, ``delete`` and ``pin``: the message
    concerned; for ``contact``: the contact's chat key."""
    chat_id: str
    author: str
    """The author's chat key, ``zQ3...`` (for ``edit``, ``delete`` and ``pin``: who did it;
    for ``contact``: the contact)."""
    text: str
    """What a person sees: the text, or a label for other content ("[image]", see
    :func:`pystatus.chat.content.describe`); a contact request's own text; for ``edit``
    the new text; empty once deleted."""
    clock: int
    timestamp: int
    response_to: str
    outgoing: bool
    kind: str = MESSAGE
    """``message``, ``contact_request``, ``reaction`` (then ``id`` is the reacted message),
    ``status`` (the delivery status of our message ``id`` changed), ``edit``, ``delete``,
    ``pin`` (``pinned`` says which way) or ``contact`` (a contact's request state or display
    name changed: ``contact_state``, ``display_name``)."""
    reaction: int = 0
    """For a reaction: its EmojiReaction type (1 love, 2 thumbs up, ...); negative: retracted."""
    status: str = ""
    """For our own messages: pending, sent, stored, delivered or failed."""
    display_name: str = ""
    """For messages, the display name the author sent with it; for ``contact``, the
    contact's display name as we know it."""
    contact_state: str = ""
    """For ``contact``: none, sent (we asked), received (they asked), mutual or dismissed
    (we declined)."""
    content_type: int = 0
    """For messages: the ChatMessage content type (1 text, 2 sticker, 7 image, 8 audio,
    11 contact request, ...)."""
    edited: bool = False
    deleted: bool = False
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class MessageEvent(ChatEvent):
    """A chat message, sent or received."""

    kind: str = MESSAGE


@dataclass(frozen=True, slots=True)
class ContactRequestEvent(ChatEvent):
    """A contact request (a chat message of content type 11)."""

    kind: str = CONTACT_REQUEST


@dataclass(frozen=True, slots=True)
class ReactionEvent(ChatEvent):
    """An emoji reaction to message ``id`` (``reaction``; negative: retracted)."""

    kind: str = REACTION


@dataclass(frozen=True, slots=True)
class StatusEvent(ChatEvent):
    """Our message ``id`` reached delivery status ``status``."""

    kind: str = STATUS


@dataclass(frozen=True, slots=True)
class EditEvent(ChatEvent):
    """Message ``id`` now reads ``text``."""

    kind: str = EDIT


@dataclass(frozen=True, slots=True)
class DeleteEvent(ChatEvent):
    """Message ``id`` was deleted for everyone."""

    kind: str = DELETE


@dataclass(frozen=True, slots=True)
class PinEvent(ChatEvent):
    """Message ``id`` was pinned or unpinned (``pinned``)."""

    kind: str = PIN


@dataclass(frozen=True, slots=True)
class ContactEvent(ChatEvent):
    """Contact ``id``'s request state or display name changed."""

    kind: str = CONTACT


def message_text(message: chat_message_pb2.ChatMessage, *, deleted: bool = False) -> str:
    """The text an event shows for a chat message."""
    if deleted:
        return ""
    if int(message.content_type) == ContentType.CONTACT_REQUEST:
        return message.text
    return describe(message)


def message_event(
    stored: StoredMessage, message: chat_message_pb2.ChatMessage, outgoing: bool
) -> MessageEvent | ContactRequestEvent:
    """The event for a stored chat message (``message`` is its body, parsed)."""
    contact_request = int(message.content_type) == ContentType.CONTACT_REQUEST
    kind = ContactRequestEvent if contact_request else MessageEvent
    return kind(
        stored.id,
        stored.chat_id,
        stored.author,
        message_text(message, deleted=stored.deleted),
        message.clock,
        message.timestamp,
        message.response_to,
        outgoing,
        kind=CONTACT_REQUEST if contact_request else MESSAGE,
        status=stored.status or "",
        display_name=message.display_name,
        content_type=message.content_type,
        edited=stored.edited_at > 0,
        deleted=stored.deleted,
        pinned=stored.pinned,
    )
