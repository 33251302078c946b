"""`pystatus` commands run as a user runs them, in processes of their own: started with the
password in the environment, stopped with Ctrl-C (SIGINT) and killed if that takes over 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
STOP_GRACE = 10.0
"""Seconds a process gets to end after SIGINT before it is killed."""


async def start(
    *args: str, password: str | None = None, stdin: int | None = None
) -> asyncio.subprocess.Process:
    """``pystatus *args`` with its stdout and stderr piped (``PYSTATUS_PASSWORD`` set when
    ``password`` is given; lines never wrapped)."""
    env = {**os.environ, "COLUMNS": "200"}
    if password is not None:
        env["PYSTATUS_PASSWORD"] = password
    return await asyncio.create_subprocess_exec(
        PYSTATUS,
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        preexec_fn=_default_signals,
    )


def _default_signals() -> None:
    """In the child, before exec: SIGINT and SIGQUIT as a terminal's foreground job has them.
    A suite started as a background job of a non-interactive shell (``make test &``) runs
    with both ignored (POSIX leaves them so without job control), and an ignored signal
    stays ignored across exec: Ctrl-C then never reached the command, the Ctrl-C test
    failed and every stop() waited out its grace."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


async def stop(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    """Ctrl-C, then what it printed (read to the end, so its pipes never fill up)."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(STOP_GRACE):
            return await process.communicate()
    except TimeoutError:
        process.kill()
        return await process.communicate()


async def line_starting(process: asyncio.subprocess.Process, prefix: str) -> str:
    """The first line of stdout starting with ``prefix``, stripped; AssertionError when the
    output ends first."""
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the output ended with no line starting with {prefix!r}")


@contextlib.asynccontextmanager
async def status_relay() -> AsyncIterator[str]:
    """A `pystatus node` relay on the Status shard (cluster 16, shard 32) on a free port: its
    multiaddr, once it listens (within 20 s). Its output is drained meanwhile; stopped after."""
    node = await start(
        "node", "--listen-address=127.0.0.1", "--tcp-port=0", "--cluster-id=16", "--shard=32"
    )
    try:
        async with asyncio.timeout(20):
            line = await line_starting(node, "listening on ")
    except AssertionError as exc:  # it ended before listening: say why
        _, err = await stop(node)
        raise AssertionError(f"{exc}; its stderr: {err.decode(errors='replace')[-2000:]}") from exc
    except BaseException:
        await stop(node)
        raise
    assert node.stdout is not None and node.stderr is not None
    drain = asyncio.gather(node.stdout.read(), node.stderr.read())
    try:
        yield line.removeprefix("listening on ")
    finally:
        node.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(STOP_GRACE):
                await node.wait()
        except TimeoutError:
            node.kill()
            await node.wait()
        await drain
