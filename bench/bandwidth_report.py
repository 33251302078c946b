"""The bandwidth bench's records, its table and its JSON (runs are made in bench/bandwidth.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from pystatus.p2p.bandwidth import HANDSHAKE, MULTISTREAM, MUXER, NOISE, OTHER, Bandwidth

TARGET = 2.0
"""Issue 14: a light client's bytes per delivered message at most 2x the encrypted payload."""

GROUPS: dict[str, tuple[str, ...]] = {
    "relay": ("/vac/waku/relay/2.0.0", "/meshsub/1.1.0", "/meshsub/1.0.0"),
    "filter": ("/vac/waku/filter-subscribe/2.0.0-beta1", "/vac/waku/filter-push/2.0.0-beta1"),
    "lpush": ("/vac/waku/lightpush/3.0.0", "/vac/waku/lightpush/2.0.0-beta1"),
    "store": ("/vac/waku/store-query/3.0.0",),
    "ctrl": (
        "/ipfs/id/1.0.0",
        "/ipfs/id/push/1.0.0",
        "/ipfs/ping/1.0.0",
        "/vac/waku/metadata/1.0.0",
        "/vac/waku/peer-exchange/2.0.0-alpha1",
        OTHER,
    ),
    "noise": (NOISE,),
    "muxer": (MUXER,),
    "mss": (MULTISTREAM,),
    "hs": (HANDSHAKE,),
}
"""Table columns: each sums the buckets named (a protocol id not listed lands in ctrl)."""
CONTROL = "ctrl"


def grouped(bandwidth: Bandwidth) -> dict[str, int]:
    """Bytes both ways by column of :data:`GROUPS`."""
    listed = {bucket for buckets in GROUPS.values() for bucket in buckets}
    groups = {name: sum(bandwidth[b].total for b in buckets) for name, buckets in GROUPS.items()}
    groups[CONTROL] += sum(
        value.total for key, value in bandwidth.buckets.items() if key not in listed
    )
    return groups


@dataclass
class Measured:
    """One account's bytes over a run: ``bandwidth`` counts its socket (for status-go, as the
    service node counted its connection); ``libp2p``, for status-go, its own stream counter."""

    impl: str
    bandwidth: Bandwidth
    libp2p: Bandwidth | None = None

    def as_json(self, delivered: int) -> dict[str, Any]:
        per = max(1, delivered)
        data: dict[str, Any] = {
            "impl": self.impl,
            "socket_bytes": self.bandwidth.socket.total,
            "socket_bytes_per_delivered": self.bandwidth.socket.total / per,
            "by_bucket": {
                k: {"in": v.inbound, "out": v.outbound}
                for k, v in sorted(self.bandwidth.buckets.items())
            },
        }
        if self.libp2p is not None:
            data["libp2p_stream_bytes"] = self.libp2p.socket.total
            data["libp2p_by_protocol"] = {
                k: {"in": v.inbound, "out": v.outbound}
                for k, v in sorted(self.libp2p.buckets.items())
            }
        return data


@dataclass(frozen=True)
class Published:
    """Waku messages both pystatus sides published during a run: encoded bytes and count
    (the sender's carry its texts, the receiver's its acknowledgements)."""

    sender_bytes: int
    sender_count: int
    receiver_bytes: int
    receiver_count: int


@dataclass
class Run:
    """N messages of one size from a sender to a receiver."""

    impl: str
    size: str
    count: int
    go_sends: bool = False
    """For status-go runs: status-go sends (else it receives)."""
    interval: float = 0.0
    """Seconds from one send to the next."""
    delivered: int = 0
    acknowledged: int = 0
    payload: int = 0
    """Waku payload bytes the sender published during the run."""
    sender: Measured | None = None
    receiver: Measured | None = None
    failure: str | None = None
    published: Published | None = None
    """For pystatus runs: what each side published (:mod:`bench.bandwidth_floor` uses it)."""

    def payload_per_delivered(self) -> float:
        return self.payload / max(1, self.delivered)

    def measured(self) -> list[tuple[str, Measured]]:
        return [
            (role, m) for role, m in (("sender", self.sender), ("receiver", self.receiver)) if m
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "impl": self.impl,
            "size": self.size,
            "statusgo_sends": self.go_sends,
            "interval_s": self.interval,
            "messages": self.count,
            "delivered": self.delivered,
            "acknowledged": self.acknowledged,
            "payload_bytes_per_delivered": self.payload_per_delivered(),
            "failure": self.failure,
            "published": None if self.published is None else vars(self.published),
            **{role: m.as_json(self.delivered) for role, m in self.measured()},
        }


