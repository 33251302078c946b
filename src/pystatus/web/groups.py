"""The web client's private group routes (issue 18): create a group (name and members by chat
key), add and remove members (admins only, as the chat layer enforces), and leave. A group is
opened, read and written to through the same page, ``/send`` and message routes as any chat.

The chat layer is :mod:`pystatus.chat.messenger_group` (status-go's private groups); the
CLI's counterpart is :mod:`pystatus.cli.group`. Refusals the group rules make (not a member,
not an admin) arrive as :class:`~pystatus.chat.group.NotAGroupMember` and are answered 409 by
the app's guard; a bad chat key or name as 400.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pystatus.chat.membership import Group, is_group_chat_id
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_group import group_members
from pystatus.chat.user_input import parse_chat_key
from pystatus.web.common import Refused
from pystatus.web.render_group import GroupPanel, MemberItem
from pystatus.web.security import Session

MAX_NEW_MEMBERS = 19
"""Members named when creating a group; status-go caps a group at 20 with its creator."""
MAX_GROUP_NAME = 100

StateChange = Callable[[Request], Awaitable[tuple[Session, dict[str, str]]]]
Back = Callable[..., Response]
Handler = Callable[[Request], Awaitable[Response]]


def _keys(text: str) -> list[str]:
    """Chat keys separated by spaces, commas or new lines, as ``zQ3...``. Raises
    :class:`~pystatus.chat.errors.InvalidChatKey` or :class:`Refused` (too many)."""
    named = [k for k in re.split(r"[\s,]+", text) if k]
    if len(named) > MAX_NEW_MEMBERS:
        raise Refused(400, "bad_input", f"a new group has at most {MAX_NEW_MEMBERS} members")
    return list(dict.fromkeys(parse_chat_key(k) for k in named))


def group_panel(group: Group, me: str, names: dict[str, str]) -> GroupPanel:
    """What the group screen shows of ``group``: ``me`` is our chat key, ``names`` display
    names by chat key."""
    admins = set(group_members_of(group.admins))
    members = [
        MemberItem(key, "You" if key == me else names.get(key) or key, key in admins, key == me)
        for key in group_members(group)
    ]
    return GroupPanel(members=members, admin=me in admins, member=any(m.me for m in members))


def group_members_of(keys: tuple[str, ...]) -> list[str]:
    """``0x04...`` keys as chat keys (``zQ3...``)."""
    return [parse_chat_key(k) for k in keys]


def group_handlers(
    messenger: Messenger, state_change: StateChange, back: Back
) -> dict[str, Handler]:
    """The group routes' handlers by path."""

    def chat_id_of(request: Request) -> str:
        chat_id = str(request.path_params["id"])
        if not is_group_chat_id(chat_id) or messenger.group(chat_id) is None:
            raise Refused(404, "not_found", "no such group")
        return chat_id

    async def create(request: Request) -> Response:
        _, form = await state_change(request)
        name = form.get("name", "").strip()
        if not name or len(name) > MAX_GROUP_NAME:
            raise Refused(400, "bad_input", f"a group name is 1 to {MAX_GROUP_NAME} characters")
        members = _keys(form.get("members", ""))
        return back(await messenger.create_group(name, members))

    async def add(request: Request) -> Response:
        _, form = await state_change(request)
        chat_id = chat_id_of(request)
        members = _keys(form.get("member", ""))
        if not members:
            raise Refused(400, "bad_input", "name a member by chat key")
        await messenger.add_group_members(chat_id, members)
        return back(chat_id, members=1)  # the member list stays open

    async def remove(request: Request) -> Response:
        _, form = await state_change(request)
        chat_id = chat_id_of(request)
        await messenger.remove_group_member(chat_id, parse_chat_key(form.get("member", "")))
        return back(chat_id, members=1)

    async def leave(request: Request) -> Response:
        await state_change(request)
        await messenger.leave_group(chat_id_of(request))
        return RedirectResponse("/", status_code=303)

    return {
        "/groups/create": create,
        "/groups/{id}/add": add,
        "/groups/{id}/remove": remove,
        "/groups/{id}/leave": leave,
    }
