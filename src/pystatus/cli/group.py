"""`pystatus group create|add|remove|leave|send|history|list`: private group chats.

Groups are status-go's (:mod:`pystatus.chat.messenger_group`): a group is named by its chat id
(``<uuid>-0x04...``, printed by `create` and `list`); members by chat key (``zQ3...`` or
``0x04...``). Commands that send wait until every member acknowledged (exit 1 after
``--timeout``, the change kept and sent again the next time the account runs); `history` and
`list` read the account's database only. A malformed chat id or key exits 2; a change the
group's rules refuse (not a member, not an admin) exits 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from pystatus.chat.database import ChatDatabase
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.membership import Group, InvalidMembershipUpdate, decode_update, fold
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_group import GROUP_STATE, group_members, is_group_chat_id
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat import Outcome, Timeout, act
from pystatus.cli.chat import _chat_key as chat_key_or_exit
from pystatus.cli.chat_io import (
    EventPrinter,
    Json,
    TextFile,
    chat_database,
    event_json,
    print_json,
    read_text,
    run,
    usage_error,
)
from pystatus.cli.chat_node import (
    ClusterId,
    FilterNodes,
    Light,
    LightPushNodes,
    StaticNodes,
    light_nodes,
)

group_app: typer.Typer = typer.Typer(
    help="Private group chats: create, add, remove, leave, send, history, list.",
    no_args_is_help=True,
)

HISTORY_LIMIT = 50

ChatIdArg = Annotated[str, typer.Argument(help="The group's chat id (<uuid>-0x04...)")]
Members = Annotated[list[str], typer.Argument(help="Members' chat keys (zQ3... or 0x04...)")]


def _group_id(text: str) -> str:
    if not is_group_chat_id(text):
        usage_error(f"{text!r} is not a group chat id (<uuid>-0x04...)")
    return text


def _members(keys: list[str]) -> list[str]:
    return [chat_key_or_exit(k) for k in keys]


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


def _run_change(
    change: str,
    staticnode: list[str],
    data_dir: DataDir,
    password: Password,
    cluster_id: int,
    timeout: float,
    json_output: bool,
    light: bool,
    filternode: list[str] | None,
    lightpushnode: list[str] | None,
    action: Callable[[Messenger], Awaitable[str]],
) -> None:
    """Run a membership change; print the chat id for `create` (the group with --json)."""

    async def wrapped(messenger: Messenger) -> Outcome:
        chat_id = await action(messenger)
        group = messenger.group(chat_id)
        document = _group_json(group) if group is not None else {"chatId": chat_id}
        return Outcome(chat_id if change == "create" else "", {**document, change: True})

    act(
        wrapped,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
    )


@group_app.command()
def create(
    name: Annotated[str, typer.Argument(help="The group's name")],
    members: Members,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Create a group we admin with these members; print its chat id."""
    keys = _members(members)
    if not name:
        usage_error("a group needs a name")

    async def action(messenger: Messenger) -> str:
        return await messenger.create_group(name, keys)

    _run_change(
        "create", staticnode, data_dir, password, cluster_id, timeout, json_output,
        light, filternode, lightpushnode, action,
    )  # fmt: skip


@group_app.command()
def add(
    chat_id: ChatIdArg,
    members: Members,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Add members to a group we are in."""
    group_id, keys = _group_id(chat_id), _members(members)

    async def action(messenger: Messenger) -> str:
        await messenger.add_group_members(group_id, keys)
        return group_id

    _run_change(
        "add", staticnode, data_dir, password, cluster_id, timeout, json_output,
        light, filternode, lightpushnode, action,
    )  # fmt: skip


@group_app.command()
def remove(
    chat_id: ChatIdArg,
    member: Annotated[str, typer.Argument(help="The member's chat key")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Remove a member (we must be an admin); they are told and get nothing after."""
    group_id, key = _group_id(chat_id), chat_key_or_exit(member)

    async def action(messenger: Messenger) -> str:
        await messenger.remove_group_member(group_id, key)
        return group_id

    _run_change(
        "remove", staticnode, data_dir, password, cluster_id, timeout, json_output,
        light, filternode, lightpushnode, action,
    )  # fmt: skip


@group_app.command()
def leave(
    chat_id: ChatIdArg,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Leave a group (every member is told)."""
    group_id = _group_id(chat_id)

    async def action(messenger: Messenger) -> str:
        await messenger.leave_group(group_id)
        return group_id

    _run_change(
        "leave", staticnode, data_dir, password, cluster_id, timeout, json_output,
        light, filternode, lightpushnode, action,
    )  # fmt: skip


@group_app.command()
def send(
    chat_id: ChatIdArg,
    staticnode: StaticNodes,
    text: Annotated[
        str | None,
        typer.Argument(help="The message ('-', or none with stdin not a terminal: stdin)"),
    ] = None,
    text_file: TextFile = None,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Send a message to a group; print its id."""
    group_id = _group_id(chat_id)
    body = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        message_id = await messenger.send_group(group_id, body)
        return Outcome(message_id, {"id": message_id, "chatId": group_id})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
    )


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
def history(
    chat_id: ChatIdArg,
    limit: Annotated[int, typer.Option(min=1, help="The newest this many messages")] = (
        HISTORY_LIMIT
    ),
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """Print a group's messages with their times and ids, newest last (no network)."""
    group_id = _group_id(chat_id)

    async def read() -> tuple[str, list[ChatEvent]]:
        async with chat_database(data_dir, password) as (account, database):
            found: list[ChatEvent] = []
            for stored in await database.history(group_id, limit):
                body = chat_message_pb2.ChatMessage.FromString(stored.body)
                found.append(message_event(stored, body, stored.author == account.chat_key))
            return account.chat_key, found

    own_key, events = run(read)
    if json_output:
        print_json({"chatId": group_id, "messages": [event_json(e) for e in events]})
        return
    printer = EventPrinter(own_key)
    for event in events:
        printer.print(event)


@group_app.command("list")
def list_groups(
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """Print each group: chat id, name, then its members (admins marked *) (no network)."""

    async def read() -> list[Group]:
        async with chat_database(data_dir, password) as (_, database):
            return await _groups(database)

    groups = run(read)
    if json_output:
        print_json({"groups": [_group_json(g) for g in groups]})
        return
    for group in groups:
        admins = {
            m for m, k in zip(group_members(group), group.members, strict=True) if k in group.admins
        }
        print(f"{group.chat_id} {group.name}")
        for member in group_members(group):
            print(f"  {member}{' *' if member in admins else ''}")
