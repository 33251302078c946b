"""`pystatus node` as a user runs it: a real process that js-libp2p dials, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from pystatus.waku.enr import Enr
from tests.interop.harness import NodePeer

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


async def _read_until(stream: asyncio.StreamReader, prefix: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


@pytest.mark.interop
async def test_node_prints_addresses_answers_js_and_stops_on_ctrl_c() -> None:
    nodekey = "0b" * 32
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--nodekey",
        nodekey,
        "--listen-address",
        "127.0.0.1",
        "--tcp-port=0",
        "--relay=true",
        "--cluster-id=1",
        "--shard=0",
        "--shard",
        "5",
        "--rest",
        "--rest-port=0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    js = None
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            listening = await _read_until(process.stdout, "listening on ")
            relaying = await _read_until(process.stdout, "relaying ")
            rest_line = await _read_until(process.stdout, "REST API on ")
        addr = listening.removeprefix("listening on ")
        assert addr.endswith("/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ")
        assert relaying == "relaying /waku/2/rs/1/0 /waku/2/rs/1/5"
        async with httpx.AsyncClient(base_url=rest_line.removeprefix("REST API on ")) as api:
            info = (await api.get("/debug/v1/info")).json()
        assert info["listenAddresses"] == [addr]
        assert Enr.from_text(info["enrUri"]).relay_shards == (1, (0, 5))
        js = await NodePeer.start()
        await js.call("dial", addr=addr)
        info = await js.call("identify", peer=addr.rsplit("/", 1)[-1])
        assert "/ipfs/ping/1.0.0" in info["protocols"]
        assert float((await js.call("ping", peer=addr.rsplit("/", 1)[-1]))["rttMs"]) >= 0
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
        _, stderr = await process.communicate()
        assert nodekey not in stderr.decode()
    finally:
        if js is not None:
            await js.stop()
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _run_to_exit(*args: str) -> tuple[int, str]:
    """Run ``pystatus`` expecting it to exit by itself; its exit code and all it printed."""
    process = await asyncio.create_subprocess_exec(
        PYSTATUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode()


async def test_flag_for_a_missing_feature_is_refused_by_name() -> None:
    code, output = await _run_to_exit("node", "--rln-relay=true")
    assert code == 2
    assert "--rln-relay" in output


@pytest.mark.parametrize(
    ("flag", "value"), [("--cluster-id", "70000"), ("--shard", "5000"), ("--relay", "maybe")]
)
async def test_bad_values_are_refused_by_name(flag: str, value: str) -> None:
    code, output = await _run_to_exit("node", f"{flag}={value}", "--tcp-port=0")
    assert code == 2
    assert flag in output


@pytest.mark.parametrize("nodekey", ["abc", "zz" * 32, "00" * 32])
async def test_bad_nodekey_is_refused_without_echoing_it(nodekey: str) -> None:
    code, output = await _run_to_exit("node", "--nodekey", nodekey, "--tcp-port", "0")
    assert code == 2
    assert "--nodekey" in output
    assert nodekey not in output


async def test_service_node_serves_light_protocols_and_metrics() -> None:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        "--cluster-id=1",
        "--shard=0",
        "--filter",
        "--lightpush",
        "--peer-exchange",
        "--metrics-server",
        "--metrics-server-port=0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            await _read_until(process.stdout, "serving filter")
            await _read_until(process.stdout, "serving light push")
            metrics_line = await _read_until(process.stdout, "metrics on ")
        async with httpx.AsyncClient() as client:
            scrape = await client.get(metrics_line.removeprefix("metrics on "))
        assert scrape.status_code == 200
        for name in ("waku_filter_subscriptions", "libp2p_peers", "waku_relay_send_queue_bytes"):
            assert f"\n{name} " in scrape.text
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
