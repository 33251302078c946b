"""What arrives, by wrapper type, as status-go v1.1.0's handlers take it.

Each received wrapped message is read at once (``parse_*`` from :mod:`pystatus.chat.content`:
what status-go's validators reject raises, a counted drop), and the rest, which needs the
database (the contact's state, the edited message), runs in the messenger's writer in arrival
order (:attr:`~pystatus.chat.writes.Write.resolve`), filling in what that write stores and
announces and what it sends back once committed. The rules, from status-go's
``protocol/messenger_handler.go``:

- chat messages (``handleChatMessage``): filed by ``matchChatEntity`` (a 1:1 message under
  its author's key, ours under the chat it names; public ones under their chat, which must be
  the one whose topic brought them); a 1:1 chat with someone we did not add stays inactive, in
  "requests"; a contact request, or the propagated state on any 1:1 message, moves the
  contact's request state; the display name a message carries is learnt;
- edits and deletes (``handleEditMessage``, ``handleDeleteMessage``): only the author's, an
  edit only when newer than the last; one that comes before its message waits for it
  (``checkForEdits``, ``checkForDeletes``; kept in memory here, bounded);
- pins (``handlePinMessage``): anyone in the chat, the newest clock wins;
- contact updates, acceptances, retractions (``HandleContactUpdate``,
  ``handleAcceptContactRequestMessage``, ``handleRetractContactRequest``): ignored when our own
  key signed them, except an acceptance from another of our devices, which we apply;
- chat identities and contact-code advertisements (``HandleChatIdentity``): the display name,
  when newer; those on public topics only for people we already know.

Messages in public chats carry their author's display name in the event; pystatus learns it
into the contact book only from 1:1 traffic (anyone can write in a public chat).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pystatus.chat.community_actions import may_delete_for_everyone
from pystatus.chat.community_actions import take as take_channel_action
from pystatus.chat.contacts import Contact, ContactChange, contact_event
from pystatus.chat.content import DEFAULT_CONTACT_REQUEST_TEXT as REQUEST_TEXT
from pystatus.chat.content import (
    ChatContent,
    ChatIdentity,
    ChatMessageType,
    ContactUpdate,
    ContentType,
    Delete,
    Edit,
    InvalidContent,
    Pin,
    check_delete,
    check_edit,
    default_contact_request_id,
    local_chat_id,
    parse_accept_contact_request,
    parse_chat_identity,
    parse_chat_message,
    parse_contact_code_advertisement,
    parse_contact_update,
    parse_delete,
    parse_edit,
    parse_pin,
    parse_retract_contact_request,
)
from pystatus.chat.database import Batch, ChatRow, EditRecord, PinRecord, StoredMessage
from pystatus.chat.events import (
    DELETE,
    EDIT,
    PIN,
    ChatEvent,
    DeleteEvent,
    EditEvent,
    PinEvent,
    message_event,
    message_text,
)
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.wrapper import MessageType, Unwrapped
from pystatus.chat.writes import Write
from pystatus.errors import ChatError, WakuError

if TYPE_CHECKING:
    from pystatus.chat.messenger import Messenger

ONE_TO_ONE = "one_to_one"
RECENT = 1024
"""Messages stored lately, kept for edits and deletes that follow them in the same batch."""
WAITING = 1024
"""Edits and deletes kept until the message they name arrives (the oldest forgotten)."""

Resolve = Callable[[Write], Awaitable[None]]
T = TypeVar("T")


def apply_edit(stored: StoredMessage, edit: Edit) -> StoredMessage:
    """``stored`` with ``edit`` applied, as status-go's ``applyEditMessage``: the new text
    (a bridged message's content), the new content type unless unknown, the edit's clock."""
    message = chat_message_pb2.ChatMessage.FromString(stored.body)
    if int(edit.content_type) == ContentType.BRIDGE_MESSAGE:
        message.bridge_message.content = edit.text
    else:
        message.text = edit.text
    if int(edit.content_type) != ContentType.UNKNOWN_CONTENT_TYPE:
        message.content_type = int(edit.content_type)  # type: ignore[assignment]
    return dataclasses.replace(stored, body=message.SerializeToString(), edited_at=edit.clock)


def edit_event(stored: StoredMessage, editor: str, clock: int, outgoing: bool) -> ChatEvent:
    message = chat_message_pb2.ChatMessage.FromString(stored.body)
    return EditEvent(
        stored.id,
        stored.chat_id,
        editor,
        message_text(message),
        clock,
        0,
        message.response_to,
        outgoing,
        kind=EDIT,
        content_type=message.content_type,
        edited=True,
        pinned=stored.pinned,
    )


def delete_event(stored: StoredMessage, deleter: str, clock: int, outgoing: bool) -> ChatEvent:
    return DeleteEvent(
        stored.id, stored.chat_id, deleter, "", clock, 0, "", outgoing, kind=DELETE, deleted=True
    )


def pin_event(pin: PinRecord, outgoing: bool) -> ChatEvent:
    return PinEvent(
        pin.message_id,
        pin.chat_id,
        pin.author,
        "",
        pin.clock,
        0,
        "",
        outgoing,
        kind=PIN,
        pinned=pin.pinned,
    )


class Incoming:
    """The messenger's receive side for everything but reactions."""

    def __init__(self, messenger: Messenger) -> None:
        self._m = messenger
        self._recent: OrderedDict[str, StoredMessage] = OrderedDict()
        self._edits: OrderedDict[str, list[tuple[str, Edit]]] = OrderedDict()
        self._deletes: OrderedDict[str, list[str]] = OrderedDict()
        self._pins: OrderedDict[tuple[str, str], int] = OrderedDict()

    # -- what is read at once ---------------------------------------------------------------

    def handler(
        self,
        message: Unwrapped,
        public_chat: str | None,
        outgoing: bool,
        *,
        contact_code: bool = False,
    ) -> Resolve | None:
        """Read ``message`` (raising :class:`ChatError` when status-go would reject it);
        the step to run in the writer, or None for what we ignore (then only acknowledged).
        ``public_chat``: the public chat whose topic brought it; ``contact_code``: it came
        on someone's contact-code topic; ``outgoing``: our own key signed it."""
        kind, payload, author = message.type, message.payload, message.author
        one_to_one = public_chat is None and not contact_code
        step: Callable[..., Awaitable[None]]
        if contact_code:
            if kind != MessageType.CONTACT_CODE_ADVERTISEMENT or outgoing:
                return None
            identity = parse_contact_code_advertisement(payload).chat_identity
            if identity is None:
                return None
            step = functools.partial(self._identity, author, identity, False)
        elif kind == MessageType.CHAT_MESSAGE:
            content = parse_chat_message(payload)
            chat_id = self._chat_of(content.message_type, content.chat_id, author, public_chat)
            step = functools.partial(self._chat_message, message, content, chat_id, outgoing)
        elif kind == MessageType.EDIT_MESSAGE:
            step = functools.partial(self._edit, author, parse_edit(payload), outgoing)
        elif kind == MessageType.DELETE_MESSAGE:
            step = functools.partial(self._delete, author, parse_delete(payload), outgoing)
        elif kind == MessageType.PIN_MESSAGE:
            pin = parse_pin(payload)
            chat_id = self._chat_of(pin.message_type, pin.chat_id, author, public_chat, kind)
            step = functools.partial(self._pin, author, pin, chat_id, outgoing)
        elif kind == MessageType.CHAT_IDENTITY and not outgoing:
            step = functools.partial(
                self._identity, author, parse_chat_identity(payload), one_to_one
            )
        elif not one_to_one:
            return None
        elif kind == MessageType.CONTACT_UPDATE and not outgoing:
            step = functools.partial(self._contact_update, author, parse_contact_update(payload))
        elif kind == MessageType.ACCEPT_CONTACT_REQUEST:
            accept = parse_accept_contact_request(payload)
            step = functools.partial(self._accept, author, accept.id, accept.clock, outgoing)
        elif kind == MessageType.RETRACT_CONTACT_REQUEST and not outgoing:
            retract = parse_retract_contact_request(payload)
            step = functools.partial(self._retract, author, retract.clock)
        else:
            return None
        return self._guarded(step)

    def _chat_of(
        self,
        message_type: int,
        chat_id: str,
        author: bytes,
        public_chat: str | None,
        kind: int = MessageType.CHAT_MESSAGE,
    ) -> str:
        """The chat a message, edit or pin files under (``matchChatEntity``)."""
        if message_type == ChatMessageType.COMMUNITY_CHAT:  # community_actions.py
            communities = self._m._communities
            if public_chat is None or not take_channel_action(
                communities, author, kind, chat_id, message_type, public_chat
            ):
                raise InvalidContent("not what its author may send in that channel")
            return public_chat
        if public_chat is not None:
            if message_type != ChatMessageType.PUBLIC_GROUP or chat_id != public_chat:
                raise InvalidContent("not a message of the public chat whose topic it came on")
            return public_chat
        if message_type == ChatMessageType.PRIVATE_GROUP:  # matchChatEntity: a member's
            if not self._m._group_member(chat_id, author):
                raise InvalidContent("not from a member of that group")
            return chat_id
        if message_type != ChatMessageType.ONE_TO_ONE:
            raise InvalidContent(f"no 1:1 chat takes messages of type {message_type}")
        found = local_chat_id(message_type, chat_id, author=author, me=self._m._public_key)
        return "0x" + found[2:].lower()

    def _guarded(self, step: Callable[..., Awaitable[None]]) -> Resolve:
        async def resolve(write: Write) -> None:
            ack = write.after
            try:
                await step(write)
            except (ChatError, WakuError, ValueError) as exc:
                write.stored, write.event, write.extra, write.after = None, None, None, ack
                write.events, write.outbox_added = [], []
                self._m._drop("a received message", exc, None)

        return resolve

    # -- the caches -------------------------------------------------------------------------

    def remember(self, stored: StoredMessage) -> None:
        """``stored`` as it is now (received, edited, deleted)."""
        self._recent[stored.id] = stored
        self._recent.move_to_end(stored.id)
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    async def _message(self, message_id: str) -> StoredMessage | None:
        found = self._recent.get(message_id)
        return found if found is not None else await self._m.database.message(message_id)

    async def _have(self, message_id: str) -> bool:
        return message_id in self._recent or await self._m.database.has_message(message_id)

    @staticmethod
    def _wait(waiting: OrderedDict[str, list[T]], message_id: str, item: T) -> None:
        waiting.setdefault(message_id, []).append(item)
        waiting.move_to_end(message_id)
        if len(waiting) > WAITING:
            waiting.popitem(last=False)

    def _with_waiting(self, stored: StoredMessage) -> StoredMessage:
        """Apply the edits and deletes that came before ``stored`` (``checkForEdits``: an
        edit at least as new as the message, by its author; ``checkForDeletes``)."""
        for editor, edit in sorted(self._edits.pop(stored.id, []), key=lambda e: e[1].clock):
            if editor == stored.author and edit.clock >= stored.clock:
                stored = apply_edit(stored, edit)
        deleters = self._deletes.pop(stored.id, [])
        if stored.author in deleters or any(self._moderates(stored.chat_id, d) for d in deleters):
            stored = dataclasses.replace(stored, deleted=True)
        return stored

    def _moderates(self, chat_id: str, deleter: str) -> bool:
        """Whether ``deleter`` (a chat key) may delete others' messages in ``chat_id``: a
        community channel's privileged member (:mod:`pystatus.chat.community_actions`)."""
        try:
            key = public_key_from_chat_key_text(deleter)
        except ChatError:
            return False
        return may_delete_for_everyone(self._m._communities, chat_id, key)

    def arrived(self, stored: StoredMessage) -> StoredMessage:
        """A message received by another path (a community channel's post): the edits and
        deletes that came before it applied, and remembered as it is now."""
        stored = self._with_waiting(stored)
        self.remember(stored)
        return stored

    # -- contacts -----------------------------------------------------------------------------

    def _follow(self, write: Write, change: ContactChange, *, outgoing: bool = False) -> None:
        """A contact's step: its event, and what status-go sends back (a contact update
        when they are behind on our half)."""
        if change.changed:
            write.events.append(contact_event(change.contact, outgoing=outgoing))
        if MessageType.CONTACT_UPDATE in change.replies and not outgoing:
            entry = self._m._contact_update_entry(change.contact)
            write.outbox_added.append(entry)
            write.then(functools.partial(self._m._queue_sync, entry))

    async def _contact(self, public_key: bytes) -> Contact:
        return await self._m._contact_book.get(chat_key_text(public_key))

    # -- the steps ----------------------------------------------------------------------------

    async def _chat_message(
        self,
        message: Unwrapped,
        content: ChatContent,
        chat_id: str,
        outgoing: bool,
        write: Write,
    ) -> None:
        message_id = "0x" + message.message_id.hex()
        if await self._have(message_id):
            return  # seen before (sent again, or fetched from the store): acknowledged only
        self._m._observe(content.clock)
        extra = Batch()
        show = True
        if chat_id.startswith("0x"):
            contact = await self._contact(bytes.fromhex(chat_id[2:]))
            book = self._m._contact_book
            change: ContactChange | None = None
            if int(content.content_type) == ContentType.CONTACT_REQUEST:
                change = book.received_request(contact, message_id, content, outgoing=outgoing)
            elif not outgoing:
                change = book.received_message(contact, message_id, content)
            if change is not None:
                show = change.actions.show_message
                self._follow(write, change, outgoing=outgoing)
            # matchChatEntity: our own messages, and those of people we added, are shown.
            active = outgoing or contact.machine.added
            extra.chats.append(ChatRow(chat_id, ONE_TO_ONE, contact.chat_key, active))
        write.extra = extra
        if not show:
            return  # status-go drops a request from a contact or from someone we declined
        stored = self._with_waiting(
            StoredMessage(
                message_id,
                chat_id,
                chat_key_text(message.author),
                content.clock,
                content.timestamp,
                message.payload,
            )
        )
        self.remember(stored)
        write.stored = stored
        body = chat_message_pb2.ChatMessage.FromString(stored.body)
        write.event = message_event(stored, body, outgoing)

    async def _edit(self, author: bytes, edit: Edit, outgoing: bool, write: Write) -> None:
        editor = chat_key_text(author)
        target = await self._message(edit.message_id)
        if target is None:
            self._wait(self._edits, edit.message_id, (editor, edit))
            return
        if not check_edit(edit, editor=editor, author=target.author, edited_at=target.edited_at):
            return  # not newer than the last edit
        edited = apply_edit(target, edit)
        self.remember(edited)
        write.extra = Batch(edits=[EditRecord(edited.id, edited.body, edit.clock)])
        write.events.append(edit_event(edited, editor, edit.clock, outgoing))

    async def _delete(self, author: bytes, delete: Delete, outgoing: bool, write: Write) -> None:
        deleter = chat_key_text(author)
        target = await self._message(delete.message_id)
        if target is None:
            self._wait(self._deletes, delete.message_id, deleter)
            return
        admin = may_delete_for_everyone(self._m._communities, target.chat_id, author)
        check_delete(delete, deleter=deleter, author=target.author, admin=admin)
        if target.deleted:
            return
        self.remember(dataclasses.replace(target, deleted=True))
        write.extra = Batch(deletes=[target.id])
        write.events.append(delete_event(target, deleter, delete.clock, outgoing))

    async def _pin(
        self, author: bytes, pin: Pin, chat_id: str, outgoing: bool, write: Write
    ) -> None:
        key = (chat_id, pin.message_id)
        last = self._pins.get(key)
        if last is None:
            last = await self._m.database.pin_clock(chat_id, pin.message_id)
        if pin.clock <= last:
            return  # an older pin or unpin (SavePinMessage keeps the newest)
        record = PinRecord(chat_id, pin.message_id, pin.pinned, pin.clock, chat_key_text(author))
        self.pinned(record)
        write.extra = Batch(pins=[record])
        write.events.append(pin_event(record, outgoing))

    def pinned(self, record: PinRecord) -> None:
        """A pin or unpin as it is now."""
        self._pins[(record.chat_id, record.message_id)] = record.clock
        if len(self._pins) > RECENT:
            self._pins.popitem(last=False)
        target = self._recent.get(record.message_id)
        if target is not None and target.chat_id == record.chat_id:
            self._recent[record.message_id] = dataclasses.replace(target, pinned=record.pinned)

    async def _identity(
        self, author: bytes, identity: ChatIdentity, anyone: bool, write: Write
    ) -> None:
        """A chat identity: from anyone over 1:1, else only about people we know."""
        book = self._m._contact_book
        key = chat_key_text(author)
        contact = await book.get(key) if anyone else await book.known(key)
        if contact is not None:
            self._follow(write, book.received_identity(contact, identity))

    async def _contact_update(self, author: bytes, update: ContactUpdate, write: Write) -> None:
        contact = await self._contact(author)
        change = self._m._contact_book.received_update(contact, update)
        self._follow(write, change)
        active = contact.machine.added or bool(change.actions.chat_active)
        write.extra = Batch(chats=[ChatRow(contact.id, ONE_TO_ONE, contact.chat_key, active)])
        if change.new_request:
            await self._made_up_request(contact, write)

    async def _made_up_request(self, contact: Contact, write: Write) -> None:
        """A request learnt from a contact update has no message: status-go makes one up
        (``createContactRequestForContactUpdate``)."""
        request_id = default_contact_request_id(contact.id)
        contact.request_id = request_id
        self._m._contact_book.touch(contact)
        if await self._have(request_id):
            return
        now_ms = time.time_ns() // 10**6
        body = chat_message_pb2.ChatMessage(
            clock=contact.machine.their_clock,
            timestamp=now_ms,
            text=REQUEST_TEXT,
            chat_id=contact.id,
            message_type=chat_message_pb2.ONE_TO_ONE,
            content_type=chat_message_pb2.ChatMessage.CONTACT_REQUEST,
        )
        stored = StoredMessage(
            request_id,
            contact.id,
            contact.chat_key,
            body.clock,
            now_ms,
            body.SerializeToString(),
        )
        self.remember(stored)
        write.stored = stored
        write.event = message_event(stored, body, False)

    async def _accept(
        self, author: bytes, request_id: str, clock: int, outgoing: bool, write: Write
    ) -> None:
        book = self._m._contact_book
        request = await self._message(request_id) if request_id else None
        if outgoing:
            # Another of our devices accepted: the request it names says whose.
            if request is None or not request.chat_id.startswith("0x"):
                return
            contact = await book.get(chat_key_text(bytes.fromhex(request.chat_id[2:])))
            change = book.accepted(contact, clock)
        else:
            contact = await self._contact(author)
            change = book.received_accept(
                contact, clock, request.chat_id if request is not None else None
            )
        self._follow(write, change, outgoing=outgoing)
        if change.actions.chat_active:
            write.extra = Batch(chats=[ChatRow(contact.id, ONE_TO_ONE, contact.chat_key)])

    async def _retract(self, author: bytes, clock: int, write: Write) -> None:
        contact = await self._contact(author)
        self._follow(write, self._m._contact_book.received_retract(contact, clock))
