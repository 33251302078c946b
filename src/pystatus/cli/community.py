"""`pystatus community create|join|requests|accept|post|channels|members|ban|list|history`.

Communities are status-go's (:mod:`pystatus.chat.messenger_community`): a community is named
by its id (``0x02...`` or ``0x03...``, the compressed community key, printed by `create`); a
channel by its chat id (the community id followed by the channel's UUID, printed by
`channels`); members by chat key (``zQ3...`` or ``0x04...``). Commands that send wait until
what they sent left (``--timeout``); `join` first waits for the community's description (from
the store, or the control node's next publication) and exits 1 when none came. `requests`,
`members`, `channels` (without ``--add``), `list` and `history` read the account's database
only: a control node takes requests while it runs (``pystatus node --chat``, `chat watch`).
A malformed id or key exits 2; what the community refuses (posting in a read-only channel,
a change by someone who does not control it) exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from pystatus.chat.community import (
    Community,
    InvalidCommunity,
    community_key,
    open_description,
)
from pystatus.chat.database import ChatDatabase
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.keys import chat_key_text
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_community import COMMUNITY_STATE
from pystatus.chat.proto import chat_message_pb2
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat import Outcome, act
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
    runtime_error,
    usage_error,
)
from pystatus.cli.chat_node import until
from pystatus.cli.options import Sending, sending_options
from pystatus.errors import ChatError

community_app: typer.Typer = typer.Typer(
    help="Communities: create, join, requests, accept, post, channels, members, ban, list.",
    no_args_is_help=True,
)

HISTORY_LIMIT = 50
IdArg = Annotated[str, typer.Argument(help="The community's id (0x02... or 0x03...)")]
MemberArg = Annotated[str, typer.Argument(help="The member's chat key (zQ3... or 0x04...)")]


def _community_id(text: str) -> str:
    try:
        community_key(text)
    except InvalidCommunity:
        usage_error(f"{text!r} is not a community id (0x02... or 0x03..., 66 hex digits)")
    return text


def _channel_id(text: str) -> str:
    if len(text) <= 68:
        usage_error(f"{text!r} is not a channel chat id (community id + channel id)")
    _community_id(text[:68])
    return text


def community_json(community: Community) -> dict[str, object]:
    """The JSON shape `list --json` and the REST API give a community."""
    return {
        "id": community.id,
        "name": community.name,
        "description": community.about,
        "color": community.color,
        "access": "manual" if community.access == 3 else "open",
        "clock": community.clock,
        "members": [_member_json(community, k) for k in community.members],
        "banned": [chat_key_text(bytes.fromhex(k[2:])) for k in sorted(community.banned)],
        "channels": [
            {
                "chatId": c.chat_id,
                "name": c.name,
                "description": c.description,
                "categoryId": c.category_id,
                "readOnly": c.read_only,
            }
            for c in sorted(community.channels.values(), key=lambda c: (c.category_id, c.position))
        ],
        "categories": [{"id": k, "name": v} for k, v in community.categories.items()],
    }


def _member_json(community: Community, key: str) -> dict[str, object]:
    return {
        "chatKey": chat_key_text(bytes.fromhex(key[2:])),
        "privileged": community.is_privileged(key),
    }


def _act(sending: Sending, action: Callable[[Messenger], Awaitable[Outcome]]) -> None:
    act(
        action,
        sending.staticnode,
        sending.data_dir,
        sending.password,
        sending.cluster_id,
        sending.timeout,
        sending.json_output,
        light=sending.light,
        wait_delivered=False,  # nothing of a community travels through data sync
    )


@community_app.command()
@sending_options
def create(
    name: Annotated[str, typer.Argument(help="The community's name (1 to 30 characters)")],
    sending: Sending,
    about: Annotated[str, typer.Option(help="Its description (up to 140 characters)")] = "",
    manual: Annotated[
        bool, typer.Option("--manual", help="Requests need approval (else: open)")
    ] = False,
    encrypted: Annotated[
        bool,
        typer.Option(
            "--encrypted",
            help="Posts under a hash ratchet key sent to each admitted member and rotated on a"
            " ban or departure (status-go sees it token-gated: pystatus checks no token"
            " balances, so use it with --manual)",
        ),
    ] = False,
) -> None:
    """Create a community we control; print its id."""
    if not name or len(name) > 30 or len(about) > 140:
        usage_error("a name of 1 to 30 characters, a description of up to 140")

    async def action(messenger: Messenger) -> Outcome:
        community_id = await messenger.create_community(
            name, about=about, manual_accept=manual, encrypted=encrypted
        )
        return Outcome(community_id, {"id": community_id, "create": True})

    _act(sending, action)


@community_app.command()
@sending_options
def join(community_id: IdArg, sending: Sending) -> None:
    """Ask to join: wait for the description, send the request (an open community accepts
    it at once; `list` shows it joined once the answer came)."""
    wanted = _community_id(community_id)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.join_community(wanted)
        try:
            await until(lambda: messenger.community(wanted) is not None, sending.timeout)
        except TimeoutError:
            runtime_error(f"no description of {wanted} within {sending.timeout:g} s")
        # The request the description released goes out before the messenger stops.
        return Outcome("requested", {"id": wanted, "requested": True})

    _act(sending, action)


@community_app.command()
@sending_options
def accept(community_id: IdArg, member: MemberArg, sending: Sending) -> None:
    """Accept a member's request to a community we control."""
    wanted = _community_id(community_id)
    key = chat_key_or_exit(member)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.accept_community_request(wanted, key)
        return Outcome("", {"id": wanted, "accepted": key})

    _act(sending, action)


