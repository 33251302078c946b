"""The contact-request state of one contact as a sans-IO machine
(:class:`ContactRequestMachine`), whose ``on_*`` methods say what status-go would send, show
and notify for each step (:class:`ContactActions`)."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.chat.content.contact_transitions import OUR_CLOCK_EVENTS, TRANSITIONS, ContactEvent
from pystatus.chat.content.contacts import ContactUpdate, PropagatedState, build_contact_update
from pystatus.chat.content.devices import SyncedContact
from pystatus.chat.content.enums import (
    CUSTOMIZATION_COLOR_BLUE,
    ContactRequestState,
    MutualEvent,
    RequestMessageState,
)
from pystatus.chat.content.errors import InvalidContent
from pystatus.chat.wrapper import MessageType


@dataclass(frozen=True, slots=True)
class ContactActions:
    """What status-go does after one step of a contact's request state."""

    processed: bool = False
    """The step was new (its clock beat the one it is judged against) and was applied."""
    send: tuple[MessageType, ...] = ()
    """Payloads to send the contact, in status-go's order. A ``CHAT_MESSAGE`` here is the
    contact request itself (content type ``CONTACT_REQUEST``); ``CHAT_IDENTITY`` status-go
    sends only when none went to this chat lately; ``CONTACT_UPDATE`` is
    :meth:`ContactRequestMachine.contact_update`."""
    sync: tuple[MessageType, ...] = ()
    """Payloads for the account's own other devices (when it has any)."""
    chat_active: bool | None = None
    """True: the 1:1 chat becomes visible; None: it stays as it was (status-go never hides it
    here: a chat with a stranger stays hidden until they become a contact)."""
    to_requests: bool = False
    """A new incoming request: status-go files it in the contact-requests inbox (an
    activity-centre notification) rather than the chat list."""
    show_message: bool = True
    """For received chat messages: False when status-go drops the message altogether."""
    request_state: RequestMessageState | None = None
    """The state the contact-request message concerned takes (None: unchanged / none)."""
    mutual_event: MutualEvent | None = None
    """The system message status-go adds to the 1:1 chat ("... sent you a contact request",
    "You accepted ...", "... removed you as a contact"): incoming for ``on_received_*``,
    outgoing otherwise."""
    profile_updated: bool = False
    """For contact updates: the display name, ENS name and colour it carries are newer than
    what we have, and replace it."""


