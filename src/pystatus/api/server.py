"""Serve the REST API with uvicorn inside the node's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn

from pystatus.api.app import create_app
from pystatus.errors import NodeError
from pystatus.node.config import RestConfig
from pystatus.node.node import WakuNode


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The node owns SIGINT/SIGTERM and stops this server itself.
        yield


class RestServer:
    def __init__(self, node: WakuNode, config: RestConfig) -> None:
        self._config = config
        self._server = _EmbeddedServer(
            uvicorn.Config(
                create_app(node),
                host=config.address,
                port=config.port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        # Bound here rather than by uvicorn, which would exit the process on a busy port.
        family = socket.AF_INET6 if ":" in self._config.address else socket.AF_INET
        try:
            self._socket = socket.create_server(
                (self._config.address, self._config.port), family=family
            )
        except OSError as exc:
            raise NodeError(
                f"REST API cannot listen on {self._config.address}:{self._config.port}: "
                f"{exc.strerror or exc}"
            ) from None
        self._task = asyncio.create_task(self._server.serve([self._socket]), name="rest")
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    raise NodeError("REST API failed to start") from self._task.exception()
                await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        if self._socket is None:
            raise NodeError("REST API is not listening")
        return int(self._socket.getsockname()[1])

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
