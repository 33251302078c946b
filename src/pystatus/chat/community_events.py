"""Admins' changes to a community they do not control: status-go v1.1.0's
``CommunityEventsMessage`` (ApplicationMetadataMessage type 67).

An admin (a member with ROLE_ADMIN or ROLE_TOKEN_MASTER, :mod:`pystatus.chat.community_roles`)
cannot sign a description. It signs each change as a ``CommunityEvent`` on its own
(``SignedCommunityEvent``: a 65-byte recoverable secp256k1 signature over keccak256 of the
serialized event) and sends all of its events so far in one ``CommunityEventsMessage`` with
the control node's signed description they build on (``events_base_community_description``),
wrapped and signed with its chat key, unencrypted, on the community's public topic
(``publishCommunityEvents`` in ``protocol/messenger_communities.go``).

Receiving (``protocol/communities/community_events_processing.go``, ``manager.go``
``HandleCommunityEventsMessage``, ``community.go`` ``validateEvent``):

- the message's author must be a privileged member of the community as we know it;
- its base description must be signed by the community key, and its clock equal to the one
  we hold (the control node also takes a base older than its own, judging each event by the
  clock of the last one of its kind it applied);
- each event's signature must recover a member whose roles may send it
  (``RolesAuthorizedToPerformEvent``); invalid events are dropped, the others kept;
- of the events kept and those already held (members keep them until the control node's next
  description), the newest per kind and target (``EventTypeID``) wins; they apply in clock
  order (event type breaking ties) onto the base description.

Members apply channel, category and community edits; kicks, bans and unbans change only the
control node's description (``applyEvent``). The control node applies, publishes a new
description and answers accepted or rejected requests to join as if it had decided them
itself (:attr:`Outcome.accepted`, :attr:`Outcome.rejected`).

Pure functions over frozen values: clocks are passed in, nothing is sent. Bad messages raise
:class:`InvalidEvents`; dropped events are counted in ``chat_community_events_dropped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import coincurve
from google.protobuf.message import DecodeError as ProtobufDecodeError
from prometheus_client import Counter

from pystatus.chat import community_control
from pystatus.chat import community_roles as roles
from pystatus.chat.community import (
    Community,
    InvalidCommunity,
    channel_chat_id,
    community_id_of,
    community_key,
    community_of,
    decode_description,
    hydrate,
    member_key,
    validate,
)
from pystatus.chat.community_chats import CommunityNotAllowed
from pystatus.chat.community_event_apply import apply_event
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_update_pb2 as upb
from pystatus.chat.wrapper import InvalidWrapper, MessageType, unwrap, wrap
from pystatus.errors import ChatError
from pystatus.waku.enr import keccak256

EventType = upb.CommunityEvent.EventType

MAX_EVENTS = 1_000
"""Most events taken in one message or held per community (status-go sets none; an admin's
message carries every event since the last description)."""

REJECTED = Counter(
    "chat_community_events_rejected",
    "CommunityEventsMessages refused whole, by reason",
    ["reason"],
)
DROPPED = Counter(
    "chat_community_events_dropped",
    "Single community events dropped from an accepted message, by reason",
    ["reason"],
)
APPLIED = Counter("chat_community_events_applied", "Community events applied, by role", ["node"])


class InvalidEvents(ChatError):
    """A CommunityEventsMessage refused whole: undecodable, from a non-privileged author, on a
    base description not the control node's or not the one we hold (``reason``
    ``clock_outdated``, status-go's ``ErrInvalidCommunityEventClock``). ``reason`` is the label
    of ``chat_community_events_rejected``, incremented on construction."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        REJECTED.labels(reason).inc()


class NotAdmin(CommunityNotAllowed):
    """This account may not send that event here: it is the control node (which signs a
    description instead), not a member, or its roles do not allow it."""


