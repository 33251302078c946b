"""The network simulator (issue 19): determinism, delivery and latency against the model,
the report's shape, the configuration, and the CLI. Each run is small (a few seconds of CPU)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pystatus.errors import ConfigError
from pystatus.sim.config import build, load
from pystatus.sim.report import build_report
from pystatus.sim.run import simulate
from pystatus.sim.runner import Simulation

SMALL: dict[str, Any] = {"nodes": 60, "messages": 8, "seed": 7}


def _report_text(**settings: Any) -> str:
    report, _, _ = simulate(build(**settings))
    return json.dumps(report, sort_keys=True, indent=2)


def test_same_seed_same_report_bytes() -> None:
    first = _report_text(**SMALL)
    assert first == _report_text(**SMALL)
    assert first != _report_text(**(SMALL | {"seed": 8}))


def test_same_seed_same_report_whatever_the_hash_seed() -> None:
    """The routers keep peers in sets: a report must not follow Python's hash salt."""
    code = (
        "import json; from pystatus.sim.config import build; from pystatus.sim.run import simulate;"
        f"print(json.dumps(simulate(build(**{SMALL!r}))[0], sort_keys=True, indent=2))"
    )
    outputs = []
    for salt in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=salt)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=100
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip())
    assert outputs[0] == outputs[1] == _report_text(**SMALL)


def test_200_nodes_every_message_reaches_every_node_at_link_latency_times_hops() -> None:
    """Constant 20 ms links: each arrival's latency is its hop count times 20 ms plus what
    serialisation and the uplink queue add (50 Mbit/s: a 1 KB RPC takes 0.2 ms; a flood
    publish queues one per peer), so within [hops * 20 ms, hops * 20 ms + hops * 6 ms]."""
    config = build(nodes=200, messages=10, seed=3, latency_distribution="constant", latency_ms=20.0)
    sim = Simulation(config)
    sim.run()
    report = build_report(sim)
    assert report["delivered_fraction"] == 1.0
    assert report["messages_lost"]["arrivals"] == 0
    checked = 0
    for index, published in enumerate(sim.record.published_at):
        arrival, parent = sim.record.arrival[index], sim.record.parent[index]
        hops = {sim.record.publisher[index]: 0}
        for t, node in sorted((t, n) for n, t in enumerate(arrival)):
            assert not math.isnan(t)
            if parent[node] < 0:
                continue
            hops[node] = hops[parent[node]] + 1
            latency = t - published
            assert hops[node] * 0.020 <= latency + 1e-9
            assert latency <= hops[node] * 0.026, (node, hops[node], latency)
            checked += 1
    assert checked == 10 * 199
    # Gossipsub's mesh keeps its degree within [D_low, D_high] and messages travel a few hops.
    assert report["mesh_degree"]["min"] >= 4 and report["mesh_degree"]["max"] <= 8
    assert 1 < report["hops"]["mean"] < 6
    assert 1.0 <= report["path_latency_ratio"]["mean"] < 1.3


def test_latency_never_beats_the_shortest_path() -> None:
    """Drawn latencies: no node hears a message sooner than light would cross the graph."""
    import heapq

    sim = Simulation(build(nodes=80, messages=5, seed=11))
    sim.run()
    for index, published in enumerate(sim.record.published_at):
        source = sim.record.publisher[index]
        best = {source: 0.0}
        queue = [(0.0, source)]
        while queue:
            distance, node = heapq.heappop(queue)
            if distance > best.get(node, math.inf):
                continue
            for peer, link in sim.links.latency[node].items():
                if distance + link < best.get(peer, math.inf):
                    best[peer] = distance + link
                    heapq.heappush(queue, (distance + link, peer))
        for node, t in enumerate(sim.record.arrival[index]):
            assert t - published >= best[node] - 1e-9


def test_report_shape() -> None:
    report = json.loads(_report_text(**SMALL))
    for key in ("nodes", "messages", "delivered_fraction", "duplicates", "mesh_degree"):
        assert key in report
    assert set(report["latency_ms"]) >= {"p50", "p95", "max"}
    assert set(report["propagation_ms"]) == {"to_50", "to_95", "to_100"}
    assert set(report["bandwidth"]["relay"]) == {"in", "out"}
    assert report["nodes"] == 60 and report["messages"] == 8


def test_lossy_links_lose_rpcs_and_gossip_recovers_most() -> None:
    report = json.loads(_report_text(**(SMALL | {"loss_rate": 0.2})))
    assert report["messages_lost"]["rpcs_lost_on_links"] > 0
    assert report["delivered_fraction"] > 0.95


def test_config_from_toml_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[simulate]\nnodes = 300\nmessage_rate = 2\nlatency_ms = 15\n")
    config = load(path, nodes=120)
    assert (config.nodes, config.message_rate, config.latency_ms) == (120, 2.0, 15.0)
    assert config.out_relay_target == 10 and config.in_relay_target == 20
    with pytest.raises(ConfigError, match="unknown setting 'nodez'"):
        build({"nodez": 3})
    with pytest.raises(ConfigError, match="loss_rate"):
        build(loss_rate=1.5)
    with pytest.raises(ConfigError, match="whole number"):
        build({"nodes": 2.5})
    path.write_text("nodes = [")
    with pytest.raises(ConfigError, match="not TOML"):
        load(path)


def test_cli_json_shape_and_out_directory(tmp_path: Path) -> None:
    from pystatus.cli.main import app

    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--nodes",
            "40",
            "--messages",
            "5",
            "--seed",
            "2",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["nodes"] == 40 and report["messages"] == 5
    assert report["delivered_fraction"] == 1.0
    assert set(report["latency_ms"]) >= {"p50", "p95", "max"}
    assert json.loads((out / "report.json").read_text()) == report
    assert "peak_rss_mib" in json.loads((out / "run.json").read_text())
    for name in ("propagation", "bandwidth", "duplicates", "mesh_degree", "lost"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_a_bad_setting() -> None:
    from pystatus.cli.main import app

    result = CliRunner().invoke(app, ["simulate", "--nodes", "1"])
    assert result.exit_code == 2
    assert "nodes must be at least 2" in result.output
