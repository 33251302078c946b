"""The three reliability scenarios over real node processes, 400 messages each: every
message delivered exactly once, in order per sender, and shown delivered to its sender."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pystatus.testnet.scenario import SCENARIOS, Outage, run_scenario

MESSAGES = 400
RATE = 20.0
# The command's recipient-offline keeps bob away 60 s; 20 s puts as much in the store here
# (the whole conversation rides on it) in a third of the time.
TESTED = SCENARIOS | {
    "recipient-offline": dataclasses.replace(
        SCENARIOS["recipient-offline"], outages=(Outage("bob", 0.3, 20.0),)
    )
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["lossy", "recipient-offline", "relay-restart"])
async def test_scenario_delivers_everything_once_in_order(name: str, tmp_path: Path) -> None:
    report = await run_scenario(TESTED[name], messages=MESSAGES, rate=RATE, directory=tmp_path)
    print(
        json.dumps(
            {
                "scenario": name,
                "latency_ms": report.latency_ms,
                "bytes_per_delivered": report.bytes_per_delivered,
                "protocol_bytes": report.protocol_bytes,
                "chat_bytes": report.chat_bytes,
                "history_bytes": report.history_bytes,
                "history_duplicate_ratio": report.history_duplicate_ratio,
                "faults": report.faults,
                "seconds": report.seconds,
            }
        )
    )
    assert report.sent == MESSAGES
    assert report.delivered == MESSAGES, "every message stored by its recipient"
    assert report.duplicates == 0, "none handed to the application twice"
    assert report.order_violations == 0, "each sender's messages in the order sent"
    assert report.acknowledged == MESSAGES, "the sender's view shows every one delivered"
    assert report.statuses == {"delivered": MESSAGES}
    assert report.history_duplicate_ratio <= 1.05
    assert report.protocol_bytes.get("/vac/waku/relay/2.0.0", 0) > 0
    assert report.bytes_per_delivered > 0
    if name == "lossy":
        assert report.faults.get("dropped", 0) > 0.1 * report.faults.get("frames", 1)
    else:
        assert report.history_fetched > 0, "what the outage hid came from the store"


@pytest.mark.timeout(300)
async def test_what_a_sender_acknowledged_survives_its_crash(tmp_path: Path) -> None:
    report = await run_scenario(
        SCENARIOS["sender-crash"], messages=200, rate=RATE, directory=tmp_path
    )
    assert report.sent == 200
    assert (report.delivered, report.duplicates, report.order_violations) == (200, 0, 0)
    assert report.acknowledged == 200


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