CAPTION = (
    "per delivered message, both directions. payload: the Waku payload (RFC 26 envelope) "
    "the sender published; x: bytes / payload. status-go: its socket as the service node "
    "counted it; (libp2p): its own stream counter, without Noise and muxer framing"
)


def _label(run: Run) -> str:
    name = run.impl
    if run.impl.startswith("status-go"):
        name += " sends" if run.go_sends else " receives"
    return name + (f" ({run.failure})" if run.failure else "")


def _short(name: str) -> str:
    for long, short in (
        ("pystatus", "py"),
        ("status-go", "go"),
        ("receives", "rx"),
    ):
        name = name.replace(long, short)
    return name.replace("sends", "tx")


def _rows(runs: list[Run]) -> list[tuple[Run, str, str, Bandwidth]]:
    """(run, side, measured by, bytes) for every side of every run, libp2p's counts after
    the socket's."""
    rows = []
    for run in runs:
        for role, measured in run.measured():
            rows.append((run, role, measured.impl, measured.bandwidth))
            if measured.libp2p is not None:
                rows.append((run, role, "status-go (libp2p)", measured.libp2p))
    return rows


def bandwidth_tables(runs: list[Run]) -> list[Table]:
    """Totals beside the payload, then where the bytes went (columns of :data:`GROUPS`)."""
    paces = sorted({f"{run.interval:g} s" for run in runs})
    totals = Table(
        title="bandwidth: bytes on the wire per delivered 1:1 message, one sent every "
        + ", ".join(paces),
        caption=CAPTION,
    )
    for column in ("run", "size", "side", "delivered", "payload", "bytes", "x"):
        totals.add_column(column, justify="right")
    parts = Table(title="bandwidth: where the bytes per delivered message went")
    for column in ("run", "size", "side", *GROUPS):
        parts.add_column(column, justify="right")
    for run, role, impl, bandwidth in _rows(runs):
        per = max(1, run.delivered)
        payload = run.payload_per_delivered()
        total = bandwidth.socket.total / per
        libp2p = impl.endswith("(libp2p)")
        totals.add_row(
            "" if libp2p else _label(run),
            run.size,
            f"{role}: {impl}",
            "" if libp2p else f"{run.delivered}/{run.count}, {run.acknowledged} acked",
            "" if libp2p else f"{payload:,.0f}",
            f"{total:,.0f}",
            f"{total / payload:.1f}" if payload else "-",
        )
        groups = grouped(bandwidth)
        parts.add_row(
            "" if libp2p else _short(_label(run)),
            run.size,
            f"{role[:2]}: {_short(impl)}",
            *(f"{groups[g] / per:,.0f}" for g in GROUPS),
        )
    parts.caption = (
        "lpush: light push; ctrl: identify, ping, metadata, peer exchange and other protocols; "
        "mss: stream negotiation (multistream-select); hs: connection upgrade; "
        "se: sender, re: receiver"
    )
    return [totals, parts]


def comparisons(runs: list[Run]) -> list[str]:
    """Ratios to status-go in light mode, and the light-client target, as sentences."""
    lines: list[str] = []
    go_runs = {(r.size, r.go_sends): r for r in runs if r.impl == "status-go light"}
    for run in runs:
        if run.impl.startswith("status-go") or not run.delivered:
            continue
        for role, measured in run.measured():
            go = go_runs.get((run.size, role == "sender"))
            go_side = None if go is None else (go.sender if role == "sender" else go.receiver)
            if go is None or go_side is None or not go.delivered:
                continue
            ours = measured.bandwidth.socket.total / run.delivered
            theirs = go_side.bandwidth.socket.total / go.delivered
            lines.append(
                f"{run.impl} {role}, {run.size}: {ours:,.0f} B per delivered, "
                f"{ours / theirs:.2f}x status-go light's {theirs:,.0f} B"
            )
    for run in runs:
        if "light" not in run.impl or not run.delivered:
            continue
        payload = run.payload_per_delivered()
        for role, measured in run.measured():
            if "light" not in measured.impl or not payload:
                continue
            ratio = measured.bandwidth.socket.total / run.delivered / payload
            verdict = "meets" if ratio <= TARGET else "misses"
            lines.append(
                f"{_label(run)}, {run.size}, {role} ({measured.impl}): {ratio:.1f}x the "
                f"payload, {verdict} the {TARGET:g}x target"
            )
    return lines


def write_json(runs: list[Run], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([run.as_json() for run in runs], indent=2) + "\n")
