"""Chat ids, typed by kind rather than told apart by string prefixes.

status-go names a 1:1 chat by the other person's uncompressed public key in 0x-hex
(``protocol/chat.go`` ``OneToOneFromPublicKey``), a public chat by its name
(``CreatePublicChat``), a private group by a UUID, ``-`` and its creator's key
(``CreateGroupChatWithMembers``) and a community channel by the community id (the
compressed key, ``0x02...`` or ``0x03...``) followed by the channel's id
(``communities.Community.ChatID``). The text forms stay what the database, the REST API and the CLI
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


@dataclass(frozen=True, slots=True)
class GroupChatId:
    """A private group chat: ``text`` is ``<UUID>-0x04<128 hex digits>`` (status-go's form)."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class CommunityChatId:
    """A community channel: ``community_id`` is ``0x`` + the community's compressed key (66
    hex digits), ``channel_id`` the channel's id within it (a UUID as status-go makes it)."""

    community_id: str
    channel_id: str

    @property
    def text(self) -> str:
        return self.community_id + self.channel_id

    def __str__(self) -> str:
        return self.text


ChatId = OneToOneChatId | PublicChatId | GroupChatId | CommunityChatId

_COMMUNITY_ID_LENGTH = 2 + 66
_GROUP_ID_LENGTH = 36 + 1 + 132
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_group(text: str) -> bool:
    return len(text) == _GROUP_ID_LENGTH and text[36:41] == "-0x04" and _HEX.issuperset(text[41:])


def _community_prefix(text: str) -> str | None:
    """The community id a channel's chat id starts with, or None when it has no such form."""
    head = text[:_COMMUNITY_ID_LENGTH]
    if (
        len(text) > _COMMUNITY_ID_LENGTH
        and head[:4] in ("0x02", "0x03")
        and _HEX.issuperset(head[2:])
    ):
        return head
    return None


def parse_chat_id(text: str) -> ChatId:
    """A chat id as stored: ``0x04...`` (130 hex digits naming a key) is a 1:1 chat;
    ``0x02...`` or ``0x03...`` (66 hex digits) followed by more is a community channel;
    ``<UUID>-0x04...`` a private group; anything else a public chat's name. Raises
    :class:`InvalidChatKey` for a ``0x`` id that names no key. (Whether the community or
    group is one we know is the caller's question.)"""
    if _is_group(text):
        return GroupChatId(text)
    community = _community_prefix(text)
    if community is not None:
        return CommunityChatId(community, text[len(community) :])
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise InvalidChatKey(f"{text!r} is not a 1:1 chat id") from None
        return OneToOneChatId.of(raw)
    return PublicChatId(text)
