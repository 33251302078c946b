"""`pystatus community create|join|requests|accept|post|channels|members|ban|list|history`.

Communities are status-go's (:mod:`pystatus.chat.messenger_community`): a community is named
by its id (``0x02...`` or ``0x03...``, the compressed community key, printed by `create`); a
channel by its chat id (the community id followed by the channel's UUID, printed by
`channels`); members by chat key (``zQ3...`` or ``0x04...``). `create` makes ``#general``
too, as status-go's ``wakuext_createCommunity`` does (``--no-general``: none). Commands that
send take `chat send`'s options (:mod:`pystatus.cli.options`; no ``--wait-delivered``:
status-go sends community messages without data sync, so nobody acknowledges them) and wait
until what they sent left (``--timeout``); each says in one line what it did. `join` first
waits for the community's description (from ``--storenode``, or the control node's next
publication) and exits 1 when none came. With a store, a command that acts first catches up
on what came while the account was away (an answer, requests, posts), then checks.
`requests`, `members`, `channels` (without ``--add``), `list` and `history` (a channel by
chat id or ``#name``) read the account's database only: a control node takes
requests while it runs (``pystatus node --chat``, `chat watch`). A malformed id or key exits
2; what the community refuses (posting in a read-only channel, a change by someone who does
not control it) exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from pystatus.chat.account import Account
from pystatus.chat.community import Community, InvalidCommunity, community_key, open_description
from pystatus.chat.community_actions import category_named
from pystatus.chat.database import ChatDatabase
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.keys import chat_key_text
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_community import COMMUNITY_STATE
from pystatus.cli.chat import Outcome
from pystatus.cli.chat_io import TextFile, print_json, read_text, runtime_error
from pystatus.cli.chat_node import until
from pystatus.cli.commands import (
    HISTORY_LIMIT,
    Action,
    Limit,
    chat_key_or_exit,
    print_history,
    read_account,
    said,
    usage_error,
)
from pystatus.cli.commands import perform as perform_command
from pystatus.cli.options import Command, Reading, Sending, command_options, reading_options
from pystatus.errors import ChatError, PystatusError

community_app: typer.Typer = typer.Typer(
    help="Communities: create, join, requests, accept, ban, post, channels, members, list,"
    " history; in a channel: react, reply, edit, delete, pin",
    no_args_is_help=True,
)

GENERAL = "general"
"""The channel `create` adds, as status-go's API does (``CreateCommunity(request, true)``)."""
IdArg = Annotated[str, typer.Argument(help="The community's id (0x02... or 0x03...)")]
MemberArg = Annotated[str, typer.Argument(help="The member's chat key (zQ3... or 0x04...)")]
ChannelArg = Annotated[str, typer.Argument(help="The channel's chat id")]

sending_options = command_options(acknowledged=False)
"""Nothing of a community travels through data sync: no ``--wait-delivered``."""


NOT_SENT = (
    "not sent (no peer took it); kept, and sent again the next time this account runs:"
    " do not send it twice"
)


def perform(sending: Sending, action: Action) -> None:
    """:func:`pystatus.cli.commands.perform`, then exit 1 as `chat send` does when nothing
    took what ``action`` sent (every light-push node refused it, :attr:`Messenger.not_taken`):
    its outcome printed all the same (``--json``: with ``"sent": false``), then that it is
    kept. It is: a post goes again at the next start, a request to join too, and a control
    node advertises its descriptions at start (:mod:`pystatus.chat.messenger_community_store`).
    """

    async def checked(messenger: Messenger) -> Outcome:
        await catch_up(messenger, sending.timeout)
        before = messenger.not_taken
        outcome = await action(messenger)
        with contextlib.suppress(TimeoutError):
            await until(messenger.settled, sending.timeout)  # what it released was tried
        if messenger.not_taken > before:
            if sending.json_output:
                print_json({**outcome.document, "sent": False})
            elif outcome.text:
                print(outcome.text, flush=True)
            runtime_error(NOT_SENT)
        return outcome

    perform_command(sending, checked)


CATCH_UP = "give --storenode (a store node) to catch up on what came while this account was away"


