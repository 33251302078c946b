"""`pystatus store query`: ask a store peer for history and print it as a table, or as one
JSON document with --json (full hashes, payloads in base64 as the Waku REST API gives them).

Exit codes: 0 success, 1 runtime failure (the peer cannot be reached or refuses), 2 usage
error (a bad time, hash or combination of filters, found before dialing).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import errno
import json
import socket
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pystatus.errors import ConfigError, PystatusError
from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.errors import (
    DialError,
    HandshakeError,
    NegotiationError,
    RemoteProtocolError,
)
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.store import (
    REQUEST_TIMEOUT,
    StoreClient,
    StoreEntry,
    StoreError,
    StoreQuery,
    check_query,
)

store_app = typer.Typer(help="Query Waku store nodes.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def parse_time(text: str | None) -> int | None:
    """Nanoseconds since the epoch, or an ISO-8601 time (UTC unless it says otherwise)."""
    if text is None:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is neither nanoseconds nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1e9)


def _payload_preview(entry: StoreEntry) -> str:
    if entry.message is None:
        return ""
    payload = entry.message.payload
    try:
        text = payload.decode()
        if text.isprintable():
            return text if len(text) <= 40 else text[:39] + "…"
    except UnicodeDecodeError:
        pass
    return f"{len(payload)} bytes 0x{payload[:8].hex()}…"


def _when(entry: StoreEntry) -> str:
    if entry.message is None or not entry.message.timestamp:
        return ""
    moment = datetime.datetime.fromtimestamp(entry.message.timestamp / 1e9, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def entry_json(entry: StoreEntry) -> dict[str, object]:
    """One store entry with every field: the full message hash in 0x-hex, the timestamp in
    nanoseconds since the epoch (and as ISO 8601 UTC), payload and meta in base64."""
    document: dict[str, object] = {
        "hash": "0x" + entry.hash.hex(),
        "pubsubTopic": entry.pubsub_topic or "",
    }
    message = entry.message
    if message is not None:
        document["message"] = {
            "contentTopic": message.content_topic,
            "timestamp": message.timestamp or 0,
            "time": _when(entry),
            "version": message.version,
            "payload": base64.b64encode(message.payload).decode(),
            "meta": base64.b64encode(message.meta).decode() if message.meta else "",
            "ephemeral": message.ephemeral,
        }
    return document


_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused (nothing listens there)",
    errno.ETIMEDOUT: "timed out connecting",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "no route to the network",
    errno.ECONNRESET: "connection reset by the peer",
}
_NAME_ERRORS = {
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA")
    if hasattr(socket, name)
}


def failure_reason(exc: BaseException) -> str:
    """Why a store query failed, in a few words a user acts on: refused, timed out, no
    route, a name not resolved, not the peer named, no store there, or what the store
    answered. Reads the exception's causes (:class:`DialError` keeps the transport's
    ``OSError`` as its ``__cause__``), not its text."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror) and current.errno in _NAME_ERRORS:
            return "host name not resolved"
        if isinstance(current, OSError) and current.errno in _ERRNO_REASONS:
            return _ERRNO_REASONS[current.errno]
        if isinstance(current, TimeoutError):
            return (
                "timed out connecting"
                if isinstance(exc, DialError)
                else (f"no answer within {REQUEST_TIMEOUT:g} s")
            )
        if isinstance(current, HandshakeError):
            return f"secure handshake failed: {current}"
        if isinstance(current, NegotiationError):
            return "it does not serve the store protocol"
        if isinstance(current, RemoteProtocolError):  # something else listens there
            return f"not a libp2p peer: {current}"
        if isinstance(current, StoreError):
            return f"the store answered {current}"
        current = current.__cause__ or current.__context__
    if isinstance(exc, OSError):
        return (exc.strerror or type(exc).__name__).lower()
    return str(exc)


async def _collect(peer: Multiaddr, query: StoreQuery, max_pages: int) -> list[StoreEntry]:
    host = Host(HostConfig(identity=Secp256k1PrivateKey.generate()))
    await host.start()
    entries: list[StoreEntry] = []
    try:
        client = StoreClient(host)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            # Not on a pipe: there it printed an empty line of its own before any error.
            disable=not errors.is_terminal,
        ) as progress:
            task = progress.add_task("querying", total=None)
            pages = 0
            async for page in client.query_all(peer, query, max_pages=max_pages):
                pages += 1
                if query.forward:
                    entries.extend(page.entries)
                else:
                    entries[:0] = page.entries
                progress.update(task, description=f"{pages} pages, {len(entries)} messages")
                if pages >= max_pages:
                    break
    finally:
        await host.stop()
    return entries


@store_app.command("query")
def query_command(
    peer: Annotated[str, typer.Option(help="Multiaddr of the store node, with /p2p/<id>")],
    pubsub_topic: Annotated[str | None, typer.Option(help="e.g. /waku/2/rs/1/0")] = None,
    content_topic: Annotated[
        list[str] | None, typer.Option(help="Content topic (repeatable)")
    ] = None,
    start_time: Annotated[str | None, typer.Option(help="Nanoseconds or ISO-8601")] = None,
    end_time: Annotated[
        str | None, typer.Option(help="Nanoseconds or ISO-8601 (inclusive)")
    ] = None,
    message_hash: Annotated[
        list[str] | None, typer.Option("--hash", help="0x-hex message hash (repeatable)")
    ] = None,
    page_size: Annotated[int, typer.Option(help="Messages per page (the node caps it)")] = 20,
    backward: Annotated[bool, typer.Option(help="Newest first, as Status asks")] = False,
    max_pages: Annotated[int, typer.Option(help="Stop after this many pages")] = 1000,
    hashes_only: Annotated[bool, typer.Option(help="Ask for hashes, not messages")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document (full hashes)")
    ] = False,
) -> None:
    """Query a store node, following pages, and print the messages."""
    try:
        query = StoreQuery(
            include_data=not hashes_only,
            pubsub_topic=pubsub_topic,
            content_topics=tuple(content_topic or ()),
            time_start=parse_time(start_time),
            time_end=parse_time(end_time),
            message_hashes=tuple(bytes.fromhex(h.removeprefix("0x")) for h in message_hash or ()),
            forward=not backward,
            limit=page_size,
        )
        check_query(query)
    except ValueError as exc:
        errors.print(f"[red]error:[/red] bad --hash: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (ConfigError, StoreError) as exc:  # refused before dialing: what was typed
        errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        address = Multiaddr.from_string(peer)
    except (PystatusError, ValueError) as exc:
        errors.print(f"[red]error:[/red] --peer: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        entries = asyncio.run(_collect(address, query, max_pages))
    except (PystatusError, TimeoutError, OSError) as exc:
        # One line: what failed, against which peer, and why (the dial's errors name the
        # address up to three times over).
        errors.print(
            f"[red]error:[/red] store query to {escape(peer)} failed: "
            f"{escape(failure_reason(exc))}",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    if json_output:
        document = {"peer": peer, "messages": [entry_json(entry) for entry in entries]}
        print(json.dumps(document, ensure_ascii=False), flush=True)
        return
    table = Table(title=f"{len(entries)} messages from {peer}")
    for column in ("time (UTC)", "pubsub topic", "content topic", "hash", "payload"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            _when(entry),
            entry.pubsub_topic or "",
            entry.message.content_topic if entry.message else "",
            "0x" + entry.hash.hex(),
            _payload_preview(entry),
        )
    console.print(table)
