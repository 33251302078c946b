"""The statusgo part's results: what each run measured, the table comparing pystatus with
status-go, and the notes printed under it (see :mod:`bench.statusgo`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rich.table import Table

RELAY = "/vac/waku/relay/2.0.0"
STORE = "/vac/waku/store-query/3.0.0"


@dataclass(frozen=True)
class Counts:
    """The service node's counters: wire bytes and stream bytes by protocol (in + out), the
    envelopes its relay took in, and those it rejected, by reason."""

    wire: float
    protocols: dict[str, float]
    envelopes: float = 0.0
    """New Waku messages the node's relay took in (each envelope once, on any shard)."""
    envelope_bytes: float = 0.0
    rejected: dict[str, float] = field(default_factory=dict)
    graylisted: float = 0.0
    """Times a peer's gossipsub score fell below the graylist threshold."""

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.wire - other.wire,
            _minus(self.protocols, other.protocols),
            self.envelopes - other.envelopes,
            self.envelope_bytes - other.envelope_bytes,
            {k: v for k, v in _minus(self.rejected, other.rejected).items() if v},
            self.graylisted - other.graylisted,
        )


def _minus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a.get(k, 0.0) - b.get(k, 0.0) for k in set(a) | set(b)}


@dataclass
class Run:
    impl: str
    mode: str
    sent: int
    delivered: int = 0
    acknowledged: int = 0
    accept_s: float = 0.0
    """First send command to the last send command's reply."""
    deliver_s: float = 0.0
    """First send command to the last receipt."""
    ack_s: float = 0.0
    """First send command to the last acknowledgement the sender saw."""
    latencies_ms: list[float] = field(default_factory=list)
    counts: Counts = field(default_factory=lambda: Counts(0.0, {}))
    failure: str = ""

    @property
    def msgs_per_s(self) -> float:
        return self.delivered / self.deliver_s if self.deliver_s else 0.0

    @property
    def accepted_per_s(self) -> float:
        return self.sent / self.accept_s if self.accept_s else 0.0

    def quantile_ms(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def per_delivered(self, value: float) -> float:
        return value / self.delivered if self.delivered else float("nan")


def _ratio(mine: float, theirs: float, hint: str) -> str:
    if not theirs or mine != mine or theirs != theirs:
        return "-"
    return f"{mine / theirs:.2f}{hint}"


KNOWN_PROTOCOLS = {RELAY: "relay", STORE: "store"}


def _other(run: Run) -> float:
    rest = sum(v for k, v in run.counts.protocols.items() if k not in KNOWN_PROTOCOLS)
    return run.per_delivered(rest)


def _rejected(run: Run) -> str:
    total = sum(run.counts.rejected.values())
    reasons = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(run.counts.rejected.items()))
    return f"{total:,.0f} ({reasons})" if total else "0"


def statusgo_table(runs: list[Run], count: int, limit: float) -> Table:
    table = Table(
        title=f"statusgo: 1:1 messages end to end through one pystatus relay + store node, "
        f"{count} per run (pystatus → pystatus beside status-go v1.1.0 → status-go)"
    )
    for column in ("metric", "pystatus", "status-go", "ratio (py/go)"):
        table.add_column(column, justify="right")
    higher, lower = "", " (lower is better)"
    modes = list(dict.fromkeys(run.mode for run in runs))
    for mode in modes:
        py = next(r for r in runs if r.mode == mode and r.impl == "pystatus")
        go = next(r for r in runs if r.mode == mode and r.impl == "status-go")
        table.add_section()
        table.add_row(f"[bold]{mode}[/bold]", "", "", "")

        def row(name: str, mine: float, theirs: float, hint: str, fmt: str = ",.1f") -> None:
            table.add_row(name, f"{mine:{fmt}}", f"{theirs:{fmt}}", _ratio(mine, theirs, hint))

        table.add_row(
            f"delivered within {limit:.0f} s / acknowledged",
            f"{py.delivered}/{py.acknowledged}",
            f"{go.delivered}/{go.acknowledged}",
            "",
        )
        row("delivered messages/s", py.msgs_per_s, go.msgs_per_s, higher)
        row("send commands answered/s", py.accepted_per_s, go.accepted_per_s, higher)
        row("latency p50 (ms)", py.quantile_ms(50), go.quantile_ms(50), lower)
        row("latency p99 (ms)", py.quantile_ms(99), go.quantile_ms(99), lower)
        row("all acknowledged after (s)", py.ack_s, go.ack_s, lower)
        row(
            "wire bytes per delivered",
            py.per_delivered(py.counts.wire),
            go.per_delivered(go.counts.wire),
            lower,
            ",.0f",
        )
        for protocol, name in KNOWN_PROTOCOLS.items():
            row(
                f"  {name} stream bytes per delivered",
                py.per_delivered(py.counts.protocols.get(protocol, 0.0)),
                go.per_delivered(go.counts.protocols.get(protocol, 0.0)),
                lower,
                ",.0f",
            )
        row("  other stream bytes per delivered", _other(py), _other(go), lower, ",.0f")
        row(
            "Waku envelopes per delivered",
            py.per_delivered(py.counts.envelopes),
            go.per_delivered(go.counts.envelopes),
            lower,
            ",.2f",
        )
        row(
            "  envelope bytes per delivered",
            py.per_delivered(py.counts.envelope_bytes),
            go.per_delivered(go.counts.envelope_bytes),
            lower,
            ",.0f",
        )
        table.add_row("envelopes the relay rejected", _rejected(py), _rejected(go), "")
        table.add_row(
            "peers the relay graylisted",
            f"{py.counts.graylisted:,.0f}",
            f"{go.counts.graylisted:,.0f}",
            "",
        )
        for run in (py, go):
            if run.failure:
                table.add_row(f"  {run.impl}: {run.failure}", "", "", "")
    return table


