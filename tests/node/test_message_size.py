"""The Waku message size limit follows the cluster (1 MiB on 16, the Status network, as
status-go; 150 KiB elsewhere) unless --max-msg-size sets it."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from pystatus.cli import nwaku_args
from pystatus.cli.main import app
from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.errors import LocalWakuError
from pystatus.waku.lightpush import LightPushError, LightPushRequest, StatusCode
from pystatus.waku.message import (
    MAX_MESSAGE_SIZE,
    STATUS_MAX_MESSAGE_SIZE,
    WakuMessage,
    max_message_size,
)
from tests.p2p.hosts import wait_for, within

CONTENT = "/pystatus/1/size/proto"
KIB, MIB = 1024, 1024 * 1024


def _config(cluster_id: int, **overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": cluster_id,
        "shards": (0,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _message(size: int) -> WakuMessage:
    return WakuMessage(b"\x01" * size, CONTENT, timestamp=time.time_ns())


def test_limit_follows_the_cluster_unless_set() -> None:
    assert max_message_size(16) == STATUS_MAX_MESSAGE_SIZE == MIB
    assert max_message_size(0) == max_message_size(1) == MAX_MESSAGE_SIZE == 150 * KIB
    assert _config(16).message_size_limit == MIB
    assert _config(1).message_size_limit == 150 * KIB
    assert _config(16, max_message_size=150 * KIB).message_size_limit == 150 * KIB
    assert _config(1, max_message_size=MIB).message_size_limit == MIB


@pytest.mark.parametrize("size", [0, 1023, 4 * MIB])
def test_limit_out_of_range_is_a_config_error(size: int) -> None:
    with pytest.raises(ConfigError, match="--max-msg-size"):
        _config(16, max_message_size=size)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150KiB", 150 * KIB),
        ("1MiB", MIB),
        ("15 KiB", 15 * KIB),  # nwaku's own tests
        ("  1048576 B", MIB),
        ("150   b", 150),
        ("1.5KiB", 1536),
        ("1,5 KB", 1500),
        ("2MB", 2_000_000),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert nwaku_args.parse_size("max-msg-size", text) == expected


@pytest.mark.parametrize("text", ["1024", "1 iB", "1 GiB", "KiB", "1KiB ", "-1KiB", ""])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--max-msg-size"):
        nwaku_args.parse_size("max-msg-size", text)


def test_cli_refuses_a_bad_size() -> None:
    result = CliRunner().invoke(app, ["node", "--max-msg-size=lots"])
    assert result.exit_code == 2
    assert "--max-msg-size" in result.output


async def _relay_pair(config: NodeConfig) -> tuple[WakuNode, WakuNode]:
    a, b = WakuNode(config), WakuNode(config)
    await a.start()
    await b.start()
    await within(b.connect(a.host.full_addrs()[0]))
    topic = config.relay_topics[0]
    await wait_for(lambda: a.require_relay().mesh_size(topic) > 0, timeout=15, what="mesh")
    await wait_for(lambda: b.require_relay().mesh_size(topic) > 0, timeout=15, what="mesh")
    return a, b


async def test_status_cluster_relays_and_light_pushes_messages_over_150_kib() -> None:
    config = _config(16, lightpush=True)
    a, b = await _relay_pair(config)
    try:
        topic = config.relay_topics[0]
        subscription = b.require_relay().subscribe(topic)
        big = _message(900 * KIB)
        await a.publish(topic, big)
        received = await within(anext(subscription), 10)
        assert received.message.payload == big.payload
        with pytest.raises(LocalWakuError, match="too_large"):
            await a.publish(topic, _message(MIB))
        # Light push over the wire: a 1000 KiB message is taken, a larger one answered 413.
        pushed = await within(b.lightpush_client.push(a.peer_id, _message(1000 * KIB), topic))
        assert pushed.status_code == StatusCode.SUCCESS
        with pytest.raises(LightPushError) as refused:
            await within(b.lightpush_client.push(a.peer_id, _message(MIB + 10 * KIB), topic))
        assert refused.value.status == StatusCode.PAYLOAD_TOO_LARGE
    finally:
        await b.stop()
        await a.stop()


async def test_other_clusters_keep_150_kib_and_the_flag_overrides() -> None:
    node = WakuNode(_config(1))
    assert node.require_relay().config.max_message_size == 150 * KIB
    assert node.lightpush_server is not None
    request = LightPushRequest(message=_message(200 * KIB), pubsub_topic=_config(1).relay_topics[0])
    refused = await node.lightpush_server.handle(request, None)
    assert refused.status_code == StatusCode.PAYLOAD_TOO_LARGE
    with pytest.raises(LocalWakuError, match="too_large"):
        await node.publish(_config(1).relay_topics[0], _message(200 * KIB))
    smaller = WakuNode(_config(16, max_message_size=150 * KIB))
    assert smaller.require_relay().config.max_message_size == 150 * KIB


def test_message_age_follows_the_cluster() -> None:
    """64/WAKU2-NETWORK's 20 s age limit holds off the Status cluster, which has none."""
    status = WakuNode(NodeConfig(cluster_id=16, tcp_port=0, listen_address="127.0.0.1"))
    waku = WakuNode(NodeConfig(cluster_id=1, tcp_port=0, listen_address="127.0.0.1"))
    assert status.relay is not None and waku.relay is not None
    assert status.relay.config.max_message_age_ns is None
    assert waku.relay.config.max_message_age_ns == 20 * 10**9
