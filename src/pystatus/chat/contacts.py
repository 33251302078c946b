"""The account's contacts: each one's contact-request state, display name and latest request.

Each contact's request state is a :class:`~pystatus.chat.content.ContactRequestMachine`
(status-go's ``Contact`` in ``protocol/contact.go``), kept in a bounded cache in front of the
chat database and loaded from it on a miss. ``Contacts`` turns what arrives (contact
requests, other 1:1 messages, ``ContactUpdate``, ``AcceptContactRequest``,
``RetractContactRequest``, ``ChatIdentity``, a ``ContactCodeAdvertisement``'s identity) and
what we do (send, accept, decline, retract) into state changes and the replies status-go would
send, following the :class:`~pystatus.chat.content.ContactActions` each step returns.

Changed contacts are marked dirty and written by the next commit (:meth:`Contacts.flush`,
called when the messenger builds each batch), so the database always gets the latest state
whatever order writes were queued in; a dirty contact is never evicted.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pystatus.chat.content import (
    ChatContent,
    ChatIdentity,
    ContactActions,
    ContactRequestMachine,
    ContactRequestState,
    ContactUpdate,
)
from pystatus.chat.database import ChatDatabase, ContactRecord
from pystatus.chat.events import CONTACT, ChatEvent, ContactEvent
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.chat.wrapper import MessageType

log = logging.getLogger(__name__)

CACHE_SIZE = 4096
"""Contacts kept in memory; more are read from the database when needed."""

STATE_NAMES = {
    ContactRequestState.NONE: "none",
    ContactRequestState.MUTUAL: "mutual",
    ContactRequestState.SENT: "sent",
    ContactRequestState.RECEIVED: "received",
    ContactRequestState.DISMISSED: "dismissed",
}


def contact_id(public_key: bytes) -> str:
    """status-go's id of a contact and of its 1:1 chat: ``0x`` and the uncompressed key."""
    return "0x" + public_key.hex()


@dataclass(slots=True)
class Contact:
    chat_key: str
    machine: ContactRequestMachine
    added_at: int
    """When we first saw or added them (ns since the epoch)."""
    display_name: str = ""
    name_clock: int = 0
    """The clock of the message that told us ``display_name``."""
    request_id: str = ""
    """The id of their latest contact request (a made-up one when it came by contact update),
    the one we accept."""

    @property
    def id(self) -> str:
        """``0x04...``: the contact's key, which is also their 1:1 chat's id."""
        return self.machine.contact_id

    @property
    def state(self) -> str:
        return STATE_NAMES[self.machine.state]

    @property
    def pending(self) -> bool:
        """They asked us and we have neither accepted nor declined."""
        machine = self.machine
        return machine.has_added_us and machine.ours == ContactRequestState.NONE


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """One contact as the messenger lists them."""

    chat_key: str
    chat_id: str
    state: str
    """none, sent (we asked), received (they asked), mutual or dismissed (we declined)."""
    mutual: bool
    added: bool
    """We asked or accepted (status-go's ``added``)."""
    has_added_us: bool
    display_name: str
    request_id: str
    """Their latest contact request's message id (empty: none)."""


@dataclass(frozen=True, slots=True)
class ContactChange:
    """The outcome of one step for one contact."""

    contact: Contact
    actions: ContactActions
    changed: bool
    """Its request state (as one word) or display name changed: worth a ``contact`` event."""
    replies: tuple[MessageType, ...] = ()
    """What to send the contact now, in order (``CONTACT_UPDATE``, ``ACCEPT_CONTACT_REQUEST``,
    ``RETRACT_CONTACT_REQUEST``, ``CHAT_IDENTITY``, ``CHAT_MESSAGE``: the request)."""
    new_request: bool = False
    """A request reached us that no message of theirs carried: status-go makes one up."""


def info(contact: Contact) -> ContactInfo:
    machine = contact.machine
    return ContactInfo(
        contact.chat_key,
        contact.id,
        contact.state,
        machine.mutual,
        machine.added,
        machine.has_added_us,
        contact.display_name,
        contact.request_id,
    )


def contact_event(contact: Contact, *, outgoing: bool) -> ChatEvent:
    """A ``contact`` event: its request state or display name changed (``outgoing``: by our
    doing)."""
    machine = contact.machine
    return ContactEvent(
        contact.chat_key,
        contact.id,
        contact.chat_key,
        contact.display_name,
        max(machine.our_clock, machine.their_clock, contact.name_clock),
        0,
        "",
        outgoing,
        kind=CONTACT,
        display_name=contact.display_name,
        contact_state=contact.state,
    )


