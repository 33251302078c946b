"""The messenger's chats, sending and the receive hand-off to content handlers.

A base class of :class:`~pystatus.chat.messenger.Messenger` (its methods are the messenger's),
kept apart so the adapter module stays about running the session. What it sends follows
status-go v1.1.0 (``protocol/messenger.go`` sendChatMessage, ``messenger_emoji_reactions.go``,
``messenger_installations.go`` SendPairInstallation): the ChatMessage is wrapped and signed
with the chat key (ApplicationMetadataMessage); 1:1 ones are stored with their MVDS outbox
entry, then queued in the session, which sends them at the next epoch and resends them on
status-go's backoff until acknowledged; public ones are published at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter

from pystatus.chat import topics
from pystatus.chat.actions import Action
from pystatus.chat.community_actions import channel_publishes, is_channel
from pystatus.chat.community_actions import take as take_channel_action
from pystatus.chat.community_chats import CommunityChats, CommunityNotAllowed
from pystatus.chat.database import ChatDatabase, OutboxEntry, StoredMessage, StoredReaction
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.events import REACTION, ChatEvent, ReactionEvent, message_event
from pystatus.chat.ids import (
    CommunityChatId,
    GroupChatId,
    OneToOneChatId,
    PublicChatId,
    parse_chat_id,
)
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.chat.messenger_community import COMMUNITY_TYPES, SIGNED_BY_COMMUNITY
from pystatus.chat.outgoing import CHAT_TYPES, Outgoing
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.reliability import DROPPED
from pystatus.chat.session import ChatSession
from pystatus.chat.transport import Transport
from pystatus.chat.wrapper import MessageType, Unwrapped, unwrap, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write
from pystatus.errors import ChatError
from pystatus.waku.wire import parse

PUBLISHED_BYTES = Counter(
    "chat_published_bytes",
    "Bytes of the Waku messages the messenger published, by what they carried",
    ["kind"],
)
ONE_TO_ONE = "one_to_one"
PUBLIC = "public"


class Sending(Outgoing):
    session: ChatSession
    database: ChatDatabase
    transport: Transport
    _identity: bytes
    _public_key: bytes
    _chat_key: str
    _contact_code_topic: str
    _later: deque[Action]
    _wake: asyncio.Event
    _pubsub_for: Callable[[str], str]
    _contacts: set[str]
    """Chat keys we added (loaded at start)."""
    _communities: CommunityChats

    if TYPE_CHECKING:  # provided by the Messenger these are mixed into

        def _check_running(self) -> None: ...

        async def _commit(self, write: Write) -> None: ...

        def _queue_write(self, write: Write) -> bool: ...

        def _perform_later(self, actions: list[Action]) -> None: ...

        async def _perform(self, actions: list[Action]) -> None: ...

        def _post_again(
            self, chat_id: str, wrapped: bytes, message_id: str, now_ns: int
        ) -> list[Action]: ...

        def _listen(self, content_topics: list[str]) -> None: ...

        def _receive_group(
            self, message: Unwrapped, outgoing: bool, after: Callable[[], None] | None
        ) -> None: ...

        def _group_private(self, chat_id: str, wrapped: bytes) -> list[Action]: ...

        def _group_member(self, chat_id: str, author: bytes) -> bool: ...

        def _receive_community(
            self, message: Unwrapped, after: Callable[[], None] | None
        ) -> None: ...

        def _is_community_channel(self, chat_id: str | None) -> bool: ...

        def _receive_community_post(
            self,
            message: Unwrapped,
            chat_id: str,
            outgoing: bool,
            after: Callable[[], None] | None,
        ) -> None: ...

    # -- chats ------------------------------------------------------------------------------

    async def add_contact(self, chat_key: str) -> str:
        """Start a 1:1 chat with ``chat_key`` (``zQ3...``); returns the chat id."""
        chat_id = OneToOneChatId.of(public_key_from_chat_key_text(chat_key))
        if chat_key not in self._contacts:
            await self.database.add_contact(chat_key, time.time_ns())
            self._contacts.add(chat_key)
        self._listen(self.session.watch_contact_code(chat_id.public_key))
        await self.database.upsert_chat(chat_id.text, ONE_TO_ONE, chat_key)  # out of requests
        return chat_id.text

    async def join_public_chat(self, name: str) -> str:
        await self.database.upsert_chat(name, PUBLIC, name)
        self._listen(self.session.watch_public(name))
        return name

    async def leave_public_chat(self, name: str) -> None:
        """Stop reading a public chat: its topic is no longer listened to and it leaves
        :meth:`chats` (its history stays); joining again resumes it."""
        chat = PublicChatId(name)
        await self.database.leave_chat(chat.name)
        content_topic = topics.public_chat_content_topic(chat.name)
        if self.session.listening.unlisten(content_topic):
            self.transport.unlisten(self._pubsub_for(content_topic), [content_topic])

    # -- clocks -----------------------------------------------------------------------------

    def _tick(self, seen: int = 0) -> int:
        """The next Lamport clock: max(last + 1, now in ms) (status-go's)."""
        return self.session.next_clock(time.time_ns() // 10**6, seen)

    def _observe(self, clock: int) -> None:
        self.session.observe_clock(clock)

    # -- sending ----------------------------------------------------------------------------

    async def send(self, chat_key: str, text: str, *, response_to: str = "") -> str:
        """Send ``text`` to ``chat_key`` 1:1; returns the message id once it is stored (its
        status then moves on from pending, see :meth:`events`). Raises
        :class:`~pystatus.chat.supervisor.MessengerFailed` once the messenger failed."""
        return await self._send_text(
            chat_key, text, response_to, chat_message_pb2.ChatMessage.TEXT_PLAIN
        )

    async def _send_text(
        self,
        chat_key: str,
        text: str,
        response_to: str,
        content: int,
        *,
        image: chat_message_pb2.ImageMessage | None = None,
        events: list[ChatEvent] | None = None,
    ) -> str:
        self._check_running()
        recipient = public_key_from_chat_key_text(chat_key)
        chat_id = await self.add_contact(chat_key)
        message = self._chat_message(chat_id, text, response_to, chat_message_pb2.ONE_TO_ONE)
        message.content_type = content  # type: ignore[assignment]
        if image is not None:
            message.image.CopyFrom(image)
        await self._before_send(chat_id, recipient, message)
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        if recipient == self._public_key:
            self._send_private(recipient, wrapped)  # a note to self: nobody to acknowledge it
            return await self._store_sent(
                chat_id, message_id, message, DeliveryStatus.SENT, events=events
            )
        entry = self._sync_entry(recipient, message_id, wrapped)
        await self._store_sent(
            chat_id, message_id, message, DeliveryStatus.PENDING, [entry], events=events
        )
        return message_id

    def _sync_entry(self, recipient: bytes, message_id: str, wrapped: bytes) -> OutboxEntry:
        return self.session.outbox_entry(recipient, message_id, wrapped, time.time_ns())

    def _queue_sync(self, entry: OutboxEntry) -> None:
        self.session.queue([entry], time.monotonic())
        self._wake.set()

    def _send_private(self, recipient: bytes, wrapped: bytes) -> None:
        """Encrypt for the recipient's devices and ours and publish, without data sync."""
        self._perform_later(self.session.send_private(recipient, wrapped, time.time_ns()))

    def _publish_public(self, name: str, wrapped: bytes, message_id: str | None) -> None:
        carried = [message_id] if message_id else []
        self._perform_later(self.session.send_public(name, wrapped, time.time_ns(), carried))

    async def send_public(self, name: str, text: str, *, response_to: str = "") -> str:
        self._check_running()
        await self.join_public_chat(name)
        message = self._chat_message(name, text, response_to, chat_message_pb2.PUBLIC_GROUP)
        await self._before_send(name, None, message)
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        await self._store_sent(name, message_id, message, DeliveryStatus.PENDING)
        await self._perform(self.session.send_public(name, wrapped, time.time_ns(), [message_id]))
        return message_id

    def _chat_message(
        self, chat_id: str, text: str, response_to: str, kind: int
    ) -> chat_message_pb2.ChatMessage:
        return chat_message_pb2.ChatMessage(
            clock=self._tick(),
            timestamp=time.time_ns() // 10**6,
            text=text,
            response_to=response_to,
            chat_id=chat_id,
            message_type=kind,  # type: ignore[arg-type]
            content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
        )

    async def _store_sent(
        self,
        chat_id: str,
        message_id: str,
        message: chat_message_pb2.ChatMessage,
        status: DeliveryStatus,
        outbox: list[OutboxEntry] | None = None,
        *,
        events: list[ChatEvent] | None = None,
    ) -> str:
        stored = StoredMessage(
            message_id,
            chat_id,
            self._chat_key,
            message.clock,
            message.timestamp,
            message.SerializeToString(),
            status,
        )
        self.session.track(message_id, chat_id, status)
        await self._commit(Write(stored, outbox_added=outbox or [], events=events or []))
        for entry in outbox or []:
            self._queue_sync(entry)
        return message_id

    async def resend(self, message_id: str) -> None:
        """Send a failed message of ours again: a 1:1 or public chat's, or a community
        channel's post (sealed under its channel's current hash ratchet key where it has one).
        Raises ChatError (no such message of ours, not failed) and UnknownGroupKey."""
        stored = await self.database.message(message_id)
        if stored is None or stored.author != self._chat_key:
            raise ChatError(f"no message {message_id} of ours")
        if stored.status != DeliveryStatus.FAILED and self.session.tracker.status(message_id) != (
            DeliveryStatus.FAILED
        ):
            raise ChatError(f"message {message_id} has not failed")
        message = chat_message_pb2.ChatMessage.FromString(stored.body)
        wrapped = wrap(stored.body, MessageType.CHAT_MESSAGE, self._identity)
        channel = message.message_type == chat_message_pb2.COMMUNITY_CHAT
        # A channel's post is sealed again under its current key (messenger_community_store),
        # before anything changes: without a key it stays failed (UnknownGroupKey).
        now_ns = time.time_ns()
        again = self._post_again(stored.chat_id, wrapped, message_id, now_ns) if channel else []
        self.session.resent(message_id, stored.chat_id)
        status = DeliveryStatus.PENDING
        write = Write(statuses=[(message_id, status)])
        write.status_events.append(self.session.status_event(message_id, status))
        public = message.message_type == chat_message_pb2.PUBLIC_GROUP
        if channel:
            await self._commit(write)
            return await self._perform(again)
        if not public:
            recipient = bytes.fromhex(stored.chat_id[2:])
            write.outbox_added.append(self._sync_entry(recipient, message_id, wrapped))
        await self._commit(write)
        if public:
            self._publish_public(stored.chat_id, wrapped, message_id)
        for entry in write.outbox_added:
            self._queue_sync(entry)

    async def react(
        self, chat_id: str, message_id: str, reaction: int, *, retract: bool = False
    ) -> None:
        """React to a message (EmojiReaction types: 1 love, 2 thumbs up, 3 thumbs down,
        4 laugh, 5 sad, 6 angry), or take the reaction back."""
        if not 1 <= reaction <= 6:
            raise ChatError("a reaction type is 1 to 6")
        self._check_running()
        chat = parse_chat_id(chat_id)
        channel = isinstance(chat, CommunityChatId) and is_channel(self._communities, chat_id)
        payload = chat_message_pb2.EmojiReaction(
            clock=self._tick(),
            chat_id=chat_id,
            message_id=message_id,
            message_type=int(CHAT_TYPES[type(chat)]),  # type: ignore[arg-type]
            type=reaction,  # type: ignore[arg-type]
            retracted=retract,
        )
        wrapped = wrap(payload.SerializeToString(), MessageType.EMOJI_REACTION, self._identity)
        now_ns = time.time_ns()
        if isinstance(chat, GroupChatId):  # messenger_group.py
            actions = self._group_private(chat_id, wrapped)
        elif isinstance(chat, OneToOneChatId):
            actions = self.session.send_private(chat.public_key, wrapped, now_ns)
        elif isinstance(chat, PublicChatId):
            actions = self.session.send_public(chat.name, wrapped, now_ns)
        elif channel:  # community_actions.py: CanPost for reactions, hash ratchet if encrypted
            actions = channel_publishes(
                self._communities,
                self.session,
                self._identity,
                chat_id,
                wrapped,
                MessageType.EMOJI_REACTION,
                now_ns,
            )
        else:
            raise CommunityNotAllowed(f"no community channel {chat_id[:140]!r}")
        await self._perform(actions)  # published when react() returns
        stored = StoredReaction(message_id, self._chat_key, reaction, payload.clock, retract)
        await self._commit(Write(stored))

    async def reactions(self, message_id: str) -> list[tuple[str, int]]:
        """(author chat key, reaction type) standing on a message."""
        return await self.database.reactions(message_id)

    async def announce_device(self) -> None:
        """Tell the account's other devices about this one (they answer in kind): a
        PairInstallation under a DH header to our own key, with our bundle."""
        pairing = chat_message_pb2.PairInstallation(
            clock=self._tick(),
            installation_id=self.session.encryption.installation_id,
            device_type="pystatus",
        )
        wrapped = wrap(pairing.SerializeToString(), MessageType.PAIR_INSTALLATION, self._identity)
        await self._perform(self.session.announce_device(wrapped, time.time_ns()))

    def advertise_contact_code(self) -> None:
        """Publish our bundle on our contact-code topic, as status-go's publishContactCode."""
        wrapped = wrap(
            self._contact_code_payload(), MessageType.CONTACT_CODE_ADVERTISEMENT, self._identity
        )
        self._perform_later(self.session.contact_code(wrapped, time.monotonic(), time.time_ns()))

    # -- receiving: the hand-off to the content handlers ------------------------------------

    def _drop(self, what: str, exc: Exception, ack: tuple[bytes, bytes] | None) -> None:
        """Count an invalid message, and acknowledge it: it will not get any better."""
        DROPPED.labels("invalid").inc()
        if ack is not None:
            self.session.acknowledge(ack, time.monotonic())
            self._wake.set()

    def _handle_wrapped(
        self,
        sender: bytes | None,
        wrapped: bytes,
        public_chat: str | None,
        ack: tuple[bytes, bytes] | None,
        *,
        own_copy: bool = False,
        contact_code: bool = False,
        bare: bool = False,
    ) -> None:
        """Store and announce one wrapped message; ``sender``: the envelope's signer, who
        must be its author (None for ``own_copy``, whose wrapper our key must sign);
        ``ack``: the MVDS acknowledgement due once stored. Handled by type in
        :mod:`pystatus.chat.incoming`; raises :class:`ChatError` for what is invalid."""
        message = unwrap(wrapped)
        # A community key signs these wrappers itself, checked where they are taken (a
        # description's signer is its id, an answer's or a kick's the control node); status-go
        # sends them bare, or, for an encrypted community, inside a public or 1:1
        # ProtocolMessage from the control node's chat key (messenger_community.py).
        by_community = message.type in SIGNED_BY_COMMUNITY
        if sender is not None and message.author != sender and not by_community:
            raise ChatError("the wrapper's author is not the envelope's signer")
        if own_copy and message.author != self._public_key:
            raise ChatError("a copy from our device signed by someone else")
        after = (
            (lambda: self.session.acknowledge(ack, time.monotonic())) if ack is not None else None
        )
        outgoing = message.author == self._public_key  # our own other device sent it
        if message.type == MessageType.EMOJI_REACTION:
            self._receive_reaction(message.author, message.payload, outgoing, after, public_chat)
            return
        if message.type == MessageType.MEMBERSHIP_UPDATE_MESSAGE:  # messenger_group.py
            self._receive_group(message, outgoing, after)
            return
        if message.type in COMMUNITY_TYPES:  # messenger_community.py
            self._receive_community(message, after)
            return
        if message.type == MessageType.CHAT_MESSAGE and self._is_community_channel(public_chat):
            assert public_chat is not None
            self._receive_community_post(message, public_chat, outgoing, after)
            return
        resolve = self._incoming.handler(message, public_chat, outgoing, contact_code=contact_code)
        if resolve is None:
            if after is not None:
                after()
            return
        self._queue_write(Write(resolve=resolve, after=after))

    async def _channel_post_arrived(self, write: Write) -> None:
        """A community channel's post (``write.stored``), in the writer's order: the edits
        and deletes that came before it applied (messenger_community.py; the rules are
        :mod:`pystatus.chat.incoming`'s), its event made anew if they changed it."""
        if not isinstance(write.stored, StoredMessage) or write.event is None:
            return
        stored = self._incoming.arrived(write.stored)
        if stored != write.stored:
            body = chat_message_pb2.ChatMessage.FromString(stored.body)
            write.event = message_event(stored, body, write.event.outgoing)
            write.stored = stored

    def _receive_reaction(
        self,
        author: bytes,
        payload: bytes,
        outgoing: bool,
        after: Callable[[], None] | None,
        public_chat: str | None = None,
    ) -> None:
        reaction = parse(chat_message_pb2.EmojiReaction(), payload, "emoji reaction")
        if not 1 <= reaction.type <= 6 or not reaction.message_id:
            if after is not None:
                after()
            return
        self._observe(reaction.clock)
        author_key = chat_key_text(author)
        stored = StoredReaction(
            reaction.message_id, author_key, reaction.type, reaction.clock, reaction.retracted
        )
        public = reaction.message_type == chat_message_pb2.PUBLIC_GROUP
        group = reaction.message_type == chat_message_pb2.PRIVATE_GROUP
        if group and not self._group_member(reaction.chat_id, author):
            if after is not None:
                after()  # not a member's (now): dropped, as status-go drops it
            DROPPED.labels("invalid").inc()
            return
        channel = reaction.message_type == chat_message_pb2.COMMUNITY_CHAT
        if channel and (
            public_chat is None
            or not take_channel_action(
                self._communities,
                author,
                MessageType.EMOJI_REACTION,
                reaction.chat_id,
                reaction.message_type,
                public_chat,
            )
        ):
            if after is not None:
                after()  # matchChatEntity: not this channel's, or CanPost says no (counted)
            return
        event = ReactionEvent(
            reaction.message_id,
            reaction.chat_id
            if outgoing or public or group or channel
            else OneToOneChatId.of(author).text,
            author_key,
            "",
            reaction.clock,
            0,
            "",
            outgoing,
            kind=REACTION,
            reaction=-reaction.type if reaction.retracted else reaction.type,
        )
        self._queue_write(Write(stored, event, after=after))
