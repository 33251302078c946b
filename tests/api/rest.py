"""A node's REST server for a test: started on a free port, a client at it, stopped after."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from pystatus.api.server import RestServer
from pystatus.node import WakuNode


@contextlib.asynccontextmanager
async def rest_server(node: WakuNode) -> AsyncIterator[RestServer]:
    """``node``'s REST server (its config's ``rest``, port 0: a free one), started."""
    assert node.config.rest is not None, "the node's config needs rest=RestConfig(port=0)"
    server = RestServer(node, node.config.rest)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def rest_client(node: WakuNode, *, timeout: float = 20) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``node``'s REST server (:func:`rest_server`); ``timeout`` in seconds."""
    async with (
        rest_server(node) as server,
        httpx.AsyncClient(base_url=server.url, timeout=timeout) as client,
    ):
        yield client
