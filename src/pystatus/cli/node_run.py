"""`pystatus node`'s run: the node, its messenger, and its REST, metrics and web servers, until
SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from pystatus import __version__
from pystatus.chat.account import Account
from pystatus.chat.messenger import Messenger, RelayTransport, ReliabilityConfig
from pystatus.chat.transport import Transport
from pystatus.errors import PystatusError
from pystatus.node.config import NodeConfig
from pystatus.node.light_chat import light_transport
from pystatus.node.node import WakuNode
from pystatus.node.store_lookup import find_store

if TYPE_CHECKING:
    from pystatus.api.server import AsgiServer
    from pystatus.web.server import WebConfig


async def run_node(
    config: NodeConfig,
    account: Account | Path | None = None,
    reliability: ReliabilityConfig | None = None,
    web_config: WebConfig | None = None,
) -> None:
    """Run the node until SIGINT/SIGTERM; ``account`` a Path: the directory of an account
    the web client creates (its messenger starts once it exists)."""
    # Imported here: FastAPI and the apps cost every other command (chat, group, ...) about
    # half a second of CPU at start-up.
    from pystatus.api.server import MetricsServer, RestServer
    from pystatus.web.server import WebServer
    from pystatus.web.setup import AccountSetup

    node = WakuNode(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    servers: list[AsgiServer] = []
    messenger: Messenger | None = None
    light = config.light_chat

    def messenger_for(chatting: Account) -> Messenger:
        transport: Transport = (
            light_transport(node)
            if light is not None
            else RelayTransport(
                node.require_relay(),
                store=node.store_peer(),
                find_store=lambda: find_store(node),
            )
        )
        return Messenger(chatting, transport, reliability=reliability)

    try:
        if isinstance(account, Account):
            messenger = messenger_for(account)
        # The REST app is built before the messenger starts: its event log listens from the
        # first event on, since a restarted node acknowledges, resends and receives while
        # start() still awaits, and events told before anyone listened were lost to pollers.
        rest = RestServer(node, config.rest, messenger) if config.rest is not None else None
        if messenger is not None:
            await messenger.start()
            print(f"chatting as {messenger.chat_key}", flush=True)
            if light is not None:
                print(
                    f"as a light client of {len(light.filternodes)} filter, "
                    f"{len(light.lightpushnodes)} light push and {len(light.storenodes)} store "
                    "nodes",
                    flush=True,
                )
        metrics = MetricsServer(node, config.metrics) if config.metrics is not None else None
        web = None
        if web_config is not None and messenger is not None:
            web = WebServer(node, messenger, web_config)
        elif web_config is not None and isinstance(account, Path):
            setup = AccountSetup(directory=account, messenger_for=messenger_for)
            web = WebServer(node, None, web_config, setup=setup)
        for wanted in (rest, metrics, web):
            if wanted is not None:
                await wanted.start()
                servers.append(wanted)
        print(f"pystatus {__version__} peer id {node.peer_id}", flush=True)
        for addr in node.host.full_addrs():
            print(f"listening on {addr}", flush=True)
        print(f"enr {node.enr.to_text()}", flush=True)
        if node.relay is not None:
            print(f"relaying {' '.join(node.relay.topics)}", flush=True)
        if node.store is not None:
            print(f"archiving to {node.store.archive.url}", flush=True)
        if node.discv5 is not None:
            print(f"discv5 on udp/{node.enr.udp}", flush=True)
        if config.peer_log_path is not None:
            print(f"peer log {config.peer_log_path} (salted peer ids)", flush=True)
        if node.filter_server is not None:
            print("serving filter", flush=True)
        if config.lightpush:
            print("serving light push", flush=True)
        if config.peer_exchange:
            print("serving peer exchange", flush=True)
        if rest is not None:
            print(f"REST API on {rest.url}", flush=True)
        if metrics is not None:
            print(f"metrics on {metrics.url}/metrics", flush=True)
        if web is not None:
            print(f"web client on {web.url}/", flush=True)
        await stop.wait()
        print("shutting down", flush=True)
    finally:
        for server in servers:
            await server.stop()
        if messenger is not None:
            await messenger.stop()
        with contextlib.suppress(PystatusError, OSError):
            await node.stop()
