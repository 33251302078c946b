"""``pystatus testnet``: run a reliability scenario over node processes and print its report."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pystatus.errors import PystatusError
from pystatus.testnet import scenario as testnet
from pystatus.testnet.scenario import SCENARIOS, Report

console = Console()
errors = Console(stderr=True)


def _table(report: Report) -> Table:
    table = Table(title=f"testnet: {report.scenario}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("messages sent", f"{report.sent} of {report.messages}"),
        ("delivered (exactly once)", str(report.delivered)),
        ("duplicates", str(report.duplicates)),
        ("order violations", str(report.order_violations)),
        ("shown delivered to the sender", str(report.acknowledged)),
        ("sender statuses", ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))),
        (
            "latency ms (p50 p90 p99 max)",
            " ".join(str(report.latency_ms.get(k, "-")) for k in ("p50", "p90", "p99", "max")),
        ),
        ("bytes on the wire", f"{report.wire_bytes:,.0f}"),
        ("bytes per delivered message", f"{report.bytes_per_delivered:,.0f}"),
        (
            "by protocol",
            ", ".join(f"{k} {v:,.0f}" for k, v in sorted(report.protocol_bytes.items())),
        ),
        (
            "chat publishes",
            ", ".join(f"{k} {v:,.0f}" for k, v in sorted(report.chat_bytes.items())),
        ),
        (
            "history fetched",
            f"{report.history_fetched:.0f} messages, {report.history_bytes:,.0f} bytes,"
            f" duplicate ratio {report.history_duplicate_ratio}",
        ),
        ("faults injected", ", ".join(f"{k} {v:.0f}" for k, v in sorted(report.faults.items()))),
        ("seconds", str(report.seconds)),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def run_testnet(
    scenario: Annotated[str, typer.Option(help=f"One of: {', '.join(SCENARIOS)}")] = "lossy",
    messages: Annotated[int, typer.Option(help="Messages in all, half from each account")] = 1000,
    rate: Annotated[float, typer.Option(help="Messages sent per second")] = 50.0,
    relays: Annotated[int, typer.Option(help="Relay nodes in the line between the accounts")] = 1,
    directory: Annotated[
        Path | None, typer.Option(help="Keep the nodes' data and logs here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Start node processes on 127.0.0.1 with a fault layer between them, run a scenario and
    report what was delivered, how late, in what order, and at what cost in bytes."""
    chosen = SCENARIOS.get(scenario)
    if chosen is None:
        errors.print(f"[red]error:[/red] no scenario {scenario!r} (try {', '.join(SCENARIOS)})")
        raise typer.Exit(2)
    if messages < 2 or rate <= 0 or relays < 1:
        errors.print("[red]error:[/red] --messages >= 2, --rate > 0 and --relays >= 1")
        raise typer.Exit(2)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=as_json,
    ) as progress:
        sent = progress.add_task("sent", total=messages)
        delivered = progress.add_task("delivered", total=messages)
        acknowledged = progress.add_task("sender sees delivered", total=messages)

        def show(state: testnet.Progress) -> None:
            progress.update(sent, completed=state.sent, description=f"sent ({state.phase})")
            progress.update(delivered, completed=state.delivered)
            progress.update(acknowledged, completed=state.acknowledged)

        try:
            report = asyncio.run(
                testnet.run_scenario(
                    chosen,
                    messages=messages,
                    rate=rate,
                    relays=relays,
                    directory=directory,
                    on_progress=show,
                )
            )
        except PystatusError as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(dataclasses.asdict(report) | {"ok": report.ok}))
    else:
        console.print(_table(report))
    if not report.ok:
        raise typer.Exit(1)
