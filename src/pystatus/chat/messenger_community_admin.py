"""Community admins in the Messenger: the asyncio side of :mod:`pystatus.chat.community_admin`.

A CommunityEventsMessage (type 67) travels as status-go's ``publishCommunityEvents`` sends
it: the bare wrapper, signed by the admin's chat key, on the community's description topic
(the community id as a public chat name), so every member and the control node, who listen
there, get it. :class:`CommunityAdminMessaging` takes them (members apply, the control node
applies and republishes), sends ours when we are an admin of a community we do not control,
and lets the control node give or take the admin role.

Held events are not stored: after a restart a member waits for the control node's next
description, and an admin can send events again once one arrives (status-go keeps them in
its database, ``SaveCommunityEvents``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pystatus.chat import community_requests
from pystatus.chat.community import Community, InvalidCommunity, member_key
from pystatus.chat.community_admin import AdminEvents, set_admin
from pystatus.chat.community_chats import Change, CommunityChats, Send
from pystatus.chat.events import ChatEvent
from pystatus.chat.user_input import public_key_of
from pystatus.chat.wrapper import MessageType, Unwrapped


class CommunityAdminMessaging:
    _communities: CommunityChats
    _admin_events_state: AdminEvents | None = None

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _check_running(self) -> None: ...

        def _got(self, community_id: str) -> Community: ...

        def _admin_syncs(
            self, community_id: str, admin: str = "", decided: str = "", *, accepted: bool = False
        ) -> list[Send]: ...  # messenger_community_moderation.py

        async def _community_done(
            self, community: Community, sends: list[Send], event: ChatEvent | None = None
        ) -> None: ...

    @property
    def _admin_events(self) -> AdminEvents:
        if self._admin_events_state is None:
            self._admin_events_state = AdminEvents()
        return self._admin_events_state

    def _admin_takes(self, message: Unwrapped) -> bool:
        """Whether ``message`` is ours to handle: an admin's events, or a request to join a
        community we do not control (sent to us as a privileged member)."""
        if message.type == MessageType.COMMUNITY_EVENTS_MESSAGE:
            return True
        if message.type != MessageType.COMMUNITY_REQUEST_TO_JOIN:
            return False
        try:
            request = community_requests.decode(message.type, message.payload)
        except InvalidCommunity:
            return False  # the community core refuses it, counted
        return not self._communities.controls(request.community_id)

    def _admin_receive(self, message: Unwrapped) -> tuple[Change | None, list[Send]]:
        """Raises :class:`~pystatus.chat.community_events.InvalidEvents` or
        :class:`~pystatus.chat.community.InvalidCommunity` (ChatErrors, counted)."""
        if message.type == MessageType.COMMUNITY_EVENTS_MESSAGE:
            now_ms = time.time_ns() // 10**6
            return self._admin_events.receive(self._communities, message, now_ms)
        return self._admin_events.take_request(self._communities, message), []

    def _admin_pending(self, community_id: str) -> list[tuple[str, int, str]]:
        return self._admin_events.pending(self._communities, community_id)

    def community_admin_events_held(self, community_id: str) -> int:
        """How many admins' events we apply on top of the community's last description."""
        return len(self._admin_events.held(self._communities, community_id))

    async def set_community_admin(
        self, community_id: str, member: str, *, admin: bool = True
    ) -> None:
        """Make a member (a chat key) an admin of a community we control, or take the role
        back (:func:`pystatus.chat.community_admin.set_admin` says why no token permission is
        checked). Raises :class:`~pystatus.chat.community_chats.CommunityNotAllowed`."""
        self._check_running()
        key = member_key(public_key_of(member))
        sends = set_admin(
            self._communities, community_id, key, time.time_ns() // 10**6, admin=admin
        )
        if admin:  # the pending requests shared with the new admin (type 72)
            sends += self._admin_syncs(community_id, admin=key)
        await self._community_done(self._got(community_id), sends)

    async def _admin_add_channel(self, community_id: str, name: str, category_id: str) -> str:
        """A channel added as an admin (an event; the control node's description follows)."""
        chat_id, sends = self._admin_events.add_channel(
            self._communities,
            community_id,
            name,
            time.time_ns() // 10**6,
            category_id=category_id,
        )
        await self._community_done(self._got(community_id), sends)
        return chat_id

    async def _admin_decide(self, community_id: str, member: str, *, accept: bool) -> None:
        sends = self._admin_events.accept(
            self._communities, community_id, member, time.time_ns() // 10**6, accept=accept
        )
        await self._community_done(self._got(community_id), sends)

    async def _admin_ban(self, community_id: str, member: str) -> None:
        sends = self._admin_events.ban(
            self._communities, community_id, member, time.time_ns() // 10**6
        )
        await self._community_done(self._got(community_id), sends)
