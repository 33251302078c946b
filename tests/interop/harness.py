"""Drive a real npm peer (a Node script in this folder) from async Python tests.

The script prints one JSON ``ready`` line, then answers JSON-line commands on stdin with one
JSON line each (``{"id": n, "ok": ...}``); any other line with an ``event`` key is kept in
:attr:`NodePeer.events`. Every process started here is reaped, also on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections import deque
from pathlib import Path
from typing import Any

INTEROP_DIR = Path(__file__).resolve().parent
STDERR_TAIL_LINES = 200


class NodePeerError(AssertionError):
    """A command failed in the Node peer, or the peer misbehaved."""


def node_command() -> list[str]:
    """The `node` invocation, or a failure telling how to set the npm peers up."""
    node = shutil.which("node")
    if node is None:
        raise NodePeerError(
            "interop tests need Node.js >= 20 on PATH (`make test` installs npm peers)"
        )
    if not (INTEROP_DIR / "node_modules" / "libp2p").is_dir():
        raise NodePeerError(
            f"npm peers are not installed in {INTEROP_DIR}/node_modules: run `make setup`"
        )
    return [node, "--import", str(INTEROP_DIR / "polyfill.mjs")]


class NodePeer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.events: list[dict[str, Any]] = []
        self.peer_id = ""
        self.addrs: list[str] = []
        self._readers = [
            asyncio.ensure_future(self._read_stdout()),
            asyncio.ensure_future(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls, *args: str, script: str = "libp2p_peer.mjs", ready_timeout: float = 20.0
    ) -> NodePeer:
        process = await asyncio.create_subprocess_exec(
            *node_command(),
            str(INTEROP_DIR / script),
            *args,
            cwd=INTEROP_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Replies carry payloads as hex on one JSON line, far beyond the 64 KiB default.
            limit=64 * 1024 * 1024,
        )
        peer = cls(process)
        try:
            async with asyncio.timeout(ready_timeout):
                ready = await peer._ready
        except BaseException:
            await peer.stop()
            raise
        peer.peer_id = str(ready.get("peerId", ""))
        peer.addrs = [str(addr) for addr in ready.get("addrs", [])]
        return peer

    def connection_errors(self) -> list[dict[str, Any]]:
        """Muxer or transport failures the peer reported so far.

        Its stdout is ordered, so after a reply every event sent before it is here. Errors while
        the peers shut down (a reset from the side that left first) are not failures.
        """
        return [e for e in self.events if e.get("event") == "connection-error"]

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    async def _read_stdout(self) -> None:
        stream = self._process.stdout
        if stream is None:
            return
        failure_reason = "node peer exited"
        while True:
            try:
                line = await stream.readline()
            except ValueError as exc:  # a line beyond the reader's limit
                failure_reason = f"node peer output unreadable: {exc}"
                break
            if not line:
                break
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"(stdout, not JSON) {line.decode(errors='replace')}")
                continue
            if message.get("event") == "ready" and not self._ready.done():
                self._ready.set_result(message)
            elif "id" in message and message["id"] in self._pending:
                future = self._pending.pop(message["id"])
                if not future.done():
                    future.set_result(message)
            else:
                self.events.append(message)
        failure = NodePeerError(f"{failure_reason}\n{self.stderr_tail()}")
        if not self._ready.done():
            self._ready.set_exception(failure)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()

    async def _read_stderr(self) -> None:
        stream = self._process.stderr
        if stream is None:
            return
        while line := await stream.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())

    async def call(self, cmd: str, timeout: float = 20.0, **params: object) -> dict[str, Any]:
        """Run one command; its result fields, or NodePeerError with the script's message."""
        stdin = self._process.stdin
        if stdin is None or self._process.returncode is not None:
            raise NodePeerError(f"node peer is not running\n{self.stderr_tail()}")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        request = {"id": request_id, "cmd": cmd, "timeoutMs": int(timeout * 1000), **params}
        stdin.write(json.dumps(request).encode() + b"\n")
        await stdin.drain()
        try:
            async with asyncio.timeout(timeout + 5):
                reply = await future
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise NodePeerError(f"{cmd} failed in node: {reply.get('error')}\n{self.stderr_tail()}")
        return reply

    async def stop(self) -> None:
        """Ask the script to stop; kill it if it does not exit promptly. Always reaps."""
        process = self._process
        if process.returncode is None and process.stdin is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.call("stop", timeout=4)
            with contextlib.suppress(Exception):
                process.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
        if process.returncode is None:
            process.kill()
        await process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode
