"""The scaling sweep: reports of runs at growing sizes, as a Markdown table and PNG plots.

``python -m pystatus.sim.sweep DIR...`` reads each ``DIR/report.json`` and ``DIR/run.json``
(what ``pystatus simulate --out DIR`` writes), prints the table ``docs/scaling.md`` holds and,
with ``--plots OUT``, writes ``sim-sweep-latency.png`` and ``sim-sweep-bandwidth.png`` there.
Each run is made by the command, one process per size, so its memory is its own.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

HEADER = (
    "| nodes | delivered | latency p50 / p95 / max ms | to 50% / 95% / 100% ms (mean) "
    "| hops mean / max | dup. per delivery | relay in / out KB/s per node "
    "| CPU s | peak RSS MiB | KiB per node |"
)


def load_run(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    report = json.loads((directory / "report.json").read_text())
    cost = json.loads((directory / "run.json").read_text())
    return report, cost


def row(report: dict[str, Any], cost: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    spread = report["propagation_ms"]
    relay = report["bandwidth"]["relay"]

    def num(value: float | None, digits: int = 0) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    return (
        f"| {report['nodes']:,} | {report['delivered_fraction']:.4f} "
        f"| {num(latency['p50'])} / {num(latency['p95'])} / {num(latency['max'])} "
        f"| {num(spread['to_50']['mean'])} / {num(spread['to_95']['mean'])} / "
        f"{num(spread['to_100']['mean'])} "
        f"| {report['hops']['mean']:.2f} / {report['hops']['max']} "
        f"| {report['duplicates']['per_delivery']:.2f} "
        f"| {relay['in']['mean'] / 1000:.1f} / {relay['out']['mean'] / 1000:.1f} "
        f"| {num(cost.get('run_cpu_seconds', cost.get('run_seconds')), 1)} "
        f"| {num(cost['peak_rss_mib'])} | {num(cost['rss_per_node_kib_after_run'], 1)} |"
    )


def table(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    separator = "|---" * (HEADER.count("|") - 1) + "|"
    lines = [HEADER, separator]
    lines += [row(report, cost) for report, cost in sorted(runs, key=lambda r: r[0]["nodes"])]
    return "\n".join(lines)


def plot(runs: list[tuple[dict[str, Any], dict[str, Any]]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r[0]["nodes"])
    nodes = [r[0]["nodes"] for r in runs]
    written = []
    figure, axes = plt.subplots(figsize=(6.0, 3.6))
    for key, label in (("to_50", "50%"), ("to_95", "95%"), ("to_100", "100%")):
        values = [r[0]["propagation_ms"][key]["mean"] for r in runs]
        axes.plot(
            nodes,
            [math.nan if v is None else v for v in values],
            marker="o",
            label=f"to {label} of nodes",
        )
    axes.set_xscale("log")
    axes.set_xlabel("nodes")
    axes.set_ylabel("ms (mean over messages)")
    axes.set_title("propagation latency against network size")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = out / "sim-sweep-latency.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    written.append(path)
    figure, axes = plt.subplots(figsize=(6.0, 3.6))
    axes.plot(
        nodes,
        [r[0]["bandwidth"]["relay"]["in"]["mean"] / 1000 for r in runs],
        marker="o",
        label="relay in, KB/s per node",
    )
    axes.plot(
        nodes,
        [r[0]["bandwidth"]["relay"]["out"]["mean"] / 1000 for r in runs],
        marker="s",
        label="relay out, KB/s per node",
    )
    axes.plot(
        nodes,
        [r[1]["rss_per_node_kib_after_run"] for r in runs],
        marker="^",
        label="simulator memory, KiB per node",
    )
    axes.set_xscale("log")
    axes.set_xlabel("nodes")
    axes.set_title("bandwidth per node and simulator memory against size")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = out / "sim-sweep-bandwidth.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("runs", nargs="+", type=Path, help="directories of simulate --out")
    parser.add_argument("--plots", type=Path, help="write the sweep's PNG plots here")
    args = parser.parse_args(argv)
    runs = [load_run(directory) for directory in args.runs]
    print(table(runs))
    if args.plots is not None:
        for path in plot(runs, args.plots):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
