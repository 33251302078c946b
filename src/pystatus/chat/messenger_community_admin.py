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

from pystatus.chat.community import Community, member_key
from pystatus.chat.community_admin import AdminEvents, set_admin
from pystatus.chat.community_chats import Change, CommunityChats, Send
from pystatus.chat.events import ChatEvent
from pystatus.chat.user_input import public_key_of
from pystatus.chat.wrapper import Unwrapped


class CommunityAdminMessaging:
    _communities: CommunityChats
    _admin_events_state: AdminEvents | None = None

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _check_running(self) -> None: ...

        def _got(self, community_id: str) -> Community: ...

        async def _community_done(
            self, community: Community, sends: list[Send], event: ChatEvent | None = None
        ) -> None: ...

    @property
    def _admin_events(self) -> AdminEvents:
        if self._admin_events_state is None:
            self._admin_events_state = AdminEvents()
        return self._admin_events_state

    def _receive_community_events(self, message: Unwrapped) -> tuple[Change | None, list[Send]]:
        """An admin's CommunityEventsMessage; raises
        :class:`~pystatus.chat.community_events.InvalidEvents` (a ChatError, counted)."""
        return self._admin_events.receive(self._communities, message, time.time_ns() // 10**6)

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
