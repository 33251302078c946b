"""`pystatus chat ...`: chat from the terminal with a light in-process node.

Each command runs its own relay node, connected to the ``--staticnode`` peers given, unlocks
the account in the data directory (password from a hidden prompt or ``PYSTATUS_PASSWORD``)
and sends or prints messages. Ctrl-C stops `watch`. Contact requests and their answers,
edits, deletes, pins and the display name travel as status-go sends them; those commands
succeed once what they sent was published and kept for resend (the app's "sent"), and with
``--wait-delivered`` wait for the other side's acknowledgement (what is not acknowledged in
time is kept and sent again the next time the account runs). `contacts`, `history` and
`requests` read the account's database only. Keys, public chat names, texts and message ids
are checked before anything starts (:mod:`pystatus.chat.user_input`); exit codes: 0 success,
1 runtime failure, 2 usage error. `--json` prints one JSON document (JSON lines for `watch`).

Commands live beside this module: `public ...` in chat_public.py, `requests ...` in
chat_requests.py, `reply`, `react`, `history` and `resend` in chat_messages.py; what they read
and print in chat_io.py.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pystatus.chat.content import ContentError, validate_display_name
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.messenger import Messenger
from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.chat.user_input import (
    InvalidChatName,
    InvalidMessageId,
    normalize_public_chat_name,
    parse_chat_key,
    parse_message_id,
)
from pystatus.cli.account import DataDir, Password
from pystatus.cli.account import password_or_prompt as password_or_prompt
from pystatus.cli.chat_io import (
    EventPrinter,
    Json,
    TextFile,
    check_peers,
    event_json,
    print_json,
    read_text,
    runtime_error,
    usage_error,
)
from pystatus.cli.chat_io import run as run_chat
from pystatus.cli.chat_node import (
    MESH_TIMEOUT,
    ClusterId,
    FilterNodes,
    Light,
    LightNodes,
    LightPushNodes,
    StaticNodes,
    StoreNode,
    light_nodes,
    no_peer,
    open_messenger,
    sent_out,
    until,
)
from pystatus.cli.options import Sending
from pystatus.cli.options import Timeout as Timeout  # one definition for every command
from pystatus.cli.options import WaitDelivered as WaitDelivered

WAITS = ("sent", "stored", "delivered")

chat_app = typer.Typer(help="Send and watch Status messages.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@chat_app.command()
def send(
    to: Annotated[str, typer.Option(help="Their chat key: zQ3..., or 0x04... / 0x02... hex")],
    staticnode: StaticNodes,
    text: Annotated[
        str | None,
        typer.Option(help="The message ('-', or no --text with stdin not a terminal: stdin)"),
    ] = None,
    text_file: TextFile = None,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    storenode: StoreNode = None,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    wait: Annotated[
        str,
        typer.Option(
            help="Wait until the message is sent, stored (needs --storenode) or delivered"
        ),
    ] = "sent",
    timeout: Annotated[float, typer.Option(help="Seconds to wait before giving up")] = 30.0,
    json_output: Json = False,
) -> None:
    """Send a 1:1 message; print each status it reaches (on stderr) and, last, its id.

    Exit 1 if it did not reach --wait in time: its id is printed all the same, and the
    message is kept and sent again the next time this account runs (do not send it twice;
    `chat resend <id>` is for a message that failed)."""
    if wait not in WAITS:
        usage_error(f"--wait is one of {', '.join(WAITS)}")
    check_peers(staticnode, storenode)
    try:
        recipient = parse_chat_key(to)
    except InvalidChatKey as exc:
        usage_error(f"--to: {exc}")
    body = read_text(text, text_file)
    sent: dict[str, str] = {}

    async def run_send() -> None:
        secret = password_or_prompt(password, confirm=False)
        nodes = light_nodes(light, filternode, lightpushnode)
        async with open_messenger(
            data_dir, secret, cluster_id, staticnode, storenode, nodes, peer_timeout=timeout
        ) as messenger:
            events = messenger.events()
            sent["id"] = await messenger.send(recipient, body)
            sent["status"] = "pending"
            wanted = WAITS.index(wait)
            try:
                async with asyncio.timeout(timeout):
                    while sent["status"] not in WAITS or WAITS.index(sent["status"]) < wanted:
                        event = await anext(events)
                        if event.kind == "status" and event.id == sent["id"]:
                            sent["status"] = event.status
                            errors.print(event.status)
                            if event.status == "failed":
                                break
                    await until(lambda: sent_out(messenger), timeout)
            except TimeoutError:
                sent["timed_out"] = "yes"  # its id is known: said below, never lost

    def report() -> None:
        if json_output:
            print_json(
                {
                    "id": sent["id"],
                    "to": recipient,
                    "status": sent["status"],
                    "timedOut": "timed_out" in sent,
                }
            )
        else:
            print(sent["id"], flush=True)

    run_chat(run_send, timeout_message=no_peer(light, timeout))
    if "timed_out" in sent:
        report()
        runtime_error(
            f"the message was not {wait} within {timeout:g} s. It is kept and sent again the"
            f" next time this account runs: do not send it twice. Its id: {sent['id']}"
        )
    report()
    if sent["status"] == "failed":
        runtime_error(f"the message failed: `pystatus chat resend {sent['id']}` sends it again")


@chat_app.command()
def watch(
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    public_chat: Annotated[
        list[str] | None, typer.Option(help="Also follow this public chat (repeatable)")
    ] = None,
    storenode: StoreNode = None,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON document per event (JSON lines)")
    ] = False,
) -> None:
    """Print messages as they arrive, and what becomes of ours, until Ctrl-C.

    Each with its time, its chat, the author's full chat key (with their display name when
    known) and the text; the message id on the next line. With --json, one JSON document a
    line."""
    try:
        names = [normalize_public_chat_name(name) for name in public_chat or []]
    except InvalidChatName as exc:
        usage_error(f"--public-chat: {exc}")
    check_peers(staticnode, storenode)

    async def run() -> None:
        secret = password_or_prompt(password, confirm=False)
        stop = asyncio.Event()
        nodes = light_nodes(light, filternode, lightpushnode)
        async with open_messenger(
            data_dir, secret, cluster_id, staticnode, storenode, nodes
        ) as messenger:
            # Only now: while the node still waits for a peer, Ctrl-C must end it at once
            # (asyncio.run's own handler), not set an event nobody waits on yet.
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            for name in names:
                await messenger.join_public_chat(name)
            if json_output:
                print_json({"kind": "watching", "chatKey": messenger.chat_key})
            else:
                console.print(f"watching as {messenger.chat_key}", highlight=False)
            printer = EventPrinter(messenger.chat_key)
            for person in await messenger.contacts():
                printer.learn(person.chat_key, person.display_name)
            for group in messenger.groups():
                printer.learn_group(group.chat_id, group.name)
            events = messenger.events()
            while not stop.is_set():
                next_event = asyncio.ensure_future(anext(events))
                stopped = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {next_event, stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                if next_event in done:
                    if json_output:
                        print_json(event_json(next_event.result()))
                    else:
                        printer.print(next_event.result())
                else:
                    next_event.cancel()
                stopped.cancel()

    run_chat(run, timeout_message=f"no relay peer answered within {MESH_TIMEOUT:g} s")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command that sends prints: ``text`` for a person (nothing when empty), or
    ``document`` with --json."""

    text: str
    document: dict[str, object]