async def catch_up(messenger: Messenger, deadline: float) -> None:
    """With a store (``--storenode``, or ``--light``'s), fetch what reached the account's
    topics while it was away (:meth:`Messenger.sync_history`: an answer to a request to join,
    requests, descriptions, channel posts) before a command checks the database, within
    ``deadline`` seconds; a store that fails or is slow is said on stderr, and the command
    goes on with what it has."""
    if messenger.fetcher is None:
        return
    try:
        async with asyncio.timeout(deadline):
            await messenger.sync_history()
    except (PystatusError, OSError, TimeoutError) as exc:
        typer.echo(f"could not catch up from the store: {exc or 'timed out'}", err=True)


_COMMUNITY_ID = re.compile(r"0x0[23][0-9a-fA-F]{64}")


def _community_id(text: str) -> str:
    try:
        community_key(text)
    except InvalidCommunity:
        if _COMMUNITY_ID.fullmatch(text):  # the form of one, but no point on the curve
            usage_error(f"{text!r} is not a community id: not a valid public key")
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
        "banned": [_key(k) for k in sorted(community.banned)],
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


def _key(member: str) -> str:
    """A member key as kept (``0x04...``) as a person types it (``zQ3...``)."""
    return chat_key_text(bytes.fromhex(member[2:]))


def _member_json(community: Community, key: str) -> dict[str, object]:
    return {"chatKey": _key(key), "privileged": community.is_privileged(key)}


def _named(messenger: Messenger, community_id: str) -> str:
    """``<name> <id>``, as `list` prints a community (the id alone while it is unknown)."""
    community = messenger.community(community_id)
    return f"{community.name} {community_id}" if community is not None else community_id


def _channel_line(name: str, chat_id: str, read_only: bool) -> str:
    return f"#{name} {chat_id}{' (read-only)' if read_only else ''}"


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
    general: Annotated[
        bool, typer.Option(help="Add the channel #general, as the Status app does")
    ] = True,
) -> None:
    """Create a community we control (with #general); print its id, then its channel."""
    if not name or len(name) > 30 or len(about) > 140:
        usage_error("a name of 1 to 30 characters, a description of up to 140")

    async def action(messenger: Messenger) -> Outcome:
        community_id = await messenger.create_community(
            name, about=about, manual_accept=manual, encrypted=encrypted
        )
        if not general:
            hint = f"no channel yet: `pystatus community channels {community_id} --add general`"
            return said(f"{community_id}\n{hint}", id=community_id, create=True, channels=[])
        chat_id = await messenger.add_community_channel(community_id, GENERAL)
        channel = {"chatId": chat_id, "name": GENERAL}
        line = _channel_line(GENERAL, chat_id, False)
        return said(f"{community_id}\n{line}", id=community_id, create=True, channels=[channel])

    perform(sending, action)


@community_app.command()
@sending_options
def join(community_id: IdArg, sending: Sending) -> None:
    """Ask to join: wait for the description, send the request (an open community accepts
    it at once; `list` shows it joined once the answer came)."""
    wanted = _community_id(community_id)

    async def action(messenger: Messenger) -> Outcome:
        if not await messenger.join_community(wanted):
            typer.echo(
                "no store node to ask for its description (give --storenode, or a --staticnode"
                f" that runs --store): waiting {sending.timeout:g} s for it on relay",
                err=True,
            )
        try:
            await until(lambda: messenger.community(wanted) is not None, sending.timeout)
        except TimeoutError:
            runtime_error(f"no description of {wanted} within {sending.timeout:g} s")
        # The request the description released goes out before the messenger stops.
        return said(f"asked to join {_named(messenger, wanted)}", id=wanted, requested=True)

    perform(sending, action)


MemberChange = Callable[[Messenger, str, str], Awaitable[None]]


def _member_command(change: MemberChange, done: str, preposition: str, about: str) -> Command:
    """A command making ``change`` to a member of a community we control, said as ``<done>
    <member> <preposition> <name> <id>`` (``--json``: ``{"id", done: member, ...}``)."""

    def command(community_id: IdArg, member: MemberArg, sending: Sending) -> None:
        wanted = _community_id(community_id)
        key = chat_key_or_exit(member)

        async def action(messenger: Messenger) -> Outcome:
            await change(messenger, wanted, key)
            text = f"{done} {key} {preposition} {_named(messenger, wanted)}"
            return said(text, id=wanted, **{done: key})

        perform(sending, action)

    command.__doc__ = about
    return sending_options(command)


