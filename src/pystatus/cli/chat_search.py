"""``pystatus chat search``: find messages by their text in the account's encrypted chat
database, offline (no node is started; the data dir is held while it reads)."""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from pystatus.chat.database import MAX_QUERY_LENGTH, MAX_SEARCH_LIMIT, ChatDatabase, InvalidSearch
from pystatus.chat.events import ChatEvent
from pystatus.chat.search import search_events
from pystatus.cli.account import DataDir, Password, open_account, password_or_prompt
from pystatus.cli.chat import chat_app
from pystatus.errors import PystatusError

CHAT_DATABASE = "chat.sqlite3"
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)  # an error is one line


def _as_json(event: ChatEvent) -> dict[str, object]:
    """The fields of ``GET /chat/v1/search``'s answer, by the same names."""
    return {
        "id": event.id,
        "chatId": event.chat_id,
        "author": event.author,
        "text": event.text,
        "clock": event.clock,
        "timestamp": event.timestamp,
        "responseTo": event.response_to,
        "outgoing": event.outgoing,
        "status": event.status,
        "displayName": event.display_name,
        "contentType": event.content_type,
        "edited": event.edited,
        "deleted": event.deleted,
        "pinned": event.pinned,
    }


def _line(event: ChatEvent) -> None:
    # ChatMessage timestamps are milliseconds since the epoch (the sender's wall clock).
    when = datetime.datetime.fromtimestamp(event.timestamp / 1000, datetime.UTC)
    who = "me" if event.outgoing else event.display_name or event.author
    edited = " [edited]" if event.edited else ""
    console.print(
        f"[dim]{when:%Y-%m-%d %H:%M:%S}[/dim] {escape(event.chat_id)} [bold]{escape(who)}[/bold]:"
        f" {escape(event.text)}{edited}",  # what people write is not markup
        soft_wrap=True,
    )
    console.print(f"  id {event.id}", style="dim", soft_wrap=True)


@chat_app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words to find, all of them (plain text)")],
    data_dir: DataDir = None,
    password: Password = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_SEARCH_LIMIT, help="At most this many messages")
    ] = 50,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document (full ids and keys)")
    ] = False,
) -> None:
    """Find messages holding every word of TEXT (case and accents ignored), newest first,
    in the account's database (no network; not while a node runs on the data dir).

    Exit 2 for an empty or too long TEXT (over 1,000 characters), 1 when the account or its
    database does not open."""

    async def run() -> list[ChatEvent]:
        account = open_account(data_dir, password_or_prompt(password, confirm=False))
        database = ChatDatabase(account.directory / CHAT_DATABASE, account.keys.database)
        await database.open()
        try:
            return await search_events(database, account.chat_key, text, limit)
        finally:
            await database.close()

    if len(text) > MAX_QUERY_LENGTH or not text.split():
        errors.print(f"[red]error:[/red] TEXT is 1 to {MAX_QUERY_LENGTH} characters, not blank")
        raise typer.Exit(2)
    try:
        found = asyncio.run(run())
    except InvalidSearch as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if json_output:
        print(json.dumps([_as_json(event) for event in found], ensure_ascii=False, indent=2))
        return
    for event in found:
        _line(event)
