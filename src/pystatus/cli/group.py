"""`pystatus group create|add|remove|leave|send|history|list`: private group chats.

Groups are status-go's (:mod:`pystatus.chat.messenger_group`): a group is named by its chat id
(``<uuid>-0x04...``, printed by `create`, and by `list` after the group's name, as the app
shows groups: ``#`` marks public chats only); members by chat key (``zQ3...`` or
``0x04...``). Commands that send wait until it was published and kept for resend (with
``--wait-delivered``, until every member acknowledged; exit 1 after ``--timeout``, the change
kept and sent again the next time the account runs) and say in one line what they did
(``--json``: the group); `history` and `list` read the account's database only. A
malformed chat id or key exits 2; a change the group's rules refuse (not a member; not an
admin: "only admins can remove members", as status-go rules) exits 1. `list` leaves out the
groups we left (``--all`` shows them, marked). The options every sending command shares are
:mod:`pystatus.cli.options`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from pystatus.chat.account import Account
from pystatus.chat.database import ChatDatabase
from pystatus.chat.membership import (
    Group,
    InvalidMembershipUpdate,
    decode_update,
    fold,
    key_text,
)
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_group import GROUP_STATE, group_members, is_group_chat_id
from pystatus.cli import commands
from pystatus.cli.chat import Outcome
from pystatus.cli.chat_io import TextFile, print_json, read_text
from pystatus.cli.options import Reading, Sending, reading_options, sending_options

group_app: typer.Typer = typer.Typer(
    help="Private group chats: create, add, remove, leave, send, history, list.",
    no_args_is_help=True,
)

ChatIdArg = Annotated[str, typer.Argument(help="The group's chat id (<uuid>-0x04...)")]
Members = Annotated[list[str], typer.Argument(help="Members' chat keys (zQ3... or 0x04...)")]


def _group_id(text: str) -> str:
    if not is_group_chat_id(text):
        commands.usage_error(f"{text!r} is not a group chat id (<uuid>-0x04...)")
    return text


def _members(keys: list[str]) -> list[str]:
    return [commands.chat_key_or_exit(k) for k in keys]


def _group_json(group: Group) -> dict[str, object]:
    return {
        "chatId": group.chat_id,
        "name": group.name,
        "color": group.color,
        "members": group_members(group),
        "admins": [
            m
            for m, key in zip(group_members(group), group.members, strict=True)
            if key in group.admins
        ],
    }


Change = Callable[[Messenger], Awaitable[str]]
"""A membership change; returns the group's chat id."""


def _change(sending: Sending, change: str, action: Change, said_as: str = "") -> None:
    """Run a membership change and say it: ``said_as`` (``{group}``: the group's name and
    chat id), or the chat id alone for `create`; ``--json`` gives the group."""

    async def wrapped(messenger: Messenger) -> Outcome:
        chat_id = await action(messenger)
        group = messenger.group(chat_id)
        document = _group_json(group) if group is not None else {"chatId": chat_id}
        named = f"{group.name} {chat_id}" if group is not None else chat_id
        text = said_as.format(group=named) if said_as else chat_id
        return commands.said(text, **document, **{change: True})

    commands.perform(sending, wrapped)


@group_app.command()
@sending_options
def create(
    name: Annotated[str, typer.Argument(help="The group's name")],
    members: Members,
    sending: Sending,
) -> None:
    """Create a group we admin with these members; print its chat id."""
    keys = _members(members)
    if not name:
        commands.usage_error("a group needs a name")

    async def action(messenger: Messenger) -> str:
        return await messenger.create_group(name, keys)

    _change(sending, "create", action)


def _members_change(
    change: str,
    chat_id: str,
    sending: Sending,
    do: Callable[[Messenger, str], Awaitable[None]],
    said_as: str,
) -> None:
    """A change to a group we name by ``chat_id`` (checked first: exit 2)."""
    group_id = _group_id(chat_id)

    async def action(messenger: Messenger) -> str:
        await do(messenger, group_id)
        return group_id

    _change(sending, change, action, said_as)


@group_app.command()
@sending_options
def add(chat_id: ChatIdArg, members: Members, sending: Sending) -> None:
    """Add members to a group we are in."""
    _group_id(chat_id)
    keys = _members(members)
    said_as = f"added {', '.join(keys)} to {{group}}"
    _members_change("add", chat_id, sending, lambda m, g: m.add_group_members(g, keys), said_as)


@group_app.command()
@sending_options
def remove(
    chat_id: ChatIdArg,
    member: Annotated[str, typer.Argument(help="The member's chat key")],
    sending: Sending,
) -> None:
    """Remove a member (only admins can, and not another admin); they are told and get
    nothing after."""
    _group_id(chat_id)
    key = commands.chat_key_or_exit(member)
    said_as = f"removed {key} from {{group}}"
    _members_change("remove", chat_id, sending, lambda m, g: m.remove_group_member(g, key), said_as)


@group_app.command()
@sending_options
def leave(chat_id: ChatIdArg, sending: Sending) -> None:
    """Leave a group (every member is told); `group list` shows it no more."""
    _members_change("leave", chat_id, sending, lambda m, g: m.leave_group(g), "left {group}")


@group_app.command()
@sending_options
def send(
    chat_id: ChatIdArg,
    sending: Sending,
    text: Annotated[
        str | None,
        typer.Argument(help="The message ('-', or none with stdin not a terminal: stdin)"),
    ] = None,
    text_file: TextFile = None,
) -> None:
    """Send a message to a group; print its id."""
    group_id = _group_id(chat_id)
    body = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        message_id = await messenger.send_group(group_id, body)
        return commands.said(message_id, id=message_id, chatId=group_id)

    commands.perform(sending, action)


async def _groups(database: ChatDatabase) -> list[Group]:
    found = []
    for key, value in (await database.sync_state()).items():
        if key.startswith(GROUP_STATE):
            try:
                update = decode_update(value)
                found.append(fold(update.chat_id, update.events))
            except InvalidMembershipUpdate:
                continue  # kept only once valid: a bad row is not ours to show
    return found


@group_app.command()
@reading_options
def history(
    chat_id: ChatIdArg, reading: Reading, limit: commands.Limit = commands.HISTORY_LIMIT
) -> None:
    """Print a group's messages with their times and ids, newest last (no network)."""
    group_id = _group_id(chat_id)

    async def names(database: ChatDatabase) -> dict[str, str]:
        return {g.chat_id: g.name for g in await _groups(database) if g.chat_id == group_id}

    commands.print_history(reading, group_id, limit, names)


@group_app.command("list")
@reading_options
def list_groups(
    reading: Reading,
    all_groups: Annotated[
        bool, typer.Option("--all", help="Also the groups we left or were removed from")
    ] = False,
) -> None:
    """Print each group we are in: its name and chat id, then its members (admins marked *)
    (no network). With --all, also those we left, marked (left)."""

    async def read(account: Account, database: ChatDatabase) -> tuple[str, list[Group]]:
        return key_text(account.keys.chat_public_key), await _groups(database)

    me, groups = commands.read_account(reading, read)
    if not all_groups:
        groups = [g for g in groups if g.is_member(me)]
    if reading.json_output:
        print_json({"groups": [_group_json(g) | {"left": not g.is_member(me)} for g in groups]})
        return
    for group in groups:
        admins = {
            m for m, k in zip(group_members(group), group.members, strict=True) if k in group.admins
        }
        # As the app shows a group: its name first; "#" marks public chats only.
        print(f"{group.name} {group.chat_id}{'' if group.is_member(me) else ' (left)'}")
        for member in group_members(group):
            print(f"  {member}{' *' if member in admins else ''}")
