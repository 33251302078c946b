"""What a `pystatus group` or `pystatus community` command is made of, so that each is a few
lines: an id checked before anything starts (exit 2), then either one action run on a
messenger of the account (:func:`perform`: a node of its own, the outcome printed as a line,
or as one JSON document with ``--json``) or one read of the account's database with no
network (:func:`read_account`, :func:`print_history`). Exit codes are
:mod:`pystatus.cli.chat_io`'s: 0 success, 1 runtime failure, 2 usage error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from pystatus.chat.account import Account
from pystatus.chat.database import ChatDatabase
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.messenger import Messenger
from pystatus.chat.proto import chat_message_pb2
from pystatus.cli.chat import Outcome, _chat_key, act_with
from pystatus.cli.chat_io import EventPrinter, chat_database, event_json, print_json, run
from pystatus.cli.chat_io import usage_error as usage_error
from pystatus.cli.options import Reading, Sending

T = TypeVar("T")
HISTORY_LIMIT = 50
Limit = Annotated[int, typer.Option(min=1, help="The newest this many messages")]
Action = Callable[[Messenger], Awaitable[Outcome]]
"""One thing done on the account's messenger, saying what it did."""


def chat_key_or_exit(text: str) -> str:
    """A chat key as typed (``zQ3...``, ``0x04...``) as the chat layer takes it; exits 2
    when it names no point on the curve."""
    return _chat_key(text)


def perform(sending: Sending, action: Action) -> None:
    """Open the account on a node of its own (``sending``'s peers), run ``action``, print
    its :class:`~pystatus.cli.chat.Outcome` and wait until what it sent left (see
    :func:`pystatus.cli.chat.act`). Exits 2 when no ``--staticnode`` was given: a command
    whose peers are optional (it sends only with some of its options) lands here to send."""
    if not sending.staticnode:
        usage_error("this sends: give --staticnode (a relay peer; with --light, a service node)")
    act_with(sending, action)


def read_account(reading: Reading, read: Callable[[Account, ChatDatabase], Awaitable[T]]) -> T:
    """``read`` on the unlocked account and its chat database, with no network. Exits 1 on
    a pystatus error (a wrong password, a data dir in use), 2 on bad input."""

    async def main() -> T:
        async with chat_database(reading.data_dir, reading.password) as (account, database):
            return await read(account, database)

    return run(main)


Names = Callable[[ChatDatabase], Awaitable[dict[str, str]]]
"""What the printer should call by name: chat ids and chat keys -> names (a group's name, a
channel's ``#name``, a display name)."""


_History = tuple[str, list[ChatEvent], dict[str, str]]


def print_history(reading: Reading, chat_id: str, limit: int, names: Names) -> None:
    """A chat's newest ``limit`` messages, newest last, each with its local time, its chat
    and author by name (``names``), its text and its id; ``--json`` gives every field with
    full ids and keys (``{"chatId", "messages": [...]}``). No network."""

    async def read(account: Account, database: ChatDatabase) -> _History:
        found: list[ChatEvent] = []
        for stored in await database.history(chat_id, limit):
            body = chat_message_pb2.ChatMessage.FromString(stored.body)
            found.append(message_event(stored, body, stored.author == account.chat_key))
        return account.chat_key, found, await names(database)

    own_key, events, known = read_account(reading, read)
    if reading.json_output:
        print_json({"chatId": chat_id, "messages": [event_json(e) for e in events]})
        return
    printer = EventPrinter(own_key)
    for key, name in known.items():
        printer.learn(key, name)
    for event in events:
        printer.print(event)


def said(text: str, **document: object) -> Outcome:
    """The outcome of a command: ``text`` for a person, ``document`` with ``--json``."""
    return Outcome(text, dict(document))
