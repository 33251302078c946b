"""The peer manager's flags on `pystatus node`: nwaku's --relay-service-ratio checked at start,
and the peer store kept in the data dir (0600) unless --peer-persistence=false."""

from __future__ import annotations

import asyncio
import signal
import stat
import sys
from pathlib import Path

import pytest

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PYSTATUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_a_bad_relay_service_ratio_is_refused_by_name() -> None:
    process = await _start("node", "--relay-service-ratio=70:40", "--tcp-port=0")
    try:
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    finally:
        await _stop(process)
    assert process.returncode == 2
    output = (stdout + stderr).decode()
    assert "--relay-service-ratio '70:40' must be two shares summing to 100" in output


@pytest.mark.parametrize("persistence", ["true", "false"])
async def test_the_peer_store_lives_in_the_data_dir(tmp_path: Path, persistence: str) -> None:
    process = await _start(
        "node",
        f"--data-dir={tmp_path}",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        f"--peer-persistence={persistence}",
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith(
                "listening on "
            ):
                assert line, "the node exited before listening"
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    finally:
        await _stop(process)
    path = tmp_path / "peers.sqlite3"
    if persistence == "true":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    else:
        assert not path.exists()
