"""`pystatus chat requests [list|accept|decline]`: contact requests waiting for our answer.

The list reads the account's database only: contact requests we have not answered, and
people whose 1:1 chat sits in "requests" (they wrote, we have not added them), unless we
declined them, as the Messenger's ``requests()`` (status-go's activity center) lists them;
each with the request's text when we have it. `accept` and `decline` are `chat accept` and
`chat decline`.
"""

from __future__ import annotations

import typer

from pystatus.chat.contacts import ContactInfo, Contacts, info
from pystatus.chat.database import ChatDatabase
from pystatus.chat.events import message_text
from pystatus.chat.proto import chat_message_pb2
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat import answer_contact_request
from pystatus.cli.chat_io import Json, chat_database, contact_json, print_json, run

requests_app: typer.Typer = typer.Typer(
    help="Contact requests waiting for an answer: list (the default), accept, decline.",
    invoke_without_command=True,
)


async def pending_requests(database: ChatDatabase) -> list[tuple[ContactInfo, str]]:
    """Each request waiting for our answer, most recent chat first, with its text ('' when
    we do not have it)."""
    book = Contacts(database)
    found: dict[str, ContactInfo] = {}
    for chat in await database.request_chats():
        person = info(await book.get(chat.name))
        if person.state != "dismissed":
            found[person.chat_key] = person
    for person in await book.all():
        if person.has_added_us and not person.added and person.state != "dismissed":
            found.setdefault(person.chat_key, person)
    listed = []
    for person in found.values():
        text = ""
        if person.request_id:
            stored = await database.message(person.request_id)
            if stored is not None:
                text = message_text(chat_message_pb2.ChatMessage.FromString(stored.body))
        listed.append((person, text))
    return listed


def list_requests(
    data_dir: DataDir = None, password: Password = None, json_output: Json = False
) -> None:
    """List requests waiting for our answer: key, display name, introduction (no network)."""

    async def read() -> list[tuple[ContactInfo, str]]:
        async with chat_database(data_dir, password) as (_, database):
            return await pending_requests(database)

    found = run(read)
    if json_output:
        print_json({"requests": [contact_json(p, request_text=text) for p, text in found]})
        return
    for person, text in found:
        print(f"{person.chat_key}  {person.display_name or '-'}  {text}", flush=True)


@requests_app.callback()
def requests(
    context: typer.Context,
    data_dir: DataDir = None,
    password: Password = None,
    json_output: Json = False,
) -> None:
    """Contact requests waiting for our answer; with no command, list them."""
    if context.invoked_subcommand is None:
        list_requests(data_dir, password, json_output)


requests_app.command("list")(list_requests)
requests_app.command("accept", help="Accept a request; print the contact's state.")(
    answer_contact_request("accept")
)
requests_app.command("decline", help="Decline a request (nothing is sent to them).")(
    answer_contact_request("decline")
)
