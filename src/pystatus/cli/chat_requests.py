"""`pystatus chat requests [list|accept|decline]`: contact requests waiting for our answer.

The list reads the account's database only: contact requests we have not answered, and
people whose 1:1 chat sits in "requests" (they wrote, we have not added them), unless we
declined them, as the Messenger's ``requests()`` lists them; each with the request's text,
or for someone who only wrote, the newest message of that chat. `chat contacts --requests`
lists the same people. `accept` and `decline` are `chat accept` and `chat decline`.

status-go v1.1.0 makes no contact request of an ordinary message from someone we have not
added (``protocol/messenger_handler.go``: ``matchChatEntity`` files it in an inactive 1:1
chat, and only a CONTACT_REQUEST content type moves the contact's request state), so such a
sender is listed with kind ``message`` and contact state ``none``, a request proper with kind
``contactRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

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


@dataclass(frozen=True, slots=True)
class Waiting:
    """Someone waiting for our answer: ``kind`` is ``contactRequest`` (they sent one) or
    ``message`` (they only wrote); ``text``: the request's text, or their newest message's
    ('' when we have neither)."""

    person: ContactInfo
    kind: str
    text: str


async def pending_requests(database: ChatDatabase) -> list[Waiting]:
    """Each request waiting for our answer, most recent chat first."""
    book = Contacts(database)
    found: dict[str, tuple[ContactInfo, str]] = {}
    for chat in await database.request_chats():
        person = info(await book.get(chat.name))
        if person.state != "dismissed":
            found[person.chat_key] = (person, chat.id)
    for person in await book.all():
        if person.has_added_us and not person.added and person.state != "dismissed":
            found.setdefault(person.chat_key, (person, person.chat_id))
    listed = []
    for person, chat_id in found.values():
        stored = await database.message(person.request_id) if person.request_id else None
        kind = "contactRequest" if stored is not None or person.has_added_us else "message"
        if stored is None:
            newest = await database.history(chat_id, limit=1)
            newest = [m for m in newest if m.author == person.chat_key]
            stored = newest[0] if newest else None
        text = ""
        if stored is not None:
            text = message_text(chat_message_pb2.ChatMessage.FromString(stored.body))
        listed.append(Waiting(person, kind, text))
    return listed


def list_requests(
    data_dir: DataDir = None, password: Password = None, json_output: Json = False
) -> None:
    """List requests waiting for our answer: key, display name, introduction (no network)."""

    async def read() -> list[Waiting]:
        async with chat_database(data_dir, password) as (_, database):
            return await pending_requests(database)

    found = run(read)
    if json_output:
        print_json({"requests": [request_json(w) for w in found]})
        return
    for w in found:
        what = "" if w.kind == "contactRequest" else "(a message; no contact request)  "
        print(f"{w.person.chat_key}  {w.person.display_name or '-'}  {what}{w.text}", flush=True)


def request_json(waiting: Waiting) -> dict[str, object]:
    return {
        **contact_json(waiting.person, request_text=waiting.text),
        "kind": waiting.kind,
    }


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


def contacts(
    data_dir: DataDir = None,
    password: Password = None,
    requests: Annotated[
        bool, typer.Option(help="Only those waiting for our answer, as `chat requests` lists")
    ] = False,
    json_output: Json = False,
) -> None:
    """List contacts and their request state (from the account's database; no network).
    With --requests, the people `chat requests` lists: requests waiting for our answer, and
    people who wrote without being our contacts."""

    async def run_() -> list[tuple[ContactInfo, dict[str, object]]]:
        async with chat_database(data_dir, password) as (_, database):
            if requests:
                return [(w.person, request_json(w)) for w in await pending_requests(database)]
            return [(p, contact_json(p)) for p in await Contacts(database).all()]

    found = run(run_)
    if json_output:
        print_json({"contacts": [document for _, document in found]})
        return
    for person, _ in found:
        print(f"{person.chat_key}  {person.state:<9}  {person.display_name or '-'}")
