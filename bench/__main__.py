"""`make bench`: pystatus measured side by side with the reference implementations."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.archive import run_archive
from bench.bandwidth import DEFAULT_INTERVAL, JSON_PATH, bandwidth_report
from bench.bandwidth import default_messages as default_bandwidth_messages
from bench.chat import run_chat
from bench.discovery import discovery_table, run_discovery
from bench.gowaku import gowaku_tables
from bench.groups import groups_table, run_groups
from bench.groups_statusgo import side_by_side_table
from bench.hash_ratchet import report as hash_ratchet_report
from bench.light import FanoutResult, run_fanout, run_lightpush
from bench.p2p import P2PResult, run_p2p
from bench.relay import RelayResult, run_relay
from bench.reliability import run_reliability
from bench.statusgo import DEFAULT_WINDOW, default_messages, statusgo_report
from bench.web import run_web, web_table

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "interop"
PYLIBP2P_PYTHON = ROOT / ".venv-pylibp2p" / "bin" / "python"


def run_js_p2p(muxer: str) -> P2PResult:
    command = [
        "node",
        "--import",
        str(INTEROP / "polyfill.mjs"),
        str(INTEROP / "bench_libp2p.mjs"),
        "--muxer",
        muxer,
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=INTEROP
    )
    if completed.returncode != 0:
        raise RuntimeError(f"js benchmark failed: {completed.stderr[-2000:]}")
    line = [text for text in completed.stdout.splitlines() if text.startswith("{")][-1]
    data = json.loads(line)
    return P2PResult(
        impl="js-libp2p",
        muxer=muxer,
        echo_p50_us=float(data["echo_p50_us"]),
        echo_p99_us=float(data["echo_p99_us"]),
        bulk_mbps=float(data["bulk_MBps"]),
    )


def p2p_table(muxers: list[str]) -> Table:
    table = Table(title="p2p: TCP + Noise, one stream, loopback, both ends in one process")
    for column in ("muxer", "metric", "pystatus", "js-libp2p", "ratio (py/js)"):
        table.add_column(column, justify="right")
    for muxer in muxers:
        ours = asyncio.run(run_p2p(muxer))
        theirs = run_js_p2p(muxer)
        rows = [
            ("echo p50 (µs)", ours.echo_p50_us, theirs.echo_p50_us, False),
            ("echo p99 (µs)", ours.echo_p99_us, theirs.echo_p99_us, False),
            ("bulk (MB/s)", ours.bulk_mbps, theirs.bulk_mbps, True),
        ]
        for name, mine, js, higher_is_better in rows:
            # Ratios read "how many times js": above 1 is better for throughput, below for latency.
            ratio = mine / js if js else float("nan")
            hint = "" if higher_is_better else " (lower is better)"
            table.add_row(muxer, name, f"{mine:,.1f}", f"{js:,.1f}", f"{ratio:.2f}{hint}")
    return table


def _json_line(command: list[str], cwd: Path) -> dict[str, float]:
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, cwd=cwd
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} benchmark failed: {completed.stderr[-2000:]}")
    line = [text for text in completed.stdout.splitlines() if text.startswith("{")][-1]
    return {key: float(value) for key, value in json.loads(line).items()}


def run_js_relay(messages: int, samples: int) -> RelayResult:
    command = ["node", "--import", str(INTEROP / "polyfill.mjs"), str(INTEROP / "bench_relay.mjs")]
    data = _json_line([*command, str(messages), str(samples)], INTEROP)
    return RelayResult(
        "js-waku",
        data["link_msgs_per_s"],
        data["line5_msgs_per_s"],
        data["latency_p50_ms"],
        data["latency_p99_ms"],
    )


def run_pylibp2p_relay(messages: int) -> RelayResult | None:
    if not PYLIBP2P_PYTHON.exists():
        return None
    script = ROOT / "bench" / "external" / "pylibp2p_relay.py"
    data = _json_line([str(PYLIBP2P_PYTHON), str(script), str(messages)], ROOT)
    return RelayResult(
        "py-libp2p 0.8.1",
        data["link_msgs_per_s"],
        data["line5_msgs_per_s"],
        data["latency_p50_ms"],
        data["latency_p99_ms"],
    )


def relay_table(messages: int, samples: int) -> Table:
    ours = asyncio.run(run_relay(messages, samples))
    js = run_js_relay(messages, samples)
    # py-libp2p relays about 1/20 of our rate; fewer messages keep its run short.
    pylibp2p = run_pylibp2p_relay(max(500, messages // 10))
    table = Table(title="relay: 1 KiB Waku messages, loopback, all nodes in one process per impl")
    columns = ["metric", "pystatus", "js-waku", "ratio (py/js)"]
    if pylibp2p is not None:
        columns += ["py-libp2p 0.8.1", "ratio (pystatus/py-libp2p)"]
    for column in columns:
        table.add_column(column, justify="right")
    rows = [
        ("1 link (msg/s)", "link_msgs_per_s", True),
        ("line of 5 (msg/s)", "line5_msgs_per_s", True),
        ("3 hops p50 (ms)", "latency_p50_ms", False),
        ("3 hops p99 (ms)", "latency_p99_ms", False),
    ]
    for name, attribute, higher_is_better in rows:
        mine, theirs = getattr(ours, attribute), getattr(js, attribute)
        hint = "" if higher_is_better else " (lower is better)"
        cells = [name, f"{mine:,.1f}", f"{theirs:,.1f}", f"{mine / theirs:.2f}{hint}"]
        if pylibp2p is not None:
            other = getattr(pylibp2p, attribute)
            cells += [f"{other:,.1f}", f"{mine / other:.2f}{hint}"]
        table.add_row(*cells)
    if pylibp2p is None:
        table.caption = (
            "py-libp2p column skipped: .venv-pylibp2p is missing (make bench creates it)"
        )
    return table


def run_js_fanout(subscribers: int, messages: int, samples: int) -> FanoutResult:
    command = ["node", "--import", str(INTEROP / "polyfill.mjs"), str(INTEROP / "bench_light.mjs")]
    data = _json_line([*command, "fanout", str(subscribers), str(messages), str(samples)], INTEROP)
    return FanoutResult(
        "js-libp2p", data["msgs_per_s"], data["latency_p50_ms"], data["latency_p99_ms"]
    )


def light_tables(subscribers: int, messages: int, samples: int) -> list[Table]:
    ours = asyncio.run(run_fanout(subscribers, messages, samples))
    js = run_js_fanout(subscribers, messages, samples)
    fanout = Table(
        title=f"filter fan-out: 1 KiB messages to {subscribers} subscribers, a new stream per "
        "push, all nodes in one process per impl"
    )
    for column in ("metric", "pystatus", "js-libp2p", "ratio (py/js)"):
        fanout.add_column(column, justify="right")
    rows = [
        ("messages/s to all", ours.msgs_per_s, js.msgs_per_s, ""),
        (
            "p50 until all have it (ms)",
            ours.latency_p50_ms,
            js.latency_p50_ms,
            " (lower is better)",
        ),
        (
            "p99 until all have it (ms)",
            ours.latency_p99_ms,
            js.latency_p99_ms,
            " (lower is better)",
        ),
    ]
    for name, mine, theirs, hint in rows:
        fanout.add_row(name, f"{mine:,.1f}", f"{theirs:,.1f}", f"{mine / theirs:.2f}{hint}")
    fanout.caption = (
        "js-waku has no filter service: its column is js-libp2p 2.8 doing the same pushes "
        "(tests/interop/bench_light.mjs)"
    )
    pushes = asyncio.run(run_lightpush())
    lightpush = Table(
        title="light push v3 to one pystatus service node: 10 clients at once, 200 pushes each"
    )
    for column in ("clients", "requests/s", "p50 (ms)", "p99 (ms)", "requests/s vs js-waku"):
        lightpush.add_column(column, justify="right")
    js_rate = pushes[-1].requests_per_s
    for result in pushes:
        lightpush.add_row(
            result.client,
            f"{result.requests_per_s:,.0f}",
            f"{result.latency_p50_ms:.2f}",
            f"{result.latency_p99_ms:.2f}",
            f"{result.requests_per_s / js_rate:.2f}",
        )
    return [fanout, lightpush]


def chat_table(messages: int) -> Table:
    result = asyncio.run(run_chat(messages))
    table = Table(title="chat: log-in, per-message crypto (1 KiB), end to end between two accounts")
    for column in (
        "metric",
        "pystatus",
        "js (@waku/message-encryption)",
        "ratio (py/js)",
        "target",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        f"log-in with {result.messages_stored:,} messages (ms)",
        f"{result.login_ms:.0f}",
        "",
        "",
        "< 1,000",
    )
    table.add_row("  of which keystore unlock (ms)", f"{result.unlock_ms:.0f}", "", "", "")
    table.add_row(
        "RFC 26 ECIES encrypt + sign (µs)",
        f"{result.ecies_encrypt_us:,.0f}",
        f"{result.js_ecies_encrypt_us:,.0f}",
        f"{result.ecies_encrypt_us / result.js_ecies_encrypt_us:.2f} (lower is better)",
        "",
    )
    table.add_row(
        "RFC 26 ECIES decrypt + recover (µs)",
        f"{result.ecies_decrypt_us:,.0f}",
        f"{result.js_ecies_decrypt_us:,.0f}",
        f"{result.ecies_decrypt_us / result.js_ecies_decrypt_us:.2f} (lower is better)",
        "",
    )
    table.add_row("Double Ratchet encrypt + decrypt (µs)", f"{result.ratchet_us:,.0f}", "", "", "")
    table.add_row(
        "1:1 end to end, two processes (msg/s)", f"{result.e2e_msgs_per_s:,.0f}", "", "", ">= 500"
    )
    return table


def archive_table(total: int, samples: int) -> Table:
    results = asyncio.run(run_archive(total, samples))
    table = Table(title=f"archive: {total:,} messages, page of 20 by content topic + time range")
    columns = ["backend", "messages", "acked insert (msg/s)", "bulk insert (msg/s)"]
    columns += ["query p50 (ms)", "query p99 (ms)", "p50 vs SQLite"]
    for column in columns:
        table.add_column(column, justify="right")
    sqlite_p50 = results[0].query_p50_ms
    for result in results:
        table.add_row(
            result.backend,
            f"{result.messages:,}",
            f"{result.acked_msgs_per_s:,.0f}",
            f"{result.bulk_msgs_per_s:,.0f}",
            f"{result.query_p50_ms:.2f}",
            f"{result.query_p99_ms:.2f}",
            f"{result.query_p50_ms / sqlite_p50:.2f}x",
        )
    if len(results) == 1:
        table.caption = "PostgreSQL column skipped: no server answered at PYSTATUS_BENCH_PG_URL"
    return table


def reliability_table(messages: int, rate: float) -> Table:
    lossy, clean = run_reliability(messages, rate)
    table = Table(
        title=f"reliability: {messages} 1:1 messages at {rate:g}/s, alice - relay+store - bob,"
        " node processes; lossy drops 20% on every relay link"
    )
    for column in ("metric", "lossy", "clean (reference)", "ratio"):
        table.add_column(column, justify="right")

    def row(name: str, mine: float, reference: float) -> None:
        ratio = f"{mine / reference:.2f}" if reference else "-"
        table.add_row(name, f"{mine:,.1f}", f"{reference:,.1f}", ratio)

    table.add_row("delivered once, in order", str(lossy.delivered), str(clean.delivered), "")
    table.add_row("sender sees delivered", str(lossy.acknowledged), str(clean.acknowledged), "")
    for q in ("p50", "p90", "p99"):
        row(f"latency {q} (ms)", lossy.latency_ms.get(q, 0.0), clean.latency_ms.get(q, 0.0))
    row("bytes on the wire per delivered", lossy.bytes_per_delivered, clean.bytes_per_delivered)
    relay = "/vac/waku/relay/2.0.0"
    store = "/vac/waku/store-query/3.0.0"
    for name, key in (("relay", relay), ("store", store)):
        row(
            f"  {name} bytes per delivered",
            lossy.protocol_bytes.get(key, 0.0) / max(1, lossy.delivered),
            clean.protocol_bytes.get(key, 0.0) / max(1, clean.delivered),
        )
    for kind in ("message", "ack"):
        row(
            f"  chat {kind} envelopes, bytes per delivered",
            lossy.chat_bytes.get(kind, 0.0) / max(1, lossy.delivered),
            clean.chat_bytes.get(kind, 0.0) / max(1, clean.delivered),
        )
    row("history duplicate ratio", lossy.history_duplicate_ratio, clean.history_duplicate_ratio)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--muxer", action="append", choices=["yamux", "mplex"])
    parser.add_argument(
        "--only",
        choices=[
            "p2p",
            "relay",
            "light",
            "chat",
            "archive",
            "reliability",
            "statusgo",
            "bandwidth",
            "gowaku",
            "discovery",
            "web",
            "hash-ratchet",
            "groups",
        ],
    )
    parser.add_argument(
        "--bandwidth-messages",
        type=int,
        default=default_bandwidth_messages(),
        help="1:1 messages per size and run (env PYSTATUS_BENCH_BANDWIDTH_MESSAGES; 50)",
    )
    parser.add_argument("--bandwidth-json", type=Path, default=JSON_PATH)
    parser.add_argument(
        "--bandwidth-interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help="seconds from one message to the next (1; 0: each once the previous arrived)",
    )
    parser.add_argument("--reliability-messages", type=int, default=1000)
    parser.add_argument("--reliability-rate", type=float, default=20.0)
    parser.add_argument("--chat-messages", type=int, default=100_000)
    parser.add_argument(
        "--statusgo-messages",
        type=int,
        default=default_messages(),
        help="1:1 messages per pair and mode (env PYSTATUS_BENCH_STATUSGO_MESSAGES; 200)",
    )
    parser.add_argument("--statusgo-window", type=int, default=DEFAULT_WINDOW)
    parser.add_argument(
        "--statusgo-limit",
        type=float,
        help="seconds each run has to deliver its messages (120 + 1 per message)",
    )
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--archive-messages", type=int, default=1_000_000)
    parser.add_argument(
        "--gowaku-store-messages",
        type=int,
        default=1_000_000,
        help="archive size for the store queries beside go-waku (1,000,000)",
    )
    parser.add_argument(
        "--discovery-nodes", type=int, default=50, help="nodes in the discovery network (50)"
    )
    parser.add_argument(
        "--discovery-target", type=int, default=8, help="peers a new node must reach (8)"
    )
    parser.add_argument("--discovery-trials", type=int, default=5, help="new nodes per method (5)")
    parser.add_argument(
        "--discovery-gowaku-nodes",
        type=int,
        default=0,
        help="of the discovery network's nodes, how many are go-waku's (0)",
    )
    parser.add_argument(
        "--web-messages", type=int, default=100, help="messages per path in the web bench (100)"
    )
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 120))
    if args.only in (None, "p2p"):
        console.print(p2p_table(args.muxer or ["yamux", "mplex"]))
    if args.only in (None, "relay"):
        console.print(relay_table(args.messages, args.samples))
    if args.only in (None, "light"):
        for table in light_tables(args.subscribers, 500, 100):
            console.print(table)
    if args.only in (None, "chat"):
        console.print(chat_table(args.chat_messages))
    if args.only in (None, "reliability"):
        console.print(reliability_table(args.reliability_messages, args.reliability_rate))
    if args.only in (None, "statusgo"):
        report = statusgo_report(args.statusgo_messages, args.statusgo_window, args.statusgo_limit)
        for item in report:
            console.print(item)
    if args.only in (None, "bandwidth"):
        items, _ = bandwidth_report(
            args.bandwidth_messages, args.bandwidth_json, interval=args.bandwidth_interval
        )
        for item in items:
            console.print(item)
    if args.only in (None, "archive"):
        console.print(archive_table(args.archive_messages, args.samples))
    if args.only in (None, "gowaku"):
        for table in gowaku_tables(args.messages, args.samples, args.gowaku_store_messages):
            console.print(table)
    if args.only in (None, "discovery"):
        discovery = run_discovery(
            args.discovery_nodes,
            args.discovery_target,
            args.discovery_trials,
            gowaku_nodes=args.discovery_gowaku_nodes,
        )
        console.print(discovery_table(asyncio.run(discovery)))
    if args.only in (None, "hash-ratchet"):
        hash_ratchet_report()
    if args.only in (None, "groups"):
        console.print(groups_table(run_groups()))
        console.print(side_by_side_table())
    if args.only in (None, "web"):
        console.print(web_table(asyncio.run(run_web(args.web_messages)), args.web_messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
