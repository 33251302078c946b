"""How one admin event changes a community description, as status-go v1.1.0's ``applyEvent``
(``protocol/communities/community_events_processing.go``) with ``createChat``, ``editChat``,
``deleteChat`` (``community.go``) and ``createCategory``, ``editCategory``, ``deleteCategory``
(``community_categories.go``). Used by :mod:`pystatus.chat.community_events`, which checks
signatures and rights first.

Pure functions; they change the description given, in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pystatus.chat import community_roles as roles
from pystatus.chat.community import InvalidCommunity
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_update_pb2 as upb

if TYPE_CHECKING:
    from pystatus.chat.community_events import Event

EventType = upb.CommunityEvent.EventType


def apply_event(description: pb.CommunityDescription, event: Event, *, control: bool) -> None:
    """``applyEvent`` for one event, in place. Raises :class:`InvalidCommunity` when it does
    not apply (status-go logs and skips it)."""
    e, t = event.event, event.type
    if t == EventType.COMMUNITY_EDIT:
        config = e.community_config
        description.identity.CopyFrom(config.identity)
        description.permissions.CopyFrom(config.permissions)
        description.admin_settings.CopyFrom(config.admin_settings)
        description.intro_message = config.intro_message
        description.outro_message = config.outro_message
        del description.tags[:]
        description.tags.extend(config.tags)
    elif t == EventType.COMMUNITY_CHANNEL_CREATE:
        _create_channel(description, e.channel_data.channel_id, e.channel_data.channel)
    elif t == EventType.COMMUNITY_CHANNEL_EDIT:
        channel_id = e.channel_data.channel_id
        if channel_id not in description.chats:
            raise InvalidCommunity("channel", "no such channel")
        _check_channel(description, e.channel_data.channel)
        description.chats[channel_id].CopyFrom(e.channel_data.channel)
    elif t == EventType.COMMUNITY_CHANNEL_DELETE:
        description.chats.pop(e.channel_data.channel_id, None)
    elif t == EventType.COMMUNITY_CATEGORY_CREATE:
        data = e.category_data
        if data.category_id in description.categories:
            raise InvalidCommunity("category", "the category exists")
        _assign(description, data.category_id, data.channels_ids)
        description.categories[data.category_id].CopyFrom(
            pb.CommunityCategory(
                category_id=data.category_id,
                name=data.name,
                position=len(description.categories),
            )
        )
    elif t == EventType.COMMUNITY_CATEGORY_EDIT:
        data = e.category_data
        if data.category_id not in description.categories:
            raise InvalidCommunity("category", "no such category")
        for chat in description.chats.values():
            if chat.category_id == data.category_id:
                chat.category_id = ""
        _assign(description, data.category_id, data.channels_ids)
        description.categories[data.category_id].name = data.name
    elif t == EventType.COMMUNITY_CATEGORY_DELETE:
        category_id = e.category_data.category_id
        if category_id not in description.categories:
            raise InvalidCommunity("category", "no such category")
        for chat in description.chats.values():
            if chat.category_id == category_id:
                chat.category_id = ""
        del description.categories[category_id]
    elif t in roles.MEMBER_EVENTS and control:
        _member_change(description, event)
    # Other kinds change nothing here: requests are answered by the control node
    # (Outcome.accepted), reorders, token permissions and tokens are not modelled; kicks and
    # bans reach members in the control node's next description.


def _check_channel(description: pb.CommunityDescription, chat: pb.CommunityChat) -> None:
    """``validateCommunityChat``: permissions with a known access, an identity, a known
    category."""
    if not chat.HasField("permissions") or chat.permissions.access == 0:
        raise InvalidCommunity("channel", "a channel without known access")
    if not chat.HasField("identity"):
        raise InvalidCommunity("channel", "a channel without identity")
    if chat.category_id and chat.category_id not in description.categories:
        raise InvalidCommunity("channel", "a channel in an unknown category")


def _create_channel(
    description: pb.CommunityDescription, channel_id: str, chat: pb.CommunityChat
) -> None:
    """``createChat``: unique id and name, last in its category, every member in it."""
    _check_channel(description, chat)
    if channel_id in description.chats:
        raise InvalidCommunity("channel", "the channel exists")
    name = chat.identity.display_name
    if any(c.identity.display_name == name for c in description.chats.values()):
        raise InvalidCommunity("channel", "a channel of that name exists")
    entry = description.chats[channel_id]
    entry.CopyFrom(chat)
    entry.position = sum(
        1
        for k, c in description.chats.items()
        if k != channel_id and c.category_id == chat.category_id
    )
    entry.ClearField("members")
    for key, member in description.members.items():
        entry.members[key].CopyFrom(member)


def _assign(
    description: pb.CommunityDescription, category_id: str, channel_ids: Iterable[str]
) -> None:
    for position, channel_id in enumerate(channel_ids):
        chat = description.chats.get(channel_id)
        if chat is None:
            raise InvalidCommunity("category", "a category naming an unknown channel")
        if chat.category_id not in ("", category_id):
            raise InvalidCommunity("category", "a channel already in another category")
        chat.category_id = category_id
        chat.position = position


def _member_change(description: pb.CommunityDescription, event: Event) -> None:
    """The control node's kick, ban or unban (``RemoveMembersFromOrg``,
    ``banUserFromCommunity``, ``unbanUserFromCommunity``)."""
    member = event.member
    if event.type in (EventType.COMMUNITY_MEMBER_KICK, EventType.COMMUNITY_MEMBER_BAN):
        description.members.pop(member, None)
        for chat in description.chats.values():
            chat.members.pop(member, None)
    if event.type == EventType.COMMUNITY_MEMBER_BAN:
        if member not in description.banned_members:
            description.banned_members[member].delete_all_messages = False
        if member not in description.ban_list:
            description.ban_list.append(member)
    elif event.type == EventType.COMMUNITY_MEMBER_UNBAN:
        description.banned_members.pop(member, None)
        kept = [k for k in description.ban_list if k != member]
        del description.ban_list[:]
        description.ban_list.extend(kept)
