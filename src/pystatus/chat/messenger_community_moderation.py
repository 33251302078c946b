"""Deleting a member's community messages in the Messenger: the asyncio side of
:mod:`pystatus.chat.community_moderation`; and, as an admin, the requests to join the control
node shares with us (type 72, :mod:`pystatus.chat.community_privileged_sync`).

What arrives: a ``DeleteCommunityMemberMessages`` (type 85) on the community's description
topic, taken from the control node or a privileged member; and a description naming a member
banned with ``delete_all_messages``. Either way the member's messages in that community's
channels (at most :data:`MAX_DELETED` per order, newest first, status-go sets no bound) are
marked deleted in the chat database, in the writer's order, each announced as a delete by the
signer. What we send: the order, bare, on the description topic, its wrapper signed by the
community key when we control the community (status-go's ``DeleteCommunityMemberMessages``
sends it with ``Sender: community.PrivateKey()``), else by our chat key as an admin.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter

from pystatus.chat import topics
from pystatus.chat.actions import Action, Publish
from pystatus.chat.community import (
    Community,
    InvalidCommunity,
    Roles,
    description_content_topic,
    member_key,
    pubsub_topic,
)
from pystatus.chat.community_chats import DROPPED, CommunityChats, CommunityNotAllowed, Send
from pystatus.chat.community_moderation import (
    MEMBER_DELETES,
    MEMBER_MESSAGES_DELETED,
    check_sender,
    decode_member_deletes,
    deleting_all,
    encode_member_deletes,
)
from pystatus.chat.community_privileged_sync import (
    EDIT_SHARED_ADDRESSES,
    PRIVILEGED_SYNC,
    decode_privileged_sync,
    encode_all_sync,
    encode_decided,
)
from pystatus.chat.community_public_info import decode_shard_info, decode_storenodes
from pystatus.chat.community_roles import admins
from pystatus.chat.database import Batch, ChatDatabase
from pystatus.chat.incoming import delete_event
from pystatus.chat.keys import chat_key_text
from pystatus.chat.segmentation import segment
from pystatus.chat.session import ChatSession
from pystatus.chat.user_input import public_key_of
from pystatus.chat.wrapper import MessageType, Unwrapped, wrap
from pystatus.chat.writes import Write
from pystatus.waku.payload import encrypt_symmetric

if TYPE_CHECKING:
    from pystatus.chat.community_admin import AdminEvents
    from pystatus.chat.incoming import Incoming

NOT_ACTED_TYPES = frozenset(
    {
        MessageType.COMMUNITY_EDIT_SHARED_ADDRESSES,
        MessageType.COMMUNITY_SHARD_KEY,
        MessageType.COMMUNITY_PUBLIC_SHARD_INFO,
        MessageType.COMMUNITY_PUBLIC_STORENODES_INFO,
        MessageType.COMMUNITY_REEVALUATE_PERMISSIONS_REQUEST,
        MessageType.COMMUNITY_UPDATE_GRANT,
        MessageType.COMMUNITY_TOKEN_ACTION,
        MessageType.COMMUNITY_SHARED_ADDRESSES_REQUEST,
        MessageType.COMMUNITY_SHARED_ADDRESSES_RESPONSE,
    }
)
"""Community messages status-go v1.1.0 sends that pystatus does not act on yet: taken,
counted by type (``chat_community_not_acted``) and acknowledged; shard info (79) and store
nodes (83) are decoded and their signature checked first
(:mod:`pystatus.chat.community_public_info`). Shards and store nodes: pystatus keeps the
community's default shard and the account's store nodes; grants, shared addresses and token
actions: pystatus keeps no chain state or others' addresses."""
MODERATION_TYPES = frozenset(
    {
        MessageType.DELETE_COMMUNITY_MEMBER_MESSAGES,
        MessageType.COMMUNITY_PRIVILEGED_USER_SYNC_MESSAGE,
        *NOT_ACTED_TYPES,
    }
)
"""The community messages this module takes."""
NOT_ACTED = Counter(
    "chat_community_not_acted",
    "Community messages of a type pystatus does not act on yet, by type",
    ["type"],
)
MAX_DELETED = 1_000
"""Messages one order or ban deletes at most (the member's newest)."""


class CommunityModerationMessaging:
    session: ChatSession
    database: ChatDatabase
    _identity: bytes
    _public_key: bytes
    _communities: CommunityChats
    _incoming: Incoming

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _check_running(self) -> None: ...

        def _got(self, community_id: str) -> Community: ...

        async def _commit(self, write: Write) -> None: ...

        def _queue_write(self, write: Write) -> bool: ...

        async def _perform(self, actions: list[Action]) -> None: ...

        @property
        def _admin_events(self) -> AdminEvents: ...  # messenger_community_admin.py

    def _receive_moderation(self, message: Unwrapped, after: Callable[[], None] | None) -> None:
        """A type 85 or 72 message, or one of :data:`NOT_ACTED_TYPES` (counted). Raises
        :class:`InvalidCommunity` (counted)."""
        if message.type in NOT_ACTED_TYPES:
            if message.type == MessageType.COMMUNITY_PUBLIC_SHARD_INFO:
                decode_shard_info(message.payload)  # checked, not used (community_public_info)
            elif message.type == MessageType.COMMUNITY_PUBLIC_STORENODES_INFO:
                decode_storenodes(message.payload)
            NOT_ACTED.labels(MessageType(message.type).name).inc()
            if after is not None:
                after()
            return
        if message.type == MessageType.DELETE_COMMUNITY_MEMBER_MESSAGES:
            self._receive_member_deletes(message, after)
            return
        self._receive_privileged_sync(message)
        if after is not None:
            after()

    def _receive_member_deletes(self, message: Unwrapped, after: Callable[[], None] | None) -> None:
        """A type 85 order (its wrapper's signer recovered). Raises
        :class:`~pystatus.chat.community.InvalidCommunity` (counted) for a malformed one or
        one not from the control node or an admin."""
        order = decode_member_deletes(message.payload)
        community = self._communities.get(order.community_id)
        if community is None:
            DROPPED.labels("unwatched").inc()
            if after is not None:
                after()
            return
        signer = member_key(message.author)
        check_sender(community, signer)
        MEMBER_DELETES.labels("order").inc()
        write = self._member_deletes_write(community, order.member, signer, order.messages)
        write.after = after
        self._queue_write(write)

    def _receive_privileged_sync(self, message: Unwrapped) -> bool:
        """A type 72 message (its wrapper's signer recovered): whether it changed the requests
        we hold as an admin. Raises :class:`InvalidCommunity` (counted) for a malformed one,
        or one not from the control node."""
        sync = decode_privileged_sync(message.payload)
        community = self._communities.get(sync.community_id)
        if community is None or self._communities.controls(sync.community_id):
            PRIVILEGED_SYNC.labels("not_ours").inc()
            return False
        if member_key(message.author) != community.control_node:
            raise InvalidCommunity("signer", "shared requests not from the control node")
        # Not checked that we are an admin: status-go does not (the control node chose us).
        if sync.kind == EDIT_SHARED_ADDRESSES:
            PRIVILEGED_SYNC.labels("addresses_not_kept").inc()
            return False
        me = member_key(self._public_key)
        for requester in sync.decided:
            self._admin_events.drop_request(community.id, requester)
        for requester, request in sync.shared:
            if requester != me and not community.is_member(requester):
                self._admin_events.hold_request(community.id, requester, request)
        PRIVILEGED_SYNC.labels("decided" if sync.decided else "shared").inc()
        return True

    def _admin_syncs(
        self, community_id: str, admin: str = "", decided: str = "", *, accepted: bool = False
    ) -> list[Send]:
        """What a control node tells its admins (type 72, wrappers signed by the community
        key): to a new ``admin`` (``0x04...``) the pending requests; with ``decided`` (a
        requester), to every admin but that one, our decision. None where we are no control
        node."""
        private = self._communities.private_key(community_id)
        community = self._communities.get(community_id)
        if private is None or community is None:
            return []
        now_s = int(time.time())
        kind = MessageType.COMMUNITY_PRIVILEGED_USER_SYNC_MESSAGE
        if admin:
            pending = self._communities.pending(community_id)
            if not pending:
                return []
            wrapped = wrap(encode_all_sync(community_id, pending, now_s), kind, private)
            return [
                Send("private", wrapped, pubsub_topic(None), recipient=bytes.fromhex(admin[2:]))
            ]
        wrapped = wrap(
            encode_decided(community_id, decided, now_s, accepted=accepted), kind, private
        )
        return [
            Send("private", wrapped, pubsub_topic(None), recipient=bytes.fromhex(k[2:]))
            for k in admins(community)
            if k != decided
        ]

    def _banned_deletes(self, community: Community) -> None:
        """Delete the messages of members ``community``'s description bans with
        ``delete_all_messages`` (status-go's ``handleCommunityResponse``); what is deleted
        already is not found again, so a later description deletes only what came since."""
        for member in deleting_all(community):
            MEMBER_DELETES.labels("ban").inc()
            self._queue_write(
                self._member_deletes_write(community, member, community.control_node, ())
            )

    async def _banned_deletes_now(self, community: Community) -> None:
        """:meth:`_banned_deletes` for our own ban, returning once written."""
        for member in deleting_all(community):
            MEMBER_DELETES.labels("ban").inc()
            await self._commit(
                self._member_deletes_write(community, member, community.control_node, ())
            )

    def _member_deletes_write(
        self,
        community: Community,
        member: str,
        signer: str,
        named: Iterable[tuple[str, str]],
    ) -> Write:
        """A write deleting ``member``'s (``0x04...``) messages in ``community``: those of
        ``named`` ((message id, chat id)) that are the member's there, else all of them."""
        author = chat_key_text(bytes.fromhex(member[2:]))
        deleter = chat_key_text(bytes.fromhex(signer[2:]))
        wanted = dict(named)

        async def resolve(write: Write) -> None:
            found = await self.database.author_messages(author, community.id, MAX_DELETED)
            if wanted:
                found = [m for m in found if wanted.get(m.id) == m.chat_id]
            if not found:
                return
            clock = int(time.time())
            write.extra = Batch(deletes=[m.id for m in found])
            for stored in found:
                self._incoming.remember(dataclasses.replace(stored, deleted=True))
                write.events.append(delete_event(stored, deleter, clock, False))
            MEMBER_MESSAGES_DELETED.inc(len(found))

        return Write(resolve=resolve)

    async def delete_community_member_messages(
        self, community_id: str, member: str, messages: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Delete ``member``'s (a chat key) messages in a community where we are the control
        node or an admin: those named ((message id, chat id) pairs), or all; here and at every
        member (type 85). Raises :class:`CommunityNotAllowed` otherwise, or for the owner."""
        self._check_running()
        community = self._got(community_id)
        key = member_key(public_key_of(member))
        private = self._communities.private_key(community_id)
        me = member_key(self._public_key)
        if private is None and not community.is_privileged(me):
            raise CommunityNotAllowed("deleting a member's messages needs an admin")
        if key == community.control_node or Roles.ROLE_OWNER in community.members.get(key, ()):
            raise CommunityNotAllowed("the owner's messages cannot be deleted so")
        named = list(messages)
        payload = encode_member_deletes(community, key, int(time.time()), named)
        wrapped = wrap(
            payload, MessageType.DELETE_COMMUNITY_MEMBER_MESSAGES, private or self._identity
        )
        await self._commit(self._member_deletes_write(community, key, me, named))
        await self._perform(self._description_topic_publishes(community, wrapped))

    def _description_topic_publishes(self, community: Community, wrapped: bytes) -> list[Action]:
        """``wrapped``, bare, on the community id's public topic (``SendPublic``)."""
        key = topics.public_chat_key(community.id)
        now_ns = time.time_ns()
        return [
            Publish(
                description_content_topic(community.id),
                encrypt_symmetric(p, key, signer=self._identity),
                now_ns,
                "control",
            )
            for p in segment(wrapped, self.session.segment_size)
        ]
