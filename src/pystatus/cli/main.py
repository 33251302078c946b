"""`pystatus`: one command for the node and its tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console

from pystatus import __version__
from pystatus.errors import PystatusError
from pystatus.p2p.config import HostConfig
from pystatus.p2p.crypto.keys import PrivateKey, Secp256k1PrivateKey, load_nodekey
from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr

app = typer.Typer(
    name="pystatus",
    help="pystatus: Status messaging over Waku v2, in Python.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "FATAL")


def _configure_logging(level: str) -> None:
    mapping = {"TRACE": logging.DEBUG, "NOTICE": logging.INFO, "WARN": logging.WARNING}
    numeric = mapping.get(level.upper(), getattr(logging, level.upper(), logging.INFO))
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _listen_addrs(
    listen_address: str, tcp_port: int, websocket_support: bool, websocket_port: int
) -> tuple[Multiaddr, ...]:
    family = "ip6" if ":" in listen_address else "ip4"
    addrs = [Multiaddr.from_string(f"/{family}/{listen_address}/tcp/{tcp_port}")]
    if websocket_support:
        addrs.append(Multiaddr.from_string(f"/{family}/{listen_address}/tcp/{websocket_port}/ws"))
    return tuple(addrs)


def _announce_addrs(nat: str, addrs: tuple[Multiaddr, ...]) -> tuple[Multiaddr, ...]:
    if nat in ("", "any", "none", "upnp", "pmp"):
        return ()
    if not nat.startswith("extip:"):
        raise typer.BadParameter(f"unsupported --nat value {nat!r}: use extip:IP, any or none")
    ip = nat.removeprefix("extip:")
    family = "ip6" if ":" in ip else "ip4"
    announced = []
    for addr in addrs:
        port = addr.value_for("tcp")
        suffix = "/ws" if addr.value_for("ws") is not None else ""
        announced.append(Multiaddr.from_string(f"/{family}/{ip}/tcp/{port}{suffix}"))
    return tuple(announced)


@app.command()
def node(
    nodekey: Annotated[
        str | None, typer.Option(help="secp256k1 private key as 64 hex characters")
    ] = None,
    listen_address: Annotated[str, typer.Option(help="IP to listen on")] = "0.0.0.0",
    tcp_port: Annotated[int, typer.Option(help="TCP listening port")] = 60000,
    websocket_support: Annotated[
        bool, typer.Option("--websocket-support", help="Also listen for WebSocket")
    ] = False,
    websocket_port: Annotated[int, typer.Option(help="WebSocket listening port")] = 8000,
    nat: Annotated[
        str, typer.Option(help="extip:IP announces IP instead of the bound one")
    ] = "any",
    staticnode: Annotated[
        list[str] | None, typer.Option(help="Multiaddr of a peer to connect to (repeatable)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="TRACE DEBUG INFO NOTICE WARN ERROR")] = "INFO",
) -> None:
    """Run a node: listen, print the multiaddrs, answer identify and ping; Ctrl-C stops it."""
    _configure_logging(log_level)
    identity: PrivateKey
    try:
        identity = load_nodekey(nodekey) if nodekey else Secp256k1PrivateKey.generate()
        listen = _listen_addrs(listen_address, tcp_port, websocket_support, websocket_port)
        config = HostConfig(
            identity=identity, listen_addrs=listen, announce_addrs=_announce_addrs(nat, listen)
        )
        statics = [Multiaddr.from_string(text) for text in staticnode or []]
    except PystatusError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        asyncio.run(_run_node(config, statics))
    except PystatusError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


async def _run_node(config: HostConfig, statics: list[Multiaddr]) -> None:
    host = Host(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await host.start()
    try:
        print(f"pystatus {__version__} peer id {host.peer_id}", flush=True)
        for addr in host.full_addrs():
            print(f"listening on {addr}", flush=True)
        for addr in statics:
            try:
                await host.connect(addr)
                print(f"connected to {addr}", flush=True)
            except PystatusError as exc:
                console.print(f"[yellow]could not reach static node {addr}: {exc}[/yellow]")
        await stop.wait()
        print("shutting down", flush=True)
    finally:
        with contextlib.suppress(Exception):
            await host.stop()


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
