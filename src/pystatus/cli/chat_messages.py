"""`pystatus chat reply|react|history|resend`: commands about one message or one chat.

`reply` and `react` find the message's chat in the account's database (a message this
account never saw is a runtime failure, exit 1; an id that is not ``0x`` and 64 hex digits is
a usage error, exit 2). `history` reads the database only, newest last.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pystatus.chat.account import Account
from pystatus.chat.database import ChatDatabase
from pystatus.chat.errors import InvalidChatKey, UnknownMessage
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.keys import chat_key_text
from pystatus.chat.membership import is_group_chat_id
from pystatus.chat.messenger import Messenger
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.chat.user_input import (
    REACTION_EMOJI,
    InvalidReaction,
    one_to_one_chat_id,
    parse_reaction,
)
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat import MessageId, Outcome, Timeout, act, act_with
from pystatus.cli.chat import _message_id as message_id_or_exit
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
from pystatus.cli.chat_public import chat_name
from pystatus.cli.options import Sending, sending_options

HISTORY_LIMIT = 50


async def _chat_of(messenger: Messenger, message_id: str) -> str:
    """The chat id of a message the account has; raises UnknownMessage."""
    found = await messenger.message(message_id)
    if found is None:
        raise UnknownMessage(f"no message {message_id} in this account's database")
    return found.chat_id


@sending_options
def reply(
    message_id: MessageId,
    sending: Sending,
    text: Annotated[
        str | None,
        typer.Argument(help="The reply ('-', or none with stdin not a terminal: stdin)"),
    ] = None,
    text_file: TextFile = None,
) -> None:
    """Reply to a message, in its chat (1:1, group or public); print the reply's id."""
    target = message_id_or_exit(message_id)
    body = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        chat_id = await _chat_of(messenger, target)
        if chat_id.startswith("0x"):  # a 1:1 chat: the other person's key
            chat_key = chat_key_text(bytes.fromhex(chat_id[2:]))
            sent = await messenger.send(chat_key, body, response_to=target)
        elif is_group_chat_id(chat_id):  # a private group: to each member
            sent = await messenger.send_group(chat_id, body, response_to=target)
        else:
            sent = await messenger.send_public(chat_id, body, response_to=target)
        return Outcome(sent, {"id": sent, "chatId": chat_id, "responseTo": target})

    act_with(sending, action)


def react(
    message_id: MessageId,
    emoji: Annotated[
        str,
        typer.Argument(
            help="❤️ 👍 👎 😂 😢 😡, or love, thumbs-up, thumbs-down, laugh, sad, angry, or 1-6"
        ),
    ],
    staticnode: StaticNodes,
    retract: Annotated[bool, typer.Option(help="Take the reaction back")] = False,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """React to a message with one of the six emoji status-go knows (EmojiReaction); print
    what was done ("reacted <emoji> to <id>")."""
    target = message_id_or_exit(message_id)
    try:
        kind = parse_reaction(emoji)
    except InvalidReaction as exc:
        usage_error(str(exc))

    async def action(messenger: Messenger) -> Outcome:
        chat_id = await _chat_of(messenger, target)
        await messenger.react(chat_id, target, kind, retract=retract)
        document: dict[str, object] = {
            "id": target,
            "chatId": chat_id,
            "reaction": kind,
            "emoji": REACTION_EMOJI[kind],
            "retracted": retract,
        }
        done = "took back" if retract else "reacted"
        return Outcome(f"{done} {REACTION_EMOJI[kind]} to {target}", document)

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


@sending_options
def resend(message_id: MessageId, sending: Sending) -> None:
    """Send a message of ours that failed again (same id: nobody sees it twice)."""
    target = message_id_or_exit(message_id)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.resend(target)
        return Outcome(target, {"id": target})

    act_with(sending, action)


def history_chat_id(chat: str) -> str:
    """The chat id ``chat`` names: a chat key (``zQ3...``, ``0x04...``, ``0x02/03...``) for
    a 1:1 chat, else a public chat's name (normalised: ``zebra`` is a name, as it names no
    key). Exits 2 on a bad ``0x`` key or a bad name."""
    if chat.startswith("z"):
        try:
            return one_to_one_chat_id(chat)
        except InvalidChatKey:
            return chat_name(chat)
    if chat.startswith("0x"):
        try:
            return one_to_one_chat_id(chat)
        except InvalidChatKey as exc:
            usage_error(str(exc))
    return chat_name(chat)


async def _history(
    account: Account, database: ChatDatabase, chat_id: str, limit: int
) -> list[ChatEvent]:
    found: list[ChatEvent] = []
    for stored in await database.history(chat_id, limit):
        body = chat_message_pb2.ChatMessage.FromString(stored.body)
        found.append(message_event(stored, body, stored.author == account.chat_key))
    return found


def history(
    chat: Annotated[
        str, typer.Argument(help="Their chat key (1:1: zQ3... or 0x04...) or a public chat name")
    ],
    limit: Annotated[int, typer.Option(min=1, help="The newest this many messages")] = (
        HISTORY_LIMIT
    ),
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """Print a chat's messages with their times and ids, newest last (no network).

    From the account's database: a 1:1 chat by the other person's key, a public chat by
    name."""
    chat_id = history_chat_id(chat)

    async def read() -> tuple[str, list[ChatEvent]]:
        async with chat_database(data_dir, password) as (account, database):
            return account.chat_key, await _history(account, database, chat_id, limit)

    own_key, events = run(read)
    if json_output:
        print_json({"chatId": chat_id, "messages": [event_json(e) for e in events]})
        return
    printer = EventPrinter(own_key)
    for event in events:
        printer.print(event)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (`pystatus chat`)."""
    app.command()(reply)
    app.command()(react)
    app.command()(resend)
    app.command()(history)
