"""PNG plots of one run (matplotlib, Agg backend: no display needed).

:func:`write_plots` draws, into a directory: ``propagation.png`` (share of nodes reached
against time since publishing, averaged over messages, with the 50/95/100% marks),
``bandwidth.png`` (per-node bytes per second in and out, per protocol), ``duplicates.png``
(copies per node), ``mesh_degree.png`` and ``lost.png`` (nodes each message missed).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from pystatus.sim.report import propagation
from pystatus.sim.runner import Simulation

DPI = 80
SIZE = (6.0, 3.6)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def plot_propagation(sim: Simulation, path: Path) -> Path:
    count = sim.node_count
    curves: list[list[float]] = []
    for index, published in enumerate(sim.record.published_at):
        curves.append(sorted((t - published) * 1000 for t in sim.record.arrival[index] if t == t))
    figure, axes = plt.subplots(figsize=SIZE)
    for curve in curves[:50]:
        axes.plot(curve, [(i + 1) / count for i in range(len(curve))], color="0.8", lw=0.6)
    spread = propagation(sim)
    for column, (label, colour) in enumerate(
        (("50%", "tab:green"), ("95%", "tab:orange"), ("100%", "tab:red"))
    ):
        values = [row[column] * 1000 for row in spread if not math.isnan(row[column])]
        if values:
            axes.axvline(
                sum(values) / len(values),
                color=colour,
                ls="--",
                label=f"{label}: {sum(values) / len(values):.0f} ms mean",
            )
    axes.set_xlabel("ms since publishing")
    axes.set_ylabel("share of nodes reached")
    axes.set_title(f"propagation, {count} nodes (grey: single messages)")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def plot_bandwidth(sim: Simulation, path: Path) -> Path:
    window = max(sim.end - sim.first_message_at, 1e-9)
    figure, axes = plt.subplots(figsize=SIZE)
    for direction, table in (("in", sim.traffic.bytes_in), ("out", sim.traffic.bytes_out)):
        for protocol in sorted(table):
            before = sim.traffic_at_first_message.get((direction, protocol))
            row = table[protocol]
            rates = [
                (row[i] - (before[i] if before is not None else 0.0)) / window / 1000
                for i in range(sim.node_count)
                if row[i] > 0
            ]
            if rates:
                axes.hist(rates, bins=40, histtype="step", label=f"{protocol} {direction}")
    axes.set_xlabel("KB/s per node")
    axes.set_ylabel("nodes")
    axes.set_title("bandwidth per node and protocol")
    axes.legend(fontsize=8)
    return _save(figure, path)


def plot_duplicates(sim: Simulation, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    per_node = [node.router.counters["messages_duplicate"] for node in sim.nodes]
    axes.hist(per_node, bins=40, color="tab:purple")
    axes.set_xlabel("duplicate copies received")
    axes.set_ylabel("relay nodes")
    axes.set_title("duplicates per node")
    return _save(figure, path)


def plot_mesh_degree(sim: Simulation, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    degrees = [len(node.router.mesh.get(t, ())) for node in sim.nodes for t in sim.topics]
    if degrees:
        axes.hist(degrees, bins=range(0, max(degrees) + 2), align="left", color="tab:blue")
    params = sim.nodes[0].router.params
    for value, label in ((params.d_low, "D_low"), (params.d, "D"), (params.d_high, "D_high")):
        axes.axvline(value, color="0.4", ls=":", lw=1)
        axes.text(value, axes.get_ylim()[1] * 0.95, label, fontsize=7, ha="center")
    axes.set_xlabel("mesh peers at the end of the run")
    axes.set_ylabel("nodes x shards")
    axes.set_title("mesh degree")
    return _save(figure, path)


def plot_lost(sim: Simulation, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    missed = [sum(1 for t in arrival if t != t) for arrival in sim.record.arrival]
    axes.bar(range(len(missed)), missed, color="tab:red")
    axes.set_xlabel("message")
    axes.set_ylabel("nodes it never reached")
    axes.set_title(f"messages lost ({sum(missed)} arrivals missing)")
    return _save(figure, path)


def write_plots(sim: Simulation, directory: Path) -> list[Path]:
    """Write every plot into ``directory`` (created); returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        plot_propagation(sim, directory / "propagation.png"),
        plot_bandwidth(sim, directory / "bandwidth.png"),
        plot_duplicates(sim, directory / "duplicates.png"),
        plot_mesh_degree(sim, directory / "mesh_degree.png"),
        plot_lost(sim, directory / "lost.png"),
    ]
