"""The web client's HTTP server, in the node's event loop (the REST API's uvicorn adapter)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.applications import Starlette

from pystatus.api.server import AsgiServer
from pystatus.chat.messenger import Messenger
from pystatus.node.node import WakuNode
from pystatus.web.app import create_web_app, end_streams
from pystatus.web.render import NodePanel
from pystatus.web.security import UnlockLimiter
from pystatus.web.setup import AccountSetup, WebRoot

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
    """The web client of ``messenger`` on ``config.address:config.port``; with ``messenger``
    None, the account screens of ``setup`` first (:mod:`pystatus.web.setup`): the messenger
    of the account made there is started here and stopped by :meth:`stop`. Raises NodeError
    from :meth:`start` when the port cannot be bound."""

    def __init__(
        self,
        node: WakuNode,
        messenger: Messenger | None,
        config: WebConfig,
        *,
        limiter: UnlockLimiter | None = None,
        setup: AccountSetup | None = None,
    ) -> None:
        limiter = limiter if limiter is not None else UnlockLimiter()

        def build(chatting: Messenger) -> Starlette:
            return create_web_app(chatting, node_view=lambda: node_panel(node), limiter=limiter)

        self._root: WebRoot | None = None
        if messenger is not None:
            self._app: Starlette | None = build(messenger)
            app: object = self._app
        elif setup is not None:
            self._app = None
            self._root = WebRoot(setup, build, clock=time.monotonic, limiter=limiter)
            app = self._root
        else:
            raise ValueError("a web client needs a messenger or an account setup")
        super().__init__(app, config.address, config.port, name="web client")

    @property
    def messenger(self) -> Messenger | None:
        """The messenger started after the account screens, once there is one."""
        return self._root.messenger if self._root is not None else None

    async def stop(self) -> None:
        main = self._app or (self._root.main if self._root is not None else None)
        if main is not None:
            end_streams(main)
        await super().stop()
        if self._root is not None and self._root.messenger is not None:
            await self._root.messenger.stop()
