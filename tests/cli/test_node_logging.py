"""`pystatus node`'s log: third-party libraries' INFO lines (websockets' "server listening",
"connection open", ...) stay out of it unless --log-level debug asks for them.

Real processes: a node with a WebSocket listener, about 2 s each."""

from __future__ import annotations

import asyncio

from tests.cli.processes import line_starting, start, stop

ARGS = (
    "node",
    "--listen-address=127.0.0.1",
    "--tcp-port=0",
    "--websocket-support=true",
    "--websocket-port=0",
)


async def _log_of(*extra: str) -> str:
    """What the node wrote on stderr from start (its WebSocket listener up) to Ctrl-C."""
    node = await start(*ARGS, *extra)
    try:
        async with asyncio.timeout(30):
            await line_starting(node, "enr ")  # printed once every listener is up
    finally:
        _, err = await stop(node)
    return err.decode()


async def test_third_party_info_lines_only_at_debug() -> None:
    quiet = await _log_of()
    assert "websockets" not in quiet, quiet
    verbose = await _log_of("--log-level=debug")
    assert "INFO websockets.server: server listening" in verbose, verbose
