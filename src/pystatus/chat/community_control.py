"""What a community's control node does to its description, as status-go v1.1.0.

Each function takes the current :class:`~pystatus.chat.community.Community` and returns the
next one, its description copied, changed, its clock advanced (``nextClock``: ``now_ms`` when
that is ahead, else clock + 1) and signed with the community's private key: the result's
``wrapped`` is what goes on the wire. Sources: ``protocol/communities/community.go``
(``CreateChat``, ``AddMember``, ``AddMemberToChat``, ``banUserFromCommunity``,
``RemoveMembersFromOrg``), ``manager.go`` (``CreateCommunity``, ``accountsSatisfy...``),
``requests/create_community_request.go``.

Read-only channels: status-go's app marks a channel read-only with a ``CAN_VIEW_CHANNEL``
token permission naming the channel; the control node then lists the channel's members with
``CHANNEL_ROLE_VIEWER``, privileged members (owner, admins, token masters) as posters. A
pystatus control node writes the same permission, without token criteria (it holds no
wallet to check them): every member may read, only privileged members post.

Pure functions: ``now_ms`` (wall-clock milliseconds) is passed in; nothing is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import coincurve

from pystatus.chat.community import (
    POSTER,
    PRIVILEGED,
    VIEWER,
    Access,
    Community,
    InvalidCommunity,
    PermissionType,
    Roles,
    channel_chat_id,
    community_id_of,
    community_of,
    hydrate,
    member_key,
    read_only_channels,
    sign_description,
    validate,
)
from pystatus.chat.proto import chat_identity_pb2
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.errors import ChatError

MAX_NAME = 30
"""Longest community name status-go's ``CreateCommunity`` request takes, in characters."""
MAX_ABOUT = 140
"""Longest community description status-go takes."""


class NotControlNode(ChatError):
    """This change needs the community's private key, which we do not hold, or names a
    member, channel or category that is not there."""


def _next_clock(clock: int, now_ms: int) -> int:
    return now_ms if clock == 0 or clock < now_ms else clock + 1


def _identity(name: str, about: str, color: str, emoji: str = "") -> chat_identity_pb2.ChatIdentity:
    return chat_identity_pb2.ChatIdentity(
        display_name=name, description=about, color=color, emoji=emoji
    )


def _commit(description: pb.CommunityDescription, private_key: bytes, now_ms: int) -> Community:
    """Advance the clock, check as a receiver would, hydrate and sign."""
    description.clock = _next_clock(description.clock, now_ms)
    validate(description)
    hydrate(description)
    wrapped = sign_description(description, private_key)
    return community_of(description, wrapped)


def _copy(community: Community) -> pb.CommunityDescription:
    description = pb.CommunityDescription()
    description.CopyFrom(community.description)
    return description


def _check_key(community: Community, private_key: bytes) -> None:
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    if community_id_of(public) != community.id:
        raise NotControlNode("not the community's private key")


def create(
    owner: bytes,
    name: str,
    now_ms: int,
    *,
    about: str = "",
    color: str = "#887af9",
    manual_accept: bool = False,
    private_key: bytes | None = None,
    encrypted: bool = False,
) -> tuple[bytes, Community]:
    """A new community owned by ``owner`` (uncompressed key), open (AUTO_ACCEPT) or needing
    approval (MANUAL_ACCEPT): a fresh key pair (or ``private_key``), the owner its only
    member with ROLE_OWNER, clock 1 as status-go's first. Returns (private key, community).
    Raises :class:`~pystatus.chat.community.InvalidCommunity` for an empty or long name.

    ``encrypted``: a ``BECOME_MEMBER`` token permission without token criteria, which is how
    status-go v1.1.0 marks a community encrypted (community.go ``Encrypted``); its posts go
    under the hash ratchet. pystatus holds no wallet to check token balances, so such a
    community should need approval (``manual_accept``): the control node admits by hand."""
    if not name or len(name) > MAX_NAME or len(about) > MAX_ABOUT:
        raise InvalidCommunity("identity", "a name of 1 to 30 characters, about up to 140")
    key = coincurve.PrivateKey(private_key) if private_key else coincurve.PrivateKey()
    description = pb.CommunityDescription(
        ID=community_id_of(key.public_key.format(compressed=True)),
        permissions=pb.CommunityPermissions(
            access=Access.MANUAL_ACCEPT if manual_accept else Access.AUTO_ACCEPT
        ),
        identity=_identity(name, about, color),
    )
    description.members[member_key(owner)].roles.append(Roles.ROLE_OWNER)
    if encrypted:
        permission_id = str(uuid.uuid4())
        description.token_permissions[permission_id].CopyFrom(
            pb.CommunityTokenPermission(id=permission_id, type=PermissionType.BECOME_MEMBER)
        )
    description.clock = 0
    community = _commit(description, key.secret, 1)
    del now_ms  # status-go starts every community at clock 1
    return key.secret, community


def add_category(
    community: Community, private_key: bytes, name: str, now_ms: int
) -> tuple[str, Community]:
    """A new category; returns (its id, the community)."""
    _check_key(community, private_key)
    description = _copy(community)
    category_id = str(uuid.uuid4())
    description.categories[category_id].CopyFrom(
        pb.CommunityCategory(
            category_id=category_id, name=name, position=len(description.categories)
        )
    )
    return category_id, _commit(description, private_key, now_ms)


