"""One call that builds, runs and reports a simulation, and measures what it cost.

The measurements (wall seconds, resident memory) vary from run to run, so they are kept out
of the report, whose bytes depend on the seed alone.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pystatus.sim.config import SimConfig
from pystatus.sim.report import build_report
from pystatus.sim.runner import Simulation


def _rss_bytes() -> int:
    """The process's current resident set (Linux /proc), else its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass(frozen=True, slots=True)
class Measured:
    """What a run cost on this machine: wall seconds and bytes of resident memory."""

    build_seconds: float
    run_seconds: float
    run_cpu_seconds: float
    """CPU seconds of the run alone: on a shared machine, the cost that does not depend on
    what else is running."""
    report_seconds: float
    rss_before: int
    rss_built: int
    rss_after: int
    peak_rss: int
    nodes: int

    def as_dict(self) -> dict[str, Any]:
        per_node_built = (self.rss_built - self.rss_before) / self.nodes
        per_node_after = (self.rss_after - self.rss_before) / self.nodes
        return {
            "build_seconds": round(self.build_seconds, 2),
            "run_seconds": round(self.run_seconds, 2),
            "run_cpu_seconds": round(self.run_cpu_seconds, 2),
            "report_seconds": round(self.report_seconds, 2),
            "peak_rss_mib": round(self.peak_rss / 2**20, 1),
            "rss_per_node_kib_built": round(per_node_built / 1024, 1),
            "rss_per_node_kib_after_run": round(per_node_after / 1024, 1),
        }


def simulate(
    config: SimConfig, *, plots: Path | None = None
) -> tuple[dict[str, Any], Measured, Simulation]:
    """Run ``config``; returns the report, the measurements and the simulation itself.
    With ``plots``, PNG plots are written there."""
    rss_before = _rss_bytes()
    started = time.perf_counter()
    sim = Simulation(config)
    built = time.perf_counter()
    rss_built = _rss_bytes()
    cpu = time.process_time()
    sim.run()
    ran = time.perf_counter()
    run_cpu = time.process_time() - cpu
    rss_after = _rss_bytes()
    report = build_report(sim)
    if plots is not None:
        from pystatus.sim.plots import write_plots

        write_plots(sim, plots)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    measured = Measured(
        build_seconds=built - started,
        run_seconds=ran - built,
        run_cpu_seconds=run_cpu,
        report_seconds=done - ran,
        rss_before=rss_before,
        rss_built=rss_built,
        rss_after=rss_after,
        peak_rss=peak,
        nodes=config.nodes,
    )
    return report, measured, sim