async def _accept(messenger: Messenger, community_id: str, member: str) -> None:
    """Accept only a request we hold, as status-go accepts only a request id it has
    (``AcceptRequestToJoinCommunity``); exits 1 otherwise."""
    if member not in (key for key, _, _ in messenger.community_requests(community_id)):
        hint = "" if messenger.fetcher else f" ({CATCH_UP})"
        runtime_error(f"no pending request from {member} to {community_id}{hint}")
    await messenger.accept_community_request(community_id, member)


community_app.command("accept")(
    _member_command(
        _accept,
        "accepted",
        "into",
        "Accept a member's request to a community we control.",
    )
)


@community_app.command("ban")
@sending_options
def ban(
    community_id: IdArg,
    member: MemberArg,
    sending: Sending,
    delete_messages: Annotated[
        bool,
        typer.Option(
            "--delete-messages",
            help="Delete all their messages in the community too, at every member",
        ),
    ] = False,
) -> None:
    """Ban a member from a community we control (they are told)."""
    wanted = _community_id(community_id)
    key = chat_key_or_exit(member)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.ban_community_member(wanted, key, delete_messages=delete_messages)
        text = f"banned {key} from {_named(messenger, wanted)}"
        return said(text, id=wanted, banned=key, messagesDeleted=delete_messages)

    perform(sending, action)


async def _revoke_admin(messenger: Messenger, community_id: str, member: str) -> None:
    await messenger.set_community_admin(community_id, member, admin=False)


community_app.command("admin")(
    _member_command(
        Messenger.set_community_admin,
        "admin",
        "of",
        "Make a member an admin of a community we control (no token permission is checked:"
        " pystatus holds no chain client).",
    )
)
community_app.command("unadmin")(
    _member_command(
        _revoke_admin, "unadmin", "of", "Take the admin role back from a member (who stays)."
    )
)


@community_app.command()
@sending_options
def post(
    chat_id: ChannelArg,
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
            runtime_error(str(exc) + ("" if messenger.fetcher else f" ({CATCH_UP})"))
        if messenger.fetcher is None:  # no store to confirm with (relay, no --storenode)
            return said(message_id, id=message_id, chatId=channel)

        # A post has no data sync: the store's confirmation is its last state (status-go's
        # too), so with a store (--storenode, or --light's) we wait for it, as `chat send
        # --wait stored` does.
        def confirmed() -> bool:
            return messenger.status(message_id) == DeliveryStatus.STORED

        with contextlib.suppress(TimeoutError):
            await until(confirmed, sending.timeout)
        if not confirmed() and not sending.json_output:
            typer.echo("sent; no store confirmed it yet: published again at the next run", err=True)
        return said(message_id, id=message_id, chatId=channel, stored=confirmed())

    perform(sending, action)


@community_app.command()
@command_options(acknowledged=False, peers_required=False)
def channels(
    community_id: IdArg,
    sending: Sending,
    add: Annotated[
        str | None, typer.Option(help="Add a channel of this name (sends: needs --staticnode)")
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="With --add: only admins post")
    ] = False,
    category: Annotated[
        str | None, typer.Option(help="With --add: into this category (made when new)")
    ] = None,
) -> None:
    """List a community's channels (no network), or add one (--add) to one we control."""
    wanted = _community_id(community_id)
    if add is None:
        reading = Reading(sending.data_dir, sending.password, sending.json_output)
        community = _read_one(reading, wanted)
        listed = community_json(community)["channels"]
        if reading.json_output:
            print_json({"id": wanted, "channels": listed})
            return
        for channel in community.channels.values():
            print(_channel_line(channel.name, channel.chat_id, channel.read_only))
        if not community.channels:
            print(f"no channel yet: `pystatus community channels {wanted} --add general`")
        return
    name = add

    async def action(messenger: Messenger) -> Outcome:
        category_id = ""
        if category:
            category_id = await category_named(messenger, wanted, category)
        chat_id = await messenger.add_community_channel(
            wanted, name, read_only=read_only, category_id=category_id
        )
        line = _channel_line(name, chat_id, read_only)
        return said(line, id=wanted, chatId=chat_id)

    perform(sending, action)


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


