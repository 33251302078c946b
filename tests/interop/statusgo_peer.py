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

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.interop.json_lines import Event, JsonLinesError, JsonLinesProcess

STATUSGO_DIR = Path(__file__).resolve().parent / "statusgo"
BINARY = STATUSGO_DIR / "bin" / "statusgo-peer"
STDERR_TAIL_LINES = 200
LOG_TAIL_LINES = 60

__all__ = ["Event", "StatusGoPeer", "StatusGoPeerError", "require_statusgo", "statusgo_binary"]


class StatusGoPeerError(JsonLinesError):
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


class StatusGoPeer(JsonLinesProcess):
    """One status-go account in its own process, stopped (then killed) on exit.

    ``async with StatusGoPeer(waku_nodes=[addr]) as peer:`` starts it with a fresh data
    directory (removed afterwards) unless ``data_dir`` is given, and waits for ``ready``.
    """

    name = "status-go peer"
    error = StatusGoPeerError
    stream_limit = 64 * 1024 * 1024

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
        super().__init__(
            ready_timeout=ready_timeout, stop_grace=stop_grace, stderr_lines=STDERR_TAIL_LINES
        )
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

    # -- the process --------------------------------------------------------------------------

    def _argv(self) -> list[str]:
        binary = self._binary or require_statusgo()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="statusgo-peer-"))
        return [str(binary), "--data-dir", str(self.data_dir), *self._args]

    def _cleanup(self) -> None:
        if self._given_data_dir is None and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def diagnostics(self) -> str:
        """The tail of the peer's stderr and of its status-go log, for failure messages."""
        parts = [super().diagnostics()]
        if self.data_dir is not None:
            log = self.data_dir / "statusgo.log"
            with contextlib.suppress(OSError):
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                parts += [f"--- {log} (tail) ---", *lines]
        return "\n".join(parts)
