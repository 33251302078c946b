"""Drive go-waku nodes (the version status-go v1.1.0 embeds) from async Python tests and benches.

`tests/interop/gowaku/` holds a small Go program of ours that uses go-waku as a library. One
process holds any number of nodes: ``start`` creates one and answers its index, peer id,
listen addresses and ENR; the other commands name the node they act on. Messages travel as
JSON (``payload`` and ``meta`` in base64, ``timestamp`` in Unix nanoseconds); hashes and
cursors as lowercase hex. Received relay messages and filter pushes arrive as ``relay`` and
``filter`` events. The commands are listed in `tests/interop/gowaku/README.md`. Build it with
`make gowaku`.

Tests that need it call :func:`require_gowaku`: it skips them with the reason when Go or the
binary is missing, and fails them instead when ``PYSTATUS_REQUIRE_PEERS=1``.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pystatus.waku.message import WakuMessage
from tests.interop.json_lines import Event, JsonLinesError, JsonLinesProcess

GOWAKU_DIR = Path(__file__).resolve().parent / "gowaku"
BINARY = GOWAKU_DIR / "bin" / "gowaku-peer"

__all__ = [
    "Event",
    "GoWakuNode",
    "GoWakuPeer",
    "GoWakuPeerError",
    "gowaku_binary",
    "message_json",
    "message_of",
    "require_gowaku",
]


class GoWakuPeerError(JsonLinesError):
    """A command failed in the go-waku peer, or the peer misbehaved."""


def _sources() -> list[Path]:
    return [*GOWAKU_DIR.glob("*.go"), GOWAKU_DIR / "go.mod", GOWAKU_DIR / "go.sum"]


def gowaku_binary() -> tuple[Path | None, str]:
    """The built peer and ``""``, or ``None`` and why it cannot be used."""
    if not BINARY.is_file():
        if shutil.which("go") is None:
            return None, "go-waku peer not built and Go is not on PATH (install Go >= 1.21)"
        return None, f"go-waku peer not built: run `make gowaku` ({BINARY} is missing)"
    built = BINARY.stat().st_mtime
    stale = [p.name for p in _sources() if p.exists() and p.stat().st_mtime > built]
    if stale:
        return None, f"go-waku peer is older than {', '.join(sorted(stale))}: run `make gowaku`"
    return BINARY, ""


def require_gowaku() -> Path:
    """The peer binary; else skip the test, or fail it when PYSTATUS_REQUIRE_PEERS=1."""
    binary, reason = gowaku_binary()
    if binary is not None:
        return binary
    if os.environ.get("PYSTATUS_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (PYSTATUS_REQUIRE_PEERS=1)")
    pytest.skip(reason)


def message_json(message: WakuMessage) -> dict[str, Any]:
    """``message`` in the peer's JSON form."""
    out: dict[str, Any] = {
        "payload": base64.b64encode(message.payload).decode(),
        "contentTopic": message.content_topic,
    }
    if message.timestamp is not None:
        out["timestamp"] = message.timestamp
    if message.meta:
        out["meta"] = base64.b64encode(message.meta).decode()
    if message.version:
        out["version"] = message.version
    return out


def message_of(data: dict[str, Any]) -> WakuMessage:
    """The message the peer printed (``timestamp`` 0 means absent, as go-waku has it)."""
    return WakuMessage(
        base64.b64decode(data["payload"]),
        data["contentTopic"],
        timestamp=data.get("timestamp") or None,
        meta=base64.b64decode(data["meta"]) if data.get("meta") else None,
        version=int(data.get("version") or 0),
    )


@dataclass(frozen=True)
class GoWakuNode:
    """One go-waku node inside a :class:`GoWakuPeer` process."""

    index: int
    peer_id: str
    listen_addrs: tuple[str, ...]
    enr: str

    @property
    def addr(self) -> str:
        """Its first full multiaddr (``.../p2p/<peer id>``)."""
        return self.listen_addrs[0]


class GoWakuPeer(JsonLinesProcess):
    """The go-waku peer process, stopped (then killed) on exit; nodes start on request.

    ``async with GoWakuPeer() as peer: node = await peer.start_node(relay=True, ...)``.
    """

    name = "go-waku peer"
    error = GoWakuPeerError

    def __init__(
        self,
        *,
        log_level: str = "error",
        ready_timeout: float = 30.0,
        stop_grace: float = 10.0,
        binary: Path | None = None,
    ) -> None:
        super().__init__(ready_timeout=ready_timeout, stop_grace=stop_grace)
        self._binary = binary
        self._log_level = log_level

    def _argv(self) -> list[str]:
        binary = self._binary or require_gowaku()
        return [str(binary), "--log-level", self._log_level]

    async def start_node(
        self,
        *,
        cluster_id: int,
        pubsub_topics: list[str],
        relay: bool = True,
        timeout: float = 30.0,
        **options: object,
    ) -> GoWakuNode:
        """Start a node: ``store`` (with ``storeDb``), ``filter``, ``filterClient``,
        ``lightpush``, ``peerExchange``, ``discv5UdpPort`` and ``bootnodes`` as the Go side
        names them. ``relay`` also subscribes the node to ``pubsub_topics``."""
        reply = await self.request(
            "start",
            timeout=timeout,
            clusterId=cluster_id,
            pubsubTopics=pubsub_topics,
            relay=relay,
            **options,
        )
        return GoWakuNode(
            index=int(reply["node"]),
            peer_id=str(reply["peerId"]),
            listen_addrs=tuple(str(a) for a in reply["listenAddrs"]),
            enr=str(reply.get("enr", "")),
        )

    async def call(
        self, cmd: str, node: GoWakuNode, timeout: float = 30.0, **args: object
    ) -> Event:
        """Run ``cmd`` on ``node`` (its reply, or :class:`GoWakuPeerError`)."""
        return await self.request(cmd, timeout=timeout, node=node.index, **args)
