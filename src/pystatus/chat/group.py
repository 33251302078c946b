"""Private group chats, sans-IO: what we send to a group and what we make of what arrives.

Sending, as status-go v1.1.0 (``protocol/messenger.go`` dispatchMessage and
``protocol/common/message_sender.go`` SendGroup / EncodeMembershipUpdate): every message to a
group is a ``MembershipUpdateMessage`` carrying all of the group's events and the
``ChatMessage`` (message type PRIVATE_GROUP), wrapped as ``MEMBERSHIP_UPDATE_MESSAGE`` (3) and
signed once; the same wrapped bytes go to each member but us over that member's 1:1 session,
through MVDS (:meth:`~pystatus.chat.session.ChatSession.outbox_entry`). A membership change
goes out the same way with no message, to the members before and after the change (so a member
removed learns of it, and receives nothing after).

Receiving, as ``protocol/messenger_handler.go`` HandleMembershipUpdate: the events' clocks are
checked, a group we do not know must have counted us as a member at some point (an invitation
when we are one now), a group we know gets the new events merged and is refolded. A message
riding on the update is taken from a member while we are one; from someone removed, only when
its clock is below the clock of their removal.

:class:`GroupChats` holds the groups (bounded, ``chat_groups`` gauge); it reads no clock
(``now_ms``: wall-clock milliseconds, for Lamport clocks and the clock check) and does no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter, Gauge

from pystatus.chat.content.messages import parse_chat_message
from pystatus.chat.database import OutboxEntry
from pystatus.chat.membership import (
    EventType,
    Group,
    InvalidMembershipUpdate,
    MembershipEvent,
    MembershipUpdate,
    check_clocks,
    decode_update,
    encode_update,
    fold,
    key_text,
    new_chat_id,
    sign_event,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from pystatus.errors import ChatError

MAX_GROUPS = 10_000
"""Groups held; past it the least recently used is forgotten (``chat_group_evicted``)."""

PRIVATE_GROUP = 3
"""``MessageType.PRIVATE_GROUP`` of a group's ChatMessage (status-go's enums.proto)."""

GROUPS = Gauge("chat_groups", "Private groups held")
EVICTED = Counter("chat_group_evicted", "Private groups forgotten at the bound")
DROPPED = Counter(
    "chat_group_dropped_messages",
    "Group messages not taken, by reason",
    ["reason"],
)


class NotAGroupMember(ChatError):
    """We cannot do this in that group: we are not a member, or not an admin where the
    change needs one, or the group is unknown."""


class NotAGroupAdmin(NotAGroupMember):
    """A change only a group's admins may make, tried by a member who is not one (status-go's
    ``validateEvent``, ``protocol/v1/membership_update_message.go``: only an admin removes a
    member other than themselves, and never another admin)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What to send for a group: ``wrapped`` (a signed ``MEMBERSHIP_UPDATE_MESSAGE``) to each
    of ``recipients`` (uncompressed keys, 65 bytes) over MVDS."""

    group: Group
    wrapped: bytes
    recipients: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class GroupReceived:
    """What a received membership update did. ``kind``: ``invitation`` (a group we did not
    know, that holds us), ``updated`` (new events of a group we know), ``unchanged``;
    ``message``: the ChatMessage riding on it when it is taken (else None); ``added`` and
    ``removed``: keys that joined or left the member list with this update."""

    group: Group
    kind: str
    message: chat_message_pb2.ChatMessage | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class _Session(Protocol):
    def outbox_entry(
        self, recipient: bytes, message_id: str, wrapped: bytes, now_ns: int
    ) -> OutboxEntry: ...


def outbox_entries(
    session: _Session, outgoing: Outgoing, message_id: str, now_ns: int
) -> list[OutboxEntry]:
    """One MVDS outbox entry per recipient of ``outgoing`` (a
    :class:`~pystatus.chat.session.ChatSession`'s 1:1 data sync, as status-go's SendGroup
    sends to each member privately); commit them, then ``session.queue`` them."""
    return [
        session.outbox_entry(r, message_id, outgoing.wrapped, now_ns) for r in outgoing.recipients
    ]


def _key_bytes(key: str) -> bytes:
    return bytes.fromhex(key[2:])


class GroupChats:
    """The private groups of one account (``identity``: its chat private key, 32 bytes)."""

    def __init__(self, identity: bytes, public_key: bytes) -> None:
        self.identity = identity
        self.me = key_text(public_key)
        self._groups: OrderedDict[str, Group] = OrderedDict()
        self._clock = 0

    # -- state ----------------------------------------------------------------------------

    def get(self, chat_id: str) -> Group | None:
        return self._groups.get(chat_id)

    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def restore(self, chat_id: str, events: Iterable[MembershipEvent]) -> Group:
        """A group as saved (its events); raises :class:`InvalidMembershipUpdate`."""
        group = fold(chat_id, events)
        self._keep(group)
        return group

    def _keep(self, group: Group) -> None:
        self._groups[group.chat_id] = group
        self._groups.move_to_end(group.chat_id)
        self._clock = max(self._clock, group.last_clock)
        while len(self._groups) > MAX_GROUPS:
            self._groups.popitem(last=False)
            EVICTED.inc()
        GROUPS.set(len(self._groups))

    def next_clock(self, now_ms: int) -> int:
        """max(last + 1, now in ms), across our groups (status-go's chat clock)."""
        self._clock = max(self._clock + 1, now_ms)
        return self._clock

    def _group(self, chat_id: str) -> Group:
        group = self._groups.get(chat_id)
        if group is None:
            raise NotAGroupMember(f"no group {chat_id!r}")
        return group

    # -- changes we make ------------------------------------------------------------------

    def _sign(
        self,
        chat_id: str,
        type: EventType,
        now_ms: int,
        *,
        members: Sequence[str] = (),
        name: str = "",
        color: str = "",
        image: bytes = b"",
    ) -> MembershipEvent:
        clock = self.next_clock(now_ms)
        return sign_event(
            self.identity,
            chat_id,
            type,
            clock,
            members=members,
            name=name,
            color=color,
            image=image,
        )

    def _change(self, group: Group, events: Sequence[MembershipEvent]) -> Outgoing:
        """Apply our own events; the update goes to the members before and after."""
        try:
            changed = group.apply(events)
        except InvalidMembershipUpdate as exc:
            raise NotAGroupMember(f"not allowed in this group: {exc}") from None
        self._keep(changed)
        to = dict.fromkeys([*group.members, *changed.members])
        return self._outgoing(changed, None, to)

    def _outgoing(
        self,
        group: Group,
        message: chat_message_pb2.ChatMessage | None,
        to: Iterable[str],
    ) -> Outgoing:
        wrapped = wrap(
            encode_update(group.chat_id, group.events, message),
            MessageType.MEMBERSHIP_UPDATE_MESSAGE,
            self.identity,
        )
        recipients = tuple(_key_bytes(k) for k in to if k != self.me)
        return Outgoing(group, wrapped, recipients)

    def create(
        self, name: str, members: Sequence[bytes], now_ms: int, *, color: str = "#887af9"
    ) -> Outgoing:
        """A new group we admin, with ``members`` (public keys) added: CHAT_CREATED then
        MEMBERS_ADDED, as status-go's CreateGroupChatWithMembers. Raises ``ValueError`` for
        a key that is not one, :class:`InvalidMembershipUpdate` for an empty name."""
        if not name:
            raise InvalidMembershipUpdate("event", "a group needs a name")
        chat_id = new_chat_id(_key_bytes(self.me))
        events = [self._sign(chat_id, EventType.CHAT_CREATED, now_ms, name=name, color=color)]
        keys = [key_text(m) for m in members]
        if keys:
            events.append(self._sign(chat_id, EventType.MEMBERS_ADDED, now_ms, members=keys))
        group = fold(chat_id, events)
        self._keep(group)
        return self._outgoing(group, None, group.members)

    def add_members(self, chat_id: str, members: Sequence[bytes], now_ms: int) -> Outgoing:
        """MEMBERS_ADDED by us. Raises :class:`NotAGroupMember`, ``ValueError``."""
        keys = [key_text(m) for m in members]
        group = self._group(chat_id)
        event = self._sign(chat_id, EventType.MEMBERS_ADDED, now_ms, members=keys)
        return self._change(group, [event])

    def remove_member(self, chat_id: str, member: bytes, now_ms: int) -> Outgoing:
        """MEMBER_REMOVED by us, an admin. Raises :class:`NotAGroupAdmin` when we are a
        member but not an admin, or ``member`` is an admin; :class:`NotAGroupMember`."""
        group = self._group(chat_id)
        target = key_text(member)
        if group.is_member(self.me) and target != self.me:
            # Said before signing: status-go would refuse the event with no reason given.
            if not group.is_admin(self.me):
                raise NotAGroupAdmin("only admins can remove members")
            if group.is_admin(target):
                raise NotAGroupAdmin("an admin cannot be removed from a group")
        event = self._sign(chat_id, EventType.MEMBER_REMOVED, now_ms, members=[key_text(member)])
        return self._change(group, [event])

    def leave(self, chat_id: str, now_ms: int) -> Outgoing:
        """We leave: MEMBER_REMOVED naming ourselves (status-go's LeaveGroupChat), told to
        every member. Raises :class:`NotAGroupMember`."""
        group = self._group(chat_id)
        event = self._sign(chat_id, EventType.MEMBER_REMOVED, now_ms, members=[self.me])
        return self._change(group, [event])

    def rename(self, chat_id: str, name: str, now_ms: int) -> Outgoing:
        """NAME_CHANGED by us. Raises :class:`NotAGroupMember`."""
        group = self._group(chat_id)
        return self._change(group, [self._sign(chat_id, EventType.NAME_CHANGED, now_ms, name=name)])

    def edit(
        self,
        chat_id: str,
        now_ms: int,
        *,
        name: str | None = None,
        color: str | None = None,
        image: bytes | None = None,
    ) -> Outgoing:
        """NAME_CHANGED, COLOR_CHANGED and IMAGE_CHANGED by us, for what is given and
        differs (status-go's EditGroupChat), in one update. Raises
        :class:`NotAGroupMember` (also for an empty value, which status-go refuses)."""
        group = self._group(chat_id)
        events = []
        if name is not None and name != group.name:
            events.append(self._sign(chat_id, EventType.NAME_CHANGED, now_ms, name=name))
        if color is not None and color != group.color:
            events.append(self._sign(chat_id, EventType.COLOR_CHANGED, now_ms, color=color))
        if image is not None and image != group.image:
            events.append(self._sign(chat_id, EventType.IMAGE_CHANGED, now_ms, image=image))
        return self._change(group, events)

    def add_admins(self, chat_id: str, members: Sequence[bytes], now_ms: int) -> Outgoing:
        """ADMINS_ADDED by us, an admin, naming members. Raises :class:`NotAGroupMember`."""
        keys = [key_text(m) for m in members]
        group = self._group(chat_id)
        event = self._sign(chat_id, EventType.ADMINS_ADDED, now_ms, members=keys)
        return self._change(group, [event])

    def message(self, chat_id: str, message: chat_message_pb2.ChatMessage) -> Outgoing:
        """``message`` (its clock, timestamp and content set by the caller) sent to the
        group: chat id and message type set here, every event of the group riding along.
        Raises :class:`NotAGroupMember` when we are not a member."""
        group = self._group(chat_id)
        if not group.is_member(self.me):
            raise NotAGroupMember("we are not a member of this group")
        message.chat_id = chat_id
        message.message_type = PRIVATE_GROUP  # type: ignore[assignment]
        self._clock = max(self._clock, message.clock)
        return self._outgoing(group, message, group.members)

    # -- what arrives ---------------------------------------------------------------------

    def receive_wrapped(self, wrapped: bytes, now_ms: int) -> GroupReceived | None:
        """A wrapped Status message (a :class:`~pystatus.chat.actions.Deliver`'s): None when
        it is not a ``MEMBERSHIP_UPDATE_MESSAGE``, else what it did (its author recovered
        from the wrapper's signature). Raises :class:`InvalidMembershipUpdate` (counted) or
        :class:`~pystatus.chat.wrapper.InvalidWrapper`."""
        unwrapped = unwrap(wrapped)
        if unwrapped.type != MessageType.MEMBERSHIP_UPDATE_MESSAGE:
            return None
        return self.receive(unwrapped.author, decode_update(unwrapped.payload), now_ms)

    def receive(self, author: bytes, update: MembershipUpdate, now_ms: int) -> GroupReceived:
        """A decoded update from ``author``: the group folded with it, and the message it
        carries if we take it (None: dropped and counted, from someone not a member then).
        Raises :class:`InvalidMembershipUpdate` for events status-go refuses or a group that
        never held us, :class:`~pystatus.chat.content.InvalidContent` for a message status-go
        refuses; nothing of a refused update is taken."""
        check_clocks(update.events, now_ms)
        if update.message is not None:
            # status-go's ValidateReceivedChatMessage, before anything of the update is taken:
            # a bad message refuses the whole update (raises InvalidContent).
            parse_chat_message(update.message.SerializeToString(), sent_at_ms=now_ms)
        known = self._groups.get(update.chat_id)
        if known is None:
            if not update.events:
                raise InvalidMembershipUpdate("no_events", "an unknown group with no events")
            group = fold(update.chat_id, update.events)
            if not group.was_ever_member(self.me):
                raise InvalidMembershipUpdate("not_member", "a group that never held us")
            kind = "invitation" if group.is_member(self.me) else "updated"
            added: tuple[str, ...] = tuple(group.members)
            removed: tuple[str, ...] = ()
        else:
            group = known.apply(update.events)
            kind = "updated" if len(group.events) != len(known.events) else "unchanged"
            added = tuple(m for m in group.members if not known.is_member(m))
            removed = tuple(m for m in known.members if not group.is_member(m))
        self._keep(group)
        taken = None
        if update.message is not None:
            taken = self._take(group, key_text(author), update.message)
        return GroupReceived(group, kind, taken, added, removed)

    def _take(
        self, group: Group, sender: str, message: chat_message_pb2.ChatMessage
    ) -> chat_message_pb2.ChatMessage | None:
        if not group.is_member(self.me):
            DROPPED.labels("not_member").inc()
            return None
        if message.chat_id != group.chat_id:
            DROPPED.labels("chat_id").inc()
            return None
        if group.is_member(sender):
            return message
        removed_at = group.removed_at.get(sender)
        if removed_at is not None and message.clock < removed_at:
            return message  # written before their removal
        DROPPED.labels("removed" if removed_at is not None else "outsider").inc()
        return None
