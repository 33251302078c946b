"""The sealed parts of an encrypted community's description, as status-go v1.1.0 writes and
reads them (``protocol/communities/community_description_encryption.go``, ``manager.go``
encryptCommunityDescriptionImpl / decryptCommunityDescription). Sans-IO.

Before signing, the control node of an encrypted community moves the members, the active member
count, the channels and the categories into a ``CommunityDescription`` of their own, sealed
under the community's current hash ratchet key without a header
(:meth:`~pystatus.chat.hash_ratchet.HashRatchet.seal_for_group`) and kept in ``private_data``
under the key id's hex followed by the seq_no
(:func:`~pystatus.chat.hash_ratchet.private_data_name`); the public part keeps the identity,
permissions, bans and clock. A reader holding the key merges the parts back (members, count and
categories replace; a channel's members fill an existing channel, an unknown channel is added).
pystatus makes no encrypted channels, so it seals only the community-level part; it reads both.

Keys whose sender we cannot yet judge (the ratchet's authority names the owner from the
members, which the description seals) are kept aside in :class:`UnverifiedKeys`; one that
opens a sealed part of a description the community key signed is proven the community's
(only its control node sealed under it), and taken.

Parts that do not open are counted (``chat_community_private_data{result}``) and named by key
id, so the caller can wait for the key (status-go holds a joined member's description until
then: ``HandleCommunityDescriptionMessage`` returns early when it decrypted no members).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from google.protobuf.message import DecodeError
from prometheus_client import Counter, Gauge

from pystatus.chat.errors import HashRatchetError, InvalidGroupMessage, UnknownGroupKey
from pystatus.chat.hash_ratchet import (
    MAX_SEQ_NO_DELTA,
    GroupKey,
    HashRatchet,
    parse_private_data_name,
    private_data_name,
    unseal,
)
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.waku.enr import keccak256

RESULTS = Counter(
    "chat_community_private_data",
    "Sealed parts of community descriptions, by result",
    ["result"],
)
UNVERIFIED = Gauge("chat_community_unverified_keys", "Group keys kept until proven or evicted")
MAX_UNVERIFIED = 64
"""Keys kept aside unproven (the oldest forgotten, counted as ``evicted``)."""


class UnverifiedKeys:
    """Keys a 1:1 message brought from a sender the ratchet's authority refused, kept until a
    description signed by the community key proves one (:meth:`prove`), at most
    :data:`MAX_UNVERIFIED`."""

    def __init__(self) -> None:
        self._keys: OrderedDict[bytes, GroupKey] = OrderedDict()

    def keep(self, keys: Iterable[GroupKey]) -> None:
        for key in keys:
            self._keys[key.key_id] = key
            self._keys.move_to_end(key.key_id)
        while len(self._keys) > MAX_UNVERIFIED:
            self._keys.popitem(last=False)
            RESULTS.labels("evicted").inc()
        UNVERIFIED.set(len(self._keys))

    def prove(self, name: str, data: bytes) -> GroupKey | None:
        """The kept key a sealed part (``name``: its private data name, ``data``) opens
        under, taken out; None when none is kept or it does not open (counted). Walks at most
        :data:`MAX_SEQ_NO_DELTA` hashes, as the ratchet would."""
        try:
            key_id, seq_no = parse_private_data_name(name)
        except InvalidGroupMessage:
            return None
        key = self._keys.get(key_id)
        if key is None or not 0 < seq_no <= MAX_SEQ_NO_DELTA:
            return None
        digest = key.key
        for _ in range(seq_no):
            digest = keccak256(digest)
        try:
            unseal(digest, data)
        except HashRatchetError:
            RESULTS.labels("unproven").inc()
            return None
        del self._keys[key_id]
        UNVERIFIED.set(len(self._keys))
        RESULTS.labels("proven").inc()
        return key


def seal_description(
    description: pb.CommunityDescription, ratchet: HashRatchet, group_id: bytes
) -> pb.CommunityDescription:
    """A copy of ``description`` whose members, active member count, channels and categories
    travel sealed in ``private_data`` under ``group_id``'s current key (encryptDescription).
    Raises :class:`~pystatus.chat.errors.UnknownGroupKey` without a key."""
    part = pb.CommunityDescription(active_members_count=description.active_members_count)
    for member_id, member in description.members.items():
        part.members[member_id].CopyFrom(member)
    for channel_id, chat in description.chats.items():
        part.chats[channel_id].CopyFrom(chat)
    for category_id, category in description.categories.items():
        part.categories[category_id].CopyFrom(category)
    key, seq_no, sealed = ratchet.seal_for_group(group_id, part.SerializeToString())
    out = pb.CommunityDescription()
    out.CopyFrom(description)
    out.ClearField("private_data")
    out.private_data[private_data_name(key.key_id, seq_no)] = sealed
    for name in ("members", "active_members_count", "chats", "categories"):
        out.ClearField(name)
    RESULTS.labels("sealed").inc()
    return out


def open_private_data(description: pb.CommunityDescription, ratchet: HashRatchet) -> list[bytes]:
    """Merge the parts of ``description.private_data`` that open with our keys into it, in
    place, as status-go's decryptDescription merges them; the key ids of parts whose key we
    lack. A malformed part is skipped and counted."""
    missing: list[bytes] = []
    for name, data in description.private_data.items():
        try:
            key_id, seq_no = parse_private_data_name(name)
            opened = ratchet.open_sealed(key_id, seq_no, data)
            part = pb.CommunityDescription.FromString(opened)
        except UnknownGroupKey:
            RESULTS.labels("no_key").inc()
            missing.append(key_id)
            continue
        except (HashRatchetError, InvalidGroupMessage, DecodeError, RuntimeError, ValueError):
            RESULTS.labels("invalid").inc()
            continue
        RESULTS.labels("opened").inc()
        if part.members:
            description.ClearField("members")
            for member_id, member in part.members.items():
                description.members[member_id].CopyFrom(member)
        if part.active_members_count:
            description.active_members_count = part.active_members_count
        for channel_id, chat in part.chats.items():
            if channel_id in description.chats:
                if chat.members:
                    existing = description.chats[channel_id]
                    existing.ClearField("members")
                    for member_id, member in chat.members.items():
                        existing.members[member_id].CopyFrom(member)
            else:
                description.chats[channel_id].CopyFrom(chat)
        if part.categories:
            description.ClearField("categories")
            for category_id, category in part.categories.items():
                description.categories[category_id].CopyFrom(category)
    return missing