@dataclass(frozen=True, slots=True)
class Event:
    """One signed event: ``clock`` (the author's Lamport clock), ``type`` (EventType),
    ``event`` (decoded; do not mutate), ``payload``/``signature`` as they travel,
    ``author`` (``0x04...``, recovered; empty when the signature recovers none),
    ``member`` the member acted on and ``request`` the request to join it names, if any."""

    clock: int
    type: int
    event: upb.CommunityEvent
    payload: bytes
    signature: bytes
    author: str
    member: str = ""
    request: pb.CommunityRequestToJoin | None = None

    @property
    def type_id(self) -> str:
        """status-go's ``EventTypeID``: the kind and its target; the newest of each wins."""
        e = self.event
        t = self.type
        if t == EventType.COMMUNITY_EDIT:
            return str(t)
        if t in roles.PERMISSION_EVENTS:
            return f"{t}-{e.token_permission.id}"
        if t in _CATEGORY_EVENTS:
            return f"{t}-{e.category_data.category_id}"
        if t in _CHANNEL_EVENTS:
            return f"{t}-{e.channel_data.channel_id}"
        if t in _MEMBER_TARGET_EVENTS:
            return f"{t}-{self.member}"
        return str(t)


_CATEGORY_EVENTS = frozenset(
    {
        EventType.COMMUNITY_CATEGORY_CREATE,
        EventType.COMMUNITY_CATEGORY_DELETE,
        EventType.COMMUNITY_CATEGORY_EDIT,
        EventType.COMMUNITY_CATEGORY_REORDER,
    }
)
_CHANNEL_EVENTS = frozenset(
    {
        EventType.COMMUNITY_CHANNEL_CREATE,
        EventType.COMMUNITY_CHANNEL_DELETE,
        EventType.COMMUNITY_CHANNEL_EDIT,
        EventType.COMMUNITY_CHANNEL_REORDER,
    }
)
_MEMBER_TARGET_EVENTS = roles.MEMBER_EVENTS | {
    EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT,
    EventType.COMMUNITY_REQUEST_TO_JOIN_REJECT,
}


@dataclass(frozen=True, slots=True)
class EventsMessage:
    """A decoded CommunityEventsMessage: ``community_id`` (``0x`` + compressed key hex),
    ``base`` (the wrapped, signed description the events build on) and its ``events``."""

    community_id: str
    base: bytes
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing gave: ``community`` (the description with the events applied: for the
    control node signed anew with an advanced clock, for a member the base's signed bytes kept
    in ``wrapped``), ``held`` (events a member keeps until the next description; empty for the
    control node), ``applied`` (type id -> clock of the newest applied, which the control node
    keeps), ``accepted``/``rejected`` (member key -> request, answered by the control node),
    ``dropped`` (reasons of events left out)."""

    community: Community
    held: tuple[Event, ...]
    applied: Mapping[str, int]
    accepted: Mapping[str, pb.CommunityRequestToJoin] = field(default_factory=dict)
    rejected: Mapping[str, pb.CommunityRequestToJoin] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


# -- making events (an admin) ---------------------------------------------------------------


def sign_event(event: upb.CommunityEvent, private_key: bytes) -> Event:
    """``event`` serialized and signed with chat key ``private_key`` (``CommunityEvent.Sign``:
    keccak256 of the payload, 65-byte R||S||V)."""
    payload = event.SerializeToString()
    key = coincurve.PrivateKey(private_key)
    signature = key.sign_recoverable(keccak256(payload), hasher=None)
    return _event_of(payload, signature, member_key(key.public_key.format(compressed=False)))


def channel_create(clock: int, channel_id: str, chat: pb.CommunityChat) -> upb.CommunityEvent:
    """COMMUNITY_CHANNEL_CREATE of ``chat`` (identity, permissions, category) under
    ``channel_id`` (a UUID, without the community id)."""
    data = upb.ChannelData(channel_id=channel_id, category_id=chat.category_id, channel=chat)
    return upb.CommunityEvent(
        community_event_clock=clock, type=EventType.COMMUNITY_CHANNEL_CREATE, channel_data=data
    )


def channel_delete(clock: int, channel_id: str) -> upb.CommunityEvent:
    return upb.CommunityEvent(
        community_event_clock=clock,
        type=EventType.COMMUNITY_CHANNEL_DELETE,
        channel_data=upb.ChannelData(channel_id=channel_id),
    )


def category_create(
    clock: int, category_id: str, name: str, channel_ids: Sequence[str] = ()
) -> upb.CommunityEvent:
    return upb.CommunityEvent(
        community_event_clock=clock,
        type=EventType.COMMUNITY_CATEGORY_CREATE,
        category_data=upb.CategoryData(
            category_id=category_id, name=name, channels_ids=list(channel_ids)
        ),
    )


def member_event(clock: int, event_type: int, member: str) -> upb.CommunityEvent:
    """A kick, ban, unban or deletion of a banned member's messages aimed at ``member``."""
    return upb.CommunityEvent(
        community_event_clock=clock,
        type=event_type,  # type: ignore[arg-type]
        member_to_action=member,
    )


