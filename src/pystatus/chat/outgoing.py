"""The messenger's contacts, profile, edits, deletes and pins, sent as status-go v1.1.0 does.

:class:`Outgoing` is a base class of :class:`~pystatus.chat.messenger.Messenger` (its methods
are the messenger's), kept apart so the messenger module stays about transport. Each action
follows status-go's (``protocol/messenger_contacts.go``, ``messenger_messages.go``,
``messenger_pin_messages.go``, ``messenger.go``, ``messenger_identity.go``):

- what status-go sends with data sync (``ResendTypeDataSync``: contact requests, contact
  updates, acceptances, retractions, and in 1:1 chats edits, deletes and pins) goes through
  MVDS, acknowledged and resent; a chat identity goes without (``SendPrivate`` with no resend
  type), and so does everything in a public chat (``ResendTypeRawMessage``);
- every chat message carries our display name, and a 1:1 one our contact-request state for
  that contact (``addContactRequestPropagatedState``); a ``ChatIdentity`` goes to a chat
  before our first message there, and again when our name changed or a day passed
  (``handleStandaloneChatIdentity``, ``shouldPublishChatIdentity``);
- clocks are the messenger's Lamport clock, ``max(last + 1, now in ms)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, cast

from pystatus.chat.community import member_key
from pystatus.chat.community_actions import channel_publishes, is_channel, may_delete_for_everyone
from pystatus.chat.community_chats import CommunityNotAllowed
from pystatus.chat.contacts import Contact, ContactInfo, Contacts, contact_event, info
from pystatus.chat.content import (
    DELETABLE,
    EDITABLE,
    ChatIdentity,
    ChatMessageType,
    ContentRefused,
    ContentType,
    Edit,
    ImageFormat,
    build_accept_contact_request,
    build_chat_identity,
    build_contact_code_advertisement,
    build_delete,
    build_edit,
    build_pin,
    build_retract_contact_request,
    default_contact_request_id,
    sniff_image_format,
    validate_display_name,
    validate_text,
)
from pystatus.chat.database import Batch, EditRecord, OutboxEntry, PinRecord, StoredMessage
from pystatus.chat.errors import NotPermitted, UnknownMessage
from pystatus.chat.ids import (
    ChatId,
    CommunityChatId,
    GroupChatId,
    OneToOneChatId,
    PublicChatId,
    parse_chat_id,
)
from pystatus.chat.incoming import Incoming, apply_edit, delete_event, edit_event, pin_event
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.proto import chat_message_pb2, contact_pb2
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write

if TYPE_CHECKING:
    from pystatus.chat.messenger import Messenger

DISPLAY_NAME = "display-name"
"""Where our display name is kept (the database's sync state)."""
IDENTITY_INTERVAL = 24 * 3600.0
"""status-go sends its chat identity to a chat again after a day (shouldPublishChatIdentity)."""
CHAT_TYPES: dict[type[ChatId], ChatMessageType] = {
    OneToOneChatId: ChatMessageType.ONE_TO_ONE,
    PublicChatId: ChatMessageType.PUBLIC_GROUP,
    GroupChatId: ChatMessageType.PRIVATE_GROUP,
    CommunityChatId: ChatMessageType.COMMUNITY_CHAT,
}
"""The ``message_type`` status-go's ``encodeChatEntity`` gives an entity of each kind of chat."""
IDENTITY_CHATS = 4096
"""Chats whose last chat identity we remember (the oldest forgotten: they get one again)."""


class Outgoing:
    """Contacts, profile, edits, deletes and pins: a base class of the messenger."""

    _contact_book: Contacts
    _incoming: Incoming
    _display_name: str
    _identity_sent: OrderedDict[str, tuple[str, float]]

    @property
    def _m(self) -> Messenger:
        return cast("Messenger", self)

    def _init_outgoing(self) -> None:
        """Set up (the messenger's constructor calls this)."""
        self._contact_book = Contacts(self._m.database)
        self._incoming = Incoming(self._m)
        self._display_name = ""
        self._identity_sent = OrderedDict()

    def _load_profile(self, sync_state: dict[str, bytes]) -> None:
        """Our saved profile (the messenger calls this at start)."""
        self._display_name = sync_state.get(DISPLAY_NAME, b"").decode()

    # -- the profile --------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        return self._display_name

    async def set_display_name(self, name: str) -> None:
        """Set our display name (status-go's rules: 5 to 24 letters, digits, ``_``, ``-``
        and spaces, or empty): it goes into our contact-code advertisement (``SetDisplayName``
        -> ``publishContactCode``), a contact update to each contact we added
        (``SendContactUpdates``), a chat identity before our next message in each chat, and
        every message we send."""
        m = self._m
        name = validate_display_name(name)
        if name == self._display_name:
            return
        self._display_name = name
        self._identity_sent.clear()  # resetLastPublishedTimeForChatIdentity, for every chat
        m.advertise_contact_code()
        added = [c for c in await self._contact_book.all() if c.added]
        entries = [
            self._contact_update_entry(await self._contact_book.get(c.chat_key)) for c in added
        ]
        await self._commit_and_queue(
            Write(outbox_added=entries, sync_state={DISPLAY_NAME: name.encode()})
        )

    def _contact_code_payload(self) -> bytes:
        """Our ``ContactCodeAdvertisement``: with our chat identity when one is due on the
        contact-code topic (``attachChatIdentity``)."""
        return build_contact_code_advertisement(self._identity_due(self._m._contact_code_topic))

    def _identity_due(self, chat_id: str) -> ChatIdentity | None:
        """Our ``ChatIdentity`` if ``chat_id`` should get it now (then noted as sent)."""
        name = self._display_name
        if not name:
            return None  # status-go sends none without a name or picture
        now = time.time()
        last = self._identity_sent.get(chat_id)
        if last is not None and last[0] == name and now - last[1] < IDENTITY_INTERVAL:
            return None
        self._identity_sent[chat_id] = (name, now)
        self._identity_sent.move_to_end(chat_id)
        if len(self._identity_sent) > IDENTITY_CHATS:
            self._identity_sent.popitem(last=False)
        return ChatIdentity(max(time.time_ns() // 10**6, 1), name)

    def _send_identity(self, chat_id: str, recipient: bytes | None) -> None:
        """A standalone ``ChatIdentity`` to a 1:1 chat (``recipient``) or public chat, when
        due; without data sync."""
        m = self._m
        if recipient == m._public_key:
            return
        identity = self._identity_due(chat_id)
        if identity is None:
            return
        payload = build_chat_identity(identity.clock, identity.display_name)
        wrapped = wrap(payload, MessageType.CHAT_IDENTITY, m._identity)
        if recipient is None:
            m._publish_public(chat_id, wrapped, None)
        else:
            m._send_private(recipient, wrapped)

    async def _before_send(
        self, chat_id: str, recipient: bytes | None, message: chat_message_pb2.ChatMessage
    ) -> None:
        """What status-go's ``sendChatMessage`` adds to a chat message before it leaves:
        our display name, for 1:1 our contact-request state, a chat identity first if due.
        Refuses text status-go would drop."""
        if message.text or int(message.content_type) != ContentType.IMAGE:
            validate_text(message.text)
        message.display_name = self._display_name
        if recipient is not None and recipient != self._m._public_key:
            state = (await self._contact_book.get_by_key(recipient)).machine.propagated_state()
            message.contact_request_propagated_state.CopyFrom(
                contact_pb2.ContactRequestPropagatedState(
                    local_clock=state.local_clock,
                    local_state=state.local_state,
                    remote_clock=state.remote_clock,
                    remote_state=state.remote_state,
                )
            )
        self._send_identity(chat_id, recipient)

    def _contact_update_entry(self, contact: Contact) -> OutboxEntry:
        """A ``ContactUpdate`` for ``contact`` (``sendContactUpdate``), for MVDS."""
        m = self._m
        payload = contact.machine.contact_update(m._tick(), display_name=self._display_name)
        return self._sync(contact, MessageType.CONTACT_UPDATE, payload)

    def _sync(self, contact: Contact, kind: MessageType, payload: bytes) -> OutboxEntry:
        m = self._m
        wrapped = wrap(payload, kind, m._identity)
        message_id = "0x" + wrapper_message_id(m._public_key, wrapped).hex()
        return m._sync_entry(bytes.fromhex(contact.id[2:]), message_id, wrapped)

    def unacknowledged(self) -> int:
        """How many of our 1:1 messages (chat messages, contact requests and answers, edits,
        deletes, pins) wait for a recipient's acknowledgement."""
        return len(self._m._mvds.outgoing())

    async def _commit_and_queue(self, write: Write) -> None:
        m = self._m
        await m._commit(write)
        for entry in write.outbox_added:
            m._queue_sync(entry)

    # -- contacts -----------------------------------------------------------------------------

    async def contacts(self) -> list[ContactInfo]:
        """Everyone we have a record of: their request state, whether we are mutual
        contacts, their display name."""
        return await self._contact_book.all()

    async def contact(self, chat_key: str) -> ContactInfo:
        public_key_from_chat_key_text(chat_key)
        return info(await self._contact_book.get(chat_key))

    async def requests(self) -> list[ContactInfo]:
        """Contact requests waiting for our answer, and people whose 1:1 chat sits in
        "requests" (they wrote, we have not added them), unless we declined them; the most
        recent chat first."""
        found: dict[str, ContactInfo] = {}
        for chat in await self._m.database.request_chats():
            person = await self.contact(chat.name)
            if person.state != "dismissed":
                found[person.chat_key] = person
        for person in await self._contact_book.all():
            if person.has_added_us and not person.added and person.state != "dismissed":
                found.setdefault(person.chat_key, person)
        return list(found.values())

    async def _someone(self, chat_key: str) -> tuple[Contact, bytes]:
        public_key = public_key_from_chat_key_text(chat_key)
        if public_key == self._m._public_key:
            raise NotPermitted("that is our own key")
        return await self._contact_book.get(chat_key), public_key

    async def send_contact_request(self, chat_key: str, text: str) -> str:
        """Ask ``chat_key`` to become a contact, with an introduction (``SendContactRequest``
        -> ``addContact``): our half becomes SENT; a chat identity (when due), then the
        request, a chat message of content type ``CONTACT_REQUEST``, through data sync; our
        contact code is advertised again. Returns the request's message id."""
        m = self._m
        validate_text(text)
        contact, _ = await self._someone(chat_key)
        await m.add_contact(chat_key)
        self._identity_sent.pop(m._contact_code_topic, None)
        change = self._contact_book.sent_request(contact, m._tick())
        m.advertise_contact_code()
        events = [contact_event(contact, outgoing=True)] if change.changed else []
        return await m._send_text(
            chat_key, text, "", chat_message_pb2.ChatMessage.CONTACT_REQUEST, events=events
        )

    async def accept_contact_request(self, chat_key: str) -> None:
        """Accept ``chat_key``'s request (``AcceptContactRequest`` -> ``addContact`` ->
        ``updateAcceptedContactRequest``): our half becomes SENT, so we are mutual contacts;
        an ``AcceptContactRequest`` naming their request goes through data sync, then our chat
        identity (when due); their chat leaves "requests"."""
        m = self._m
        contact, public_key = await self._someone(chat_key)
        if not contact.machine.has_added_us:
            raise NotPermitted(f"no contact request from {chat_key}")
        chat_id = await m.add_contact(chat_key)
        self._identity_sent.pop(m._contact_code_topic, None)
        clock = m._tick()
        change = self._contact_book.accepted(contact, clock)
        request_id = contact.request_id or default_contact_request_id(contact.id)
        accept = build_accept_contact_request(request_id, clock)
        write = Write(
            outbox_added=[self._sync(contact, MessageType.ACCEPT_CONTACT_REQUEST, accept)]
        )
        if change.changed:
            write.events.append(contact_event(contact, outgoing=True))
        self._send_identity(chat_id, public_key)
        m.advertise_contact_code()
        await self._commit_and_queue(write)

    async def decline_contact_request(self, chat_key: str) -> None:
        """Decline ``chat_key``'s request (``DeclineContactRequest``): our half becomes
        DISMISSED; nothing is sent to them, their chat stays out of the chat list, and their
        later requests are dropped until we ask them ourselves."""
        m = self._m
        contact, _ = await self._someone(chat_key)
        if not contact.pending:
            raise NotPermitted(f"no pending contact request from {chat_key}")
        change = self._contact_book.declined(contact, m._tick())
        events = [contact_event(contact, outgoing=True)] if change.changed else []
        await m._commit(Write(events=events))

    async def retract_contact_request(self, chat_key: str) -> None:
        """Remove ``chat_key`` as a contact, or take back our request
        (``RetractContactRequest`` -> ``removeContact`` + ``sendRetractContactRequest``): both
        halves reset; a ``RetractContactRequest`` with a newer clock goes through data sync."""
        m = self._m
        contact, _ = await self._someone(chat_key)
        if not (contact.machine.added or contact.machine.has_added_us):
            raise NotPermitted(f"{chat_key} is no contact of ours")
        change = self._contact_book.retracted(contact, m._tick())
        retract = build_retract_contact_request(m._tick())
        write = Write(
            outbox_added=[self._sync(contact, MessageType.RETRACT_CONTACT_REQUEST, retract)]
        )
        if change.changed:
            write.events.append(contact_event(contact, outgoing=True))
        await self._commit_and_queue(write)

    # -- rich content -------------------------------------------------------------------------

    async def send_image(self, chat_key: str, image: bytes, caption: str = "") -> str:
        """Send a picture (PNG, JPEG, GIF or WebP bytes) 1:1, with an optional caption
        (status-go allows none in public chats)."""
        image_format = sniff_image_format(image)
        if image_format == ImageFormat.UNKNOWN_IMAGE_FORMAT:
            raise ContentRefused("not a PNG, JPEG, GIF or WebP picture")
        return await self._m._send_text(
            chat_key,
            caption,
            "",
            chat_message_pb2.ChatMessage.IMAGE,
            image=chat_message_pb2.ImageMessage(
                payload=image,
                format=int(image_format),  # type: ignore[arg-type]
            ),
        )

    # -- edits, deletes, pins -----------------------------------------------------------------

    async def _ours(self, message_id: str) -> tuple[StoredMessage, chat_message_pb2.ChatMessage]:
        stored = await self._m.database.message(message_id)
        if stored is None:
            raise UnknownMessage(f"no message {message_id}")
        if stored.author != self._m.chat_key:
            raise NotPermitted(f"message {message_id} is not ours")
        if stored.deleted:
            raise NotPermitted(f"message {message_id} is deleted")
        return stored, chat_message_pb2.ChatMessage.FromString(stored.body)

    def _dispatch(self, chat_id: str, kind: MessageType, payload: bytes, write: Write) -> None:
        """Send to a chat as status-go's ``dispatchMessage`` with the chat's default resend
        type: 1:1 and private groups through data sync (added to ``write``), public chats and
        community channels as they are (a channel's after ``CanPost``, before anything is
        kept: :mod:`pystatus.chat.community_actions`). Raises
        :class:`~pystatus.chat.community_chats.CommunityNotAllowed` for a channel we do not
        hold."""
        m = self._m
        wrapped = wrap(payload, kind, m._identity)
        chat = parse_chat_id(chat_id)
        if isinstance(chat, CommunityChatId):
            if not is_channel(m._communities, chat_id):
                raise CommunityNotAllowed(f"no community channel {chat_id[:140]!r}")
            now_ns = time.time_ns()
            m._perform_later(
                channel_publishes(
                    m._communities, m.session, m._identity, chat_id, wrapped, kind, now_ns
                )
            )
        elif isinstance(chat, GroupChatId):  # to each member through data sync
            write.outbox_added += m._group_entries(chat_id, wrapped)  # messenger_group.py
        elif isinstance(chat, PublicChatId):
            m._publish_public(chat_id, wrapped, None)
        elif chat.public_key == m._public_key:
            m._send_private(chat.public_key, wrapped)  # a note to self: to our other devices
        else:
            message_id = "0x" + wrapper_message_id(m._public_key, wrapped).hex()
            write.outbox_added.append(m._sync_entry(chat.public_key, message_id, wrapped))

    async def edit(self, message_id: str, text: str) -> None:
        """Replace the text of a message of ours (``EditMessage``): text, emoji, image
        captions and bridged messages may be edited; history shows the new text."""
        m = self._m
        stored, original = await self._ours(message_id)
        content_type = int(original.content_type)
        if content_type not in EDITABLE:
            raise NotPermitted(f"message {message_id} can't be edited")
        clock = m._tick()
        payload = build_edit(
            clock,
            original.chat_id,
            message_id,
            text,
            ChatMessageType(original.message_type),
            content_type=ContentType(content_type),
        )
        edited = apply_edit(
            stored,
            Edit(clock, original.chat_id, message_id, text, original.message_type, content_type),
        )
        write = Write(
            extra=Batch(edits=[EditRecord(message_id, edited.body, clock)]),
            events=[edit_event(edited, m.chat_key, clock, True)],
        )
        self._dispatch(stored.chat_id, MessageType.EDIT_MESSAGE, payload, write)
        await self._commit_and_queue(write)
        self._incoming.remember(edited)

    async def delete(self, message_id: str) -> None:
        """Delete a message for everyone (``DeleteMessageAndSend``): one of ours, or in a
        community channel anyone's when we are a privileged member there (owner or admin,
        ``CanDeleteMessageForEveryone``; the delete then names us in ``deleted_by``). Raises
        :class:`UnknownMessage`, :class:`NotPermitted`."""
        m = self._m
        deleted_by = ""
        found = await m.database.message(message_id)
        if (
            found is not None
            and found.author != m.chat_key
            and not found.deleted
            and may_delete_for_everyone(m._communities, found.chat_id, m._public_key)
        ):
            stored, original = found, chat_message_pb2.ChatMessage.FromString(found.body)
            deleted_by = member_key(m._public_key)
        else:
            stored, original = await self._ours(message_id)
        if int(original.content_type) not in DELETABLE:
            raise NotPermitted(f"message {message_id} can't be deleted")
        clock = m._tick()
        payload = build_delete(
            clock,
            original.chat_id,
            message_id,
            ChatMessageType(original.message_type),
            deleted_by=deleted_by,
        )
        write = Write(
            extra=Batch(deletes=[message_id]),
            events=[delete_event(stored, m.chat_key, clock, True)],
        )
        self._dispatch(stored.chat_id, MessageType.DELETE_MESSAGE, payload, write)
        await self._commit_and_queue(write)
        self._incoming.remember(dataclasses.replace(stored, deleted=True))

    async def pin(self, message_id: str, pinned: bool = True) -> None:
        """Pin a message in its chat, or unpin it (``SendPinMessage``); anyone in the chat
        may, but in a community channel only a privileged member (``CanPost`` for pins:
        :class:`~pystatus.chat.community_chats.ReadOnlyChannel` otherwise)."""
        m = self._m
        stored = await m.database.message(message_id)
        if stored is None:
            raise UnknownMessage(f"no message {message_id}")
        chat_id = stored.chat_id
        kind = CHAT_TYPES[type(parse_chat_id(chat_id))]
        clock = m._tick()
        payload = build_pin(clock, chat_id, message_id, kind, pinned=pinned)
        record = PinRecord(chat_id, message_id, pinned, clock, m.chat_key)
        write = Write(extra=Batch(pins=[record]), events=[pin_event(record, True)])
        self._dispatch(chat_id, MessageType.PIN_MESSAGE, payload, write)
        await self._commit_and_queue(write)
        self._incoming.pinned(record)

    async def pinned(self, chat_id: str) -> list[str]:
        """The ids of the messages pinned in a chat, the latest pin first."""
        return await self._m.database.pinned(chat_id)