NOTES = """\
Set-up. Every account runs in its own process and its only Waku peer is the pystatus service \
node in this process (relay + SQLite store, cluster 16, shards 32 and 64): two pystatus \
Messengers, each on its own pystatus node, and two status-go v1.1.0 peers, each on its own \
wakuv2 node; both kinds have the service node as their store node, as the app has one. Each \
mode starts four fresh accounts (no backlog from the previous run); each pair first sends one \
message each way (ratchets set up, not counted); then the pystatus pair runs, then the \
status-go pair, while the other pair idles. Both are driven alike: one JSON-line `send` command \
per message over a pipe; events come back as JSON lines, stamped when they reach this process.
- one at a time: the next send command is written once the previous one was answered. \
pipelined: up to W commands are written ahead (status-go runs its commands one after another, \
the pystatus process runs them concurrently).
- send commands answered/s: how fast the sender accepts messages. status-go's `send` answers \
once SendChatMessage has stored the message, queued it for MVDS and queued a ChatIdentity \
envelope (it sends one with every 1:1 message); MVDS batches the queued messages into one \
envelope per 300 ms epoch, and every envelope then waits in go-waku's throttled publish queue \
(UseThrottledPublish, as in the app: 2 envelopes/s, burst 4). pystatus's Messenger.send \
answers once the message is stored; its MVDS epoch (0.3 s) sends it, unthrottled.
- delivered messages/s: messages the receiver showed within the run's limit, over the time \
from the first send command to the last of them. latency p50/p99: from writing a message's \
send command to reading the receiver's message event, over the delivered messages only (a run \
that missed its limit shows its fastest ones); status-go hands received messages to the app \
once per --retrieve-interval (1 s, as in the app), pystatus as soon as each is stored. \
status-go's rate is bounded by its throttled publish queue.
- all acknowledged after: from the first send command to the sender's last `delivered` status \
(the receiver's MVDS acknowledgement arrived); waited for 60 s once all were delivered.
- bytes: the service node's own counters (nothing else in this process runs pystatus), read \
just before the first send and after the last acknowledgement (or the limit), received + sent, \
over delivered messages. wire = libp2p_network_bytes (TCP payload, Noise and yamux framing \
included); by protocol = libp2p_protocol_bytes (stream payload). The node relays each envelope \
to every other mesh peer of the shard, the idle pair's nodes too; the counts include messages, \
ChatIdentity envelopes, MVDS acknowledgements and resends, both sides' store queries confirming \
their envelopes arrived, gossip control and keep-alives, and whatever the idle pair sent.
- Waku envelopes: new messages the service node's relay accepted (waku_relay_messages, once \
each however many peers forward it) and their encoded size (waku_relay_network_bytes).
- envelopes the relay rejected: waku_relay_invalid_messages during the run, by reason. peers \
the relay graylisted: the times a peer's gossipsub score fell below the graylist threshold \
(waku_relay_graylisted_peers; the relay uses nwaku's scoring parameters and, while a peer is \
there, ignores everything it sends until the penalty decays). Both should read 0 here: on the \
Status cluster (16) the relay takes messages of any age, as status-go's go-waku relays do, so \
status-go's envelopes, stamped when queued behind its 2/s publish throttle, all get through. \
The 20 s limit on a message's age (64/WAKU2-NETWORK; this relay and nwaku alike) applies off \
the Status cluster; while it applied here, a status-go burst had every envelope that waited \
over 20 s refused (timestamp_too_old) and its sender graylisted."""
