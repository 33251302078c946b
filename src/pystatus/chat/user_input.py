"""What a person types, checked before anything is sent: chat keys, public chat names,
message texts, message ids and emoji reactions.

The CLI and the REST API share these rules, so both refuse the same input with the same
words. Each refusal is a :class:`pystatus.errors.ChatError` subclass a front end reports as a
usage error (CLI exit 2, HTTP 400); each is counted in ``pystatus_chat_input_refused_total``
by what was refused.
"""

from __future__ import annotations

import re
from typing import Final

import coincurve
from prometheus_client import Counter

from pystatus.chat.content.validation import MAX_TEXT_LENGTH
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.errors import ChatError

__all__ = [
    "MAX_TEXT_LENGTH",
    "InvalidChatName",
    "InvalidMessageId",
    "InvalidReaction",
    "InvalidText",
    "checked_text",
    "normalize_public_chat_name",
    "one_to_one_chat_id",
    "parse_chat_key",
    "parse_message_id",
    "parse_reaction",
    "public_key_of",
]

REFUSED = Counter(
    "pystatus_chat_input_refused",
    "Chat keys, public chat names, texts, message ids and reactions refused before sending",
    ["what"],
)


class InvalidText(ChatError):
    """A message text that is blank or longer than :data:`MAX_TEXT_LENGTH` characters."""


class InvalidChatName(ChatError):
    """A public chat name the Status app would not join."""


class InvalidMessageId(ChatError):
    """Not a message id: ``0x`` and 64 hex digits."""


class InvalidReaction(ChatError):
    """Not one of the six emoji reactions status-go knows."""


# Go's strings.TrimSpace trims Unicode white space, as str.strip() does with no argument.
def checked_text(text: str) -> str:
    """``text`` unchanged if status-go's ``ValidateText`` (protocol/message_validator.go)
    takes it: not blank, at most :data:`MAX_TEXT_LENGTH` characters (Go counts runes, Python
    code points: the same). Raises :class:`InvalidText`."""
    if not text.strip():
        REFUSED.labels("text").inc()
        raise InvalidText("the text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        REFUSED.labels("text").inc()
        raise InvalidText(
            f"the text is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are sent"
        )
    return text


_HEX_KEY: Final = re.compile(r"0x(04[0-9a-fA-F]{128}|0[23][0-9a-fA-F]{64})")


def public_key_of(text: str) -> bytes:
    """The 65-byte uncompressed secp256k1 public key ``text`` names: a chat key as Status
    shows it (``zQ3...``), or ``0x`` and hex, uncompressed (``04``, 130 digits, as status-go's
    1:1 chat ids) or compressed (``02``/``03``, 66 digits). The point must be on the curve.
    Raises :class:`InvalidChatKey`, naming the forms taken."""
    text = text.strip()
    try:
        if text.startswith("z"):
            return public_key_from_chat_key_text(text)
        if _HEX_KEY.fullmatch(text) is None:
            raise InvalidChatKey(
                "a chat key is zQ3... or 0x04 and 128 hex digits (0x02/0x03 and 64 compressed)"
            )
        try:
            point = coincurve.PublicKey(bytes.fromhex(text[2:]))
        except ValueError:
            raise InvalidChatKey(f"{text} is not a point on the secp256k1 curve") from None
        return bytes(point.format(compressed=False))
    except InvalidChatKey:
        REFUSED.labels("chat_key").inc()
        raise


def parse_chat_key(text: str) -> str:
    """Any form :func:`public_key_of` takes, as the ``zQ3...`` chat key the messenger takes.
    Raises :class:`InvalidChatKey`."""
    return chat_key_text(public_key_of(text))


def one_to_one_chat_id(text: str) -> str:
    """status-go's id of the 1:1 chat with the key ``text`` names (any form
    :func:`public_key_of` takes): ``0x04...`` (protocol/chat.go ``OneToOneFromPublicKey``).
    Raises :class:`InvalidChatKey`."""
    return "0x" + public_key_of(text).hex()


_PUBLIC_CHAT_NAME: Final = re.compile(r"[a-z0-9\-]+")


def normalize_public_chat_name(name: str) -> str:
    """The public chat name the Status app would join for what a person typed.

    status-go takes any non-empty id (protocol/requests/create_public_chat.go) and the chat's
    topic and key derive from the exact string, so ``Status`` and ``status`` would be two
    chats. The app is what keeps names uniform: it shows ``#`` as a fixed prefix and joins a
    topic only if it matches ``[a-z0-9\\-]+`` (status-mobile,
    src/status_im/ui/screens/add_new/new_public_chat/db.cljs). So: surrounding space and one
    leading ``#`` go, letters are lower-cased, and what is left must match that pattern.
    Raises :class:`InvalidChatName`."""
    normalized = name.strip().removeprefix("#").lower()
    if _PUBLIC_CHAT_NAME.fullmatch(normalized) is None:
        REFUSED.labels("chat_name").inc()
        raise InvalidChatName(
            f"{name!r} is not a public chat name: letters a-z, digits and '-' (a leading '#' is"
            " dropped)"
        )
    return normalized


_MESSAGE_ID: Final = re.compile(r"0x[0-9a-f]{64}")


def parse_message_id(text: str) -> str:
    """A message id as status-go writes it: ``0x`` and 64 lower-case hex digits (upper case
    is taken and lowered). Raises :class:`InvalidMessageId`."""
    message_id = text.strip().lower()
    if _MESSAGE_ID.fullmatch(message_id) is None:
        REFUSED.labels("message_id").inc()
        raise InvalidMessageId(f"{text!r} is not a message id (0x and 64 hex digits)")
    return message_id


# status-go's EmojiReaction.Type (protocol/protobuf/emoji_reaction.proto) has six values; the
# emoji each stands for is the app's choice (status-desktop's reactions bar). Each entry:
# the emoji shown, its name, then other spellings a person may type.
REACTIONS: Final[dict[int, tuple[str, ...]]] = {
    1: ("❤️", "love", "❤", "♥️", "♥", "heart"),
    2: ("👍", "thumbs-up", "thumbs_up", "+1"),
    3: ("👎", "thumbs-down", "thumbs_down", "-1"),
    4: ("😂", "laugh", "😆", "joy"),
    5: ("😢", "sad", "😥", "cry"),
    6: ("😡", "angry", "😠", "rage"),
}
REACTION_EMOJI: Final = {kind: forms[0] for kind, forms in REACTIONS.items()}
_REACTION_OF: Final = {form: kind for kind, forms in REACTIONS.items() for form in forms}


def parse_reaction(text: str) -> int:
    """The EmojiReaction type (1 to 6) of an emoji, its name (``love``, ``thumbs-up``,
    ``thumbs-down``, ``laugh``, ``sad``, ``angry``) or its number. Raises
    :class:`InvalidReaction` listing the six."""
    word = text.strip().lower()
    if word.isdigit() and 1 <= int(word) <= len(REACTIONS):
        return int(word)
    kind = _REACTION_OF.get(word)
    if kind is None:
        REFUSED.labels("reaction").inc()
        known = " ".join(f"{forms[0]} ({forms[1]})" for forms in REACTIONS.values())
        raise InvalidReaction(f"status-go knows six reactions: {known}")
    return kind
