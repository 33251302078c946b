"""The contact-request states of one contact, the events that move them and the transition
table, as status-go v1.1.0 has them (``protocol/contact.go``)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from pystatus.chat.content.enums import ContactRequestState


class ContactEvent(Enum):
    """What can happen to a contact's request state (status-go ``protocol/contact.go``)."""

    SEND = "send"
    """We ask them (``ContactRequestSent``)."""
    ACCEPT = "accept"
    """We accept their request: the same as asking (``AcceptContactRequest``)."""
    DECLINE = "decline"
    """We decline their request (``DismissContactRequest``)."""
    RETRACT = "retract"
    """We remove them: both halves reset (``RetractContactRequest``)."""
    RECEIVE = "receive"
    """Their request reached us (``ContactRequestReceived``)."""
    RECEIVE_ACCEPT = "receive_accept"
    """They accepted ours: the same as receiving (``ContactRequestAccepted``)."""
    RECEIVE_RETRACT = "receive_retract"
    """They removed us; our half resets too unless we declined (``ContactRequestRetracted``)."""
    IMPLICIT_RETRACT = "implicit_retract"
    """Their propagated state says our half is none, at a newer clock than ours: a retraction
    we missed (``ContactRequestPropagatedStateReceived``); not applied once we declined."""
    SYNC_REMOTE_RETRACT = "sync_remote_retract"
    """Another of our devices saw their half reset (``ContactRequestRetracted`` from sync):
    our half stays."""


_NONE = ContactRequestState.NONE
_SENT = ContactRequestState.SENT
_RECEIVED = ContactRequestState.RECEIVED
_DISMISSED = ContactRequestState.DISMISSED
_E = ContactEvent

ContactHalves = tuple[ContactRequestState, ContactRequestState]
"""(our half, their half): ours is NONE, SENT or DISMISSED, theirs NONE or RECEIVED."""

TRANSITIONS: Final[Mapping[ContactHalves, Mapping[ContactEvent, ContactHalves]]] = {
    (_NONE, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_NONE, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_NONE, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_NONE, _NONE),
    },
    (_NONE, _RECEIVED): {
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_NONE, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_NONE, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_NONE, _NONE),
    },
    (_SENT, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_SENT, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_SENT, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_SENT, _NONE),
    },
    (_SENT, _RECEIVED): {  # mutual
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_SENT, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_SENT, _RECEIVED),
        _E.RECEIVE_RETRACT: (_NONE, _NONE),
        _E.IMPLICIT_RETRACT: (_NONE, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_SENT, _NONE),
    },
    (_DISMISSED, _NONE): {
        _E.SEND: (_SENT, _NONE),
        _E.ACCEPT: (_SENT, _NONE),
        _E.DECLINE: (_DISMISSED, _NONE),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_RETRACT: (_DISMISSED, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_DISMISSED, _NONE),
    },
    (_DISMISSED, _RECEIVED): {
        _E.SEND: (_SENT, _RECEIVED),
        _E.ACCEPT: (_SENT, _RECEIVED),
        _E.DECLINE: (_DISMISSED, _RECEIVED),
        _E.RETRACT: (_NONE, _NONE),
        _E.RECEIVE: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_ACCEPT: (_DISMISSED, _RECEIVED),
        _E.RECEIVE_RETRACT: (_DISMISSED, _NONE),
        _E.SYNC_REMOTE_RETRACT: (_DISMISSED, _NONE),
    },
}
"""Where each event takes a contact, h11 style: ``TRANSITIONS[(ours, theirs)][event]``. An
event missing from a row does not apply in that state."""

OUR_CLOCK_EVENTS: Final = frozenset(
    {_E.SEND, _E.ACCEPT, _E.DECLINE, _E.RETRACT, _E.IMPLICIT_RETRACT}
)
"""Events that must carry a clock newer than our half's, and then set it. The others must beat
their half's clock and set it. Besides: RETRACT also sets their clock, and RECEIVE_RETRACT sets
ours unless we had declined (status-go: everything before a retraction is void, whichever side
it came from)."""
