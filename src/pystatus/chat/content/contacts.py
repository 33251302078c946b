"""The contact relation on the wire (CONTACT_UPDATE, ACCEPT_CONTACT_REQUEST,
RETRACT_CONTACT_REQUEST), and the contact-request state both sides propagate on every 1:1 chat
message and contact update (:class:`PropagatedState`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pystatus.chat.content.enums import CUSTOMIZATION_COLOR_BLUE
from pystatus.chat.content.errors import ContentRefused
from pystatus.chat.content.validation import (
    _build_clock,
    _checked,
    _decode,
    _encoding,
    _serialize,
    validate_display_name,
)
from pystatus.chat.proto import chat_message_pb2, contact_pb2

DEFAULT_CONTACT_REQUEST_TEXT: Final = "Please add me to your contacts"
"""The text status-go gives contact requests it makes up (``defaultContactRequestText``)."""


@dataclass(frozen=True, slots=True)
class PropagatedState:
    """One side's view of the contact request, carried by every 1:1 chat message and contact
    update (``ContactRequestPropagatedState``): the sender's own half (``local_*``) and the
    recipient's half as the sender last saw it (``remote_*``). The states are
    :class:`ContactRequestState` numbers, kept as sent: status-go does not check them."""

    local_clock: int = 0
    local_state: int = 0
    remote_clock: int = 0
    remote_state: int = 0


def _propagated_pb(state: PropagatedState) -> contact_pb2.ContactRequestPropagatedState:
    for value in (state.local_clock, state.local_state, state.remote_clock, state.remote_state):
        if not 0 <= value < 1 << 64:
            raise ContentRefused("contact request clocks and states are uint64")
    return contact_pb2.ContactRequestPropagatedState(
        local_clock=state.local_clock,
        local_state=state.local_state,
        remote_clock=state.remote_clock,
        remote_state=state.remote_state,
    )


def _put_propagated(
    message: chat_message_pb2.ChatMessage | contact_pb2.ContactUpdate,
    state: PropagatedState | None,
) -> None:
    if state is not None:
        message.contact_request_propagated_state.CopyFrom(_propagated_pb(state))


def _propagated_of(
    message: chat_message_pb2.ChatMessage | contact_pb2.ContactUpdate,
) -> PropagatedState | None:
    if not message.HasField("contact_request_propagated_state"):
        return None
    state = message.contact_request_propagated_state
    return PropagatedState(
        state.local_clock, state.local_state, state.remote_clock, state.remote_state
    )


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    id: str
    """The id of the contact-request message accepted (may name none we know)."""
    clock: int


def build_accept_contact_request(id: str, clock: int) -> bytes:
    """An ``AcceptContactRequest`` (wrapper type ``ACCEPT_CONTACT_REQUEST``) for the
    contact-request message ``id``, as status-go's ``updateAcceptedContactRequest``
    (messenger_contacts.go) sends it to the requester when we accept."""
    _build_clock(clock)
    if not id:
        raise ContentRefused("an acceptance names the request it accepts")
    with _encoding():
        return _serialize(contact_pb2.AcceptContactRequest(id=id, clock=clock))


def parse_accept_contact_request(data: bytes) -> AcceptRequest:
    """Read an ``AcceptContactRequest``. status-go checks nothing here: an unknown id is an
    acceptance of whatever request we sent (``handleAcceptContactRequest``), and a clock no
    newer than the contact's is ignored by :meth:`ContactRequestMachine.on_received_accept`."""
    message = _decode(contact_pb2.AcceptContactRequest(), data, "contact request acceptance")
    return AcceptRequest(message.id, message.clock)


@dataclass(frozen=True, slots=True)
class RetractRequest:
    id: str
    """Empty from status-go, which does not fill it."""
    clock: int


def build_retract_contact_request(clock: int) -> bytes:
    """A ``RetractContactRequest`` (wrapper type ``RETRACT_CONTACT_REQUEST``): we remove the
    contact, and they should remove us. status-go's ``sendRetractContactRequest``
    (messenger_contacts.go) leaves the id empty and uses a clock newer than the one it
    retracted with locally."""
    _build_clock(clock)
    return _serialize(contact_pb2.RetractContactRequest(clock=clock))


def parse_retract_contact_request(data: bytes) -> RetractRequest:
    """Read a ``RetractContactRequest`` (status-go checks nothing but the clock, see
    :meth:`ContactRequestMachine.on_received_retract`)."""
    message = _decode(contact_pb2.RetractContactRequest(), data, "contact request retraction")
    return RetractRequest(message.id, message.clock)


@dataclass(frozen=True, slots=True)
class ContactUpdate:
    clock: int
    display_name: str = ""
    ens_name: str = ""
    profile_image: str = ""
    contact_request_clock: int = 0
    """The sender's own contact-request clock (status-go: ``ContactRequestLocalClock``)."""
    propagated_state: PropagatedState | None = None
    public_key: str = ""
    """The *recipient's* ``0x04...`` key, as status-go fills it; receivers ignore it."""
    customization_color: int = CUSTOMIZATION_COLOR_BLUE


def build_contact_update(
    clock: int,
    *,
    display_name: str = "",
    ens_name: str = "",
    profile_image: str = "",
    contact_request_clock: int = 0,
    propagated_state: PropagatedState | None = None,
    public_key: str = "",
    customization_color: int = CUSTOMIZATION_COLOR_BLUE,
) -> bytes:
    """A ``ContactUpdate`` (wrapper type ``CONTACT_UPDATE``), as status-go's
    ``sendContactUpdate`` (messenger_contacts.go) writes it: our display and ENS names, our
    contact-request clock and propagated state for this contact (see
    :meth:`ContactRequestMachine.contact_update`), and the recipient's key.

    status-go sends one when adding a contact through ``AddContact``, when our profile changes
    (to every contact we added), and to answer an out-of-date propagated state; not when a
    request is accepted (that is :func:`build_accept_contact_request`), declined (nothing is
    sent) or retracted (:func:`build_retract_contact_request`).
    """
    _build_clock(clock)
    with _encoding():
        message = contact_pb2.ContactUpdate(
            clock=clock,
            ens_name=ens_name,
            profile_image=profile_image,
            display_name=display_name,
            contact_request_clock=contact_request_clock,
            public_key=public_key,
            customization_color=customization_color,
        )
        _put_propagated(message, propagated_state)
    return _checked(message, parse_contact_update)


def parse_contact_update(data: bytes) -> ContactUpdate:
    """Read a ``ContactUpdate``, rejecting an invalid display name as ``HandleContactUpdate``
    (messenger_handler.go) does. (A zero clock is taken: it updates nothing, but the
    propagated state it carries still counts.)"""
    message = _decode(contact_pb2.ContactUpdate(), data, "contact update")
    display_name = validate_display_name(message.display_name)
    return ContactUpdate(
        clock=message.clock,
        display_name=display_name,
        ens_name=message.ens_name,
        profile_image=message.profile_image,
        contact_request_clock=message.contact_request_clock,
        propagated_state=_propagated_of(message),
        public_key=message.public_key,
        customization_color=message.customization_color,
    )


def default_contact_request_id(contact_id: str) -> str:
    """The id status-go gives a contact request it makes up for ``contact_id`` (``0x04...``)
    when one arrives by contact update or contact sync instead of as a message
    (``defaultContactRequestID``, messenger_contacts.go)."""
    key = contact_id[2:] if contact_id[:2] in ("0x", "0X") else contact_id
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise ContentRefused("a contact id is a hex public key") from None
    return "0x" + (raw + b"\x20").hex()
