"""`pystatus chat ...`: chat from the terminal with a light in-process node.

Each command runs its own relay node, connected to the ``--staticnode`` peers given, unlocks
the account in the data directory (password from a hidden prompt or ``PYSTATUS_PASSWORD``)
and sends or prints messages. Ctrl-C stops `watch`. Contact requests and their answers,
edits, deletes, pins and the display name travel as status-go sends them; those commands
wait for the other side's acknowledgement (what is not acknowledged in time is kept and sent
again the next time the account runs). `contacts` reads the account's database only.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from pystatus.chat.account import Account
from pystatus.chat.contacts import Contacts
from pystatus.chat.database import ChatDatabase
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.topics import DEFAULT_SHARD, NON_PROTECTED_SHARD, STATUS_CLUSTER
from pystatus.cli.account import DataDir, Password, account_directory, password_or_prompt
from pystatus.errors import PystatusError
from pystatus.node import NodeConfig, WakuNode
from pystatus.p2p.multiaddr import Multiaddr

chat_app = typer.Typer(help="Send and watch Status messages.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

StaticNodes = Annotated[
    list[str], typer.Option("--staticnode", help="Multiaddr of a relay peer (repeatable)")
]
ClusterId = Annotated[int, typer.Option(help="Waku network cluster")]
MESH_TIMEOUT = 20.0


StoreNode = Annotated[
    str | None,
    typer.Option(help="Multiaddr of a store node: confirms what is sent, fetches what was missed"),
]
WAITS = ("sent", "stored", "delivered")


def _config(cluster_id: int, static_nodes: list[str], storenode: str | None) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=cluster_id,
        shards=(DEFAULT_SHARD, NON_PROTECTED_SHARD) if cluster_id == STATUS_CLUSTER else (),
        static_nodes=tuple(Multiaddr.from_string(text) for text in static_nodes),
        storenode=Multiaddr.from_string(storenode) if storenode else None,
    )


@contextlib.asynccontextmanager
async def _messenger(
    data_dir: Path | None,
    password: str,
    cluster_id: int,
    static_nodes: list[str],
    storenode: str | None = None,
) -> AsyncIterator[Messenger]:
    account = Account.unlock(account_directory(data_dir), password)
    async with contextlib.AsyncExitStack() as stack:
        node = await stack.enter_async_context(
            WakuNode(_config(cluster_id, static_nodes, storenode))
        )
        relay = node.require_relay()
        messenger = Messenger(account, relay, store=node.store_peer())
        await stack.enter_async_context(messenger)
        await _until(lambda: bool(relay.relay_peers()), MESH_TIMEOUT)
        yield messenger


async def _until(condition: Callable[[], bool], deadline: float) -> None:
    """Poll ``condition`` until it holds; the relay offers no event for these one-off waits
    of a short-lived command."""
    async with asyncio.timeout(deadline):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def _print(event: ChatEvent) -> None:
    if event.kind == "status":
        console.print(f"[dim]{event.id[:14]}…[/dim] {event.status}", highlight=False)
        return
    who = "me" if event.outgoing else event.author[:12] + "…"
    if event.kind == "contact":
        name = f" ({event.display_name})" if event.display_name else ""
        console.print(f"contact {event.author}{name}: {event.contact_state}", highlight=False)
        return
    if event.display_name and not event.outgoing:
        who = f"{event.display_name} ({who})"
    what = {
        "contact_request": "[contact request] ",
        "edit": "[edited] ",
        "delete": "[deleted]",
        "pin": "[pinned]" if event.pinned else "[unpinned]",
        "reaction": f"[reaction {event.reaction}]",
    }.get(event.kind, "")
    text = escape(what + event.text)  # what people write is not markup
    console.print(f"[dim]{event.chat_id[:14]}…[/dim] [bold]{escape(who)}[/bold]: {text}")
    console.print(f"  id {event.id}", style="dim", highlight=False)


@chat_app.command()
def send(
    to: Annotated[str, typer.Option(help="The recipient's chat key (zQ3...)")],
    text: Annotated[str, typer.Option(help="The message")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    storenode: StoreNode = None,
    wait: Annotated[
        str,
        typer.Option(
            help="Wait until the message is sent, stored (needs --storenode) or delivered"
        ),
    ] = "sent",
    timeout: Annotated[float, typer.Option(help="Seconds to wait before giving up")] = 30.0,
) -> None:
    """Send a 1:1 message; print each status it reaches (on stderr) and, last, its id."""
    if wait not in WAITS:
        errors.print(f"[red]error:[/red] --wait is one of {', '.join(WAITS)}")
        raise typer.Exit(2)

    async def run() -> tuple[str, str]:
        secret = password_or_prompt(password, confirm=False)
        async with _messenger(data_dir, secret, cluster_id, staticnode, storenode) as messenger:
            events = messenger.events()
            message_id = await messenger.send(to, text)
            status = "pending"
            wanted = WAITS.index(wait)
            async with asyncio.timeout(timeout):
                while status not in WAITS or WAITS.index(status) < wanted:
                    event = await anext(events)
                    if event.kind == "status" and event.id == message_id:
                        status = event.status
                        errors.print(status, highlight=False)
                        if status == "failed":
                            break
                await _until(lambda: not messenger.relay.send_queue_bytes(), timeout)
            return message_id, status

    try:
        message_id, status = asyncio.run(run())
    except TimeoutError:
        errors.print(f"[red]error:[/red] the message was not {wait} within {timeout:g} s")
        raise typer.Exit(1) from None
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    print(message_id)
    if status == "failed":
        raise typer.Exit(1)


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
) -> None:
    """Print messages as they arrive, and what becomes of ours, until Ctrl-C."""

    async def run() -> None:
        secret = password_or_prompt(password, confirm=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with _messenger(data_dir, secret, cluster_id, staticnode, storenode) as messenger:
            for name in public_chat or []:
                await messenger.join_public_chat(name)
            console.print(f"watching as {messenger.chat_key}", highlight=False)
            events = messenger.events()
            while not stop.is_set():
                next_event = asyncio.ensure_future(anext(events))
                stopped = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {next_event, stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                if next_event in done:
                    _print(next_event.result())
                else:
                    next_event.cancel()
                stopped.cancel()

    try:
        asyncio.run(run())
    except (PystatusError, TimeoutError) as exc:
        errors.print(f"[red]error:[/red] {exc or 'no relay peer answered'}")
        raise typer.Exit(1) from None


Timeout = Annotated[float, typer.Option(help="Seconds to wait for acknowledgement")]


def _act(
    action: Callable[[Messenger], Awaitable[str]],
    staticnode: list[str],
    data_dir: Path | None,
    password: str | None,
    cluster_id: int,
    timeout: float,
) -> None:
    """Run ``action``, print what it returns, and wait until what it sent is acknowledged
    (1:1) or has left (public chats)."""

    async def run() -> str:
        secret = password_or_prompt(password, confirm=False)
        async with _messenger(data_dir, secret, cluster_id, staticnode) as messenger:
            result = await action(messenger)
            await _until(lambda: not messenger.unacknowledged(), timeout)
            await _until(lambda: not messenger.relay.send_queue_bytes(), timeout)
            return result

    try:
        result = asyncio.run(run())
    except TimeoutError:
        errors.print(
            f"[red]error:[/red] not acknowledged within {timeout:g} s (kept: sent again the"
            " next time this account runs)"
        )
        raise typer.Exit(1) from None
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if result:
        print(result)


ChatKey = Annotated[str, typer.Argument(help="Their chat key (zQ3...)")]
MessageId = Annotated[str, typer.Argument(help="The message's id (0x...)")]


@chat_app.command()
def request(
    to: ChatKey,
    text: Annotated[str, typer.Option(help="The introduction")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    timeout: Timeout = 30.0,
) -> None:
    """Send a contact request; print its message id."""
    _act(
        lambda m: m.send_contact_request(to, text),
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
    )


def _answer(verb: str) -> Callable[..., None]:
    def command(
        who: ChatKey,
        staticnode: StaticNodes,
        data_dir: DataDir = None,
        password: Password = None,
        cluster_id: ClusterId = STATUS_CLUSTER,
        timeout: Timeout = 30.0,
    ) -> None:
        async def action(messenger: Messenger) -> str:
            await getattr(messenger, f"{verb}_contact_request")(who)
            return (await messenger.contact(who)).state

        _act(action, staticnode, data_dir, password, cluster_id, timeout)

    return command


chat_app.command("accept", help="Accept a contact request; print the contact's state.")(
    _answer("accept")
)
chat_app.command("decline", help="Decline a contact request (nothing is sent).")(_answer("decline"))
chat_app.command("retract", help="Remove a contact or take back our request.")(_answer("retract"))


@chat_app.command()
def edit(
    message_id: MessageId,
    text: Annotated[str, typer.Option(help="The new text")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    timeout: Timeout = 30.0,
) -> None:
    """Replace the text of a message of ours."""

    async def action(messenger: Messenger) -> str:
        await messenger.edit(message_id, text)
        return ""

    _act(action, staticnode, data_dir, password, cluster_id, timeout)


@chat_app.command()
def delete(
    message_id: MessageId,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    timeout: Timeout = 30.0,
) -> None:
    """Delete a message of ours for everyone."""

    async def action(messenger: Messenger) -> str:
        await messenger.delete(message_id)
        return ""

    _act(action, staticnode, data_dir, password, cluster_id, timeout)


@chat_app.command()
def pin(
    message_id: MessageId,
    staticnode: StaticNodes,
    unpin: Annotated[bool, typer.Option(help="Unpin it instead")] = False,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    timeout: Timeout = 30.0,
) -> None:
    """Pin a message in its chat."""

    async def action(messenger: Messenger) -> str:
        await messenger.pin(message_id, not unpin)
        return ""

    _act(action, staticnode, data_dir, password, cluster_id, timeout)


@chat_app.command()
def name(
    display_name: Annotated[str, typer.Argument(help="5 to 24 letters, digits, _, - or spaces")],
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    timeout: Timeout = 30.0,
) -> None:
    """Set our display name; our contacts learn it."""

    async def action(messenger: Messenger) -> str:
        await messenger.set_display_name(display_name)
        return ""

    _act(action, staticnode, data_dir, password, cluster_id, timeout)


@chat_app.command()
def contacts(
    data_dir: DataDir = None,
    password: Password = None,
    requests: Annotated[bool, typer.Option(help="Only requests waiting for an answer")] = False,
) -> None:
    """List contacts and their request state (from the account's database; no network)."""

    async def run() -> None:
        account = Account.unlock(
            account_directory(data_dir), password_or_prompt(password, confirm=False)
        )
        database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        await database.open()
        try:
            for person in await Contacts(database).all():
                if requests and person.state != "received":
                    continue  # only requests waiting for our answer
                name = person.display_name or "-"
                print(f"{person.chat_key}  {person.state:<9}  {name}")
        finally:
            await database.close()

    try:
        asyncio.run(run())
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


from pystatus.cli import chat_search as chat_search  # noqa: E402  (registers `chat search`)
