"""The web client's HTTP server, in the node's event loop (the REST API's uvicorn adapter)."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.api.server import AsgiServer
from pystatus.chat.messenger import Messenger
from pystatus.node.node import WakuNode
from pystatus.web.app import create_web_app, end_streams
from pystatus.web.render import NodePanel
from pystatus.web.security import UnlockLimiter

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8646


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """``--web-address`` (default loopback only) and ``--web-port`` (0 picks a free one)."""

    address: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT


def node_panel(node: WakuNode) -> NodePanel:
    """Peers connected now, shards relayed, the store node asked for history, and the bytes
    this node's host carried since it started."""
    bandwidth = node.host.bandwidth().socket
    store = node.config.storenode
    return NodePanel(
        peers=len(node.host.connected_peers()),
        shards=node.relayed_shards(),
        store_node=str(store) if store is not None else "",
        bytes_in=bandwidth.inbound,
        bytes_out=bandwidth.outbound,
    )


class WebServer(AsgiServer):
    """The web client of ``messenger`` on ``config.address:config.port``. Raises NodeError
    from :meth:`start` when the port cannot be bound."""

    def __init__(
        self,
        node: WakuNode,
        messenger: Messenger,
        config: WebConfig,
        *,
        limiter: UnlockLimiter | None = None,
    ) -> None:
        self._app = create_web_app(messenger, node_view=lambda: node_panel(node), limiter=limiter)
        super().__init__(self._app, config.address, config.port, name="web client")

    async def stop(self) -> None:
        end_streams(self._app)
        await super().stop()