def request_decision(
    clock: int, member: str, request: pb.CommunityRequestToJoin, *, accept: bool
) -> upb.CommunityEvent:
    """COMMUNITY_REQUEST_TO_JOIN_ACCEPT (or _REJECT) of ``member``'s ``request``: status-go
    puts the request in a one-entry map keyed by the member (``ToProtobuf``), and
    ``member_to_action`` stays empty on the wire."""
    event = upb.CommunityEvent(
        community_event_clock=clock,
        type=(
            EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT
            if accept
            else EventType.COMMUNITY_REQUEST_TO_JOIN_REJECT
        ),
    )
    target = event.acceptedRequestsToJoin if accept else event.rejectedRequestsToJoin
    target[member].CopyFrom(request)
    return event


def encode_message(community_id: str, base: bytes, events: Iterable[Event]) -> bytes:
    """The CommunityEventsMessage payload: the community id as its 33 raw bytes, the base
    description's signed bytes and each event as (signature, payload)."""
    raw_id = bytes.fromhex(community_id.removeprefix("0x"))
    message = upb.CommunityEventsMessage(
        community_id=raw_id, events_base_community_description=base
    )
    for event in events:
        message.signed_events.add(signature=event.signature, payload=event.payload)
    return message.SerializeToString()


def admin_send(
    community: Community,
    held: Sequence[Event],
    identity: bytes,
    event: upb.CommunityEvent,
    *,
    signed: Community | None = None,
) -> tuple[bytes, Outcome]:
    """An admin's change to a community it does not control (``addNewCommunityEvent``): the
    event signed with chat key ``identity``, appended to the events it holds since the last
    description, applied to its own view. Returns (the wrapped CommunityEventsMessage with
    every held event, to publish on the community's description topic; the outcome).
    ``signed``: the community as the control node signed it, when ``community`` has ``held``
    applied already (default: ``community``). Raises
    :class:`NotAdmin` when our roles may not send it, :class:`InvalidCommunity` when the
    event would not apply (a duplicate channel name, an unknown category...)."""
    me = member_key(coincurve.PrivateKey(identity).public_key.format(compressed=False))
    if not roles.may_send_event(community, me, event.type):
        raise NotAdmin(f"our roles may not send event type {event.type} here")
    if not community.wrapped:
        raise NotAdmin("no signed description of the control node to build on")
    if _check_fields(sign_event(event, identity)):
        raise InvalidCommunity("event", "an event without the fields its type needs")
    if len(held) >= MAX_EVENTS:
        raise NotAdmin(f"more than {MAX_EVENTS} changes held; wait for the control node")
    clean = signed or community
    mine = sign_event(event, identity)
    outcome = _apply(clean.description, clean, (*held, mine), control=False, applied={}, dropped=[])
    if mine not in outcome.held:
        raise InvalidCommunity("event", "the change does not apply to this community")
    payload = encode_message(community.id, clean.wrapped, outcome.held)
    return wrap(payload, MessageType.COMMUNITY_EVENTS_MESSAGE, identity), outcome


# -- receiving -------------------------------------------------------------------------------


def _event_of(payload: bytes, signature: bytes, author: str) -> Event:
    event = upb.CommunityEvent()
    try:
        event.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeError, ValueError):
        raise InvalidEvents("decode", "an event that is no CommunityEvent") from None
    member = event.member_to_action
    request = None
    decided = (
        event.acceptedRequestsToJoin
        if event.type == EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT
        else event.rejectedRequestsToJoin
    )
    for key, value in decided.items():  # status-go reads the map's one entry
        member, request = key, value
        break
    return Event(
        event.community_event_clock,
        int(event.type),
        event,
        payload,
        signature,
        author,
        member,
        request,
    )


