"""An account's part in admins' events: what it holds per community and what it sends.

:class:`AdminEvents` sits beside a :class:`~pystatus.chat.community_chats.CommunityChats`
(the same account's communities) and keeps, per community:

- as a member: the events applied on top of the control node's last description, with that
  description as signed (``EventsData`` in status-go); they are dropped once the control
  node's next description arrives (its clock differs from the one they build on);
- as the control node: the clock of the newest applied event of each kind and target
  (status-go's ``GetAppliedCommunityEvents``), so that replays are outdated.

As the control node it applies an admin's events, publishes the new description and answers
the requests to join an admin accepted or rejected, as if it had decided them itself
(``handleCommunityEventRequestAccepted`` / ``...Rejected`` then ``AcceptRequestToJoin``).
An accepted request that never reached us is counted and left: status-go keeps it as
``AcceptedPending`` until the request arrives; pystatus lets the admin's event be resent.

As an admin of a community it does not control it sends its changes as a
CommunityEventsMessage (:func:`pystatus.chat.community_events.admin_send`) on the
description's topic (``publishCommunityEvents``: ``SendPublic`` to the community id).

Requests to join: a status-go requester sends its request to the control node and, for a
community needing approval, to each privileged member over 1:1 (without revealed addresses:
``RequestToJoinCommunity`` in messenger_communities.go); an admin holds those
(:meth:`AdminEvents.take_request`, at most ``MAX_REQUESTS`` per community) and its accept or
reject event carries the request. A requester it names otherwise gets a request built from
the community id and a clock (status-go's control node finds the request by the requester's
key and the community id, ``CalculateID``). The control node's own sync of requests to
admins (COMMUNITY_PRIVILEGED_USER_SYNC_MESSAGE, type 72) is not read.

Sans-IO: ``now_ms`` is wall-clock milliseconds; returns what to send. Bounded: one entry per
community the account holds (at most ``MAX_COMMUNITIES``) and ``MAX_EVENTS`` events each.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from pystatus.chat import community_control as control
from pystatus.chat import community_events as events
from pystatus.chat import community_requests
from pystatus.chat import community_roles as roles
from pystatus.chat.community import (
    Access,
    Community,
    InvalidCommunity,
    Roles,
    member_key,
    pubsub_topic,
)
from pystatus.chat.community_chats import (
    MAX_COMMUNITIES,
    Change,
    CommunityChats,
    CommunityNotAllowed,
    Send,
)
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_update_pb2 as upb
from pystatus.chat.wrapper import Unwrapped

EventType = events.EventType

MAX_REQUESTS = 100
"""Requests held per community as an admin (the control node's MAX_PENDING)."""

HELD = Gauge("chat_community_events_held", "Admin events held on top of descriptions")
REQUESTS_EVICTED = Counter(
    "chat_community_admin_requests_evicted", "Requests to join an admin held, dropped for room"
)
UNKNOWN_REQUEST = Counter(
    "chat_community_events_unknown_request",
    "Requests to join an admin decided that the control node never received",
)


@dataclass(slots=True)
class _State:
    signed: Community | None = None
    """The control node's description the held events build on."""
    held: tuple[events.Event, ...] = ()
    applied: dict[str, int] = field(default_factory=dict)
    requests: OrderedDict[str, pb.CommunityRequestToJoin] = field(default_factory=OrderedDict)
    """Requests to join shared with us as an admin, by requester (``0x04...``)."""


class AdminEvents:
    """Admins' events for the communities of one account (see the module docstring)."""

    def __init__(self) -> None:
        self._state: OrderedDict[str, _State] = OrderedDict()

    def _of(self, community_id: str) -> _State:
        state = self._state.get(community_id)
        if state is None:
            state = self._state[community_id] = _State()
            while len(self._state) > MAX_COMMUNITIES:
                self._state.popitem(last=False)
        self._state.move_to_end(community_id)
        return state

    def held(self, chats: CommunityChats, community_id: str) -> tuple[events.Event, ...]:
        """The events we hold on the control node's description we hold (none once a newer
        description came)."""
        state = self._state.get(community_id)
        community = chats.get(community_id)
        if state is None or state.signed is None or community is None:
            return ()
        return state.held if state.signed.clock == community.clock else ()

    def _current(
        self, state: _State, community: Community
    ) -> tuple[Community, tuple[events.Event, ...]]:
        """The signed description the held events build on, or ``community`` when a newer
        description came (the held events are then stale and dropped)."""
        signed = state.signed
        if signed is None or signed.clock != community.clock:
            state.signed, state.held = community, ()
            self._count()
            return community, ()
        return signed, state.held

    def _count(self) -> None:
        HELD.set(sum(len(s.held) for s in self._state.values()))

    # -- receiving ------------------------------------------------------------------------

    def receive(
        self, chats: CommunityChats, message: Unwrapped, now_ms: int
    ) -> tuple[Change | None, list[Send]]:
        """A CommunityEventsMessage (wrapper unwrapped, its author recovered). Raises
        :class:`~pystatus.chat.community_events.InvalidEvents` (counted) for one refused."""
        community_id = events.decode_message(message.payload).community_id
        community = chats.get(community_id)
        if community is None:
            raise events.InvalidEvents("unknown", "events for a community we do not hold")
        state = self._of(community_id)
        key = chats.private_key(community_id)
        if key is not None:
            outcome = events.process(
                community,
                message.payload,
                message.author,
                applied=state.applied,
                private_key=key,
                now_ms=now_ms,
            )
            state.applied = dict(outcome.applied)
            chats._keep(outcome.community)
            sends = [_publish(outcome.community)]
            sends += self._answer(chats, outcome, now_ms)
            return Change(chats.get(community_id) or outcome.community, "updated"), sends
        signed, held = self._current(state, community)
        outcome = events.process(
            community, message.payload, message.author, held=held, signed=signed
        )
        state.held = outcome.held
        self._count()
        chats._keep(outcome.community)
        return Change(outcome.community, "updated"), []

    def _answer(self, chats: CommunityChats, outcome: events.Outcome, now_ms: int) -> list[Send]:
        community_id = outcome.community.id
        pending = {member for member, _, _ in chats.pending(community_id)}
        sends: list[Send] = []
        for member in outcome.accepted:
            if member in pending:
                sends += chats.accept(community_id, member, now_ms)
            elif not outcome.community.is_member(member):
                UNKNOWN_REQUEST.inc()
        for member in outcome.rejected:
            if member in pending:
                sends += chats.decline(community_id, member, now_ms)
        return sends

    def take_request(self, chats: CommunityChats, message: Unwrapped) -> Change | None:
        """A COMMUNITY_REQUEST_TO_JOIN a requester sent us as a privileged member of a
        community we do not control: held for :meth:`pending` and our decision. Raises
        :class:`~pystatus.chat.community.InvalidCommunity` (counted) for one we may not take."""
        request = community_requests.decode(message.type, message.payload)
        community = chats.get(request.community_id)
        me = chats.me
        if community is None or not roles.is_privileged(community.members.get(me, ())):
            raise InvalidCommunity("not_admin", "a request to a community we do not manage")
        author = member_key(message.author)
        if community.is_member(author) or community.is_banned(author):
            return None
        state = self._of(community.id)
        state.requests.pop(author, None)
        assert isinstance(request.message, pb.CommunityRequestToJoin)
        state.requests[author] = request.message
        while len(state.requests) > MAX_REQUESTS:
            state.requests.popitem(last=False)
            REQUESTS_EVICTED.inc()
        return Change(community, "request", author, request.message.display_name)

    def hold_request(
        self, community_id: str, requester: str, request: pb.CommunityRequestToJoin
    ) -> None:
        """A pending request the control node shared with us (type 72,
        :mod:`pystatus.chat.community_privileged_sync`), held as if the requester had sent it."""
        state = self._of(community_id)
        state.requests.pop(requester, None)
        state.requests[requester] = request
        while len(state.requests) > MAX_REQUESTS:
            state.requests.popitem(last=False)
            REQUESTS_EVICTED.inc()

    def drop_request(self, community_id: str, requester: str) -> None:
        """A request the control node accepted or rejected: no longer ours to decide."""
        state = self._state.get(community_id)
        if state is not None:
            state.requests.pop(requester, None)

    def pending(self, chats: CommunityChats, community_id: str) -> list[tuple[str, int, str]]:
        """Requests shared with us as an admin and not yet members: (requester ``0x04...``,
        clock in seconds, display name)."""
        state = self._state.get(community_id)
        community = chats.get(community_id)
        if state is None or community is None:
            return []
        return [
            (k, int(r.clock), r.display_name)
            for k, r in state.requests.items()
            if not community.is_member(k)
        ]

    # -- sending, as an admin -------------------------------------------------------------

    def send(
        self, chats: CommunityChats, community_id: str, event: upb.CommunityEvent
    ) -> list[Send]:
        """Our change as an event to a community we do not control. Raises
        :class:`~pystatus.chat.community_events.NotAdmin`,
        :class:`~pystatus.chat.community.InvalidCommunity`, :class:`CommunityNotAllowed`."""
        community = chats.get(community_id)
        if community is None or not chats.joined(community_id):
            raise CommunityNotAllowed(f"not a member of community {community_id[:80]!r}")
        if chats.controls(community_id):
            raise events.NotAdmin("we control this community: its description is ours to sign")
        state = self._of(community_id)
        signed, held = self._current(state, community)
        wrapped, outcome = events.admin_send(community, held, chats.identity, event, signed=signed)
        state.held = outcome.held
        self._count()
        chats._keep(outcome.community)
        return [Send("description", wrapped, pubsub_topic(None), name=community_id)]

    def add_channel(
        self,
        chats: CommunityChats,
        community_id: str,
        name: str,
        now_ms: int,
        *,
        category_id: str = "",
        about: str = "",
    ) -> tuple[str, list[Send]]:
        """A channel added by an admin (COMMUNITY_CHANNEL_CREATE): returns (its chat id,
        what to send)."""
        chat = pb.CommunityChat(category_id=category_id)
        chat.permissions.access = Access.AUTO_ACCEPT
        chat.identity.display_name = name
        chat.identity.description = about
        chat.identity.color = "#887af9"
        channel_id = str(uuid.uuid4())
        sends = self.send(chats, community_id, events.channel_create(now_ms, channel_id, chat))
        return community_id + channel_id, sends

    def accept(
        self,
        chats: CommunityChats,
        community_id: str,
        member: str,
        now_ms: int,
        *,
        accept: bool = True,
    ) -> list[Send]:
        """Accept (or reject) ``member``'s (``0x04...``) request to join."""
        raw_id = bytes.fromhex(community_id.removeprefix("0x"))
        state = self._of(community_id)
        request = state.requests.get(member) or pb.CommunityRequestToJoin(
            clock=now_ms // 1000, community_id=raw_id
        )
        event = events.request_decision(now_ms, member, request, accept=accept)
        sends = self.send(chats, community_id, event)
        state.requests.pop(member, None)
        return sends

    def ban(self, chats: CommunityChats, community_id: str, member: str, now_ms: int) -> list[Send]:
        """Ban ``member`` (``0x04...``): the control node removes them in its next description."""
        if chats.get(community_id) is None:
            raise InvalidCommunity("unknown", "no such community")
        event = events.member_event(now_ms, EventType.COMMUNITY_MEMBER_BAN, member)
        return self.send(chats, community_id, event)


def _publish(community: Community) -> Send:
    return Send("description", community.wrapped, pubsub_topic(None), name=community.id)


def set_admin(
    chats: CommunityChats, community_id: str, member: str, now_ms: int, *, admin: bool = True
) -> list[Send]:
    """The control node makes ``member`` (``0x04...``) an admin (ROLE_ADMIN), or an ordinary
    member again, and publishes the description.

    status-go grants the role through a ``BECOME_ADMIN`` token permission: its control node
    gives ROLE_ADMIN to members whose revealed wallets hold the permission's tokens, checked
    on chain. A pystatus control node holds no chain client, so it writes the role itself
    (status-go's members take roles from the signed description alone, ``validateEvent``
    reads them there). Raises :class:`CommunityNotAllowed` (not ours, not a member)."""
    community, key = chats._control(community_id)
    if not community.is_member(member):
        raise CommunityNotAllowed("not a member")
    roles = [r for r in community.members[member] if r != Roles.ROLE_ADMIN]
    if admin:
        roles.append(Roles.ROLE_ADMIN)
    community = control.set_roles(community, key, member, roles, now_ms)
    chats._keep(community)
    return [_publish(community)]
