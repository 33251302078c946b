"""What the chat commands read from a person and print for them: message texts from an
option, a file or stdin; events, contacts and results as lines or as JSON; exit codes.

Exit codes, as ``pystatus`` uses them (see :func:`pystatus.cli.main.main`): 0 success,
1 runtime failure (no peer, a timeout, a message not found), 2 usage error (a bad key, name,
message id, reaction, or an empty or too long text).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TextIO, TypeVar

import typer
from prometheus_client import Counter
from rich.console import Console
from rich.markup import escape

from pystatus.chat.account import Account
from pystatus.chat.contacts import ContactInfo
from pystatus.chat.content import ContentError
from pystatus.chat.database import ChatDatabase
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.events import ChatEvent
from pystatus.chat.keys import chat_key_text
from pystatus.chat.membership import is_group_chat_id
from pystatus.chat.user_input import (
    MAX_TEXT_LENGTH,
    REACTION_EMOJI,
    InvalidChatName,
    InvalidMessageId,
    InvalidReaction,
    InvalidText,
    checked_text,
)
from pystatus.cli.account import chat_account_directory, password_or_prompt
from pystatus.errors import ConfigError, PystatusError
from pystatus.p2p.multiaddr import Multiaddr

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document (full ids and keys)")]
TextFile = Annotated[
    Path | None, typer.Option(help="Read the text from this file ('-': stdin)", dir_okay=False)
]

USAGE_ERRORS = (
    InvalidChatKey,
    InvalidChatName,
    InvalidMessageId,
    InvalidReaction,
    InvalidText,
    ContentError,  # a text or value status-go would refuse, found by the messenger
    ConfigError,
)
"""What a person typed wrong: exit code 2."""

T = TypeVar("T")


def usage_error(message: str) -> NoReturn:
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def runtime_error(message: str) -> NoReturn:
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1)


def run(main: Callable[[], Awaitable[T]], *, timeout_message: str = "") -> T:
    """``asyncio.run(main())`` with the chat commands' exit codes: usage errors (bad input,
    :data:`USAGE_ERRORS`) exit 2, other pystatus errors and timeouts exit 1, each with one
    line on stderr. ``timeout_message`` says what timed out."""

    async def guarded() -> T:  # asyncio.run takes a coroutine, main returns an awaitable
        return await main()

    try:
        return asyncio.run(guarded())
    except USAGE_ERRORS as exc:
        usage_error(str(exc))
    except TimeoutError:
        runtime_error(timeout_message or "timed out")
    except PystatusError as exc:
        runtime_error(str(exc))


def read_text(text: str | None, text_file: Path | None, *, what: str = "text") -> str:
    """The message text: ``text`` ('-' reads stdin), else the file ``text_file`` ('-' is
    stdin), else stdin when it is not a terminal. One trailing newline (what ``echo`` and
    editors add) is dropped. Exits 2 when there is none, both are given, or it is empty or
    too long (:func:`pystatus.chat.user_input.checked_text`)."""
    if text is not None and text_file is not None:
        usage_error(f"give the {what} with --text or --text-file, not both")
    try:
        if text == "-" or str(text_file) == "-":
            text = _read_bounded(sys.stdin)
        elif text_file is not None:
            with text_file.open(encoding="utf-8") as file:
                text = _read_bounded(file)
        elif text is None:
            if sys.stdin is None or sys.stdin.isatty():
                usage_error(f"no {what}: give --text, --text-file or pipe it on stdin")
            text = _read_bounded(sys.stdin)
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"cannot read the {what}: {exc}")
    text = text.removesuffix("\n").removesuffix("\r")
    try:
        return checked_text(text)
    except InvalidText as exc:
        usage_error(str(exc))


def _read_bounded(stream: TextIO) -> str:
    """At most one character past what may be sent, and the newline after it: enough for
    :func:`checked_text` to say it is too long, without holding whatever a pipe delivers."""
    return stream.read(MAX_TEXT_LENGTH + 2)


def check_peers(static_nodes: list[str], storenode: str | None = None) -> None:
    """Exit 2, before anything starts, on a ``--staticnode`` or ``--storenode`` that is not
    a multiaddr."""
    given = [("--staticnode", text) for text in static_nodes]
    if storenode is not None:
        given.append(("--storenode", storenode))
    for flag, text in given:
        try:
            Multiaddr.from_string(text)
        except (PystatusError, ValueError) as exc:
            usage_error(f"{flag} {text}: {exc}")


def print_json(document: object) -> None:
    """One JSON document on a line of its own, flushed (``watch`` prints JSON lines)."""
    print(json.dumps(document, ensure_ascii=False), flush=True)


def iso_time(timestamp_ms: int) -> str:
    """Unix milliseconds as ISO 8601 in UTC (JSON output)."""
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_time(timestamp_ms: int) -> str:
    """Unix milliseconds as the local wall-clock time a person reads (line output)."""
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def now_ms() -> int:
    return int(datetime.datetime.now(tz=datetime.UTC).timestamp() * 1000)


def chat_label(chat_id: str) -> str:
    """A chat as a person names it: ``#name`` for a public chat, the other person's
    ``zQ3...`` key for a 1:1 chat (whose id is their uncompressed key in 0x-hex), a private
    group's chat id as it is (``#`` marks public chats only; :class:`EventPrinter` puts the
    group's name before it)."""
    if is_group_chat_id(chat_id):
        return chat_id
    if chat_id.startswith("0x"):
        try:
            return chat_key_text(bytes.fromhex(chat_id[2:]))
        except ValueError:
            return chat_id
    return "#" + chat_id


def event_json(event: ChatEvent, *, seen_ms: int | None = None) -> dict[str, object]:
    """An event with every field, names as the REST API's (``/chat/v1/events``) and full
    ids and keys; ``time`` is its timestamp (or, for status and contact news, when it was
    seen) in ISO 8601 UTC."""
    timestamp = event.timestamp or (seen_ms if seen_ms is not None else now_ms())
    return {
        "kind": event.kind,
        "id": event.id,
        "chatId": event.chat_id,
        "chat": chat_label(event.chat_id) if event.chat_id else "",
        "author": event.author,
        "displayName": event.display_name,
        "text": event.text,
        "clock": event.clock,
        "timestamp": timestamp,
        "time": iso_time(timestamp),
        "responseTo": event.response_to,
        "outgoing": event.outgoing,
        "status": event.status,
        "reaction": event.reaction,
        "reactionEmoji": REACTION_EMOJI.get(abs(event.reaction), ""),
        "contactState": event.contact_state,
        "contentType": event.content_type,
        "edited": event.edited,
        "deleted": event.deleted,
        "pinned": event.pinned,
    }


def contact_json(person: ContactInfo, *, request_text: str | None = None) -> dict[str, object]:
    document: dict[str, object] = {
        "chatKey": person.chat_key,
        "chatId": person.chat_id,
        "state": person.state,
        "mutual": person.mutual,
        "added": person.added,
        "hasAddedUs": person.has_added_us,
        "displayName": person.display_name,
        "requestId": person.request_id,
    }
    if request_text is not None:
        document["requestText"] = request_text
    return document


NAMES_KEPT = 10_000
"""Display names an :class:`EventPrinter` remembers."""
NAMES_FORGOTTEN = Counter(
    "pystatus_cli_display_names_forgotten",
    "Display names a chat watch forgot, the least recently seen first, to stay bounded",
)


class EventPrinter:
    """Events as lines: time, chat, author (display name and full key), what happened; the
    message id on a line of its own. Display names learnt from events stand in for keys in
    chat labels."""

    def __init__(self, own_key: str = "", *, capacity: int = NAMES_KEPT) -> None:
        self._own_key = own_key
        self._capacity = capacity
        # Chat key -> display name, the least recently seen forgotten first: anyone may
        # write to a public chat, so this must not grow with them.
        self._names: OrderedDict[str, str] = OrderedDict()

    def learn(self, chat_key: str, display_name: str) -> None:
        if not display_name:
            return
        self._names[chat_key] = display_name
        self._names.move_to_end(chat_key)
        while len(self._names) > self._capacity:
            self._names.popitem(last=False)
            NAMES_FORGOTTEN.inc()

    def learn_group(self, chat_id: str, name: str) -> None:
        """A private group's name, shown before its chat id (as the app shows groups)."""
        self.learn(chat_id, name)

    def _person(self, chat_key: str) -> str:
        name = self._names.get(chat_key)
        return f"{name} ({chat_key})" if name else chat_key

    def _chat(self, chat_id: str) -> str:
        label = chat_label(chat_id)
        if is_group_chat_id(chat_id):
            name = self._names.get(chat_id)
            return f"{name} {chat_id}" if name else chat_id
        return self._names.get(label, label)

    def lines(self, event: ChatEvent) -> list[str]:
        """The lines for ``event``, plain text (no markup)."""
        when = local_time(event.timestamp or now_ms())
        if event.kind == "status":
            return [f"{when} status {event.id} {event.status}"]
        if event.kind == "group":  # display_name is the group's name, not the author's
            self.learn_group(event.chat_id, event.display_name)
            who = "I" if event.outgoing else self._person(event.author)
            return [f"{when} [{self._chat(event.chat_id)}] {who} {_group_change(event.text)}"]
        if not event.outgoing:
            self.learn(event.author, event.display_name)
        if event.kind == "contact":
            return [f"{when} contact {self._person(event.author)}: {event.contact_state}"]
        who = "me" if event.outgoing else self._person(event.author)
        what = {
            "contact_request": "[contact request] ",
            "edit": "[edited] ",
            "delete": "[deleted]",
            "pin": "[pinned]" if event.pinned else "[unpinned]",
            "reaction": _reaction_label(event.reaction),
        }.get(event.kind, "")
        reply = f"[reply to {event.response_to}] " if event.response_to else ""
        lines = [f"{when} [{self._chat(event.chat_id)}] {who}: {reply}{what}{event.text}"]
        lines.append(f"  id {event.id}" + (f" ({event.status})" if event.status else ""))
        return lines

    def print(self, event: ChatEvent) -> None:
        for line in self.lines(event):
            # What people write is not markup, and no line is wrapped or cut.
            console.print(escape(line), soft_wrap=True)


def _group_change(text: str) -> str:
    """A group event's text as the rest of a sentence that starts with who made it."""
    return {"invitation": "added me to the group", "updated": "changed the group"}.get(text, text)


def _reaction_label(reaction: int) -> str:
    emoji = REACTION_EMOJI.get(abs(reaction), str(abs(reaction)))
    return f"[took back {emoji}]" if reaction < 0 else f"[reaction {emoji}]"


@contextlib.asynccontextmanager
async def chat_database(
    data_dir: Path | None, password: str | None
) -> AsyncIterator[tuple[Account, ChatDatabase]]:
    """The account in ``data_dir``, unlocked (the data dir held, see
    :func:`pystatus.cli.account.account_directory`), and its chat database, open, with no
    network: for commands that only read (history, contacts, requests)."""
    account = Account.unlock(
        chat_account_directory(data_dir), password_or_prompt(password, confirm=False)
    )
    database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
    await database.open()
    try:
        yield account, database
    finally:
        await database.close()