def _recover(payload: bytes, signature: bytes) -> str:
    if len(signature) != 65:
        return ""
    try:
        key = coincurve.PublicKey.from_signature_and_message(
            signature, keccak256(payload), hasher=None
        )
    except (ValueError, TypeError):
        return ""
    return member_key(key.format(compressed=False))


def decode_message(payload: bytes) -> EventsMessage:
    """Bytes of a CommunityEventsMessage to its parts; each event's author recovered (empty
    when its signature recovers none; such events are dropped when processed). Raises
    :class:`InvalidEvents`."""
    message = upb.CommunityEventsMessage()
    try:
        message.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeError, ValueError):
        raise InvalidEvents("decode", "not a CommunityEventsMessage") from None
    if len(message.signed_events) > MAX_EVENTS:
        raise InvalidEvents("bounds", f"more than {MAX_EVENTS} events")
    try:
        community_id = community_id_of(message.community_id)
    except InvalidCommunity:
        raise InvalidEvents("community", "the community id is no public key") from None
    events = tuple(
        _event_of(s.payload, s.signature, _recover(s.payload, s.signature))
        for s in message.signed_events
    )
    return EventsMessage(community_id, message.events_base_community_description, events)


def _open_base(wrapped: bytes, community_id: str) -> pb.CommunityDescription:
    """``validateAndGetEventsMessageCommunityDescription``: a wrapped description signed by
    the community key."""
    try:
        unwrapped = unwrap(wrapped)
    except InvalidWrapper:
        raise InvalidEvents("base", "the base description is not a signed message") from None
    if unwrapped.type != MessageType.COMMUNITY_DESCRIPTION:
        raise InvalidEvents("base", "the base is not a community description")
    if unwrapped.author != community_key(community_id):
        raise InvalidEvents("base", "the base description is not signed by the control node")
    try:
        description = decode_description(unwrapped.payload)
    except InvalidCommunity:
        raise InvalidEvents("base", "the base description does not decode") from None
    if not description.ID:
        description.ID = community_id
    return description


def _check_fields(event: Event) -> str | None:
    """``CommunityEvent.Validate``: the fields each type needs. Returns the reason, or None."""
    e, t = event.event, event.type
    if t == EventType.COMMUNITY_EDIT:
        config = e.community_config
        if not (
            e.HasField("community_config")
            and config.HasField("identity")
            and config.HasField("permissions")
            and config.HasField("admin_settings")
        ):
            return "fields"
    elif t in roles.PERMISSION_EVENTS:
        if not e.token_permission.id:
            return "fields"
    elif t in _CATEGORY_EVENTS:
        if not e.category_data.category_id:
            return "fields"
    elif t in _CHANNEL_EVENTS:
        if not e.channel_data.channel_id:
            return "fields"
        if t in (EventType.COMMUNITY_CHANNEL_CREATE, EventType.COMMUNITY_CHANNEL_EDIT) and not (
            e.channel_data.HasField("channel")
        ):
            return "fields"
    elif t in (
        EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT,
        EventType.COMMUNITY_REQUEST_TO_JOIN_REJECT,
    ):
        if not event.member or event.request is None:
            return "fields"
    elif t in roles.MEMBER_EVENTS:
        if not event.member:
            return "fields"
    elif t != EventType.COMMUNITY_TOKEN_ADD:
        return "type"
    return None


def _judge(community: Community, event: Event, applied: Mapping[str, int]) -> str | None:
    """Why ``event`` is dropped (``validateEvent``), or None to keep it."""
    if not event.author:
        return "signature"
    clock = applied.get(event.type_id)
    if clock is not None and clock >= event.clock:
        return "outdated"
    reason = _check_fields(event)
    if reason:
        return reason
    sender = community.members.get(event.author)
    if sender is None:
        return "not_member"
    target = community.members.get(event.member, ()) if event.member else ()
    permission = (
        event.event.token_permission.type if event.event.HasField("token_permission") else None
    )
    if not roles.authorized(sender, target, event.type, permission):
        return "not_authorized"
    return None


