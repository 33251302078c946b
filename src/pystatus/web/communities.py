"""The web client's community routes (issue 18): create a community (with ``#general``
unless ``no_general``, as the Status app's), join one by its id,
and, for its control node, add a channel (read-only or not), accept a request to join and
ban a member. A channel is opened, read and written to through the same page, ``/send`` and
message routes as any chat (its chat id is the community id and the channel id).

The chat layer is :mod:`pystatus.chat.messenger_community` (status-go v1.1.0's communities,
unencrypted); the CLI's counterpart is :mod:`pystatus.cli.community`. What the community
does not allow (not its control node, a read-only channel, a ban) arrives as
:class:`~pystatus.chat.community_chats.CommunityNotAllowed` and the app's guard answers 409;
a malformed id or chat key 400.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pystatus.chat.community import Community, community_key, member_key
from pystatus.chat.community_actions import GENERAL
from pystatus.chat.keys import chat_key_text
from pystatus.chat.messenger import Messenger
from pystatus.chat.user_input import parse_chat_key, public_key_of
from pystatus.chat.wrapper import MessageType
from pystatus.web.common import Refused
from pystatus.web.render_community import (
    ChannelItem,
    CommunityItem,
    CommunityPanel,
    PersonItem,
    community_url,
)
from pystatus.web.security import Session

MAX_WAITING = 64
"""Communities per account remembered as joined with no store node to ask (oldest forgotten)."""
_RELAY_ONLY: weakref.WeakKeyDictionary[Messenger, dict[str, None]] = weakref.WeakKeyDictionary()
"""By account, the communities asked to join while no store node was known: their screen says
the description can only come on relay (join_community returned False)."""

MAX_NAME = 30
"""Characters of a community's or channel's name (the REST API's limit)."""
MAX_ID = 80

StateChange = Callable[[Request], Awaitable[tuple[Session, dict[str, str]]]]
Back = Callable[..., Response]
Handler = Callable[[Request], Awaitable[Response]]


def _chat_key(member: str) -> str:
    """A member's key as communities key them (``0x04...``) as a chat key (``zQ3...``)."""
    return chat_key_text(bytes.fromhex(member[2:]))


def community_items(messenger: Messenger, unread: dict[str, int]) -> list[CommunityItem]:
    """The sidebar's communities (those we know the description of), with the unread
    messages of their channels; ``unread`` is counts by chat id."""
    return sorted(
        (
            CommunityItem(
                c.id, c.name, sum(unread.get(ch.chat_id, 0) for ch in c.channels.values())
            )
            for c in messenger.communities()
        ),
        key=lambda c: (c.name.casefold(), c.id),
    )


def community_of_chat(messenger: Messenger, chat_id: str) -> Community | None:
    """The community whose channel ``chat_id`` is, or None."""
    return next((c for c in messenger.communities() if c.channel_by_chat_id(chat_id)), None)


def community_panel(
    messenger: Messenger, community_id: str, names: dict[str, str], chat_id: str = ""
) -> CommunityPanel:
    """What the community screen shows; ``names`` are display names by chat key, ``chat_id``
    the channel shown. Raises :class:`~pystatus.chat.community.InvalidCommunity` for a
    malformed id."""
    community = messenger.community(community_id)
    if community is None:
        community_key(community_id)  # a malformed id is refused, not shown as awaited
        relay_only = community_id in _RELAY_ONLY.get(messenger, {})
        return CommunityPanel(id=community_id, relay_only=relay_only)
    me = member_key(public_key_of(messenger.chat_key))
    channels = [
        ChannelItem(c.chat_id, c.name, c.read_only)
        for c in sorted(community.channels.values(), key=lambda c: (c.position, c.name))
    ]
    panel = CommunityPanel(
        id=community.id,
        name=community.name,
        about=community.about,
        known=True,
        joined=messenger.community_joined(community.id),
        controlled=messenger.community_controlled(community.id),
        channels=channels,
    )
    for key in community.members:
        chat_key = _chat_key(key)
        panel.members.append(
            PersonItem(
                chat_key,
                "You" if key == me else names.get(chat_key) or chat_key,
                community.is_privileged(key),
                key == me,
            )
        )
    if panel.controlled:
        panel.requests = [
            PersonItem(key, name or names.get(key) or key)
            for key, _, name in messenger.community_requests(community.id)
        ]
    channel = community.channel_by_chat_id(chat_id) if chat_id else None
    if channel is not None:
        panel.channel = next(c for c in channels if c.chat_id == chat_id)
        panel.may_post = community.can_post(me, channel.id, MessageType.CHAT_MESSAGE)
    return panel


def community_handlers(
    messenger: Messenger, state_change: StateChange, back: Back
) -> dict[str, Handler]:
    """The community routes' handlers by path."""

    def shown(community_id: str, form: dict[str, str] | None = None) -> Response:
        """Back to the community's screen, or to its channel the form came from."""
        chat = (form or {}).get("chat", "")
        community = messenger.community(community_id)
        if chat and community is not None and community.channel_by_chat_id(chat) is not None:
            return back(chat)
        return RedirectResponse(community_url(community_id), status_code=303)

    def known(request: Request) -> str:
        community_id = str(request.path_params["id"])
        if len(community_id) > MAX_ID or messenger.community(community_id) is None:
            raise Refused(404, "not_found", "no such community")
        return community_id

    def name_of(form: dict[str, str], what: str) -> str:
        name = form.get("name", "").strip()
        if not name or len(name) > MAX_NAME:
            raise Refused(400, "bad_input", f"a {what} name is 1 to {MAX_NAME} characters")
        return name

    async def create(request: Request) -> Response:
        _, form = await state_change(request)
        name = name_of(form, "community")
        manual = form.get("manual") == "1"
        community_id = await messenger.create_community(name, manual_accept=manual)
        if form.get("no_general") != "1":  # as the app's CreateCommunity(request, true)
            await messenger.add_community_channel(community_id, GENERAL)
        return shown(community_id)

    async def join(request: Request) -> Response:
        _, form = await state_change(request)
        community_id = form.get("id", "").strip()
        if not community_id or len(community_id) > MAX_ID:
            raise Refused(400, "bad_input", "a community id is 0x and 66 hex digits")
        asked = await messenger.join_community(community_id, display_name=messenger.display_name)
        waiting = _RELAY_ONLY.setdefault(messenger, {})
        waiting.pop(community_id, None)
        if not asked:
            waiting[community_id] = None
            while len(waiting) > MAX_WAITING:
                del waiting[next(iter(waiting))]
        return shown(community_id)

    async def add_channel(request: Request) -> Response:
        _, form = await state_change(request)
        community_id = known(request)
        name = name_of(form, "channel")
        chat_id = await messenger.add_community_channel(
            community_id, name, read_only=form.get("read_only") == "1"
        )
        return back(chat_id)

    async def accept(request: Request) -> Response:
        _, form = await state_change(request)
        community_id = known(request)
        member = parse_chat_key(form.get("member", ""))
        await messenger.accept_community_request(community_id, member)
        return shown(community_id, form)

    async def ban(request: Request) -> Response:
        _, form = await state_change(request)
        community_id = known(request)
        member = parse_chat_key(form.get("member", ""))
        await messenger.ban_community_member(community_id, member)
        return shown(community_id, form)

    return {
        "/communities/create": create,
        "/communities/join": join,
        "/communities/{id}/channels": add_channel,
        "/communities/{id}/accept": accept,
        "/communities/{id}/ban": ban,
    }
