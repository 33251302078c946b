"""``pystatus simulate``: the network simulator (issue 19) on the command line.

Settings come from ``--config`` (TOML, see :mod:`pystatus.sim.config`) with the flags on top.
The report goes to stdout (a table, or JSON with ``--json``: the same bytes for the same
settings); what the run cost (seconds, memory) goes to stderr, and with ``--out`` both go to
``report.json`` and ``run.json`` there beside the PNG plots.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pystatus.errors import ConfigError
from pystatus.sim.config import load
from pystatus.sim.run import simulate

console = Console()
errors = Console(stderr=True)


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=f"simulate: {report['nodes']} nodes", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")

    def ms(summary: dict[str, Any]) -> str:
        return " / ".join(str(summary.get(k)) for k in ("p50", "p95", "max"))

    propagation = report["propagation_ms"]
    rows = [
        ("messages", str(report["messages"])),
        ("delivered fraction", str(report["delivered_fraction"])),
        ("latency ms p50 / p95 / max", ms(report["latency_ms"])),
        ("to 50% of nodes, ms", ms(propagation["to_50"])),
        ("to 95% of nodes, ms", ms(propagation["to_95"])),
        ("to 100% of nodes, ms", ms(propagation["to_100"])),
        ("hops mean / max", f"{report['hops']['mean']} / {report['hops']['max']}"),
        ("duplicates per delivery", str(report["duplicates"]["per_delivery"])),
        (
            "mesh degree mean (min-max)",
            f"{report['mesh_degree']['mean']} "
            f"({report['mesh_degree']['min']}-{report['mesh_degree']['max']})",
        ),
        ("arrivals lost", str(report["messages_lost"]["arrivals"])),
    ]
    for protocol, directions in report["bandwidth"].items():
        for direction, summary in directions.items():
            rows.append((f"{protocol} {direction} B/s per node (mean)", f"{summary['mean']:,.0f}"))
    chat = report.get("chat")
    if chat is not None:
        rows.append(
            (
                "chat texts sent / received / delivered",
                f"{chat['sent']} / {chat['received']} / {chat['delivered_status']}",
            )
        )
        rows.append(("chat arrival ms p50 / p95 / max", ms(chat["arrival_ms"])))
    for what, value in rows:
        table.add_row(what, value)
    return table


def run_simulate(
    nodes: Annotated[int | None, typer.Option(help="Nodes in the network")] = None,
    messages: Annotated[int | None, typer.Option(help="Honest messages published")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random choice")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Honest messages per second, network-wide")
    ] = None,
    size: Annotated[int | None, typer.Option(help="Payload bytes per message")] = None,
    shards: Annotated[int | None, typer.Option(help="Shards (pubsub topics)")] = None,
    latency_ms: Annotated[
        float | None, typer.Option(help="Median one-way link latency, ms")
    ] = None,
    loss: Annotated[float | None, typer.Option(help="Chance an RPC is lost")] = None,
    light_fraction: Annotated[
        float | None, typer.Option(help="Share of nodes that are light clients")
    ] = None,
    store_fraction: Annotated[
        float | None, typer.Option(help="Share of relay nodes that are store nodes")
    ] = None,
    spam_rate: Annotated[
        float | None, typer.Option(help="Messages per second a spammer floods shard 0 with")
    ] = None,
    peer_rate: Annotated[
        float | None, typer.Option(help="Relay's per-peer limit, messages per second")
    ] = None,
    chat_pairs: Annotated[
        int | None, typer.Option(help="Pairs of chat accounts exchanging 1:1 texts")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings ([simulate] table)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write report, run cost and PNGs here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Simulate a Waku network on a virtual clock with the real gossipsub router, relay
    validation and service rules, and report delivery, latency, bandwidth and mesh health."""
    try:
        settings = load(
            config,
            nodes=nodes,
            messages=messages,
            seed=seed,
            message_rate=rate,
            message_size=size,
            shards=shards,
            latency_ms=latency_ms,
            loss_rate=loss,
            light_fraction=light_fraction,
            store_fraction=store_fraction,
            spam_rate=spam_rate,
            peer_rate=peer_rate,
            chat_pairs=chat_pairs,
        )
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report, measured, _ = simulate(settings, plots=out)
    text = json.dumps(report, sort_keys=True, indent=2)
    cost = measured.as_dict()
    if out is not None:
        (out / "report.json").write_text(text + "\n")
        (out / "run.json").write_text(json.dumps(cost, sort_keys=True, indent=2) + "\n")
    if as_json:
        print(text)
    else:
        console.print(_table(report))
    errors.print(
        f"ran in {cost['run_seconds']} s ({cost['run_cpu_seconds']} s of CPU; build "
        f"{cost['build_seconds']} s), peak RSS "
        f"{cost['peak_rss_mib']} MiB, {cost['rss_per_node_kib_after_run']} KiB per node",
        highlight=False,
    )
