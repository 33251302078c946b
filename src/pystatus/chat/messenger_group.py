"""The messenger's private group chats: the asyncio side of :mod:`pystatus.chat.group`.

A base class of :class:`~pystatus.chat.messenger.Messenger` (its methods are the messenger's).
What it sends follows status-go v1.1.0 (``protocol/messenger_group_chat.go``
CreateGroupChatWithMembers, AddMembersToGroupChat, RemoveMembersFromGroupChat,
LeaveGroupChat; ``protocol/messenger.go`` dispatchMessage): every change and every message is
one signed ``MEMBERSHIP_UPDATE_MESSAGE`` carrying all of the group's events, stored with one
MVDS outbox entry per member (each member's 1:1 session), then queued in the session.

A group's events are kept in the chat database's sync state under ``group:<chat id>`` (the
serialized MembershipUpdateMessage without a message), its chat row of kind ``group``, its
messages as any chat's; all commit with the received message they came with, before its
acknowledgement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pystatus.chat.actions import Action
from pystatus.chat.database import Batch, ChatRow, OutboxEntry, StoredMessage
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.group import (
    GroupChats,
    GroupReceived,
    NotAGroupMember,
    Outgoing,
    outbox_entries,
)
from pystatus.chat.keys import chat_key_text
from pystatus.chat.membership import (
    Group,
    InvalidMembershipUpdate,
    decode_update,
    encode_update,
    key_text,
)
from pystatus.chat.membership import is_group_chat_id as is_group_chat_id
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.session import ChatSession
from pystatus.chat.user_input import public_key_of
from pystatus.chat.wrapper import Unwrapped
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write

log = logging.getLogger(__name__)

GROUP = "group"
"""The chat kind of a private group (the ``chats`` table's ``kind``)."""
GROUP_STATE = "group:"
"""Sync-state key prefix of a group's events."""
GROUP_EVENT = "group"


@dataclass(frozen=True, slots=True)
class GroupEvent(ChatEvent):
    """A private group changed: ``id`` and ``chat_id`` are its chat id, ``author`` who made
    the change (``zQ3...``), ``text`` what happened: ``invitation`` (a group that holds us),
    ``left`` (the author left the group: a MEMBER_REMOVED naming its own author, as
    status-go's LeaveGroupChat sends), ``updated`` (any other change); ``display_name`` the
    group's name."""

    kind: str = GROUP_EVENT


class GroupMessaging:
    session: ChatSession
    _identity: bytes
    _public_key: bytes
    _chat_key: str
    _groups: GroupChats

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _check_running(self) -> None: ...

        async def _commit(self, write: Write) -> None: ...

        def _queue_write(self, write: Write) -> bool: ...

        def _queue_sync(self, entry: OutboxEntry) -> None: ...

        def _tick(self, seen: int = 0) -> int: ...

        def _observe(self, clock: int) -> None: ...

    def _init_groups(self) -> None:
        self._groups = GroupChats(self._identity, self._public_key)

    def _restore_groups(self, state: dict[str, bytes]) -> None:
        """Groups as the database kept them (at start)."""
        for key, value in state.items():
            if not key.startswith(GROUP_STATE):
                continue
            try:
                update = decode_update(value)
                group = self._groups.restore(update.chat_id, update.events)
            except InvalidMembershipUpdate as exc:
                # Written only once valid: a row that no longer folds is damage, not input.
                # Counted (chat_group_rejected_updates) and logged; the account still starts.
                log.warning("group %s not restored: %s", key.removeprefix(GROUP_STATE), exc)
                continue
            self._observe(group.last_clock)

    # -- reading ----------------------------------------------------------------------------

    def group(self, chat_id: str) -> Group | None:
        """The group ``chat_id`` as we know it (members and admins as ``0x04...`` keys)."""
        return self._groups.get(chat_id)

    def groups(self) -> list[Group]:
        return self._groups.groups()

    # -- changes ----------------------------------------------------------------------------

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 10**6

    def _group_batch(self, group: Group, *, active: bool = True) -> Batch:
        return Batch(
            chats=[ChatRow(group.chat_id, GROUP, group.name, active)],
            sync_state={GROUP_STATE + group.chat_id: encode_update(group.chat_id, group.events)},
        )

    async def _send_group(
        self,
        outgoing: Outgoing,
        stored: StoredMessage | None = None,
        event: ChatEvent | None = None,
    ) -> str:
        """Store ``outgoing`` with its MVDS entries (and the message it carries), then queue
        them; returns the wrapper's message id."""
        message_id = "0x" + wrapper_message_id(self._public_key, outgoing.wrapped).hex()
        if stored is not None:
            stored = StoredMessage(
                message_id,
                stored.chat_id,
                stored.author,
                stored.clock,
                stored.timestamp,
                stored.body,
                stored.status,
            )
            self.session.track(message_id, stored.chat_id, DeliveryStatus.PENDING)
        entries = outbox_entries(self.session, outgoing, message_id, time.time_ns())
        write = Write(
            stored,
            None,
            outbox_added=entries,
            extra=self._group_batch(outgoing.group),
            events=[event] if event is not None else [],
        )
        await self._commit(write)
        for entry in entries:
            self._queue_sync(entry)
        return message_id

    async def create_group(self, name: str, members: list[str], *, color: str = "#887af9") -> str:
        """A new group we admin with ``members`` (chat keys, ``zQ3...`` or ``0x04...``);
        returns its chat id once stored. Raises :class:`ChatError` (a bad key, no name)."""
        self._check_running()
        keys = [public_key_of(m) for m in members]
        outgoing = self._groups.create(name, keys, self._now_ms(), color=color)
        await self._send_group(outgoing)
        return outgoing.group.chat_id

    async def add_group_members(self, chat_id: str, members: list[str]) -> None:
        """Add ``members`` (chat keys) to a group we are in. Raises :class:`ChatError`."""
        self._check_running()
        keys = [public_key_of(m) for m in members]
        await self._send_group(self._groups.add_members(chat_id, keys, self._now_ms()))

    async def remove_group_member(self, chat_id: str, member: str) -> None:
        """Remove ``member`` (we must be an admin, and they not one); they are told, then
        get nothing more. Raises :class:`ChatError`."""
        self._check_running()
        key = public_key_of(member)
        await self._send_group(self._groups.remove_member(chat_id, key, self._now_ms()))

    async def leave_group(self, chat_id: str) -> None:
        """Leave a group (every member is told). Raises :class:`ChatError`."""
        self._check_running()
        await self._send_group(self._groups.leave(chat_id, self._now_ms()))

    async def rename_group(self, chat_id: str, name: str) -> None:
        """Rename a group we are a member of (status-go lets any member). Raises
        :class:`ChatError`."""
        self._check_running()
        await self._send_group(self._groups.rename(chat_id, name, self._now_ms()))

    async def edit_group(
        self,
        chat_id: str,
        *,
        name: str | None = None,
        color: str | None = None,
        image: bytes | None = None,
    ) -> None:
        """Change a group's name, colour (``#rrggbb``) or image (bytes as given), as
        status-go's EditGroupChat. Raises :class:`ChatError`."""
        self._check_running()
        outgoing = self._groups.edit(chat_id, self._now_ms(), name=name, color=color, image=image)
        await self._send_group(outgoing)

    async def add_group_admins(self, chat_id: str, members: list[str]) -> None:
        """Make members admins (we must be one). Raises :class:`ChatError`."""
        self._check_running()
        keys = [public_key_of(m) for m in members]
        await self._send_group(self._groups.add_admins(chat_id, keys, self._now_ms()))

    async def send_group(self, chat_id: str, text: str, *, response_to: str = "") -> str:
        """Send ``text`` to a group we are a member of; returns the message id once stored.
        Raises :class:`ChatError` (:class:`~pystatus.chat.group.NotAGroupMember`)."""
        self._check_running()
        message = chat_message_pb2.ChatMessage(
            clock=self._tick(self._groups.next_clock(self._now_ms())),
            timestamp=self._now_ms(),
            text=text,
            response_to=response_to,
            content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
        )
        outgoing = self._groups.message(chat_id, message)
        body = message.SerializeToString()
        stored = StoredMessage(
            "", chat_id, self._chat_key, message.clock, message.timestamp, body, "pending"
        )
        return await self._send_group(outgoing, stored)

    def _group_private(self, chat_id: str, wrapped: bytes) -> list[Action]:
        """``wrapped`` to each member but us, each over their 1:1 session without data sync
        (status-go sends a group's reactions so: SendGroup, SkipGroupMessageWrap). Raises
        :class:`~pystatus.chat.group.NotAGroupMember` unless we are a member."""
        group = self._groups.get(chat_id)
        if group is None or not group.is_member(self._groups.me):
            raise NotAGroupMember(f"we are not a member of group {chat_id!r}")
        actions: list[Action] = []
        for member in group.members:
            if member != self._groups.me:
                key = bytes.fromhex(member[2:])
                actions += self.session.send_private(key, wrapped, time.time_ns())
        return actions

    def _group_entries(self, chat_id: str, wrapped: bytes) -> list[OutboxEntry]:
        """MVDS entries carrying ``wrapped`` (an edit, delete or pin: status-go sends them
        unwrapped, ``WrapGroupMessage`` false) to each member but us. Raises
        :class:`~pystatus.chat.group.NotAGroupMember` unless we are a member."""
        group = self._groups.get(chat_id)
        if group is None or not group.is_member(self._groups.me):
            raise NotAGroupMember(f"we are not a member of group {chat_id!r}")
        recipients = tuple(bytes.fromhex(m[2:]) for m in group.members if m != self._groups.me)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        outgoing = Outgoing(group, wrapped, recipients)
        return outbox_entries(self.session, outgoing, message_id, time.time_ns())

    def _group_member(self, chat_id: str, author: bytes) -> bool:
        """Whether ``author`` (uncompressed key) is a member of group ``chat_id`` now."""
        group = self._groups.get(chat_id)
        return group is not None and group.is_member(key_text(author))

    # -- receiving --------------------------------------------------------------------------

    def _receive_group(
        self, message: Unwrapped, outgoing: bool, after: Callable[[], None] | None
    ) -> None:
        """A ``MEMBERSHIP_UPDATE_MESSAGE``: the group folded with it (raises
        :class:`~pystatus.chat.membership.InvalidMembershipUpdate`, a :class:`ChatError`),
        then its chat, events and the message it carries committed before ``after``."""
        received = self._groups.receive(
            message.author, decode_update(message.payload), self._now_ms()
        )
        group = received.group
        self._observe(group.last_clock)
        author = chat_key_text(message.author)
        events: list[ChatEvent] = []
        if received.kind != "unchanged":
            events.append(_group_event(received, author, outgoing))
        stored = None
        event = None
        if received.message is not None:
            chat = received.message
            self._observe(chat.clock)
            message_id = "0x" + message.message_id.hex()
            stored = StoredMessage(
                message_id,
                group.chat_id,
                author,
                chat.clock,
                chat.timestamp,
                chat.SerializeToString(),
            )
            event = message_event(stored, chat, outgoing)
        active = group.is_member(self._groups.me)
        self._queue_write(
            Write(
                stored,
                event,
                after=after,
                extra=self._group_batch(group, active=active),
                events=events,
            )
        )


def _group_event(received: GroupReceived, author: str, outgoing: bool) -> GroupEvent:
    group = received.group
    text = received.kind
    # A leave is the one change whose author is also the member it removes: the others
    # should read "<who> left", not a bare "updated".
    if text == "updated" and [chat_key_text(bytes.fromhex(m[2:])) for m in received.removed] == [
        author
    ]:
        text = "left"
    return GroupEvent(
        group.chat_id,
        group.chat_id,
        author,
        text,
        group.last_clock,
        0,
        "",
        outgoing,
        display_name=group.name,
    )


def group_members(group: Group) -> list[str]:
    """A group's members as chat keys (``zQ3...``)."""
    return [chat_key_text(bytes.fromhex(m[2:])) for m in group.members]
