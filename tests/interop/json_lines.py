"""A child process driven over JSON lines on its stdin and stdout.

The child prints one ``{"event": "ready", ...}`` line (or ``{"event": "error", "error": ...}``
if it cannot start), answers each command ``{"id": n, "cmd": ..., ...}`` with
``{"id": n, "ok": true|false, ...}`` and prints anything else (``{"event": ...}``) as an event.
Every wait has a deadline; on exit the child is sent ``stop``, then killed after a grace period;
the last lines of its stderr are kept for failure messages. Subclasses say how to start it.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

Event = dict[str, Any]


class JsonLinesError(AssertionError):
    """A command failed in the child process, or the child misbehaved."""


class JsonLinesProcess(abc.ABC):
    """One child process, started by ``async with`` (which waits for ``ready``)."""

    name = "child process"
    """How messages name the process."""
    error: type[JsonLinesError] = JsonLinesError
    """What every failure raises."""
    stream_limit = 16 * 1024 * 1024
    """The longest stdout line the child may print."""

    def __init__(
        self,
        *,
        ready_timeout: float = 90.0,
        stop_grace: float = 10.0,
        stderr_lines: int = 200,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._ready_timeout = ready_timeout
        self._stop_grace = stop_grace
        self._cwd = cwd
        self._env = env
        self._process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Event]] = {}
        self._stderr: deque[str] = deque(maxlen=stderr_lines)
        self._readers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._exit_reason: str | None = None
        self.events: list[Event] = []
        self.ready: Event = {}

    # -- what subclasses provide --------------------------------------------------------------

    @abc.abstractmethod
    def _argv(self) -> Sequence[str]:
        """The command line; called once, when the process starts."""

    def _cleanup(self) -> None:  # noqa: B027 (optional: nothing to clean up by default)
        """Called once the process has been reaped (e.g. to remove its data directory)."""

    def diagnostics(self) -> str:
        """The tail of the process's stderr, for failure messages."""
        return "\n".join([f"--- {self.name} stderr ---", *self._stderr])

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    async def __aenter__(self) -> Self:
        argv = list(self._argv())
        ready: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self._cwd,
                env=self._env,
                limit=self.stream_limit,
            )
            self._readers = [
                asyncio.ensure_future(self._read_stdout(ready)),
                asyncio.ensure_future(self._read_stderr()),
            ]
            async with asyncio.timeout(self._ready_timeout):
                self.ready = await ready
        except BaseException as exc:
            await self._shutdown()
            if isinstance(exc, TimeoutError):
                raise self.error(
                    f"{self.name} not ready in {self._ready_timeout:.0f} s\n{self.diagnostics()}"
                ) from exc
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Ask the process to stop; kill it after the grace period. Always reaps."""
        process = self._process
        if process is not None:
            if process.returncode is None and process.stdin is not None:
                with contextlib.suppress(Exception):
                    await self.request("stop", timeout=self._stop_grace)
                with contextlib.suppress(Exception):
                    process.stdin.close()
                try:
                    async with asyncio.timeout(self._stop_grace):
                        await process.wait()
                except TimeoutError:
                    process.kill()
            if process.returncode is None:
                process.kill()
            await process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._cleanup()

    # -- reading ------------------------------------------------------------------------------

    async def _read_stdout(self, ready: asyncio.Future[Event]) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        reason = f"{self.name} exited"
        while True:
            try:
                line = await stream.readline()
            except ValueError as exc:
                reason = f"{self.name} output unreadable: {exc}"
                break
            if not line:
                break
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"(stdout, not JSON) {line.decode(errors='replace').rstrip()}")
                continue
            if not isinstance(message, dict):
                continue
            if message.get("event") == "ready" and not ready.done():
                ready.set_result(message)
            elif message.get("event") == "error" and not ready.done():
                ready.set_exception(
                    self.error(f"{self.name} failed to start: {message.get('error')}")
                )
            elif "id" in message and message["id"] in self._pending:
                future = self._pending.pop(message["id"])
                if not future.done():
                    future.set_result(message)
            else:
                self.events.append(message)
                self._changed.set()
        self._exit_reason = reason
        self._changed.set()
        failure = self.error(f"{reason}\n{self.diagnostics()}")
        if not ready.done():
            ready.set_exception(failure)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())

    # -- commands and events ------------------------------------------------------------------

    async def request(self, cmd: str, timeout: float = 30.0, **args: object) -> Event:
        """Run one command within ``timeout`` seconds; its reply, or :attr:`error`."""
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise self.error(f"{self.name} is not running\n{self.diagnostics()}")
        request_id = next(self._ids)
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n")
        try:
            await process.stdin.drain()
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as exc:
            raise self.error(f"{cmd}: no reply in {timeout:.0f} s\n{self.diagnostics()}") from exc
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise self.error(f"{cmd} failed in {self.name}: {reply.get('error')}")
        return reply

    async def wait_event(
        self, predicate: Callable[[Event], bool], timeout: float = 30.0, *, since: int = 0
    ) -> Event:
        """The first event from index ``since`` on for which ``predicate`` holds.

        Events already received count, so a caller may send first and wait afterwards.
        """
        index = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    while index < len(self.events):
                        event = self.events[index]
                        index += 1
                        if predicate(event):
                            return event
                    if self._exit_reason is not None:
                        raise self.error(f"{self._exit_reason}\n{self.diagnostics()}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError as exc:
            raise self.error(
                f"no matching event in {timeout:.0f} s; last events: {self.events[-10:]}"
            ) from exc

    def events_named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.get("event") == name]
