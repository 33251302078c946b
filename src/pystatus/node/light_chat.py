"""A node's chat transport as a light client: its ``--filternode``, ``--lightpushnode`` and
``--storenode`` service nodes (``--chat --relay=false``, or ``chat ... --light``)."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Counter

from pystatus.chat.light import LightConfig, LightTransport
from pystatus.chat.transport import TransportError
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.config import LightChatConfig
from pystatus.node.node import WakuNode
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.filter_codec import FILTER_SUBSCRIBE_PROTOCOL_ID
from pystatus.waku.lightpush_codec import LIGHTPUSH_PROTOCOL_ID

SERVICES_MISSING = Counter(
    "chat_light_services_missing",
    "Light-client starts refused: no service node serves light push or filter",
)


def light_transport(
    node: WakuNode, light: LightChatConfig | None = None, config: LightConfig | None = None
) -> LightTransport:
    """A :class:`LightTransport` over ``node``'s host and light clients, to the service nodes
    of ``light`` (default: the node's ``light_chat``); raises :class:`ConfigError` when there
    are none. Start it (or hand it to a Messenger, which does) after the node."""
    light = light or node.config.light_chat
    if light is None:
        raise ConfigError("no service nodes for a light-client chat (--filternode ...)")
    return LightTransport(
        node.host,
        filter_client=node.filter_client,
        lightpush_client=node.lightpush_client,
        store_client=node.store_client,
        filternodes=light.filternodes,
        lightpushnodes=light.lightpushnodes,
        storenodes=light.storenodes,
        config=config,
    )


async def check_service_nodes(node: WakuNode, deadline: float) -> None:
    """Raise :class:`TransportError` (one line naming the nodes and the nwaku flags that
    serve what they lack) when none of the light-push nodes of ``node``'s ``light_chat``
    lists light push (``/vac/waku/lightpush/3.0.0``) in its identify, or none of its filter
    nodes lists filter (``/vac/waku/filter-subscribe/2.0.0-beta1``): a node run with
    --relay --store only, where each send and subscribe would fail over node by node.
    Dials each node and waits up to ``deadline`` seconds (monotonic) for it and its
    identify; a node not reached or not identified in time is given the benefit of the
    doubt (the light transport's back-off then speaks for it)."""
    light = node.config.light_chat
    if light is None:
        return
    nodes = dict.fromkeys(light.lightpushnodes + light.filternodes)
    offered: dict[Multiaddr, tuple[str, ...]] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await asyncio.gather(*(_identified(node, addr, offered) for addr in nodes))
    wanted = (
        ("light push", "--lightpush", LIGHTPUSH_PROTOCOL_ID, light.lightpushnodes),
        ("filter", "--filter", FILTER_SUBSCRIBE_PROTOCOL_ID, light.filternodes),
    )
    lacking: dict[Multiaddr, list[tuple[str, str]]] = {}
    for what, flag, protocol, addrs in wanted:
        known = [addr for addr in addrs if addr in offered]
        served = any(protocol in offered[addr] for addr in known)
        if addrs and len(known) == len(addrs) and not served:
            for addr in known:
                lacking.setdefault(addr, []).append((what, flag))
    if lacking:
        SERVICES_MISSING.inc()
        raise TransportError(
            "; ".join(
                f"node {addr.peer_id} serves no {' or '.join(w for w, _ in kinds)}"
                f" (run it with {' '.join(f for _, f in kinds)})"
                for addr, kinds in lacking.items()
            )
        )


async def _identified(
    node: WakuNode, addr: Multiaddr, offered: dict[Multiaddr, tuple[str, ...]]
) -> None:
    try:
        connection = await node.host.connect(addr)
        await node.host.wait_identified(connection)
    except (PystatusError, OSError):
        return  # not reached: the light transport's dials and back-off say so
    record = node.host.peerstore.get(connection.remote_peer)
    if record is not None and record.identified:
        offered[addr] = record.protocols
