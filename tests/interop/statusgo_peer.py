"""Drive a real status-go v1.1.0 account from async Python tests.

`tests/interop/statusgo/` holds a small Go program of ours that runs status-go's Messenger over
its wakuv2 node, peered only with the multiaddrs it is given. It prints one JSON ``ready``
line, answers JSON-line commands (``{"id": n, "cmd": ...}``) with ``{"id": n, "ok": ...}`` and
prints events (``{"event": "message", ...}``) as they happen (commands and events are listed in
`tests/interop/statusgo/README.md`). Build it with `make statusgo`.

Tests that need it call :func:`require_statusgo`: it skips them with the reason when Go or the
binary is missing, and fails them instead when ``PYSTATUS_REQUIRE_PEERS=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

STATUSGO_DIR = Path(__file__).resolve().parent / "statusgo"
BINARY = STATUSGO_DIR / "bin" / "statusgo-peer"
STDERR_TAIL_LINES = 200
LOG_TAIL_LINES = 60

Event = dict[str, Any]


class StatusGoPeerError(AssertionError):
    """A command failed in the status-go peer, or the peer misbehaved."""


def _sources() -> list[Path]:
    return [*STATUSGO_DIR.glob("*.go"), STATUSGO_DIR / "go.mod", STATUSGO_DIR / "go.sum"]


def statusgo_binary() -> tuple[Path | None, str]:
    """The built peer and ``""``, or ``None`` and why it cannot be used."""
    if not BINARY.is_file():
        if shutil.which("go") is None:
            return None, "status-go peer not built and Go is not on PATH (install Go >= 1.21)"
        return None, f"status-go peer not built: run `make statusgo` ({BINARY} is missing)"
    built = BINARY.stat().st_mtime
    stale = [p.name for p in _sources() if p.exists() and p.stat().st_mtime > built]
    if stale:
        return None, f"status-go peer is older than {', '.join(sorted(stale))}: run `make statusgo`"
    return BINARY, ""


def require_statusgo() -> Path:
    """The peer binary; else skip the test, or fail it when PYSTATUS_REQUIRE_PEERS=1."""
    binary, reason = statusgo_binary()
    if binary is not None:
        return binary
    if os.environ.get("PYSTATUS_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (PYSTATUS_REQUIRE_PEERS=1)")
    pytest.skip(reason)


class StatusGoPeer:
    """One status-go account in its own process, stopped (then killed) on exit.

    ``async with StatusGoPeer(waku_nodes=[addr]) as peer:`` starts it with a fresh data
    directory (removed afterwards) unless ``data_dir`` is given, and waits for ``ready``.
    """

    def __init__(
        self,
        *,
        waku_nodes: Sequence[str] = (),
        store_nodes: Sequence[str] = (),
        mnemonic: str | None = None,
        password: str | None = None,
        display_name: str | None = None,
        light: bool = False,
        data_dir: Path | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = 90.0,
        stop_grace: float = 10.0,
        binary: Path | None = None,
    ) -> None:
        self._binary = binary
        self._given_data_dir = data_dir
        self.data_dir: Path | None = data_dir
        self._args: list[str] = []
        for addr in waku_nodes:
            self._args += ["--waku-node", addr]
        for addr in store_nodes:
            self._args += ["--store-node", addr]
        if mnemonic is not None:
            self._args += ["--mnemonic", mnemonic]
        if password is not None:
            self._args += ["--password", password]
        if display_name is not None:
            self._args += ["--display-name", display_name]
        if light:
            self._args.append("--light")
        self._args += list(extra_args)
        self._ready_timeout = ready_timeout
        self._stop_grace = stop_grace
        self._process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Event]] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._readers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._exit_reason: str | None = None
        self.events: list[Event] = []
        self.ready: Event = {}

    # -- identity, from the ready line --------------------------------------------------------

    @property
    def public_key(self) -> str:
        return str(self.ready["publicKey"])

    @property
    def compressed_key(self) -> str:
        return str(self.ready["compressedKey"])

    @property
    def installation_id(self) -> str:
        return str(self.ready["installationId"])

    @property
    def peer_id(self) -> str:
        return str(self.ready["peerId"])

    @property
    def listen_addrs(self) -> list[str]:
        return [str(a) for a in self.ready.get("listenAddrs", [])]

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    # -- life cycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> StatusGoPeer:
        binary = self._binary or require_statusgo()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="statusgo-peer-"))
        ready: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            str(binary),
            "--data-dir",
            str(self.data_dir),
            *self._args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        self._readers = [
            asyncio.ensure_future(self._read_stdout(ready)),
            asyncio.ensure_future(self._read_stderr()),
        ]
        try:
            async with asyncio.timeout(self._ready_timeout):
                self.ready = await ready
        except BaseException as exc:
            await self._shutdown()
            if isinstance(exc, TimeoutError):
                raise StatusGoPeerError(
                    f"status-go peer not ready in {self._ready_timeout:.0f} s\n{self.diagnostics()}"
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
        """Ask the peer to stop; kill it after the grace period. Always reaps."""
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
        if self._given_data_dir is None and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- reading ------------------------------------------------------------------------------

    async def _read_stdout(self, ready: asyncio.Future[Event]) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        reason = "status-go peer exited"
        while True:
            try:
                line = await stream.readline()
            except ValueError as exc:
                reason = f"status-go peer output unreadable: {exc}"
                break
            if not line:
                break
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"(stdout, not JSON) {line.decode(errors='replace')}")
                continue
            if not isinstance(message, dict):
                continue
            if message.get("event") == "ready" and not ready.done():
                ready.set_result(message)
            elif message.get("event") == "error" and not ready.done():
                ready.set_exception(
                    StatusGoPeerError(f"status-go peer failed to start: {message.get('error')}")
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
        failure = StatusGoPeerError(f"{reason}\n{self.diagnostics()}")
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

    def diagnostics(self) -> str:
        """The tail of the peer's stderr and of its status-go log, for failure messages."""
        parts = ["--- status-go peer stderr ---", *self._stderr]
        if self.data_dir is not None:
            log = self.data_dir / "statusgo.log"
            with contextlib.suppress(OSError):
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                parts += [f"--- {log} (tail) ---", *lines]
        return "\n".join(parts)

    # -- commands and events ------------------------------------------------------------------

    async def request(self, cmd: str, timeout: float = 30.0, **args: object) -> Event:
        """Run one command within ``timeout`` seconds; its reply, or StatusGoPeerError."""
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise StatusGoPeerError(f"status-go peer is not running\n{self.diagnostics()}")
        request_id = next(self._ids)
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n")
        try:
            await process.stdin.drain()
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as exc:
            raise StatusGoPeerError(
                f"{cmd}: no reply in {timeout:.0f} s\n{self.diagnostics()}"
            ) from exc
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise StatusGoPeerError(f"{cmd} failed in status-go: {reply.get('error')}")
        return reply

    async def wait_event(
        self, predicate: Callable[[Event], bool], timeout: float = 30.0, *, since: int = 0
    ) -> Event:
        """The first event from index ``since`` on for which ``predicate`` holds.

        Events already received count, so a test may send first and wait afterwards.
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
                        raise StatusGoPeerError(f"{self._exit_reason}\n{self.diagnostics()}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError as exc:
            raise StatusGoPeerError(
                f"no matching event in {timeout:.0f} s; last events: {self.events[-10:]}"
            ) from exc

    def events_named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.get("event") == name]
