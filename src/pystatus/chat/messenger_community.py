"""Communities in the Messenger: the asyncio side of :mod:`pystatus.chat.community_chats`.

What travels where (status-go v1.1.0, see :mod:`pystatus.chat.community`): descriptions on
the community id's public topic, the bare signed wrapper under the key stretched from that id;
requests to the control node ECIES to the community key on its control topic, on
``/waku/2/rs/16/64``; answers and kicks ECIES to the member's partitioned topic, bare; channel
messages as public-chat messages (``ProtocolMessage.public_message``) on the channel's chat id,
``ChatMessage.message_type`` COMMUNITY_CHAT. Envelopes are signed by our chat key; a bare
wrapper may be signed by the community key instead (``Deliver.bare``). In an encrypted
community (a ``BECOME_MEMBER`` permission) posts are hash ratchet messages instead, and its
keys, key requests and sealed descriptions are :mod:`pystatus.chat.messenger_community_keys`'s.

Kept in the chat database's sync state (as private groups are): per community its description
and signer, our request's clock, whether we joined, and the community's private key when we
control it (the database is encrypted at rest; the key never reaches logs or events).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pystatus.chat import topics
from pystatus.chat.actions import Action, Publish
from pystatus.chat.community import (
    COMMUNITY_CHAT,
    CONTROL_PUBSUB_TOPIC,
    Community,
    InvalidCommunity,
    Roles,
    control_content_topic,
    description_content_topic,
    member_key,
)
from pystatus.chat.community_advert import Advertiser
from pystatus.chat.community_chats import CommunityChats, CommunityNotAllowed, Send
from pystatus.chat.community_keys import (
    post_group,
    seal_post,
)
from pystatus.chat.content.messages import parse_chat_message
from pystatus.chat.database import Batch, ChatRow, StoredMessage
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.errors import InvalidGroupMessage, UnknownGroupKey
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import community_of_group
from pystatus.chat.hash_ratchet_state import STATE_NAME as HASH_RATCHET_STATE
from pystatus.chat.hash_ratchet_state import restore_state as restore_hash_ratchet
from pystatus.chat.history import HistoryFetcher
from pystatus.chat.keys import chat_key_text
from pystatus.chat.listening import Listener
from pystatus.chat.messenger_community_admin import CommunityAdminMessaging
from pystatus.chat.messenger_community_keys import CommunityKeyMessaging
from pystatus.chat.messenger_community_moderation import MODERATION_TYPES as MODERATION_TYPES
from pystatus.chat.messenger_community_moderation import CommunityModerationMessaging
from pystatus.chat.messenger_community_store import CommunityStoreMessaging
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.segmentation import segment
from pystatus.chat.session import ChatSession
from pystatus.chat.user_input import public_key_of
from pystatus.chat.wrapper import MessageType, Unwrapped, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric

log = logging.getLogger(__name__)

COMMUNITY = "community"
"""The chat kind of a community channel (the ``chats`` table's ``kind``)."""
COMMUNITY_STATE = "community:"
"""Sync-state key prefix of a community."""
COMMUNITY_EVENT = "community"
COMMUNITY_TYPES = frozenset(
    {
        MessageType.COMMUNITY_DESCRIPTION,
        MessageType.COMMUNITY_REQUEST_TO_JOIN,
        MessageType.COMMUNITY_CANCEL_REQUEST_TO_JOIN,
        MessageType.COMMUNITY_REQUEST_TO_LEAVE,
        MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE,
        MessageType.COMMUNITY_USER_KICKED,
        MessageType.COMMUNITY_ENCRYPTION_KEYS_REQUEST,
        MessageType.COMMUNITY_EVENTS_MESSAGE,  # messenger_community_admin.py
        *MODERATION_TYPES,  # types 85 and 72: messenger_community_moderation.py
    }
)
"""The community messages this module takes."""
SIGNED_BY_COMMUNITY = frozenset(
    {
        MessageType.COMMUNITY_DESCRIPTION,
        MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE,
        MessageType.COMMUNITY_USER_KICKED,
        *MODERATION_TYPES,  # or an admin's (type 85): checked where taken
    }
)
"""Types whose wrapper the community key signs, not the envelope's signer."""


@dataclass(frozen=True, slots=True)
class CommunityEvent(ChatEvent):
    """A community changed: ``id`` and ``chat_id`` are its id, ``author`` the member the
    change concerns (``zQ3...``, or empty), ``text`` what happened (see
    :class:`~pystatus.chat.community_chats.Change`), ``display_name`` the community's name."""

    kind: str = COMMUNITY_EVENT


class CommunityMessaging(
    CommunityKeyMessaging,
    CommunityStoreMessaging,
    CommunityAdminMessaging,
    CommunityModerationMessaging,
):
    session: ChatSession
    _identity: bytes
    _public_key: bytes
    _chat_key: str
    _communities: CommunityChats
    _control_topics: set[str]
    _pubsub_for: Callable[[str], str]
    fetcher: HistoryFetcher | None

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _check_running(self) -> None: ...

        async def _commit(self, write: Write) -> None: ...

        def _queue_write(self, write: Write) -> bool: ...

        def _tick(self, seen: int = 0) -> int: ...

        def _observe(self, clock: int) -> None: ...

        def _listen(self, content_topics: list[str]) -> None: ...

        async def _perform(self, actions: list[Action]) -> None: ...

        def _perform_later(self, actions: list[Action]) -> None: ...

        async def _channel_post_arrived(self, write: Write) -> None: ...

    def _init_communities(self) -> None:
        self._communities = CommunityChats(self._identity, self._public_key)
        self._init_community_keys()
        self._control_topics = set()
        self._advertiser = Advertiser()
        shards = self._pubsub_for

        def pubsub_for(content_topic: str) -> str:
            # Requests to a control node travel on the non-protected shard (shard.go).
            if content_topic in self._control_topics:
                return CONTROL_PUBSUB_TOPIC
            return shards(content_topic)

        self._pubsub_for = pubsub_for

    def _restore_communities(self, state: dict[str, bytes]) -> None:
        """Communities as the database kept them (at start); listens on their topics."""
        for key, value in state.items():
            if not key.startswith(COMMUNITY_STATE):
                continue
            try:
                record = json.loads(value)
                private = bytes.fromhex(record["key"]) if record.get("key") else None
                community = self._communities.restore(
                    bytes.fromhex(record["signer"]),
                    bytes.fromhex(record["payload"]),
                    private_key=private,
                    joined=bool(record.get("joined")),
                    requested_clock=int(record.get("requested", 0)),
                    pending=[(str(m), int(c), str(n)) for m, c, n in record.get("pending", [])],
                )
            except (InvalidCommunity, ValueError, KeyError, TypeError) as exc:
                # Written only once valid: a row that no longer opens is damage, not input.
                log.warning("community %s not restored: %s", key[len(COMMUNITY_STATE) :], exc)
                continue
            self._listen(self._community_topics(community))
            if private is not None:
                self._community_keys.remember(community)
                self._advertiser.restored()
        # Group keys of encrypted communities and channels, read by the session's receive
        # path (receiving.py); taken only from a community's control node or owner.
        ratchet = HashRatchet(
            self.session.encryption.installation_id,
            identity=self._identity,
            authority=self._group_key_authority,
            on_missing=self._group_key_missing,
            on_keys=self._group_keys_added,
            on_refused=self._unverified.keep,
        )
        if HASH_RATCHET_STATE in state:
            try:
                restore_hash_ratchet(ratchet, state[HASH_RATCHET_STATE])
            except InvalidGroupMessage as exc:
                log.warning("hash ratchet keys not restored: %s", exc)
        self.session.hash_ratchet = ratchet

    def _group_key_authority(self, group_id: bytes, sender: bytes) -> bool:
        """Whether ``sender`` may give hash ratchet keys for ``group_id``: the control node of
        its community, or the community's owner (whose chat key status-go sends them from)."""
        community = self._communities.get(community_of_group(group_id))
        if community is None:
            return False
        key = member_key(sender)
        return key == community.control_node or (Roles.ROLE_OWNER in community.members.get(key, ()))

    # -- reading ----------------------------------------------------------------------------

    def community(self, community_id: str) -> Community | None:
        return self._communities.get(community_id)

    def communities(self) -> list[Community]:
        return self._communities.communities()

    def community_requests(self, community_id: str) -> list[tuple[str, int, str]]:
        """Pending requests of a community we control, or shared with us as its admin: (chat
        key ``zQ3...``, clock in seconds, display name)."""
        return [
            (chat_key_text(bytes.fromhex(k[2:])), c, n)
            for k, c, n in self._communities.pending(community_id)
            or self._admin_pending(community_id)  # shared with us as an admin
        ]

    def community_joined(self, community_id: str) -> bool:
        return self._communities.joined(community_id)

    def community_controlled(self, community_id: str) -> bool:
        """Whether this account is the community's control node."""
        return self._communities.controls(community_id)

    # -- topics and sending ------------------------------------------------------------------

    def _community_topics(self, community: Community) -> list[str]:
        """Listen to its description, its channels when we joined, its control topic when
        we control it; the content topics added."""
        listening = self.session.listening
        added: list[str] = []
        name = community.id
        if listening.listen(
            description_content_topic(name), Listener("public", topics.public_chat_key(name), name)
        ):
            added.append(description_content_topic(name))
        private = self._communities.private_key(community.id)
        if private is not None:
            control = control_content_topic(community.id)
            self._control_topics.add(control)
            if listening.listen(control, Listener("community_control", private, community.id)):
                added.append(control)
        if self._communities.joined(community.id):
            for channel in community.channels.values():
                added += self.session.watch_public(channel.chat_id)
        return added

    def _community_sends(self, sends: list[Send]) -> list[Action]:
        """Publish actions for :class:`Send` records (each bare wrapper segmented as
        status-go segments before encrypting)."""
        now_ns = time.time_ns()
        out: list[Action] = []
        for send in sends:
            if send.route == "description":
                content_topic = description_content_topic(send.name)
                key = topics.public_chat_key(send.name)
                parts = [
                    encrypt_symmetric(p, key, signer=self._identity)
                    for p in segment(self._sealed_description(send), self.session.segment_size)
                ]
            else:
                if send.route == "control":
                    content_topic = topics.content_topic(topics.topic_of(send.recipient.hex()))
                    self._control_topics.add(content_topic)
                else:
                    content_topic = topics.partitioned_content_topic(send.recipient)
                parts = [
                    encrypt_asymmetric(p, send.recipient, signer=self._identity)
                    for p in segment(send.wrapped, self.session.segment_size)
                ]
            out += [Publish(content_topic, p, now_ns, "control") for p in parts]
        return out

    def _community_batch(self, community: Community) -> Batch:
        saved = self._communities.saved(community.id)
        assert saved is not None
        signer, payload, requested = saved
        private = self._communities.private_key(community.id)
        record = {
            "signer": signer.hex(),
            "payload": payload.hex(),
            "joined": self._communities.joined(community.id),
            "requested": requested,
            "key": private.hex() if private is not None else "",
            "pending": self._communities.pending(community.id),
        }
        chats = []
        if self._communities.joined(community.id):
            chats = [ChatRow(c.chat_id, COMMUNITY, c.name) for c in community.channels.values()]
        state = {COMMUNITY_STATE + community.id: json.dumps(record).encode()}
        return Batch(chats=chats, sync_state=state)

    async def _community_done(
        self, community: Community, sends: list[Send], event: ChatEvent | None = None
    ) -> None:
        """Store the community, listen to its topics, then send."""
        write = Write(extra=self._community_batch(community), events=[event] if event else [])
        write.sync_state.update(self._answers_kept(community.id, sends))  # sent again
        await self._commit(write)
        self._listen(self._community_topics(community))
        await self._perform(self._community_and_keys(community, sends))

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 10**6

    # -- what we do ---------------------------------------------------------------------------

    async def create_community(
        self,
        name: str,
        *,
        about: str = "",
        color: str = "#887af9",
        manual_accept: bool = False,
        encrypted: bool = False,
    ) -> str:
        """A community we control, open unless ``manual_accept``; returns its id (``0x02...``)
        once stored and published. ``encrypted``: its posts go under a hash ratchet key that
        the control node sends each member it admits and rotates when one leaves or is banned
        (:mod:`pystatus.chat.community_keys`); status-go reads it as token-gated, and since
        pystatus checks no token balances, pair it with ``manual_accept``. Raises
        :class:`~pystatus.errors.ChatError`."""
        self._check_running()
        community, sends = self._communities.create(
            name,
            self._now_ms(),
            about=about,
            color=color,
            manual=manual_accept,
            encrypted=encrypted,
        )
        self._advertiser.created(self._now_ms())
        await self._community_done(community, sends)
        return community.id

    async def add_community_channel(
        self, community_id: str, name: str, *, read_only: bool = False, category_id: str = ""
    ) -> str:
        """A channel of a community we control; returns its chat id."""
        self._check_running()
        if not self._communities.controls(community_id):  # as an admin: an event
            return await self._admin_add_channel(community_id, name, category_id)
        chat_id, sends = self._communities.add_channel(
            community_id, name, self._now_ms(), read_only=read_only, category_id=category_id
        )
        await self._community_done(self._got(community_id), sends)
        return chat_id

    async def publish_community(self, community_id: str) -> None:
        """Publish the description of a community we control again (for those who were not
        listening when it last changed)."""
        self._check_running()
        sends = self._communities.republish(community_id, self._now_ms())
        await self._community_done(self._got(community_id), sends)

    async def add_community_category(self, community_id: str, name: str) -> str:
        self._check_running()
        category_id, sends = self._communities.add_category(community_id, name, self._now_ms())
        await self._community_done(self._got(community_id), sends)
        return category_id

    def _got(self, community_id: str) -> Community:
        community = self._communities.get(community_id)
        if community is None:
            raise CommunityNotAllowed(f"no community {community_id[:80]!r}")
        return community

    async def join_community(self, community_id: str, *, display_name: str = "") -> bool:
        """Ask to join: we listen to its description and send the request as soon as we
        have it (at once when known; else from the store, or its next publication). Asking
        again sends the request again. Returns False when the description is unknown and no
        store node is known to ask (it can then come only on relay). Raises
        :class:`InvalidCommunity` for a bad id."""
        self._check_running()
        sends = self._communities.request_to_join(
            community_id, self._now_ms(), display_name=display_name
        )
        self._follow_description(community_id)
        known = self._communities.get(community_id)
        if known is not None:
            await self._community_done(known, sends)
            return True
        return await self._fetch_description(community_id)

    def _follow_description(self, community_id: str) -> None:
        content_topic = description_content_topic(community_id)
        listener = Listener("public", topics.public_chat_key(community_id), community_id)
        if self.session.listening.listen(content_topic, listener):
            self._listen([content_topic])

    async def watch_community(self, community_id: str) -> None:
        """Follow a community's description without asking to join (status-go's spectating):
        :meth:`community` shows it once it arrives. Raises :class:`InvalidCommunity`."""
        self._check_running()
        self._communities.watch(community_id)
        self._follow_description(community_id)
        if self._communities.get(community_id) is None:
            await self._fetch_description(community_id)

    async def cancel_community_request(self, community_id: str) -> None:
        self._check_running()
        sends = self._communities.cancel_request(community_id, self._now_ms())
        await self._perform(self._community_sends(sends))

    async def leave_community(self, community_id: str) -> None:
        self._check_running()
        sends = self._communities.leave(community_id, self._now_ms())
        await self._community_done(self._got(community_id), sends)

    async def accept_community_request(self, community_id: str, member: str) -> None:
        """Accept a request (``member``: a chat key) to a community we control."""
        self._check_running()
        key = member_key(public_key_of(member))
        if not self._communities.controls(community_id):  # as an admin: an event
            return await self._admin_decide(community_id, key, accept=True)
        sends = self._communities.accept(community_id, key, self._now_ms())
        sends += self._admin_syncs(community_id, decided=key, accepted=True)  # to admins
        await self._community_done(self._got(community_id), sends)

    async def decline_community_request(self, community_id: str, member: str) -> None:
        self._check_running()
        key = member_key(public_key_of(member))
        sends = self._communities.decline(community_id, key, self._now_ms())
        sends += self._admin_syncs(community_id, decided=key)  # to admins (type 72)
        await self._perform(self._community_sends(sends))

    async def ban_community_member(
        self, community_id: str, member: str, *, delete_messages: bool = False
    ) -> None:
        """Ban a member (a chat key) from a community we control; they are told. An encrypted
        community's key is rotated and sent to the remaining members only, so the banned
        member reads nothing after (:meth:`_control_keys`). ``delete_messages``: all their
        messages there are deleted too, at every member (messenger_community_moderation.py)."""
        self._check_running()
        key = member_key(public_key_of(member))
        if not self._communities.controls(community_id):  # as an admin: an event
            await self._admin_ban(community_id, key)
            if delete_messages:  # an admin's event carries no such flag: a type 85 order
                await self.delete_community_member_messages(community_id, member)
            return
        sends = self._communities.ban(community_id, key, self._now_ms(), delete_messages)
        await self._community_done(self._got(community_id), sends)
        if delete_messages:
            await self._banned_deletes_now(self._got(community_id))

    async def send_community(self, chat_id: str, text: str, *, response_to: str = "") -> str:
        """Post ``text`` in a channel (``chat_id``: community id + channel id); returns the
        message id once stored. Raises :class:`~pystatus.chat.community_chats.ReadOnlyChannel`
        where we may only read, :class:`CommunityNotAllowed` where we are no member,
        :class:`~pystatus.chat.errors.UnknownGroupKey` in an encrypted community whose key has
        not reached us yet."""
        self._check_running()
        self._communities.check_post(chat_id)
        found = self._communities.channel_of(chat_id)
        group = post_group(found[0] if found is not None else None, chat_id)
        encrypted = found[0] if found is not None and group else None
        ratchet = self.session.hash_ratchet
        if encrypted is not None and (ratchet is None or ratchet.current_key(group) is None):
            self._group_key_missing(group)  # asks the control node (rate-limited)
            raise UnknownGroupKey("no key for this community yet", group_id=b"", key_id=b"")
        message = chat_message_pb2.ChatMessage(
            clock=self._tick(),
            timestamp=self._now_ms(),
            text=text,
            response_to=response_to,
            chat_id=chat_id,
            message_type=COMMUNITY_CHAT,  # type: ignore[arg-type]
            content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
        )
        body = message.SerializeToString()
        wrapped = wrap(body, MessageType.CHAT_MESSAGE, self._identity)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        stored = StoredMessage(
            message_id, chat_id, self._chat_key, message.clock, message.timestamp, body, "pending"
        )
        self.session.track(message_id, chat_id, DeliveryStatus.PENDING)
        await self._commit(Write(stored))
        if encrypted is None or ratchet is None:
            await self._perform(
                self.session.send_public(chat_id, wrapped, time.time_ns(), [message_id])
            )
            return message_id
        # status-go's SendCommunityMessage: under the community's hash ratchet key. Watched
        # for a store's confirmation, but not resent when nothing takes it (it stays pending),
        # unlike a plain public message.
        parts = seal_post(
            ratchet, self._identity, encrypted, chat_id, wrapped, self.session.segment_size, group
        )
        now_ns = time.time_ns()
        publishes = [Publish(p.content_topic, p.payload, now_ns, "public") for p in parts]
        last = publishes[-1]
        publishes[-1] = Publish(
            last.content_topic,
            last.payload,
            now_ns,
            "public",
            (message_id,),
            track=self.session.has_store,
        )
        await self._perform(list(publishes))
        return message_id

    # -- what arrives ---------------------------------------------------------------------------

    def _receive_community(self, message: Unwrapped, after: Callable[[], None] | None) -> None:
        """A community control message; raises :class:`InvalidCommunity` (a ChatError)."""
        if message.type in MODERATION_TYPES:  # messenger_community_moderation.py
            self._receive_moderation(message, after)
            return
        if message.type == MessageType.COMMUNITY_ENCRYPTION_KEYS_REQUEST:
            self._answer_key_request(message)
            if after is not None:
                after()
            return
        opened = self._open_private(message)  # an encrypted community's sealed parts
        if opened is None:
            if after is not None:
                after()
            return
        message = opened
        if self._admin_takes(message):  # messenger_community_admin.py
            change, sends = self._admin_receive(message)
        else:
            change, sends = self._communities.receive(message, self._now_ms())
        if change is None:
            if after is not None:
                after()
            self._perform_later(self._community_sends(sends))
            return
        community = change.community
        added = self._community_topics(community)
        self._listen(added)
        self._community_history(added, change.kind == "joined")  # messenger_community_store.py
        author = chat_key_text(bytes.fromhex(change.member[2:])) if change.member else ""
        event = CommunityEvent(
            community.id,
            community.id,
            author,
            change.kind,
            community.clock,
            0,
            "",
            False,
            display_name=community.name,
        )
        self._queue_write(
            Write(after=after, extra=self._community_batch(community), events=[event])
        )
        if change.kind == "joined":
            self._keys_on_join(community)
        if message.type == MessageType.COMMUNITY_DESCRIPTION:
            self._banned_deletes(community)  # banned with delete_all_messages
        self._perform_later(self._community_and_keys(community, sends))

    def _is_community_channel(self, chat_id: str | None) -> bool:
        return chat_id is not None and self._communities.channel_of(chat_id) is not None

    def _receive_community_post(
        self, message: Unwrapped, chat_id: str, outgoing: bool, after: Callable[[], None] | None
    ) -> None:
        """A ChatMessage on a channel's topic: taken when its author may post there (else
        dropped and counted, ``chat_community_dropped_messages``)."""
        parse_chat_message(message.payload)  # status-go's checks; raises InvalidContent
        content = chat_message_pb2.ChatMessage.FromString(message.payload)
        if (
            content.chat_id != chat_id
            or int(content.message_type) != COMMUNITY_CHAT
            or not self._communities.take_post(chat_id, message.author, message.type)
        ):
            if after is not None:
                after()
            return
        self._observe(content.clock)
        stored = StoredMessage(
            "0x" + message.message_id.hex(),
            chat_id,
            chat_key_text(message.author),
            content.clock,
            content.timestamp,
            content.SerializeToString(),
        )
        found = self._communities.channel_of(chat_id)
        name = found[0].channels[found[1]].name if found else chat_id
        batch = Batch(chats=[ChatRow(chat_id, COMMUNITY, name)])
        event = message_event(stored, content, outgoing)
        arrived = self._channel_post_arrived  # edits and deletes that came first
        self._queue_write(Write(stored, event, after=after, extra=batch, resolve=arrived))
