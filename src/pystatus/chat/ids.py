"""Chat ids, typed by kind rather than told apart by string prefixes.

status-go names a 1:1 chat by the other person's uncompressed public key in 0x-hex
(``protocol/chat.go`` ``OneToOneFromPublicKey``) and a public chat by its name
(``CreatePublicChat``). The text forms stay what the database, the REST API and the CLI
carry; :func:`parse_chat_id` is the one place that reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve

from pystatus.chat.errors import InvalidChatKey


@dataclass(frozen=True, slots=True)
class OneToOneChatId:
    """A 1:1 chat: ``public_key`` is the other person's, 65 bytes uncompressed."""

    public_key: bytes

    @classmethod
    def of(cls, public_key: bytes) -> OneToOneChatId:
        """From any encoding of a secp256k1 public key; raises :class:`InvalidChatKey`."""
        try:
            return cls(coincurve.PublicKey(public_key).format(compressed=False))
        except ValueError:
            raise InvalidChatKey("not a secp256k1 public key") from None

    @property
    def text(self) -> str:
        return "0x" + self.public_key.hex()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class PublicChatId:
    """A public chat, named as its members name it (the name derives its topic and key)."""

    name: str

    @property
    def text(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


ChatId = OneToOneChatId | PublicChatId


def parse_chat_id(text: str) -> ChatId:
    """A chat id as stored: ``0x04...`` (130 hex digits naming a key) is a 1:1 chat, anything
    else a public chat's name. Raises :class:`InvalidChatKey` for a ``0x`` id that names no
    key."""
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise InvalidChatKey(f"{text!r} is not a 1:1 chat id") from None
        return OneToOneChatId.of(raw)
    return PublicChatId(text)
