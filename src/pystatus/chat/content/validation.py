"""status-go's field rules, and what every builder and parser of message contents shares.

Parsers decode as Go's protobuf does (:func:`_decode`) and check fields as status-go's
``protocol/message_validator.go`` and ``matchChatEntity`` (messenger_handler.go) do; builders
refuse values protobuf cannot hold (:func:`_encoding`) and check their output with the matching
parser (:func:`_checked`), so what pystatus writes is always accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Final, TypeVar

import coincurve
from google.protobuf.message import Message

from pystatus.chat.content.enums import ChatMessageType
from pystatus.chat.content.errors import ContentRefused, InvalidContent
from pystatus.waku.errors import DecodeError
from pystatus.waku.wire import parse as _parse_protobuf

MAX_TEXT_LENGTH: Final = 4096
"""Characters in a chat message or edit (``maxChatMessageTextLength``)."""

MAX_CLOCK_DRIFT_MS: Final = 120_000
"""How far a Lamport clock may run ahead of the envelope's time (``maxWhisperFutureDriftMs``)."""

PUBLIC_KEY_ID_LENGTH: Final = 132
"""``0x`` and an uncompressed secp256k1 key in hex (``PubKeyStringLength``, messenger.go)."""

_WIRE_CHAT_TYPES: Final = frozenset(
    {
        ChatMessageType.ONE_TO_ONE,
        ChatMessageType.PUBLIC_GROUP,
        ChatMessageType.PRIVATE_GROUP,
        ChatMessageType.COMMUNITY_CHAT,
    }
)

_EnumT = TypeVar("_EnumT", bound=IntEnum)
_MessageT = TypeVar("_MessageT", bound=Message)

# --------------------------------------------------------------------------------------------
# Decoding and encoding


def _known(enum: type[_EnumT], value: int) -> _EnumT | int:
    """``value`` as a member of ``enum`` when it names one; newer clients may send numbers
    status-go v1.1.0 does not know, which it passes through as plain numbers."""
    try:
        return enum(value)
    except ValueError:
        return value


def _decode(message: _MessageT, data: bytes, what: str) -> _MessageT:
    try:
        return _parse_protobuf(message, data, what)
    except DecodeError as exc:
        raise InvalidContent(str(exc)) from None


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


def _serialize(message: Message) -> bytes:
    with _encoding():
        return message.SerializeToString()


def _checked(message: Message, parse: Callable[[bytes], object]) -> bytes:
    """``message``'s bytes, refused (:class:`ContentRefused`) if ``parse`` rejects them."""
    data = _serialize(message)
    with _refusing():
        parse(data)
    return data


def _build_clock(clock: int) -> None:
    if not 0 < clock < 1 << 64:
        raise ContentRefused("a Lamport clock is a non-zero uint64 (status-go never sends 0)")


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


def _require(value: str, name: str) -> None:
    """status-go's "<name> can't be empty"."""
    if not value:
        raise InvalidContent(f"{name} can't be empty")


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
    _require(text.strip(_GO_SPACE), "text")
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


def _wire_chat_type(message_type: int) -> ChatMessageType:
    """The chat type of a chat some chat takes (``matchChatEntity``): not unknown or local."""
    if message_type not in _WIRE_CHAT_TYPES:
        raise InvalidContent(f"no chat takes messages of type {message_type}")
    return ChatMessageType(message_type)


# --------------------------------------------------------------------------------------------
# Chat ids


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
    _wire_chat_type(message_type)
    _require(chat_id, "chat-id")
    return chat_id


def _build_chat_id(message_type: int, chat_id: str) -> None:
    """What our own paired devices check when they read what we send (matchChatEntity)."""
    if message_type == ChatMessageType.ONE_TO_ONE and not _is_public_key_id(chat_id):
        raise ContentRefused("a 1:1 chat id is 0x and the recipient's uncompressed public key")
