"""nwaku's flags that scripts pass to every node, and --relay=false beside filter and light push."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from pystatus.api.light import NO_SERVICE_PEER
from pystatus.api.server import MetricsServer, RestServer, metrics_summary
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig, MetricsConfig
from pystatus.waku.errors import RequestRefused
from pystatus.waku.filter import FilterRequest, RequestType
from pystatus.waku.message import WakuMessage
from tests.p2p.hosts import wait_for, within

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
SHARD = "/waku/2/rs/1/0"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 1}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


async def test_relay_off_with_filter_and_lightpush_starts_and_refuses_each_request() -> None:
    config = _config(
        relay=False, filter=FilterConfig(), lightpush=True, rest=RestConfig(port=0), shards=(0,)
    )
    async with WakuNode(config) as service, WakuNode(_config(relay=False)) as client:
        addr = service.host.full_addrs()[0]
        message = WakuMessage(payload=b"x", content_topic="/a/1/b/proto", timestamp=time.time_ns())
        with pytest.raises(RequestRefused) as pushed:
            await within(client.lightpush_client.push(addr, message, SHARD))
        assert pushed.value.status == 421
        assert "relays no pubsub topic" in pushed.value.description
        subscribe = FilterRequest(
            type=RequestType.SUBSCRIBE,
            request_id="r",
            pubsub_topic=SHARD,
            content_topics=("/a/1/b/proto",),
        )
        with pytest.raises(RequestRefused) as subscribed:
            await within(client.filter_client.request(addr, subscribe))
        assert subscribed.value.status == 400
        assert config.rest is not None
        server = RestServer(service, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                body = {
                    "payload": "eA==",
                    "contentTopic": "/a/1/b/proto",
                    "timestamp": time.time_ns(),
                }
                rest = await api.post(
                    "/lightpush/v3/message", json={"pubsubTopic": SHARD, "message": body}
                )
                # As nwaku's REST: without relay it looks for a light push service peer.
                assert (rest.status_code, rest.json()) == (503, {"statusDesc": NO_SERVICE_PEER})
        finally:
            await server.stop()


async def test_metrics_logging_logs_a_summary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pystatus.api.server")
    async with WakuNode(_config()) as node:
        quiet = MetricsServer(node, MetricsConfig(port=0, logging=False, log_interval=0.01))
        server = MetricsServer(node, MetricsConfig(port=0, log_interval=0.01))
        await quiet.start()
        await server.start()
        try:
            await wait_for(
                lambda: any(r.getMessage().startswith("metrics: ") for r in caplog.records)
            )
        finally:
            await server.stop()
            await quiet.stop()
        assert quiet._logger is None
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("metrics: "))
    assert all(label in line for label in metrics_summary())


async def _read_until(stream: asyncio.StreamReader, prefix: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


async def test_the_node_command_takes_the_flags_nwakus_scripts_pass() -> None:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        "--cluster-id=1",
        "--shard=0",
        "--relay=false",
        "--filter=true",
        "--lightpush=true",
        "--metrics-logging=false",
        "--relay-peer-exchange",
        "--rate-limit=store:100/1s",
        "--rate-limit",
        "lightpush : 10/1m",
        "--rest",
        "--rest-port=0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(30):
            await _read_until(process.stdout, "serving filter")
            await _read_until(process.stdout, "serving light push")
            await _read_until(process.stdout, "REST API on ")
            warned = await _read_until_in(process.stderr, "--relay-peer-exchange")
        assert "changes nothing" in warned
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await process.wait()
    assert process.returncode == 0


async def _read_until_in(stream: asyncio.StreamReader, text: str) -> str:
    while line := (await stream.readline()).decode():
        if text in line:
            return line.strip()
    raise AssertionError(f"no line with {text!r}")
