"""One reliability scenario over real node processes per transport, and the ``testnet``
command, run side by side.

The scenarios themselves (lossy, recipient offline, relay restart, sender crash, public chat)
run on a virtual clock in tests/chat/test_simnet.py, where a few hundred messages take
seconds. What only real processes show stays here: a chat node killed with SIGKILL keeps what
its API acknowledged in its encrypted database, restarts on it, reconnects over TCP, and
catches up from a real store node (sender-crash), once per transport: a relay node's chat, and
a light client's (filter, light push and store at one service node).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pystatus.testnet.scenario import SCENARIOS, Report, run_scenario

MESSAGES = 200
RATE = 40.0  # 20 a second from each account


def _check(transport: str, report: Report) -> None:
    print(transport, json.dumps({"latency_ms": report.latency_ms, "seconds": report.seconds}))
    assert report.sent == MESSAGES, transport
    assert report.delivered == MESSAGES, f"{transport}: every message stored by its recipient"
    assert report.duplicates == 0, f"{transport}: none handed to the application twice"
    assert report.order_violations == 0, f"{transport}: each sender's messages in order sent"
    assert report.statuses == {"delivered": MESSAGES}, (
        f"{transport}: the sender's view shows each delivered"
    )


@pytest.mark.timeout(420)  # a scenario's settling alone may take its 300 s
async def test_a_killed_sender_keeps_what_it_acknowledged_on_relay_and_as_a_light_client(
    tmp_path: Path,
) -> None:
    """The relay scenario and the light-client one run side by side, each a network of its
    own (its own ports and directories): most of each is waiting (Python start-up, the 5 s
    outage, the restarted node's catch-up from the store; the acknowledgements it owed when
    killed go out at its restart, not at their senders' 30 s resend), and the waits overlap.
    The ``testnet`` command's run (a third network, lossy) goes beside them for the same
    reason."""
    async with asyncio.TaskGroup() as group:
        command = group.create_task(_testnet_command(tmp_path / "command"))
        relay_run = group.create_task(
            run_scenario(
                SCENARIOS["sender-crash"],
                messages=MESSAGES,
                rate=RATE,
                directory=tmp_path / "relay",
            )
        )
        # relay-2 gives the service node a relay peer: light push refuses (503) without one.
        light_run = group.create_task(
            run_scenario(
                SCENARIOS["sender-crash"],
                messages=MESSAGES,
                rate=RATE,
                directory=tmp_path / "light",
                relays=2,
                light=True,
            )
        )
    relay, light = relay_run.result(), light_run.result()
    _check("relay", relay)
    assert relay.protocol_bytes.get("/vac/waku/relay/2.0.0", 0) > 0
    _check("light", light)
    pushed = light.node_bytes.get("alice", {})
    assert pushed.get("/vac/waku/lightpush/3.0.0", 0) > 0, "alice sent by light push"
    assert pushed.get("/vac/waku/relay/2.0.0", 0) == 0, "and relayed nothing"
    served = light.node_bytes.get("relay-1", {})
    assert served.get("/vac/waku/filter-push/2.0.0-beta1", 0) > 0, "the service node pushed"
    # The command ran a scenario and printed its report.
    code, stdout, stderr = command.result()
    assert code == 0, stderr[-2000:]
    report = json.loads(stdout)
    assert report["ok"] and report["delivered"] == 20
    assert report["faults"].get("dropped", 0) > 0, "the relay links lost some on purpose"
    logs = tmp_path / "command"
    assert (logs / "alice.log").exists() and (logs / "relay-1.log").exists()


async def _testnet_command(directory: Path) -> tuple[int, str, str]:
    """``pystatus testnet`` on the lossy scenario (20 messages): exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pystatus.cli.main",
        "testnet",
        "--scenario=lossy",
        "--messages=20",
        "--rate=20",
        f"--directory={directory}",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a process group of its own, with the nodes it starts
    )
    try:
        async with asyncio.timeout(300):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:  # timed out or cancelled: its nodes go with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


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
