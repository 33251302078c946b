"""How a `pystatus chat` command reaches the network: a node of its own, a relay peer of the
static nodes or (``--light``) a light client of service nodes, and the messenger on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from pystatus.chat.account import Account
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.topics import DEFAULT_SHARD, NON_PROTECTED_SHARD, STATUS_CLUSTER
from pystatus.cli.account import chat_account_directory
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import LightChatConfig
from pystatus.node.datadir import lock_data_dir
from pystatus.node.light_chat import check_service_nodes, light_transport
from pystatus.node.store_lookup import find_store
from pystatus.p2p.multiaddr import Multiaddr

StaticNodes = Annotated[
    list[str], typer.Option("--staticnode", help="Multiaddr of a relay peer (repeatable)")
]
ClusterId = Annotated[int, typer.Option(help="Waku network cluster")]
MESH_TIMEOUT = 20.0
"""Seconds a command without --timeout waits for its first peer."""
IDENTIFY_TIMEOUT = 5.0
"""Seconds a light client waits for its service nodes' identify (their protocols)."""


StoreNode = Annotated[
    str | None,
    typer.Option(help="Multiaddr of a store node: confirms what is sent, fetches what was missed"),
]
Light = Annotated[
    bool,
    typer.Option(
        "--light",
        help="Chat as a light client (filter, light push, store), as the Status mobile app "
        "does: through --filternode, --lightpushnode and --storenode, else the --staticnode peers",
    ),
]
FilterNodes = Annotated[
    list[str] | None,
    typer.Option("--filternode", help="With --light: a filter service node (repeatable)"),
]
LightPushNodes = Annotated[
    list[str] | None,
    typer.Option("--lightpushnode", help="With --light: a light push service node (repeatable)"),
]


@dataclass(frozen=True, slots=True)
class LightNodes:
    """``--light`` and its service node flags, as given."""

    filternodes: list[str]
    lightpushnodes: list[str]


def light_nodes(
    light: bool, filternode: list[str] | None, lightpush: list[str] | None
) -> LightNodes | None:
    return LightNodes(filternode or [], lightpush or []) if light else None


def node_config(
    cluster_id: int, static_nodes: list[str], storenode: str | None, light: LightNodes | None
) -> NodeConfig:
    static = tuple(Multiaddr.from_string(text) for text in static_nodes)
    light_chat = None
    if light is not None:
        # Each kind of service node defaults to the static nodes (raises ConfigError).
        def named(texts: list[str]) -> tuple[Multiaddr, ...]:
            return tuple(dict.fromkeys(Multiaddr.from_string(t) for t in texts)) or static

        light_chat = LightChatConfig(
            filternodes=named(light.filternodes),
            lightpushnodes=named(light.lightpushnodes),
            storenodes=named([storenode] if storenode else []),
        )
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=cluster_id,
        shards=(DEFAULT_SHARD, NON_PROTECTED_SHARD) if cluster_id == STATUS_CLUSTER else (),
        static_nodes=static,
        storenode=Multiaddr.from_string(storenode) if storenode else None,
        relay=light is None,
        light_chat=light_chat,
    )


@contextlib.asynccontextmanager
async def open_messenger(
    data_dir: Path | None,
    password: str,
    cluster_id: int,
    static_nodes: list[str],
    storenode: str | None = None,
    light: LightNodes | None = None,
    peer_timeout: float = MESH_TIMEOUT,
) -> AsyncIterator[Messenger]:
    """A messenger on a node of its own: a relay peer of the static nodes, or with ``light``
    a light client of its service nodes; yielded once a message sent would go out. Raises
    TimeoutError when no peer answered within ``peer_timeout`` seconds (a command's
    ``--timeout``), and TransportError (one line) when none of ``light``'s light-push nodes
    serves light push, or none of its filter nodes filter (a node run with --relay --store
    only): :func:`pystatus.node.light_chat.check_service_nodes`. The node
    keeps the data dir's node key (``<data dir>/nodekey``, as ``pystatus node`` does), so
    every command of one account is one peer to the nodes it meets, not a new one each run."""
    directory = chat_account_directory(data_dir)
    account = Account.unlock(directory, password)
    config = node_config(cluster_id, static_nodes, storenode, light)
    config = replace(config, identity=lock_data_dir(directory.parent).node_key())
    async with contextlib.AsyncExitStack() as stack:
        node = await stack.enter_async_context(WakuNode(config))
        if light is not None:
            # Said once, before the messenger sends or subscribes anything: else each send
            # and subscribe fails over node by node, each with a warning.
            await check_service_nodes(node, min(peer_timeout, IDENTIFY_TIMEOUT))
            transport = light_transport(node)
            messenger = Messenger(account, transport)
            await stack.enter_async_context(messenger)
            await until(transport.connected, peer_timeout)
        else:
            relay = node.require_relay()
            relayed = RelayTransport(
                relay, store=node.store_peer(), find_store=lambda: find_store(node)
            )
            messenger = Messenger(account, relayed)
            await stack.enter_async_context(messenger)
            await until(lambda: bool(relay.relay_peers()), peer_timeout)
        yield messenger


def no_peer(light: bool, timeout: float) -> str:
    """What a command says when :func:`open_messenger` found no peer within ``timeout`` s."""
    kind = "light-push node" if light else "relay peer"
    return f"no {kind} answered within {timeout:g} s"


async def until(condition: Callable[[], bool], deadline: float) -> None:
    """Poll ``condition`` until it holds; the relay offers no event for these one-off waits
    of a short-lived command."""
    async with asyncio.timeout(deadline):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def sent_out(messenger: Messenger) -> bool:
    """Nothing of ours is still queued on a relay's connections, so the process may end.
    Light push has had its answer by the time a publish returns; what the Messenger's core
    still holds, its stop() carries out."""
    if isinstance(messenger.transport, RelayTransport):
        return not messenger.transport.relay.send_queue_bytes()
    return True
