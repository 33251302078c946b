"""Communities: ids, topics and the control node's signed description, as status-go v1.1.0.

Identity (``protocol/communities/community.go``): a community is a secp256k1 key pair made at
creation; its id is ``0x`` + hex of the compressed public key (``IDString``), carried in the
description's ``ID`` field. Its control node holds the private key: it alone signs the
``CommunityDescription``, wrapped as an ``ApplicationMetadataMessage`` of type
``COMMUNITY_DESCRIPTION`` (25) whose signature is the community key's (``WrapMessageV1`` in
``toProtocolMessageBytes``). A channel's chat id is the community id followed by the channel's
id, a UUID (``ChatID``).

Receiving (``communities/manager.go`` HandleCommunityDescriptionMessage, ``validator.go``):
the description's id comes from ``ID`` (or, from older senders, the signer's key); its clock
must not go backwards; the access must be known (community and each channel); each channel
needs permissions and an identity, a known category, and only members of the community among
its members; each category needs an id and a name. status-go takes the signer of the first
description it sees of a community as its control node (token-owned communities name another
one); pystatus takes only descriptions signed by the community key itself, the control node of
every community not owned through a token contract, and counts the others
(``chat_community_rejected{reason="signer"}``).

Channel members (``dehydrateChannelsMembers`` / ``hydrateChannelsMembers``): to save space the
control node sends no member list for channels no token permission names; a receiver gives
such a channel every member of the community, as posters. A read-only channel is one named by a
``CAN_VIEW_CHANNEL`` token permission: its members are listed, with ``CHANNEL_ROLE_VIEWER``
for those who may read only (``Community.CanPost``: a chat message needs the POSTER role; the
control node may always post).

Pure functions and frozen values: no clock is read and no I/O is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import coincurve
from google.protobuf.message import DecodeError as ProtobufDecodeError
from prometheus_client import Counter

from pystatus.chat import topics
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.wrapper import InvalidWrapper, MessageType, unwrap, wrap
from pystatus.errors import ChatError

Roles = pb.CommunityMember.Roles
Access = pb.CommunityPermissions.Access
PermissionType = pb.CommunityTokenPermission.Type
POSTER = pb.CommunityMember.CHANNEL_ROLE_POSTER
VIEWER = pb.CommunityMember.CHANNEL_ROLE_VIEWER
PRIVILEGED = frozenset({Roles.ROLE_OWNER, Roles.ROLE_ADMIN, Roles.ROLE_TOKEN_MASTER})
"""Roles that make a member privileged (status-go's ``IsPrivilegedMember``)."""

COMMUNITY_CHAT = 5
"""``MessageType.COMMUNITY_CHAT`` of a channel's ChatMessage (status-go's enums.proto)."""

MAX_DESCRIPTION = topics.MAX_MESSAGE_SIZE
"""Largest description taken, in bytes (one Waku message on the Status cluster)."""
MAX_MEMBERS = 100_000
MAX_CHANNELS = 1_000
MAX_CATEGORIES = 1_000
MAX_PERMISSIONS = 1_000
MAX_BANNED = 100_000

REJECTED = Counter(
    "chat_community_rejected",
    "Community messages refused, by reason",
    ["reason"],
)


class InvalidCommunity(ChatError):
    """A community message that does not decode, is not signed by whom it must be, or that
    status-go's validator would refuse. ``reason`` names the check (also the label of
    ``chat_community_rejected``, incremented on construction)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        REJECTED.labels(reason).inc()


# -- ids and keys -----------------------------------------------------------------------------


def community_id_of(public_key: bytes) -> str:
    """``0x`` + hex of the compressed key (33 bytes), status-go's ``IDString``. Raises
    :class:`InvalidCommunity` for bytes that are no secp256k1 public key."""
    try:
        return "0x" + coincurve.PublicKey(public_key).format(compressed=True).hex()
    except (ValueError, TypeError):
        raise InvalidCommunity("id", "not a secp256k1 public key") from None


def community_key(community_id: str) -> bytes:
    """The community's uncompressed public key (65 bytes) from its id. Raises
    :class:`InvalidCommunity`."""
    try:
        raw = bytes.fromhex(community_id.removeprefix("0x"))
        if len(raw) != 33 or not community_id.startswith("0x"):
            raise ValueError
        return coincurve.PublicKey(raw).format(compressed=False)
    except (ValueError, TypeError):
        raise InvalidCommunity("id", f"not a community id: {community_id[:80]!r}") from None


def member_key(public_key: bytes) -> str:
    """A member as the description keys it: ``0x04...`` (``common.PubkeyToHex``)."""
    return "0x" + coincurve.PublicKey(public_key).format(compressed=False).hex()


def channel_chat_id(community_id: str, channel_id: str) -> str:
    """A channel's chat id: the community id followed by the channel id (``ChatID``)."""
    return community_id + channel_id


# -- topics (protocol/transport/topic.go, messenger_communities.go DefaultFilters) ------------


def pubsub_topic(shard: tuple[int, int] | None) -> str:
    """Where a community's description and its channels' messages travel: its shard's topic,
    or, for a community with none (every community status-go v1.1.0 creates: ``Shard: nil``,
    which the Waku layer maps to its default), ``/waku/2/rs/16/32``."""
    if shard is None:
        return f"/waku/2/rs/{topics.STATUS_CLUSTER}/{topics.DEFAULT_SHARD}"
    return f"/waku/2/rs/{shard[0]}/{shard[1]}"


CONTROL_PUBSUB_TOPIC = f"/waku/2/rs/{topics.STATUS_CLUSTER}/{topics.NON_PROTECTED_SHARD}"
"""Requests to join, cancellations, requests to leave and their answers
(``shard.DefaultNonProtectedPubsubTopic`` in messenger_communities.go)."""


def description_content_topic(community_id: str) -> str:
    """The description's topic: the community id as a public chat name (``publishOrg``:
    ``SendPublic(org.IDString())``, the envelope keyed by PBKDF2 of that name)."""
    return topics.public_chat_content_topic(community_id)


def control_topic_name(community_id: str) -> str:
    """The name of the topic the control node reads requests on: hex of the uncompressed
    community key without ``0x`` (transport ``SendCommunityMessage``; ECIES to that key)."""
    return community_key(community_id).hex()


def control_content_topic(community_id: str) -> str:
    return topics.content_topic(topics.topic_of(control_topic_name(community_id)))


def member_update_channel(community_id: str) -> str:
    """``<id>-memberUpdate``, one of the public topics every member listens on."""
    return community_id + "-memberUpdate"


# -- the model --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel: ``id`` (a UUID), ``chat_id`` (community id + id), its identity,
    ``read_only`` (named by a CAN_VIEW_CHANNEL permission) and ``members`` (``0x04...`` ->
    channel role, hydrated as status-go does)."""

    id: str
    chat_id: str
    name: str
    description: str
    color: str
    emoji: str
    category_id: str
    position: int
    read_only: bool
    members: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Community:
    """A community as its latest accepted description says: ``members`` maps ``0x04...`` keys
    to their roles, ``banned`` holds banned keys, ``access`` is AUTO_ACCEPT (open) or
    MANUAL_ACCEPT (requests need approval). ``description`` is the decoded, hydrated message
    (do not mutate it); ``wrapped`` the signed bytes it came in (empty when not yet signed)."""

    id: str
    clock: int
    name: str
    about: str
    color: str
    access: int
    members: Mapping[str, tuple[int, ...]]
    banned: frozenset[str]
    channels: Mapping[str, Channel]
    categories: Mapping[str, str]
    encrypted: bool
    description: pb.CommunityDescription
    wrapped: bytes = b""

    @property
    def control_node(self) -> str:
        """The control node's key as members are keyed (``0x04...``)."""
        return "0x" + community_key(self.id).hex()

    def is_member(self, key: str) -> bool:
        return key in self.members

    def is_privileged(self, key: str) -> bool:
        return key == self.control_node or bool(PRIVILEGED.intersection(self.members.get(key, ())))

    def is_banned(self, key: str) -> bool:
        return key in self.banned

    def channel_by_chat_id(self, chat_id: str) -> Channel | None:
        if not chat_id.startswith(self.id):
            return None
        return self.channels.get(chat_id[len(self.id) :])

    def can_view(self, key: str, channel_id: str) -> bool:
        """status-go's ``CanView``: the control node always; else an unbanned member of the
        community listed among the channel's members."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return False
        if key == self.control_node:
            return True
        if self.is_banned(key) or key not in self.members:
            return False
        return key in channel.members

    def can_post(self, key: str, channel_id: str, message_type: int) -> bool:
        """status-go's ``CanPost`` for ``message_type`` (an ApplicationMetadataMessage type):
        pins from privileged members (pinning by everyone is an admin setting pystatus does
        not read); reactions from posters, or viewers where the channel allows it; anything
        else from posters only."""
        if not self.can_view(key, channel_id):
            return False
        channel = self.channels[channel_id]
        role = channel.members.get(key, POSTER)  # the control node need not be listed
        if message_type == MessageType.PIN_MESSAGE:
            return self.is_privileged(key)
        if message_type == MessageType.EMOJI_REACTION:
            reactions = channel_reactions(self.description, channel_id)
            return role == POSTER or (role == VIEWER and reactions)
        return role == POSTER


def channel_reactions(description: pb.CommunityDescription, channel_id: str) -> bool:
    chat = description.chats.get(channel_id)
    return chat is not None and chat.viewers_can_post_reactions


def read_only_channels(description: pb.CommunityDescription) -> set[str]:
    """Chat ids named by a CAN_VIEW_CHANNEL permission and by no CAN_VIEW_AND_POST one."""
    view: set[str] = set()
    post: set[str] = set()
    for permission in description.token_permissions.values():
        if permission.type == PermissionType.CAN_VIEW_CHANNEL:
            view.update(permission.chat_ids)
        elif permission.type == PermissionType.CAN_VIEW_AND_POST_CHANNEL:
            post.update(permission.chat_ids)
    return view - post


def is_encrypted(description: pb.CommunityDescription) -> bool:
    """status-go's ``Community.Encrypted`` (community.go): some ``BECOME_MEMBER`` token
    permission exists (the ``encrypted`` field is deprecated; it is read too). Its channel
    posts then go under the community's hash ratchet key."""
    return description.encrypted or any(
        p.type == PermissionType.BECOME_MEMBER for p in description.token_permissions.values()
    )


def channel_has_permissions(description: pb.CommunityDescription, chat_id: str) -> bool:
    """status-go's ``channelHasPermissions``: some token permission names the channel."""
    return any(chat_id in p.chat_ids for p in description.token_permissions.values())


def channel_encrypted(description: pb.CommunityDescription, chat_id: str) -> bool:
    """status-go's ``channelEncrypted`` (community.go): a token permission names the channel
    and none of them is a ``CAN_VIEW_CHANNEL`` without token criteria (viewable by everyone).
    Its posts go under the channel's own hash ratchet key (group ``chat_id``'s ASCII) and its
    members travel sealed under that key."""
    named = [p for p in description.token_permissions.values() if chat_id in p.chat_ids]
    return bool(named) and not any(
        p.type == PermissionType.CAN_VIEW_CHANNEL and not p.token_criteria for p in named
    )


def validate(description: pb.CommunityDescription) -> None:
    """status-go's ``ValidateCommunityDescription``, with pystatus's size bounds. Raises
    :class:`InvalidCommunity`."""
    if description.clock == 0:
        raise InvalidCommunity("clock", "a zero clock")
    if not description.HasField("permissions"):
        raise InvalidCommunity("permissions", "no community permissions")
    if description.permissions.access == Access.UNKNOWN_ACCESS:
        raise InvalidCommunity("access", "unknown community access")
    if len(description.members) > MAX_MEMBERS or len(description.chats) > MAX_CHANNELS:
        raise InvalidCommunity("bounds", "too many members or channels")
    if len(description.categories) > MAX_CATEGORIES:
        raise InvalidCommunity("bounds", "too many categories")
    if len(description.token_permissions) > MAX_PERMISSIONS:
        raise InvalidCommunity("bounds", "too many permissions")
    if len(description.banned_members) + len(description.ban_list) > MAX_BANNED:
        raise InvalidCommunity("bounds", "too many banned members")
    for category in description.categories.values():
        if not category.category_id or not category.name:
            raise InvalidCommunity("category", "a category needs an id and a name")
    for chat in description.chats.values():
        if not chat.HasField("permissions"):
            raise InvalidCommunity("channel", "a channel without permissions")
        if chat.permissions.access == Access.UNKNOWN_ACCESS:
            raise InvalidCommunity("channel", "a channel with unknown access")
        if chat.category_id and chat.category_id not in description.categories:
            raise InvalidCommunity("channel", "a channel in an unknown category")
        if not chat.HasField("identity"):
            raise InvalidCommunity("channel", "a channel without identity")
        for key in chat.members:
            if key not in description.members:
                raise InvalidCommunity("channel", "a channel member not in the community")


def hydrate(description: pb.CommunityDescription) -> None:
    """Give each channel no permission names every community member (in place), as
    status-go's ``hydrateChannelsMembers``."""
    for channel_id, chat in description.chats.items():
        if not channel_has_permissions(description, description.ID + channel_id):
            chat.ClearField("members")
            for key, member in description.members.items():
                chat.members[key].CopyFrom(member)


def dehydrate(description: pb.CommunityDescription) -> pb.CommunityDescription:
    """A copy without the member lists of channels no permission names (what goes on the
    wire, ``dehydrateChannelsMembers``)."""
    out = pb.CommunityDescription()
    out.CopyFrom(description)
    for channel_id, chat in out.chats.items():
        if not channel_has_permissions(out, out.ID + channel_id):
            chat.ClearField("members")
    return out


def community_of(description: pb.CommunityDescription, wrapped: bytes = b"") -> Community:
    """The :class:`Community` a validated, hydrated description describes."""
    read_only = read_only_channels(description)
    channels = {}
    for channel_id, chat in description.chats.items():
        chat_id = channel_chat_id(description.ID, channel_id)
        identity = chat.identity
        channels[channel_id] = Channel(
            channel_id,
            chat_id,
            identity.display_name,
            identity.description,
            identity.color,
            identity.emoji,
            chat.category_id,
            chat.position,
            chat_id in read_only,
            MappingProxyType({k: int(m.channel_role) for k, m in chat.members.items()}),
        )
    members = {k: tuple(int(r) for r in m.roles) for k, m in description.members.items()}
    identity = description.identity
    return Community(
        id=description.ID,
        clock=description.clock,
        name=identity.display_name,
        about=identity.description,
        color=identity.color,
        access=int(description.permissions.access),
        members=MappingProxyType(members),
        banned=frozenset([*description.ban_list, *description.banned_members]),
        channels=MappingProxyType(channels),
        categories=MappingProxyType({k: c.name for k, c in description.categories.items()}),
        encrypted=is_encrypted(description),
        description=description,
        wrapped=wrapped,
    )


def sign_description(description: pb.CommunityDescription, community_private_key: bytes) -> bytes:
    """The wire form of ``description`` (dehydrated) wrapped as COMMUNITY_DESCRIPTION and
    signed with the community's private key (32 bytes), as ``toProtocolMessageBytes``.

    This is the plain form the control node keeps; an encrypted community's description is
    sealed (members, channels and categories into ``privateData``, status-go's
    ``encryptDescription``) and signed again as it is sent
    (:mod:`pystatus.chat.community_private_data`, :mod:`pystatus.chat.messenger_community_keys`)."""
    payload = dehydrate(description).SerializeToString()
    return wrap(payload, MessageType.COMMUNITY_DESCRIPTION, community_private_key)


def decode_description(payload: bytes) -> pb.CommunityDescription:
    """Bytes of a CommunityDescription to the message. Raises :class:`InvalidCommunity`."""
    if len(payload) > MAX_DESCRIPTION:
        raise InvalidCommunity("size", "a description over 1 MiB")
    description = pb.CommunityDescription()
    try:
        description.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise InvalidCommunity("decode", f"not a CommunityDescription: {exc}") from None
    return description


def open_description(
    payload: bytes, signer: bytes, wrapped: bytes = b"", *, known_clock: int = 0
) -> Community:
    """A description from ``signer`` (uncompressed key recovered from its wrapper), checked
    and hydrated: the signer must be the community key, the clock not below
    ``known_clock``. Raises :class:`InvalidCommunity`."""
    description = decode_description(payload)
    signer_id = community_id_of(signer)
    if not description.ID:
        description.ID = signer_id  # older senders: the id is the signer's key
    if signer_id != description.ID:
        raise InvalidCommunity("signer", "a description not signed by the community key")
    if description.encrypted and not description.members:
        # Its privateData did not open with our keys (the Messenger opens it before this:
        # community_private_data.py), so no members are known.
        raise InvalidCommunity("encrypted", "an encrypted description (no hash ratchet key)")
    validate(description)
    if description.clock < known_clock:
        raise InvalidCommunity("clock_outdated", "a description older than the one known")
    hydrate(description)
    return community_of(description, wrapped)


def open_wrapped_description(wrapped: bytes, *, known_clock: int = 0) -> Community:
    """A wrapped COMMUNITY_DESCRIPTION (an ApplicationMetadataMessage) checked as
    :func:`open_description`. Raises :class:`InvalidCommunity`."""
    try:
        unwrapped = unwrap(wrapped)
    except InvalidWrapper as exc:
        raise InvalidCommunity("wrapper", str(exc)) from None
    if unwrapped.type != MessageType.COMMUNITY_DESCRIPTION:
        raise InvalidCommunity("type", f"message type {unwrapped.type}, not a description")
    return open_description(unwrapped.payload, unwrapped.author, wrapped, known_clock=known_clock)
