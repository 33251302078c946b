"""Serve the REST API and the metrics endpoint with uvicorn inside the node's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from prometheus_client import make_asgi_app

from pystatus.api.app import create_app
from pystatus.chat.messenger import Messenger
from pystatus.errors import NodeError
from pystatus.node.config import MetricsConfig, RestConfig
from pystatus.node.node import WakuNode


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The node owns SIGINT/SIGTERM and stops this server itself.
        yield


class AsgiServer:
    """One ASGI app on ``address:port`` (0 picks a free port), started and stopped in-loop."""

    def __init__(self, app: object, address: str, port: int, *, name: str) -> None:
        self._address = address
        self._port = port
        self._name = name
        self._server = _EmbeddedServer(
            uvicorn.Config(
                app,  # type: ignore[arg-type]
                host=address,
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        # Bound here rather than by uvicorn, which would exit the process on a busy port.
        family = socket.AF_INET6 if ":" in self._address else socket.AF_INET
        try:
            self._socket = socket.create_server((self._address, self._port), family=family)
        except OSError as exc:
            raise NodeError(
                f"{self._name} cannot listen on {self._address}:{self._port}: {exc.strerror or exc}"
            ) from None
        self._task = asyncio.create_task(self._server.serve([self._socket]), name=self._name)
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    raise NodeError(f"{self._name} failed to start") from self._task.exception()
                await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        if self._socket is None:
            raise NodeError(f"{self._name} is not listening")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self._address}]" if ":" in self._address else self._address
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class RestServer(AsgiServer):
    def __init__(
        self, node: WakuNode, config: RestConfig, messenger: Messenger | None = None
    ) -> None:
        super().__init__(create_app(node, messenger), config.address, config.port, name="REST API")


class MetricsServer(AsgiServer):
    """Prometheus exposition of every metric the process registered, at ``/metrics``."""

    def __init__(self, node: WakuNode, config: MetricsConfig) -> None:
        exposition = make_asgi_app()

        async def app(scope: dict[str, object], receive: object, send: object) -> None:
            node.refresh_gauges()
            await exposition(scope, receive, send)

        super().__init__(app, config.address, config.port, name="metrics server")