def add_channel(
    community: Community,
    private_key: bytes,
    name: str,
    now_ms: int,
    *,
    about: str = "",
    color: str = "#887af9",
    emoji: str = "",
    category_id: str = "",
    read_only: bool = False,
) -> tuple[str, Community]:
    """A new channel (``CreateChat``): a UUID id, positioned last in its category, open to
    every member; ``read_only`` adds a CAN_VIEW_CHANNEL permission naming it. Returns (the
    channel id, the community). Raises :class:`NotControlNode`, :class:`InvalidCommunity`
    (a duplicate name, an unknown category)."""
    _check_key(community, private_key)
    if any(c.name == name for c in community.channels.values()):
        raise InvalidCommunity("channel", f"a channel named {name!r} exists")
    description = _copy(community)
    channel_id = str(uuid.uuid4())
    chat = description.chats[channel_id]
    chat.permissions.access = Access.AUTO_ACCEPT
    chat.identity.CopyFrom(_identity(name, about, color, emoji))
    chat.category_id = category_id
    chat.position = sum(1 for c in community.channels.values() if c.category_id == category_id)
    chat_id = channel_chat_id(community.id, channel_id)
    if read_only:
        permission_id = str(uuid.uuid4())
        permission = description.token_permissions[permission_id]
        permission.id = permission_id
        permission.type = PermissionType.CAN_VIEW_CHANNEL
        permission.chat_ids.append(chat_id)
    _set_channel_members(description)
    return channel_id, _commit(description, private_key, now_ms)


def _set_channel_members(description: pb.CommunityDescription) -> None:
    """List members of read-only channels: privileged ones as posters, others as viewers
    (channels no permission names are hydrated on receipt instead)."""
    read_only = read_only_channels(description)
    for channel_id, chat in description.chats.items():
        if channel_chat_id(description.ID, channel_id) not in read_only:
            continue
        chat.ClearField("members")
        for key, member in description.members.items():
            privileged = bool(PRIVILEGED.intersection(member.roles))
            entry = chat.members[key]
            entry.roles.extend(member.roles)
            entry.channel_role = POSTER if privileged else VIEWER


def add_member(
    community: Community,
    private_key: bytes,
    member: str,
    now_ms: int,
    *,
    roles: Sequence[int] = (),
) -> Community:
    """``member`` (``0x04...``) joins, with ``roles`` (``AddMember`` + ``AddMemberToChat``).
    Raises :class:`NotControlNode`, :class:`InvalidCommunity` for a banned member."""
    _check_key(community, private_key)
    if community.is_banned(member):
        raise InvalidCommunity("banned", "a banned member cannot join")
    description = _copy(community)
    entry = description.members[member]
    entry.roles[:] = [Roles.ValueType(r) for r in roles]
    entry.last_update_clock = now_ms // 1000
    _set_channel_members(description)
    return _commit(description, private_key, now_ms)


def set_roles(
    community: Community, private_key: bytes, member: str, roles: Sequence[int], now_ms: int
) -> Community:
    """Give a member ``roles`` (e.g. ROLE_ADMIN). Raises :class:`NotControlNode`."""
    _check_key(community, private_key)
    if not community.is_member(member):
        raise NotControlNode("not a member")
    description = _copy(community)
    description.members[member].roles[:] = [Roles.ValueType(r) for r in roles]
    _set_channel_members(description)
    return _commit(description, private_key, now_ms)


def remove_member(community: Community, private_key: bytes, member: str, now_ms: int) -> Community:
    """``member`` leaves or is kicked (``RemoveMembersFromOrg``): out of the community and
    each channel. Raises :class:`NotControlNode`."""
    _check_key(community, private_key)
    if member == community.control_node or Roles.ROLE_OWNER in community.members.get(member, ()):
        raise NotControlNode("the owner cannot be removed")
    description = _copy(community)
    description.members.pop(member, None)
    for chat in description.chats.values():
        chat.members.pop(member, None)
    return _commit(description, private_key, now_ms)


def ban(
    community: Community,
    private_key: bytes,
    member: str,
    now_ms: int,
    *,
    delete_all_messages: bool = False,
) -> Community:
    """``banUserFromCommunity``: out of the community and its channels, into
    ``banned_members`` and the deprecated ``ban_list`` (both, as status-go writes).

    An encrypted community's key is rotated after this, to the remaining members only
    (``KeyExMsgRekey``; :meth:`pystatus.chat.community_keys.CommunityKeys.control_change`), so
    that the banned member reads nothing after."""
    _check_key(community, private_key)
    if member == community.control_node or Roles.ROLE_OWNER in community.members.get(member, ()):
        raise NotControlNode("the owner cannot be banned")
    description = _copy(community)
    description.members.pop(member, None)
    for chat in description.chats.values():
        chat.members.pop(member, None)
    if member not in description.banned_members:
        description.banned_members[member].delete_all_messages = delete_all_messages
    if member not in description.ban_list:
        description.ban_list.append(member)
    return _commit(description, private_key, now_ms)


def unban(community: Community, private_key: bytes, member: str, now_ms: int) -> Community:
    """Take ``member`` off both ban lists. Raises :class:`NotControlNode`."""
    _check_key(community, private_key)
    description = _copy(community)
    description.banned_members.pop(member, None)
    kept = [k for k in description.ban_list if k != member]
    del description.ban_list[:]
    description.ban_list.extend(kept)
    return _commit(description, private_key, now_ms)


def resign(community: Community, private_key: bytes, now_ms: int) -> Community:
    """The same description with a new clock, signed again (to publish it anew)."""
    _check_key(community, private_key)
    return _commit(_copy(community), private_key, now_ms)
