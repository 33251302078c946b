"""Reactions, edits, deletes and pins in community channels, as status-go v1.1.0 sends and
takes them.

status-go's ``dispatchMessage`` (``protocol/messenger.go``, case ``ChatTypeCommunityChat``)
sends everything a channel carries the way it sends a post: checked first with ``CanPost`` for
the wrapper's type (a pin needs a privileged member, a reaction a poster or a viewer where the
channel lets viewers react, anything else a poster), then ``SendPublic`` on the channel's chat
id, or in an encrypted community under its hash ratchet key (``SendCommunityMessage``). The
entity's ``message_type`` is ``COMMUNITY_CHAT`` (``encodeChatEntity``). On receipt,
``matchChatEntity`` files a ``COMMUNITY_CHAT`` entity under the channel it names, which must
be one we have, and checks ``CanPost`` for its author and type; ``handleDeleteMessage`` lets
someone other than the author delete for everyone only in a community where the deleter is a
privileged member (``Community.CanDeleteMessageForEveryone``: owner, token master or admin),
and ``DeleteMessageAndSend`` then names the deleter in ``deleted_by``.

These are plain functions over :class:`~pystatus.chat.community_chats.CommunityChats` and the
session, called by the messenger's send and receive paths (:mod:`pystatus.chat.outgoing`,
:mod:`pystatus.chat.messenger_send`, :mod:`pystatus.chat.incoming`); ``now_ns`` is wall-clock
nanoseconds, passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter

from pystatus.chat.actions import Action, Publish
from pystatus.chat.community import COMMUNITY_CHAT, member_key
from pystatus.chat.community_chats import CommunityChats
from pystatus.chat.community_keys import group_id, seal_post
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.ids import CommunityChatId, parse_chat_id
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType

if TYPE_CHECKING:
    from pystatus.chat.messenger import Messenger

REFUSED = Counter(
    "chat_community_actions_refused",
    "Reactions, edits, deletes and pins received in a community channel and not taken, by why",
    ["reason"],
)
CHANNEL_ACTIONS = frozenset(
    {
        MessageType.EMOJI_REACTION,
        MessageType.EDIT_MESSAGE,
        MessageType.DELETE_MESSAGE,
        MessageType.PIN_MESSAGE,
    }
)
"""Wrapper types that name a message in a channel (besides the post itself)."""
GENERAL = "general"
"""The channel a new community gets unless asked not to, as the Status app's
``wakuext_createCommunity`` (``CreateCommunity(request, true)``, ``createDefaultChannel``)."""


def is_channel(communities: CommunityChats, chat_id: str) -> bool:
    """Whether ``chat_id`` is a channel of a community we hold (its form alone says only
    that it may be one: :class:`~pystatus.chat.ids.CommunityChatId`)."""
    try:
        typed = parse_chat_id(chat_id)
    except ValueError:
        return False
    return isinstance(typed, CommunityChatId) and communities.channel_of(chat_id) is not None


def channel_publishes(
    communities: CommunityChats,
    session: ChatSession,
    identity: bytes,
    chat_id: str,
    wrapped: bytes,
    message_type: MessageType,
    now_ns: int,
) -> list[Action]:
    """What sends ``wrapped`` (a signed ApplicationMetadataMessage of ``message_type``) to
    channel ``chat_id``: a public message on the channel's topic, or hash-ratchet sealed in an
    encrypted community. Raises
    :class:`~pystatus.chat.community_chats.ReadOnlyChannel` or
    :class:`~pystatus.chat.community_chats.CommunityNotAllowed` where ``CanPost`` says no, and
    :class:`~pystatus.chat.errors.UnknownGroupKey` while an encrypted community's key has not
    reached us. Nothing here is resent (status-go sends these with the chat's default resend
    type, raw for community chats, or none for reactions)."""
    communities.check_post(chat_id, int(message_type))
    found = communities.channel_of(chat_id)
    community = found[0] if found is not None else None
    if community is None or not community.encrypted:
        return list(session.send_public(chat_id, wrapped, now_ns))
    ratchet = session.hash_ratchet
    if ratchet is None or ratchet.current_key(group_id(community)) is None:
        raise UnknownGroupKey("no key for this community yet", group_id=b"", key_id=b"")
    parts = seal_post(ratchet, identity, community, chat_id, wrapped, session.segment_size)
    return [Publish(p.content_topic, p.payload, now_ns, "public") for p in parts]


def take(
    communities: CommunityChats,
    author: bytes,
    message_type: int,
    entity_chat_id: str,
    entity_type: int,
    public_chat: str,
) -> bool:
    """Whether an entity of wrapper type ``message_type`` that came on channel
    ``public_chat``'s topic is taken (``matchChatEntity``): it must name that channel, be of
    chat type ``COMMUNITY_CHAT``, and its ``author`` (uncompressed key) may send that type
    there. What is not taken is counted in ``chat_community_actions_refused{reason}``."""
    if entity_chat_id != public_chat or entity_type != COMMUNITY_CHAT:
        REFUSED.labels("wrong_chat").inc()
        return False
    if not communities.take_post(public_chat, author, message_type):
        REFUSED.labels("not_allowed").inc()
        return False
    return True


def may_delete_for_everyone(communities: CommunityChats, chat_id: str, deleter: bytes) -> bool:
    """Whether ``deleter`` (uncompressed key) may delete others' messages in channel
    ``chat_id``: a privileged member of its community (``CanDeleteMessageForEveryone``).
    False for any chat that is no community channel we hold."""
    found = communities.channel_of(chat_id)
    return found is not None and found[0].is_privileged(member_key(deleter))


async def category_named(messenger: Messenger, community_id: str, name: str) -> str:
    """The id of the category called ``name`` in a community we control, made when there is
    none (status-go's ``CommunityCategory``: an id, a name, a position; the description's
    ``categories`` map). Raises
    :class:`~pystatus.chat.community_chats.CommunityNotAllowed` where we do not control it."""
    community = messenger.community(community_id)
    if community is not None:
        for category_id, known in community.categories.items():
            if known == name:
                return category_id
    return await messenger.add_community_category(community_id, name)