@community_app.command()
@sending_options
def ban(community_id: IdArg, member: MemberArg, sending: Sending) -> None:
    """Ban a member from a community we control (they are told)."""
    wanted = _community_id(community_id)
    key = chat_key_or_exit(member)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.ban_community_member(wanted, key)
        return Outcome("", {"id": wanted, "banned": key})

    _act(sending, action)


@community_app.command()
@sending_options
def post(
    chat_id: Annotated[str, typer.Argument(help="The channel's chat id")],
    sending: Sending,
    text: Annotated[str | None, typer.Argument(help="The message ('-': stdin)")] = None,
    text_file: TextFile = None,
) -> None:
    """Post in a channel; print the message id."""
    channel = _channel_id(chat_id)
    body = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        try:
            message_id = await messenger.send_community(channel, body)
        except ChatError as exc:
            runtime_error(str(exc))
        return Outcome(message_id, {"id": message_id, "chatId": channel})

    _act(sending, action)


@community_app.command()
@sending_options
def channels(
    community_id: IdArg,
    sending: Sending,
    add: Annotated[str | None, typer.Option(help="Add a channel of this name")] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="With --add: only admins post")
    ] = False,
) -> None:
    """List a community's channels (no network), or add one (--add) to one we control."""
    wanted = _community_id(community_id)
    if add is None:
        community = _read_one(sending.data_dir, sending.password, wanted)
        document = community_json(community)
        if sending.json_output:
            print_json({"id": wanted, "channels": document["channels"]})
            return
        for channel in community.channels.values():
            print(f"#{channel.name} {channel.chat_id}{' (read-only)' if channel.read_only else ''}")
        return
    name = add

    async def action(messenger: Messenger) -> Outcome:
        chat_id = await messenger.add_community_channel(wanted, name, read_only=read_only)
        return Outcome(chat_id, {"id": wanted, "chatId": chat_id})

    _act(sending, action)


async def _communities(database: ChatDatabase) -> list[Community]:
    found = []
    for key, value in (await database.sync_state()).items():
        if key.startswith(COMMUNITY_STATE):
            try:
                record = json.loads(value)
                signer = bytes.fromhex(record["signer"])
                found.append(open_description(bytes.fromhex(record["payload"]), signer))
            except (InvalidCommunity, ValueError, KeyError, TypeError):
                continue  # kept only once valid: a bad row is not ours to show
    return found


def _read_all(data_dir: DataDir, password: Password) -> tuple[str, list[Community]]:
    async def read() -> tuple[str, list[Community]]:
        async with chat_database(data_dir, password) as (account, database):
            return "0x" + account.keys.chat_public_key.hex(), await _communities(database)

    return run(read)


def _read_one(data_dir: DataDir, password: Password, community_id: str) -> Community:
    for community in _read_all(data_dir, password)[1]:
        if community.id == community_id:
            return community
    runtime_error(f"no community {community_id} in this account")


@community_app.command()
def members(
    community_id: IdArg,
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """A community's members (admins marked *) and banned keys (no network)."""
    community = _read_one(data_dir, password, _community_id(community_id))
    if json_output:
        document = community_json(community)
        print_json(
            {"id": community.id, "members": document["members"], "banned": document["banned"]}
        )
        return
    for key in community.members:
        print(
            f"{chat_key_text(bytes.fromhex(key[2:]))}{' *' if community.is_privileged(key) else ''}"
        )
    for key in sorted(community.banned):
        print(f"{chat_key_text(bytes.fromhex(key[2:]))} (banned)")


@community_app.command()
def requests(
    community_id: IdArg,
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """Pending requests to a community we control (no network)."""
    wanted = _community_id(community_id)

    async def read() -> list[list[object]]:
        async with chat_database(data_dir, password) as (_, database):
            value = (await database.sync_state()).get(COMMUNITY_STATE + wanted)
            if value is None:
                return []
            return list(json.loads(value).get("pending", []))

    pending = run(read)
    rows = [(chat_key_text(bytes.fromhex(str(m)[2:])), int(str(c)), str(n)) for m, c, n in pending]
    if json_output:
        print_json(
            {
                "id": wanted,
                "requests": [{"chatKey": k, "clock": c, "displayName": n} for k, c, n in rows],
            }
        )
        return
    for key, _, name in rows:
        print(f"{key} {name}".rstrip())


@community_app.command("list")
def list_communities(
    data_dir: DataDir = None, password: Password = None, json_output: Json = False
) -> None:
    """The communities this account knows: name, id, and whether we are a member."""
    me, found = _read_all(data_dir, password)
    if json_output:
        print_json(
            {"communities": [community_json(c) | {"member": c.is_member(me)} for c in found]}
        )
        return
    for community in found:
        print(
            f"{community.name} {community.id}{'' if community.is_member(me) else ' (not a member)'}"
        )


@community_app.command()
def history(
    chat_id: Annotated[str, typer.Argument(help="The channel's chat id")],
    limit: Annotated[
        int, typer.Option(min=1, help="The newest this many messages")
    ] = HISTORY_LIMIT,
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """A channel's messages, newest last (no network)."""
    channel = _channel_id(chat_id)

    async def read() -> tuple[str, list[ChatEvent]]:
        async with chat_database(data_dir, password) as (account, database):
            found: list[ChatEvent] = []
            for stored in await database.history(channel, limit):
                body = chat_message_pb2.ChatMessage.FromString(stored.body)
                found.append(message_event(stored, body, stored.author == account.chat_key))
            return account.chat_key, found

    own_key, events = run(read)
    if json_output:
        print_json({"chatId": channel, "messages": [event_json(e) for e in events]})
        return
    printer = EventPrinter(own_key)
    for event in events:
        printer.print(event)
