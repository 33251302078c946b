"""One reliability scenario over real node processes per transport, and the ``testnet``
command.

The scenarios themselves (lossy, recipient offline, relay restart, sender crash, public chat)
run on a virtual clock in tests/chat/test_simnet.py, where a few hundred messages take
seconds. What only real processes show stays here: a chat node killed with SIGKILL keeps what
its API acknowledged in its encrypted database, restarts on it, reconnects over TCP, and
catches up from a real store node (sender-crash), once per transport: a relay node's chat, and
a light client's (filter, light push and store at one service node).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pystatus.testnet.scenario import SCENARIOS, run_scenario

MESSAGES = 200
RATE = 40.0  # 20 a second from each account


@pytest.mark.timeout(300)
async def test_relay_chat_keeps_what_a_killed_sender_acknowledged(tmp_path: Path) -> None:
    report = await run_scenario(
        SCENARIOS["sender-crash"], messages=MESSAGES, rate=RATE, directory=tmp_path
    )
    print(json.dumps({"latency_ms": report.latency_ms, "seconds": report.seconds}))
    assert report.sent == MESSAGES
    assert report.delivered == MESSAGES, "every message stored by its recipient"
    assert report.duplicates == 0, "none handed to the application twice"
    assert report.order_violations == 0, "each sender's messages in the order sent"
    assert report.statuses == {"delivered": MESSAGES}, "the sender's view shows each delivered"
    assert report.protocol_bytes.get("/vac/waku/relay/2.0.0", 0) > 0


@pytest.mark.timeout(420)  # the scenario's settling alone may take its 300 s
async def test_light_chat_keeps_what_a_killed_sender_acknowledged(tmp_path: Path) -> None:
    # relay-2 gives the service node a relay peer: light push refuses (503) without one.
    report = await run_scenario(
        SCENARIOS["sender-crash"],
        messages=MESSAGES,
        rate=RATE,
        directory=tmp_path,
        relays=2,
        light=True,
    )
    print(json.dumps({"latency_ms": report.latency_ms, "seconds": report.seconds}))
    assert report.sent == MESSAGES
    assert report.delivered == MESSAGES, "every message stored by its recipient"
    assert report.duplicates == 0, "none handed to the application twice"
    assert report.order_violations == 0, "each sender's messages in the order sent"
    assert report.statuses == {"delivered": MESSAGES}, "the sender's view shows each delivered"
    pushed = report.node_bytes.get("alice", {})
    assert pushed.get("/vac/waku/lightpush/3.0.0", 0) > 0, "alice sent by light push"
    assert pushed.get("/vac/waku/relay/2.0.0", 0) == 0, "and relayed nothing"
    served = report.node_bytes.get("relay-1", {})
    assert served.get("/vac/waku/filter-push/2.0.0-beta1", 0) > 0, "the service node pushed"


def test_the_command_runs_a_scenario_and_prints_its_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pystatus.cli.main",
            "testnet",
            "--scenario=lossy",
            "--messages=20",
            "--rate=20",
            f"--directory={tmp_path}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["ok"] and report["delivered"] == 20
    assert report["faults"].get("dropped", 0) > 0, "the relay links lost some on purpose"
    assert (tmp_path / "alice.log").exists() and (tmp_path / "relay-1.log").exists()


def test_an_unknown_scenario_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pystatus.cli.main", "testnet", "--scenario=meteor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no scenario 'meteor'" in result.stderr
