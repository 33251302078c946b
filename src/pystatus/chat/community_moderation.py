"""Deleting a member's messages in a community (issue 17), sans-IO.

status-go v1.1.0 has two ways to it:

- a ban with "delete all messages" (``BanUserFromCommunity`` with ``deleteAllMessages``): the
  control node's description names the member in ``banned_members`` with
  ``CommunityBanInfo.delete_all_messages`` set, and each member, on taking that description,
  deletes every message of the banned member in the community's channels
  (``handleCommunityResponse`` -> ``deleteCommunityMemberMessages``);
- ``DeleteCommunityMemberMessages`` (ApplicationMetadataMessage type 85,
  ``DELETE_COMMUNITY_MEMBER_MESSAGES``): sent by the control node (its wrapper signed by the
  community key) or an admin (signed by its chat key), bare, on the community id's public topic;
  taken only from the control node or a privileged member (``HandleDeleteCommunityMemberMessages``
  in messenger_communities.go). No messages named means all of the member's messages there.

This module decodes and checks what arrives and builds what we send; reading and writing the
chat database is :mod:`pystatus.chat.messenger_community_moderation`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import coincurve
from google.protobuf.message import DecodeError
from prometheus_client import Counter

from pystatus.chat.community import Community, InvalidCommunity, community_id_of
from pystatus.chat.proto import community_moderation_pb2 as pb

MAX_NAMED = 1_000
"""Messages one order may name (status-go sets no bound; a bigger one is refused)."""
MAX_ID = 200
"""Longest message id or chat id taken (a message id is ``0x`` + 64 hex digits)."""

MEMBER_DELETES = Counter(
    "chat_community_member_deletes",
    "Orders to delete a member's community messages taken, by how (ban, order)",
    ["how"],
)
MEMBER_MESSAGES_DELETED = Counter(
    "chat_community_member_messages_deleted",
    "Community messages deleted because an admin deleted all or some of a member's messages",
)


@dataclass(frozen=True, slots=True)
class MemberDeletes:
    """A decoded ``DeleteCommunityMemberMessages``: ``clock`` in seconds (unix time, the
    sender's clock), ``community_id`` (``0x02...``/``0x03...``), ``member`` (``0x04...``), and
    ``messages`` as (message id, chat id) pairs; empty means all of the member's messages."""

    clock: int
    community_id: str
    member: str
    messages: tuple[tuple[str, str], ...]


def _member(text: str) -> str:
    """``0x04...`` for a member key in hex (``common.HexToPubkey``'s forms), normalised."""
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
        return "0x" + coincurve.PublicKey(raw).format(compressed=False).hex()
    except ValueError:
        raise InvalidCommunity("member_deletes", f"not a member key: {text[:80]!r}") from None


def decode_member_deletes(payload: bytes) -> MemberDeletes:
    """Decode and check a type 85 payload as status-go's request ``Validate`` does (a
    community id, a member key, each named message with an id and a chat id of that
    community). Raises :class:`InvalidCommunity` (reason ``member_deletes``, counted)."""
    try:
        message = pb.DeleteCommunityMemberMessages.FromString(payload)
    except (DecodeError, ValueError) as exc:
        raise InvalidCommunity("member_deletes", f"does not decode: {exc}") from None
    if len(message.community_id) != 33:  # status-go's ID(): the compressed key
        raise InvalidCommunity("member_deletes", "no valid community id")
    community_id = community_id_of(message.community_id)  # on the curve, or InvalidCommunity
    member = _member(message.member_id)
    if len(message.messages) > MAX_NAMED:
        raise InvalidCommunity("member_deletes", f"names over {MAX_NAMED} messages")
    named: list[tuple[str, str]] = []
    for item in message.messages:
        if not item.id or not item.chat_id or len(item.id) > MAX_ID or len(item.chat_id) > MAX_ID:
            raise InvalidCommunity("member_deletes", "a named message without an id or chat id")
        if not item.chat_id.startswith(community_id):
            raise InvalidCommunity("member_deletes", "a named message of another community")
        named.append((item.id, item.chat_id))
    return MemberDeletes(message.clock, community_id, member, tuple(named))


def check_sender(community: Community, author: str) -> None:
    """Raise :class:`InvalidCommunity` (reason ``not_privileged``) unless ``author``
    (``0x04...``, the wrapper's signer) is the control node or a privileged member."""
    if not community.is_privileged(author):
        raise InvalidCommunity("not_privileged", "deleting messages needs an admin")


def encode_member_deletes(
    community: Community, member: str, clock_s: int, messages: Iterable[tuple[str, str]] = ()
) -> bytes:
    """The type 85 payload deleting ``member``'s (``0x04...``) messages: those named
    ((message id, chat id) pairs), or all of them. ``clock_s``: unix seconds."""
    return pb.DeleteCommunityMemberMessages(
        clock=clock_s,
        community_id=community_key_compressed(community),
        member_id=member,
        messages=[pb.DeleteCommunityMemberMessage(id=i, chat_id=c) for i, c in messages],
    ).SerializeToString()


def community_key_compressed(community: Community) -> bytes:
    """The community id's 33 bytes (status-go's ``community.ID()``)."""
    return bytes.fromhex(community.id.removeprefix("0x"))


def deleting_all(community: Community) -> list[str]:
    """Members (``0x04...``) banned with ``delete_all_messages`` in ``community``'s
    description (``CommunityBanInfo``), whose messages members delete."""
    banned = community.description.banned_members
    return sorted(k for k, info in banned.items() if info.delete_all_messages)
