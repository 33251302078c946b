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

from bench.p2p import P2PResult, run_p2p

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "interop"


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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--muxer", action="append", choices=["yamux", "mplex"])
    args = parser.parse_args()
    console = Console()
    console.print(p2p_table(args.muxer or ["yamux", "mplex"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