def _encode(contact: Contact) -> str:
    machine = contact.machine
    return json.dumps(
        {
            "ours": int(machine.ours),
            "our_clock": machine.our_clock,
            "theirs": int(machine.theirs),
            "their_clock": machine.their_clock,
            "last_updated": machine.last_updated,
            "request_id": contact.request_id,
        },
        separators=(",", ":"),
    )


def _decode(record: ContactRecord) -> Contact:
    public_key = public_key_from_chat_key_text(record.chat_key)
    fields: dict[str, Any] = {}
    if record.request_state:
        try:
            fields = json.loads(record.request_state)
            machine = ContactRequestMachine(
                contact_id(public_key),
                ours=ContactRequestState(fields["ours"]),
                our_clock=int(fields["our_clock"]),
                theirs=ContactRequestState(fields["theirs"]),
                their_clock=int(fields["their_clock"]),
                last_updated=int(fields["last_updated"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("contact %s: unreadable request state (%s), reset", record.chat_key, exc)
            fields = {}
            machine = ContactRequestMachine(contact_id(public_key))
    else:
        machine = ContactRequestMachine(contact_id(public_key))
    return Contact(
        record.chat_key,
        machine,
        record.added_at,
        record.display_name,
        record.name_clock,
        str(fields.get("request_id") or ""),
    )


@dataclass(frozen=True, slots=True)
class _Before:
    state: ContactRequestState
    name: str


class Contacts:
    """Every contact's request state and display name, cached in front of the database."""

    def __init__(self, database: ChatDatabase, *, capacity: int = CACHE_SIZE) -> None:
        self._db = database
        self._capacity = capacity
        self._cache: OrderedDict[str, Contact] = OrderedDict()
        self._dirty: dict[str, Contact] = {}
        # Flushed to the commit under way: read from here until the next flush.
        self._in_flight: dict[str, ContactRecord] = {}

    # -- loading and saving ---------------------------------------------------------------

    async def get(self, chat_key: str) -> Contact:
        """The contact (a new one, unsaved, if we never met them)."""
        contact = await self.known(chat_key)
        if contact is None:
            public_key = public_key_from_chat_key_text(chat_key)
            contact = self._remember(
                Contact(chat_key, ContactRequestMachine(contact_id(public_key)), time.time_ns())
            )
        return contact

    async def get_by_key(self, public_key: bytes) -> Contact:
        return await self.get(chat_key_text(public_key))

    async def known(self, chat_key: str) -> Contact | None:
        """The contact if we have a record of them."""
        contact = self._cache.get(chat_key)
        if contact is not None:
            self._cache.move_to_end(chat_key)
            return contact
        record = self._in_flight.get(chat_key)
        if record is None:
            record = await self._db.contact_record(chat_key)
            if chat_key in self._cache:  # loaded meanwhile by someone else
                return self._cache[chat_key]
        return self._remember(_decode(record)) if record is not None else None

    def _remember(self, contact: Contact) -> Contact:
        self._cache[contact.chat_key] = contact
        if len(self._cache) > self._capacity:
            for key in list(self._cache):
                if len(self._cache) <= self._capacity:
                    break
                if key not in self._dirty and key != contact.chat_key:
                    del self._cache[key]
        return contact

    def touch(self, contact: Contact) -> None:
        """``contact`` changed: the next commit writes it."""
        self._dirty[contact.chat_key] = contact

    def flush(self) -> list[ContactRecord]:
        """The records of every contact changed since the last flush, for the commit being
        built (the messenger calls this for each batch)."""
        records = [
            ContactRecord(c.chat_key, c.added_at, _encode(c), c.display_name, c.name_clock)
            for c in self._dirty.values()
        ]
        self._dirty.clear()
        self._in_flight = {r.chat_key: r for r in records}
        return records

    async def all(self) -> list[ContactInfo]:
        """Everyone we have a record of, the earliest met first."""
        found = []
        for record in await self._db.contact_records():
            contact = self._cache.get(record.chat_key) or self._dirty.get(record.chat_key)
            found.append(info(contact if contact is not None else _decode(record)))
        known = {i.chat_key for i in found}
        found += [info(c) for c in self._dirty.values() if c.chat_key not in known]
        return found

    # -- names ----------------------------------------------------------------------------

    def learn_name(self, contact: Contact, name: str, clock: int) -> bool:
        """A display name they sent at ``clock``; taken when not empty, different and not
        older than the one we have (status-go takes any different one; the clock keeps an old
        message fetched late from undoing a newer name)."""
        if not name or name == contact.display_name or clock < contact.name_clock:
            return False
        contact.display_name = name
        contact.name_clock = clock
        self.touch(contact)
        return True

    # -- steps ----------------------------------------------------------------------------

    def _begin(self, contact: Contact) -> _Before:
        return _Before(contact.machine.state, contact.display_name)

    def _end(
        self,
        contact: Contact,
        before: _Before,
        actions: ContactActions,
        replies: tuple[MessageType, ...] = (),
        *,
        new_request: bool = False,
    ) -> ContactChange:
        changed = contact.machine.state != before.state or contact.display_name != before.name
        if actions.processed or changed:
            self.touch(contact)
        return ContactChange(contact, actions, changed, replies, new_request)

    def _back(self, contact: Contact, actions: ContactActions) -> tuple[MessageType, ...]:
        """status-go's ``sendContactUpdate`` answers an out-of-date propagated state only to
        contacts we added."""
        wanted = MessageType.CONTACT_UPDATE in actions.send
        return (MessageType.CONTACT_UPDATE,) if wanted and contact.machine.added else ()

    def received_message(
        self, contact: Contact, message_id: str, content: ChatContent
    ) -> ContactChange:
        """Another 1:1 chat message from them (``handleChatMessage``)."""
        before = self._begin(contact)
        self.learn_name(contact, content.display_name, content.clock)
        actions = contact.machine.on_received_message(
            content.clock, propagated=content.propagated_state
        )
        if actions.to_requests:
            # Their propagated state says they asked: this message stands for the request.
            contact.request_id = message_id
        return self._end(contact, before, actions, self._back(contact, actions))

    def received_request(
        self, contact: Contact, message_id: str, content: ChatContent, *, outgoing: bool = False
    ) -> ContactChange:
        """A contact request (a chat message of content type ``CONTACT_REQUEST``) from them,
        or, ``outgoing``, ours sent from another of our devices (``handleChatMessage`` and
        ``handleContactRequestChatMessage``)."""
        before = self._begin(contact)
        if not outgoing:
            self.learn_name(contact, content.display_name, content.clock)
        actions = contact.machine.on_received_request(
            content.clock, propagated=content.propagated_state, outgoing=outgoing
        )
        if actions.show_message and not outgoing:
            contact.request_id = message_id
        return self._end(contact, before, actions, self._back(contact, actions))

    def received_update(self, contact: Contact, update: ContactUpdate) -> ContactChange:
        """A ``ContactUpdate`` from them (``HandleContactUpdate``): their name when newer,
        their request state."""
        before = self._begin(contact)
        actions = contact.machine.on_contact_update(update)
        if (
            actions.profile_updated
            and update.display_name
            and (update.display_name != contact.display_name)
        ):
            contact.display_name = update.display_name
            contact.name_clock = max(contact.name_clock, update.clock)
        new_request = actions.request_state is not None
        return self._end(
            contact, before, actions, self._back(contact, actions), new_request=new_request
        )

    def received_accept(
        self, contact: Contact, clock: int, request_chat_id: str | None
    ) -> ContactChange:
        """An ``AcceptContactRequest`` from them (``handleAcceptContactRequestMessage``);
        ``request_chat_id``: the chat of the request it names, when we have it."""
        before = self._begin(contact)
        actions = contact.machine.on_received_accept(
            clock,
            request_chat_id=request_chat_id,
            request_accepted=before.state == (ContactRequestState.MUTUAL),
        )
        return self._end(contact, before, actions)

    def received_retract(self, contact: Contact, clock: int) -> ContactChange:
        """A ``RetractContactRequest`` from them (``handleRetractContactRequest``)."""
        before = self._begin(contact)
        return self._end(contact, before, contact.machine.on_received_retract(clock))

    def received_identity(self, contact: Contact, identity: ChatIdentity) -> ContactChange:
        """Their ``ChatIdentity`` (alone or in a contact-code advertisement;
        ``HandleChatIdentity``): the display name, when its clock is newer."""
        before = self._begin(contact)
        self.learn_name(contact, identity.display_name, identity.clock)
        return self._end(contact, before, ContactActions())

    def sent_request(self, contact: Contact, clock: int) -> ContactChange:
        """We ask them (``SendContactRequest`` -> ``addContact``)."""
        before = self._begin(contact)
        actions = contact.machine.on_sent_request(clock)
        return self._end(contact, before, actions, actions.send)

    def accepted(self, contact: Contact, clock: int) -> ContactChange:
        """We accept their request (``AcceptContactRequest``)."""
        before = self._begin(contact)
        actions = contact.machine.on_accept(clock)
        return self._end(contact, before, actions, actions.send)

    def declined(self, contact: Contact, clock: int) -> ContactChange:
        """We decline their request (``DeclineContactRequest``): nothing is sent."""
        before = self._begin(contact)
        actions = contact.machine.on_decline(clock)
        return self._end(contact, before, actions, actions.send)

    def retracted(self, contact: Contact, clock: int) -> ContactChange:
        """We remove them (``RetractContactRequest``)."""
        before = self._begin(contact)
        actions = contact.machine.on_retract(clock)
        return self._end(contact, before, actions, actions.send)
