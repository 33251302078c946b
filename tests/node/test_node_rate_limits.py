"""nwaku limits no service unless told to (``--rate-limit``): a fast client is never turned away
by default, and a configured limit is what turns it away."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig, status_service_config
from pystatus.waku.errors import RequestRefused
from pystatus.waku.message import WakuMessage
from pystatus.waku.rate_limit import (
    FILTER_DEFAULT_PER_PEER,
    UNLIMITED,
    PeerRateLimiter,
    ProtocolRateLimits,
    RateLimitedProtocol,
    RateLimitSetting,
)
from pystatus.waku.store import StoreQuery
from tests.p2p.hosts import wait_for, within

SHARD = "/waku/2/rs/1/0"
CONTENT = "/rate/1/t/proto"


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 1,
        "shards": (0,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _message(n: int) -> WakuMessage:
    return WakuMessage(payload=b"%d" % n, content_topic=CONTENT, timestamp=time.time_ns())


async def test_a_fast_client_gets_100_store_pages_and_100_light_pushes(tmp_path: Path) -> None:
    service_config = _config(
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"), lightpush=True
    )
    async with WakuNode(service_config) as service, WakuNode(_config()) as relay_peer:
        await within(relay_peer.connect(service.host.full_addrs()[0]))
        assert service.relay is not None
        await wait_for(lambda: service.relay is not None and service.relay.mesh_size(SHARD) > 0)
        async with WakuNode(_config(relay=False)) as client:
            addr = service.host.full_addrs()[0]
            for n in range(100):
                response = await within(
                    client.store_client.query(
                        addr, StoreQuery(pubsub_topic=SHARD, content_topics=(CONTENT,), limit=1)
                    )
                )
                assert response.status_code == 200, (n, response.status_desc)
            for n in range(100):
                pushed = await within(client.lightpush_client.push(addr, _message(n), SHARD))
                assert pushed.ok, (n, pushed.status_code, pushed.status_desc)


async def test_a_configured_light_push_limit_answers_429() -> None:
    limits = ProtocolRateLimits.parse(["lightpush:2/1h"])
    async with (
        WakuNode(_config(lightpush=True, rate_limits=limits)) as service,
        WakuNode(_config()) as relay_peer,
    ):
        await within(relay_peer.connect(service.host.full_addrs()[0]))
        await wait_for(lambda: service.relay is not None and service.relay.mesh_size(SHARD) > 0)
        async with WakuNode(_config(relay=False)) as client:
            addr = service.host.full_addrs()[0]
            for n in range(2):
                assert (await within(client.lightpush_client.push(addr, _message(n), SHARD))).ok
            with pytest.raises(RequestRefused) as refused:
                await within(client.lightpush_client.push(addr, _message(3), SHARD))
            assert refused.value.status == 429


@pytest.mark.parametrize(
    ("values", "protocol", "expected"),
    [
        ([], RateLimitedProtocol.STOREV3, UNLIMITED),
        ([], RateLimitedProtocol.LIGHTPUSH, UNLIMITED),
        ([], RateLimitedProtocol.FILTER, FILTER_DEFAULT_PER_PEER),
        (["store:100/1s"], RateLimitedProtocol.STOREV3, RateLimitSetting(100, 1.0)),
        (["store:100/1s"], RateLimitedProtocol.STOREV2, RateLimitSetting(100, 1.0)),
        (["storev3:5/1m", "store:100/1s"], RateLimitedProtocol.STOREV3, RateLimitSetting(5, 60.0)),
        (["storev3:5/1m", "store:100/1s"], RateLimitedProtocol.STOREV2, RateLimitSetting(100, 1.0)),
        (["10/2s"], RateLimitedProtocol.PX, RateLimitSetting(10, 2.0)),
        (["10/2s"], RateLimitedProtocol.FILTER, FILTER_DEFAULT_PER_PEER),
        (["10/2s", "px:1/1h"], RateLimitedProtocol.PX, RateLimitSetting(1, 3600.0)),
        ([" LightPush : 3 / 500 MS "], RateLimitedProtocol.LIGHTPUSH, RateLimitSetting(3, 0.5)),
        (
            ["lightpush:1/1s", "lightpush:2/1s"],
            RateLimitedProtocol.LIGHTPUSH,
            RateLimitSetting(2, 1.0),
        ),
        (["filter:0/1s"], RateLimitedProtocol.FILTER, RateLimitSetting(0, 1.0)),
    ],
)
def test_nwaku_rate_limit_grammar(
    values: list[str], protocol: RateLimitedProtocol, expected: RateLimitSetting
) -> None:
    assert ProtocolRateLimits.parse(values).setting(protocol) == expected


@pytest.mark.parametrize(
    "value", ["relay:1/1s", "1/1d", "1.5/1s", "store:1", "store:-1/1s", "", "store:1/1s extra"]
)
def test_bad_rate_limits_are_refused_by_value(value: str) -> None:
    with pytest.raises(ConfigError, match="--rate-limit"):
        ProtocolRateLimits.parse([value])


def test_zero_volume_or_period_is_no_limit() -> None:
    for setting in (RateLimitSetting(0, 1.0), RateLimitSetting(5, 0.0), UNLIMITED):
        assert setting.unlimited and str(setting) == "no-limit"
        limiter = PeerRateLimiter.from_setting(setting)
        assert all(limiter.allow("peer", 0.0) for _ in range(10_000))
    limited = PeerRateLimiter.from_setting(RateLimitSetting(3, 1.0))
    assert [limited.allow("peer", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limited.allow("peer", 0.34)


def test_the_status_service_node_limits_no_filter_subscriber(tmp_path: Path) -> None:
    limits = status_service_config(tmp_path).rate_limits
    assert limits.setting(RateLimitedProtocol.FILTER).unlimited
    assert NodeConfig().rate_limits.setting(RateLimitedProtocol.FILTER) == FILTER_DEFAULT_PER_PEER