def _waiting(messenger: Messenger, before: set[bytes]) -> tuple[set[bytes], set[bytes]]:
    """Of our MVDS messages queued since ``before``: (those not yet acknowledged, those of
    them no publish has taken to a peer yet)."""
    session = messenger.session
    new = {o.message.id for o in session.mvds.outgoing()} - before
    return new, {m for m in new if m not in session.transmitted}


def act(
    action: Callable[[Messenger], Awaitable[Outcome]],
    staticnode: list[str],
    data_dir: Path | None,
    password: str | None,
    cluster_id: int,
    timeout: float,
    json_output: bool = False,
    light: LightNodes | None = None,
    *,
    wait_delivered: bool = False,
    storenode: str | None = None,
) -> None:
    """Run ``action``, print its outcome, and wait (up to ``timeout`` seconds) until what it
    sent has left: published to a peer (the Status app's "sent" tick) and kept in the outbox
    until acknowledged, so a recipient that is offline gets it from the store or from the
    resend the next time this account runs; exit 0. With ``wait_delivered``, wait until the
    recipient's device acknowledged it instead. Not reached in time: the outcome (with the
    message id) is printed all the same, then an error saying it is kept, and exit 1.
    ``storenode`` (a multiaddr) is the store peer that confirms what is sent and fetches
    what was missed."""
    check_peers(staticnode, storenode)
    done: list[Outcome] = []
    reached: dict[str, bool] = {}

    async def run() -> None:
        secret = password_or_prompt(password, confirm=False)
        async with open_messenger(
            data_dir, secret, cluster_id, staticnode, storenode, light=light, peer_timeout=timeout
        ) as messenger:
            before = {o.message.id for o in messenger.session.mvds.outgoing()}
            done.append(await action(messenger))
            try:
                if wait_delivered:
                    await until(lambda: not _waiting(messenger, before)[0], timeout)
                else:
                    await until(lambda: not _waiting(messenger, before)[1], timeout)
                await until(lambda: sent_out(messenger), timeout)
                reached["sent"] = True
            except TimeoutError:
                reached["sent"] = not _waiting(messenger, before)[1]
            reached["delivered"] = not _waiting(messenger, before)[0]

    run_chat(run, timeout_message=no_peer(light is not None, timeout))
    outcome = done[0]
    sent, delivered = reached["sent"], reached["delivered"]
    if json_output:
        print_json({**outcome.document, "sent": sent, "acknowledged": delivered})
    elif outcome.text:
        print(outcome.text, flush=True)
    if not sent:
        runtime_error(
            f"not sent within {timeout:g} s (no peer took it); kept, and sent again the next"
            " time this account runs: do not send it twice"
        )
    if wait_delivered and not delivered:
        runtime_error(
            f"sent, but not acknowledged within {timeout:g} s; kept, and sent again the next"
            " time this account runs: do not send it twice"
        )
    if not delivered and not json_output:
        errors.print(
            "sent; not acknowledged yet: delivered when the recipient comes online (kept, and"
            " sent again each time this account runs until acknowledged)"
        )