def process(
    community: Community,
    payload: bytes,
    author: bytes,
    *,
    held: Sequence[Event] = (),
    applied: Mapping[str, int] | None = None,
    private_key: bytes | None = None,
    now_ms: int = 0,
    signed: Community | None = None,
) -> Outcome:
    """Take a CommunityEventsMessage (``payload``, unwrapped; ``author`` the wrapper's
    uncompressed signer) for ``community`` as we hold it. A member passes the events it
    ``held`` from earlier messages; the control node passes its ``private_key``, ``applied``
    (type id -> clock of the newest event of that kind it applied) and ``now_ms`` (wall-clock
    milliseconds) for the new description's clock. ``signed``: the community as the control
    node signed it when ``community`` has ``held`` applied (default: ``community``; its
    opened description is what events apply to, so an encrypted community's sealed base
    need not open here). Raises :class:`InvalidEvents` for a
    message refused whole (its events are then all ignored)."""
    message = decode_message(payload)
    if message.community_id != community.id:
        raise InvalidEvents("community", "events for another community")
    if not roles.is_privileged(community.members.get(member_key(author), ())):
        raise InvalidEvents("not_privileged", "the sender is no privileged member")
    base = _open_base(message.base, community.id)
    control = private_key is not None
    if control and base.clock < community.clock:
        pass  # the control node judges old-based events by the clocks it applied
    elif base.clock != community.clock:
        raise InvalidEvents("clock_outdated", "events on a description we do not hold")
    dropped: list[str] = []
    kept = []
    for event in message.events:
        reason = _judge(community, event, applied or {})
        if reason is None:
            kept.append(event)
        else:
            dropped.append(reason)
            DROPPED.labels(reason).inc()
    if control:
        # The control node applies onto its own current description.
        base = pb.CommunityDescription()
        base.CopyFrom(community.description)
        outcome = _apply(
            base, community, kept, control=True, applied=applied or {}, dropped=dropped
        )
        assert private_key is not None
        return _sign(outcome, private_key, now_ms)
    for event in held:
        if _judge(community, event, {}) is None:
            kept.append(event)
    clean = signed or community
    return _apply(clean.description, clean, kept, control=False, applied={}, dropped=dropped)


def _newest(events: Iterable[Event]) -> list[Event]:
    """``retainNewestEventsPerEventTypeID`` then ``sortEvents``."""
    newest: dict[str, Event] = {}
    for event in events:
        known = newest.get(event.type_id)
        if known is None or event.clock > known.clock:
            newest[event.type_id] = event
    return sorted(newest.values(), key=lambda e: (e.clock, e.type))


def _apply(
    base: pb.CommunityDescription,
    community: Community,
    events: Iterable[Event],
    *,
    control: bool,
    applied: Mapping[str, int],
    dropped: list[str],
) -> Outcome:
    description = pb.CommunityDescription()
    description.CopyFrom(base)
    hydrate(description)
    kept: list[Event] = []
    accepted: dict[str, pb.CommunityRequestToJoin] = {}
    rejected: dict[str, pb.CommunityRequestToJoin] = {}
    newest_applied = dict(applied)
    for event in _newest(events):
        try:
            apply_event(description, event, control=control)
        except InvalidCommunity as exc:
            dropped.append(exc.reason)
            DROPPED.labels("apply").inc()
            continue
        kept.append(event)
        newest_applied[event.type_id] = event.clock
        if event.request is not None and event.type == EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT:
            accepted[event.member] = event.request
            rejected.pop(event.member, None)
        elif event.request is not None:
            rejected[event.member] = event.request
            accepted.pop(event.member, None)
    APPLIED.labels("control" if control else "member").inc(len(kept))
    try:
        validate(description)
    except InvalidCommunity:
        raise InvalidEvents("result", "the events leave an invalid description") from None
    hydrate(description)
    return Outcome(
        community_of(description, community.wrapped),
        () if control else tuple(kept),
        newest_applied,
        accepted,
        rejected,
        tuple(dropped),
    )


def _sign(outcome: Outcome, private_key: bytes, now_ms: int) -> Outcome:
    """The control node's new description: its clock advanced, signed (events cleared)."""
    community = community_control.resign(outcome.community, private_key, now_ms)
    return Outcome(
        community, (), outcome.applied, outcome.accepted, outcome.rejected, outcome.dropped
    )


def channel_of(community: Community, channel_id: str) -> str:
    """The chat id a created channel gets (community id + channel id)."""
    return channel_chat_id(community.id, channel_id)