def _read_all(reading: Reading) -> tuple[str, list[Community]]:
    async def read(account: Account, database: ChatDatabase) -> tuple[str, list[Community]]:
        return "0x" + account.keys.chat_public_key.hex(), await _communities(database)

    return read_account(reading, read)


def _read_one(reading: Reading, community_id: str) -> Community:
    for community in _read_all(reading)[1]:
        if community.id == community_id:
            return community
    runtime_error(f"no community {community_id} in this account")


@community_app.command()
@reading_options
def members(community_id: IdArg, reading: Reading) -> None:
    """A community's members (admins marked *) and banned keys (no network)."""
    community = _read_one(reading, _community_id(community_id))
    if reading.json_output:
        document = community_json(community)
        print_json(
            {"id": community.id, "members": document["members"], "banned": document["banned"]}
        )
        return
    for key in community.members:
        print(f"{_key(key)}{' *' if community.is_privileged(key) else ''}")
    for key in sorted(community.banned):
        print(f"{_key(key)} (banned)")


@community_app.command()
@reading_options
def requests(community_id: IdArg, reading: Reading) -> None:
    """Pending requests to a community we control (no network)."""
    wanted = _community_id(community_id)

    async def read(_: Account, database: ChatDatabase) -> list[list[object]]:
        value = (await database.sync_state()).get(COMMUNITY_STATE + wanted)
        return [] if value is None else list(json.loads(value).get("pending", []))

    rows = [(_key(str(m)), int(str(c)), str(n)) for m, c, n in read_account(reading, read)]
    if reading.json_output:
        found = [{"chatKey": k, "clock": c, "displayName": n} for k, c, n in rows]
        print_json({"id": wanted, "requests": found})
        return
    for key, _, name in rows:
        print(f"{key} {name}".rstrip())


@community_app.command("list")
@reading_options
def list_communities(reading: Reading) -> None:
    """The communities this account knows: name, id, and whether we are a member."""
    me, found = _read_all(reading)
    if reading.json_output:
        print_json(
            {"communities": [community_json(c) | {"member": c.is_member(me)} for c in found]}
        )
        return
    for community in found:
        print(
            f"{community.name} {community.id}{'' if community.is_member(me) else ' (not a member)'}"
        )


@community_app.command()
@reading_options
def history(
    chat_id: Annotated[
        str, typer.Argument(help="The channel: its chat id, or its name (#general)")
    ],
    reading: Reading,
    limit: Limit = HISTORY_LIMIT,
    community: Annotated[
        str | None,
        typer.Option(help="The community of a channel named #name, when several have one"),
    ] = None,
) -> None:
    """A channel's messages with their times, authors and ids, newest last (no network):
    the channel by its chat id or its name (#general; with --community when the account
    knows several channels of that name), the full ids with --json."""
    if chat_id.startswith("#"):
        channel = _channel_named(reading, chat_id[1:], community and _community_id(community))
    else:
        channel = _channel_id(chat_id)

    async def names(database: ChatDatabase) -> dict[str, str]:
        found = [c.channel_by_chat_id(channel) for c in await _communities(database)]
        named = [f.name for f in found if f is not None]
        return {channel: "#" + named[0]} if named else {}

    print_history(reading, channel, limit, names)


def _channel_named(reading: Reading, name: str, community_id: str | None) -> str:
    """The chat id of the channel called ``name`` in the account's communities (in
    ``community_id`` only, when given); exits 2 when several have one, 1 when none has."""
    found = [
        channel.chat_id
        for community in _read_all(reading)[1]
        if community_id in (None, community.id)
        for channel in community.channels.values()
        if channel.name == name
    ]
    if len(found) > 1:
        usage_error(f"several communities have a channel #{name}: give --community <id>")
    if not found:
        where = f"community {community_id}" if community_id else "the communities of this account"
        runtime_error(f"no channel #{name} in {where}")
    return found[0]