def act_with(sending: Sending, action: Callable[[Messenger], Awaitable[Outcome]]) -> None:
    """:func:`act` for a command declared with :func:`pystatus.cli.options.sending_options`."""
    act(
        action,
        sending.staticnode,
        sending.data_dir,
        sending.password,
        sending.cluster_id,
        sending.timeout,
        sending.json_output,
        light=sending.light,
        wait_delivered=sending.wait_delivered,
        storenode=sending.storenode,
    )


def _chat_key(text: str) -> str:
    try:
        return parse_chat_key(text)
    except InvalidChatKey as exc:
        usage_error(str(exc))


def _message_id(text: str) -> str:
    try:
        return parse_message_id(text)
    except InvalidMessageId as exc:
        usage_error(str(exc))


ChatKey = Annotated[str, typer.Argument(help="Their chat key: zQ3..., or 0x04... hex")]
MessageId = Annotated[str, typer.Argument(help="The message's id (0x and 64 hex digits)")]


@chat_app.command()
def request(
    to: ChatKey,
    staticnode: StaticNodes,
    text: Annotated[str | None, typer.Option(help="The introduction ('-': stdin)")] = None,
    text_file: TextFile = None,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    wait_delivered: WaitDelivered = False,
    json_output: Json = False,
) -> None:
    """Send a contact request; print its message id."""
    chat_key = _chat_key(to)
    introduction = read_text(text, text_file, what="introduction")

    async def action(messenger: Messenger) -> Outcome:
        message_id = await messenger.send_contact_request(chat_key, introduction)
        return Outcome(message_id, {"id": message_id, "to": chat_key})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
        wait_delivered=wait_delivered,
    )