class ContactRequestMachine:
    """The contact-request state status-go keeps for one contact (``Contact`` in
    ``protocol/contact.go``): our half and theirs, each with its Lamport clock, and the clock
    of their last profile update. Sans-IO: each ``on_*`` method takes the step's clock, moves
    the state through :data:`TRANSITIONS` and says what to do in a :class:`ContactActions`.

    The rules are status-go v1.1.0's, from ``protocol/messenger_contacts.go`` (our actions)
    and ``protocol/messenger_handler.go`` (received ones); each method names its source. Not
    modelled: blocking, and the contact sync of clients too old to send request clocks.
    """

    def __init__(
        self,
        contact_id: str,
        *,
        ours: ContactRequestState = ContactRequestState.NONE,
        our_clock: int = 0,
        theirs: ContactRequestState = ContactRequestState.NONE,
        their_clock: int = 0,
        last_updated: int = 0,
    ) -> None:
        if (ours, theirs) not in TRANSITIONS:
            raise ValueError(f"no contact is in the state ({ours!r}, {theirs!r})")
        self.contact_id = contact_id
        """The contact's ``0x04...`` key: their 1:1 chat's id."""
        self._ours = ours
        self._theirs = theirs
        self._our_clock = our_clock
        self._their_clock = their_clock
        self._last_updated = last_updated

    # ---- the state ---------------------------------------------------------------------

    @property
    def ours(self) -> ContactRequestState:
        """Our half: NONE, SENT (we added them) or DISMISSED (we declined)."""
        return self._ours

    @property
    def theirs(self) -> ContactRequestState:
        """Their half as we know it: NONE or RECEIVED (they added us)."""
        return self._theirs

    @property
    def our_clock(self) -> int:
        return self._our_clock

    @property
    def their_clock(self) -> int:
        return self._their_clock

    @property
    def last_updated(self) -> int:
        """The clock of the last contact update from them we took."""
        return self._last_updated

    @property
    def added(self) -> bool:
        return self._ours == ContactRequestState.SENT

    @property
    def has_added_us(self) -> bool:
        return self._theirs == ContactRequestState.RECEIVED

    @property
    def mutual(self) -> bool:
        """A contact: both added (the request was accepted)."""
        return self.added and self.has_added_us

    @property
    def dismissed(self) -> bool:
        return self._ours == ContactRequestState.DISMISSED

    @property
    def state(self) -> ContactRequestState:
        """One word for the contact, as status-go reports it (``Contact.MarshalJSON``):
        MUTUAL, else DISMISSED, else SENT, else RECEIVED, else NONE."""
        if self.mutual:
            return ContactRequestState.MUTUAL
        if self.dismissed:
            return ContactRequestState.DISMISSED
        if self.added:
            return ContactRequestState.SENT
        if self.has_added_us:
            return ContactRequestState.RECEIVED
        return ContactRequestState.NONE

    def propagated_state(self) -> PropagatedState:
        """What to put on every 1:1 chat message and contact update we send them
        (``Contact.ContactRequestPropagatedState``)."""
        return PropagatedState(self._our_clock, self._ours, self._their_clock, self._theirs)

    def contact_update(
        self,
        clock: int,
        *,
        display_name: str = "",
        ens_name: str = "",
        profile_image: str = "",
        customization_color: int = CUSTOMIZATION_COLOR_BLUE,
    ) -> bytes:
        """The ``ContactUpdate`` status-go's ``sendContactUpdate`` sends this contact: our
        profile with our request clock, our propagated state, and their key."""
        return build_contact_update(
            clock,
            display_name=display_name,
            ens_name=ens_name,
            profile_image=profile_image,
            contact_request_clock=self._our_clock,
            propagated_state=self.propagated_state(),
            public_key=self.contact_id,
            customization_color=customization_color,
        )

    def handle(self, event: ContactEvent, clock: int) -> bool:
        """Apply one event at Lamport ``clock``; False (and no change) when the clock is not
        newer than the one the event is judged against, or the event does not apply."""
        ours_judged = event in OUR_CLOCK_EVENTS
        if clock <= (self._our_clock if ours_judged else self._their_clock):
            return False
        target = TRANSITIONS[(self._ours, self._theirs)].get(event)
        if target is None:
            return False
        had_declined = self.dismissed
        self._ours, self._theirs = target
        if ours_judged:
            self._our_clock = clock
        else:
            self._their_clock = clock
        if event is ContactEvent.RETRACT:
            self._their_clock = clock
        if event is ContactEvent.RECEIVE_RETRACT and not had_declined:
            self._our_clock = clock
        return True

    def _propagate(
        self, state: PropagatedState | None
    ) -> tuple[bool, tuple[MessageType, ...], bool]:
        """``ContactRequestPropagatedStateReceived``: their view of both halves (their "local"
        is our "remote"), if the message carries it. Returns (processed, what to send back: a
        contact update when they are behind on our half, new request)."""
        processed = send_back = new_request = False
        if state is None:
            return processed, (), new_request
        if state.remote_clock < self._our_clock and state.remote_state != self._ours:
            processed = send_back = True  # they are behind on our half: tell them
        if state.remote_state == ContactRequestState.NONE and self.handle(
            ContactEvent.IMPLICIT_RETRACT, state.remote_clock
        ):
            processed = True
        if state.local_clock > self._their_clock:
            if state.local_state == ContactRequestState.SENT:
                had_added_us = self.has_added_us
                if self.handle(ContactEvent.RECEIVE, state.local_clock):
                    processed = True
                    new_request = not had_added_us
            elif state.local_state == ContactRequestState.NONE and self.handle(
                ContactEvent.RECEIVE_RETRACT, state.local_clock
            ):
                processed = True
        return processed, (MessageType.CONTACT_UPDATE,) if send_back else (), new_request

    # ---- our actions ---------------------------------------------------------------------

    def on_sent_request(self, clock: int, *, add_contact: bool = False) -> ContactActions:
        """We ask them to become a contact (``SendContactRequest``, or with ``add_contact``
        ``AddContact``, which also sends a contact update; both through ``addContact``,
        messenger_contacts.go): our half becomes SENT; we send the request as a chat message
        of content type ``CONTACT_REQUEST`` (carrying :meth:`propagated_state`) and tell our
        devices. The request is accepted at once if they had asked us already."""
        processed = self.handle(ContactEvent.SEND, clock)
        send: tuple[MessageType, ...] = (MessageType.CHAT_IDENTITY, MessageType.CHAT_MESSAGE)
        if add_contact:
            send = (MessageType.CONTACT_UPDATE, *send)
        return ContactActions(
            processed,
            send=send,
            sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
            request_state=RequestMessageState.ACCEPTED
            if self.mutual
            else RequestMessageState.PENDING,
            mutual_event=MutualEvent.SENT,
        )

    def on_accept(self, clock: int) -> ContactActions:
        """We accept their request (``AcceptContactRequest`` -> ``addContact`` ->
        ``updateAcceptedContactRequest``, messenger_contacts.go): our half becomes SENT, we
        send them an ``AcceptContactRequest`` naming the request (and our chat identity), the
        chat becomes visible, and our devices learn the contact and the decision."""
        processed = self.handle(ContactEvent.ACCEPT, clock)
        return ContactActions(
            processed,
            send=(MessageType.ACCEPT_CONTACT_REQUEST, MessageType.CHAT_IDENTITY),
            sync=(
                MessageType.SYNC_INSTALLATION_CONTACT_V2,
                MessageType.SYNC_CONTACT_REQUEST_DECISION,
            ),
            chat_active=True,
            request_state=RequestMessageState.ACCEPTED,
            mutual_event=MutualEvent.ADDED,
        )

    def on_decline(self, clock: int) -> ContactActions:
        """We decline their request (``DeclineContactRequest`` -> ``declineContactRequest``,
        messenger_contacts.go): our half becomes DISMISSED and the request message dismissed.
        Nothing is sent to them; only our own devices hear of the decision. Their later
        requests and messages do not reopen it (see :meth:`on_received_request`)."""
        processed = self.handle(ContactEvent.DECLINE, clock)
        return ContactActions(
            processed,
            sync=(MessageType.SYNC_CONTACT_REQUEST_DECISION,),
            request_state=RequestMessageState.DISMISSED,
        )

    def on_retract(self, clock: int, *, notify: bool = True) -> ContactActions:
        """We remove them (``RetractContactRequest`` -> ``removeContact`` +
        ``sendRetractContactRequest``, messenger_contacts.go): both halves reset to NONE at
        ``clock``; we send a ``RetractContactRequest`` (with a newer clock) and tell our
        devices. ``notify=False`` is status-go's ``RemoveContact``, which sends them nothing."""
        processed = self.handle(ContactEvent.RETRACT, clock)
        return ContactActions(
            processed,
            send=(MessageType.RETRACT_CONTACT_REQUEST,) if notify else (),
            sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
            mutual_event=MutualEvent.REMOVED,
        )

    # ---- what they send -------------------------------------------------------------------

    def on_received_message(
        self, clock: int, *, propagated: PropagatedState | None = None
    ) -> ContactActions:
        """Any other 1:1 chat message from them (``handleChatMessage``,
        messenger_handler.go): the chat shows if we added them (``matchChatEntity``), and
        the propagated state it carries counts: if it says they asked us and we did not know,
        status-go treats the message as their request (pending, in the requests inbox); if it
        shows them behind on our half, we send a contact update back."""
        del clock  # status-go judges the propagated state by its own clocks
        chat_active = True if self.added else None
        processed, send, new_request = self._propagate(propagated)
        pending = new_request and self.has_added_us and not self.mutual
        return ContactActions(
            processed,
            send=send,
            chat_active=chat_active,
            to_requests=new_request,
            request_state=RequestMessageState.PENDING if pending else None,
            mutual_event=MutualEvent.SENT if new_request else None,
        )

    def on_received_request(
        self,
        clock: int,
        *,
        propagated: PropagatedState | None = None,
        outgoing: bool = False,
    ) -> ContactActions:
        """Their contact request arrives: a 1:1 chat message of content type
        ``CONTACT_REQUEST`` with Lamport ``clock`` (``handleChatMessage`` and
        ``handleContactRequestChatMessage``, messenger_handler.go).

        First the propagated state counts as for :meth:`on_received_message`. Then status-go
        drops the message outright if we are already contacts or declined them. Otherwise the
        message stays, pending (accepted if we had asked them too); if its clock is new their
        half becomes RECEIVED, and a first request goes to the requests inbox. The chat
        shows only if we had added them.

        ``outgoing``: the request is ours, sent from another of our devices; our half becomes
        SENT (the propagated state is not read).
        """
        if outgoing:
            if self.mutual or self.dismissed:
                return ContactActions(chat_active=True, show_message=False)
            processed = self.handle(ContactEvent.SEND, clock)
            return ContactActions(
                processed,
                chat_active=True,
                request_state=RequestMessageState.ACCEPTED
                if processed and self.mutual
                else RequestMessageState.PENDING,
            )
        chat_active = True if self.added else None
        processed, send, new_request = self._propagate(propagated)
        mutual_event = MutualEvent.SENT if new_request else None
        if self.mutual or self.dismissed:
            # status-go has filed the notification already when the propagated state made the
            # request new, then returns before keeping the message.
            return ContactActions(
                processed,
                send=send,
                chat_active=chat_active,
                to_requests=new_request,
                show_message=False,
                mutual_event=mutual_event,
            )
        had_added_us = self.has_added_us
        if not self.handle(ContactEvent.RECEIVE, clock):
            return ContactActions(
                processed,
                send=send,
                chat_active=chat_active,
                to_requests=new_request,
                request_state=RequestMessageState.PENDING,
                mutual_event=mutual_event,
            )
        accepted = self.mutual
        return ContactActions(
            True,
            send=send,
            chat_active=chat_active,
            to_requests=new_request or (not had_added_us and not accepted),
            request_state=RequestMessageState.ACCEPTED if accepted else RequestMessageState.PENDING,
            mutual_event=mutual_event,
        )

    def on_received_accept(
        self,
        clock: int,
        *,
        request_chat_id: str | None = None,
        request_accepted: bool = False,
        deleted_at: int = 0,
    ) -> ContactActions:
        """They accepted our request: an ``AcceptContactRequest`` with ``clock``
        (``handleAcceptContactRequest`` and ``handleAcceptContactRequestMessage``,
        messenger_handler.go). ``request_chat_id``: the chat of the request message its id
        names, when we have that message (it must be this contact's, or
        :class:`InvalidContent` is raised); ``request_accepted``: that message was already
        accepted; ``deleted_at``: the clock at which we deleted the chat, if we did.

        A clock no newer than their half's changes nothing; otherwise their half becomes
        RECEIVED and the request message accepted. Once we are contacts the chat shows again
        (unless deleted later than ``clock``) with an "accepted your request" event (once).
        """
        stale = self._their_clock > clock
        request_state = None
        processed = False
        if not stale:
            if request_chat_id is not None and request_chat_id != self.contact_id:
                raise InvalidContent("can't accept a contact request not sent to this user")
            processed = self.handle(ContactEvent.RECEIVE_ACCEPT, clock)
            if request_chat_id is not None:
                request_state = RequestMessageState.ACCEPTED
        return ContactActions(
            processed,
            chat_active=True if self.mutual and deleted_at < clock else None,
            request_state=request_state,
            mutual_event=MutualEvent.ADDED if self.mutual and not request_accepted else None,
        )

    def on_received_retract(self, clock: int) -> ContactActions:
        """They removed us: a ``RetractContactRequest`` with ``clock``
        (``handleRetractContactRequest``, messenger_handler.go). If the clock beats their
        half's, both halves reset to NONE (ours stays DISMISSED if we had declined), and
        status-go adds a "removed you" event and a "contact removed" notification. (It
        ignores retractions signed by our own key: the caller's check.)"""
        processed = self.handle(ContactEvent.RECEIVE_RETRACT, clock)
        return ContactActions(processed, mutual_event=MutualEvent.REMOVED if processed else None)

    def on_contact_update(self, update: ContactUpdate, *, deleted_at: int = 0) -> ContactActions:
        """A ``ContactUpdate`` from them (``HandleContactUpdate``, messenger_handler.go).

        Its propagated state counts first (as in :meth:`on_received_message`); a request
        learnt that way has no message of its own, so status-go makes one up (text
        :data:`DEFAULT_CONTACT_REQUEST_TEXT`, id :func:`default_contact_request_id`) with
        ``request_state``, into the requests inbox unless already accepted. Then, if the
        update is newer than the last one taken, its profile replaces ours and its
        ``contact_request_clock`` counts as a request received. Once we are contacts the chat
        shows (unless deleted later than the update). status-go ignores updates signed by our
        own key, and from strangers when we take messages from contacts only (the caller's
        checks).
        """
        processed, send, new_request = self._propagate(update.propagated_state)
        profile_updated = self._last_updated < update.clock
        if profile_updated:
            had_added_us = self.has_added_us
            if self.handle(ContactEvent.RECEIVE, update.contact_request_clock):
                new_request = new_request or not had_added_us
            self._last_updated = update.clock
            processed = True
        request_state = None
        if new_request:
            request_state = (
                RequestMessageState.ACCEPTED if self.mutual else RequestMessageState.PENDING
            )
        return ContactActions(
            processed,
            send=send,
            chat_active=True if self.mutual and deleted_at < update.clock else None,
            to_requests=new_request and not self.mutual,
            request_state=request_state,
            profile_updated=profile_updated,
        )

    # ---- our other devices ----------------------------------------------------------------

    def on_synced_contact(self, contact: SyncedContact) -> ContactActions:
        """Another of our devices sent its record of this contact
        (``HandleSyncInstallationContactV2`` -> ``ProcessSyncContactRequestState``,
        contact.go): our half follows theirs (SENT, DISMISSED, or NONE, which resets both
        halves), then their half (RECEIVED, or NONE), each only at a newer clock. Records
        without request clocks (from old clients) are not modelled."""
        if contact.id != self.contact_id:
            raise ValueError("this record is about another contact")
        if contact.local_clock == 0 and contact.remote_clock == 0:
            return ContactActions()
        processed = False
        local_events: dict[int, ContactEvent] = {
            ContactRequestState.DISMISSED: ContactEvent.DECLINE,
            ContactRequestState.NONE: ContactEvent.RETRACT,
            ContactRequestState.SENT: ContactEvent.SEND,
        }
        local_event = local_events.get(contact.local_state)
        if local_event is not None:
            processed = self.handle(local_event, contact.local_clock)
        if contact.remote_state == ContactRequestState.RECEIVED:
            processed = self.handle(ContactEvent.RECEIVE, contact.remote_clock) or processed
        elif contact.remote_state == ContactRequestState.NONE:
            processed = (
                self.handle(ContactEvent.SYNC_REMOTE_RETRACT, contact.remote_clock) or processed
            )
        return ContactActions(processed)