def answer_contact_request(verb: str) -> Callable[..., None]:
    """The command that accepts, declines or retracts (``verb``) a contact request."""

    def command(
        who: ChatKey,
        staticnode: StaticNodes,
        data_dir: DataDir = None,
        password: Password = None,
        cluster_id: ClusterId = STATUS_CLUSTER,
        light: Light = False,
        filternode: FilterNodes = None,
        lightpushnode: LightPushNodes = None,
        timeout: Timeout = 30.0,
        wait_delivered: WaitDelivered = False,
        json_output: Json = False,
    ) -> None:
        chat_key = _chat_key(who)

        async def action(messenger: Messenger) -> Outcome:
            await getattr(messenger, f"{verb}_contact_request")(chat_key)
            state = (await messenger.contact(chat_key)).state
            return Outcome(state, {"chatKey": chat_key, "state": state})

        act(
            action,
            staticnode,
            data_dir,
            password,
            cluster_id,
            timeout,
            json_output,
            light=light_nodes(light, filternode, lightpushnode),
            wait_delivered=wait_delivered,
        )

    return command


chat_app.command("accept", help="Accept a contact request; print the contact's state.")(
    answer_contact_request("accept")
)
chat_app.command("decline", help="Decline a contact request (nothing is sent).")(
    answer_contact_request("decline")
)
chat_app.command("retract", help="Remove a contact or take back our request.")(
    answer_contact_request("retract")
)


@chat_app.command()
def edit(
    message_id: MessageId,
    staticnode: StaticNodes,
    text: Annotated[str | None, typer.Option(help="The new text ('-': stdin)")] = None,
    text_file: TextFile = None,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    wait_delivered: WaitDelivered = False,
    json_output: Json = False,
) -> None:
    """Replace the text of a message of ours; print "edited <id>"."""
    target = _message_id(message_id)
    new_text = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.edit(target, new_text)
        return Outcome(f"edited {target}", {"id": target, "edited": True})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
        wait_delivered=wait_delivered,
    )


@chat_app.command()
def delete(
    message_id: MessageId,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    wait_delivered: WaitDelivered = False,
    json_output: Json = False,
) -> None:
    """Delete a message of ours for everyone; print "deleted <id>"."""
    target = _message_id(message_id)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.delete(target)
        return Outcome(f"deleted {target}", {"id": target, "deleted": True})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
        wait_delivered=wait_delivered,
    )


@chat_app.command()
def pin(
    message_id: MessageId,
    staticnode: StaticNodes,
    unpin: Annotated[bool, typer.Option(help="Unpin it instead")] = False,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    wait_delivered: WaitDelivered = False,
    json_output: Json = False,
) -> None:
    """Pin (or unpin) a message in its chat; print "pinned <id>" ("unpinned <id>")."""
    target = _message_id(message_id)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.pin(target, not unpin)
        done = "unpinned" if unpin else "pinned"
        return Outcome(f"{done} {target}", {"id": target, "pinned": not unpin})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
        wait_delivered=wait_delivered,
    )


@chat_app.command()
def name(
    display_name: Annotated[str, typer.Argument(help="5 to 24 letters, digits, _, - or spaces")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    wait_delivered: WaitDelivered = False,
    json_output: Json = False,
) -> None:
    """Set our display name; our contacts learn it. Print "display name <name>"."""
    try:
        validate_display_name(display_name)
    except ContentError as exc:
        usage_error(str(exc))

    async def action(messenger: Messenger) -> Outcome:
        await messenger.set_display_name(display_name)
        return Outcome(f"display name {display_name}", {"displayName": display_name})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
        wait_delivered=wait_delivered,
    )


# The commands kept in modules of their own register here, once everything above (which they
# import) exists.
from pystatus.cli import chat_messages, chat_public, chat_requests  # noqa: E402

chat_app.add_typer(chat_public.public_app, name="public")
chat_app.add_typer(chat_requests.requests_app, name="requests")
chat_app.command()(chat_requests.contacts)
chat_messages.register(chat_app)


from pystatus.cli import chat_search as chat_search  # noqa: E402  (registers `chat search`)
