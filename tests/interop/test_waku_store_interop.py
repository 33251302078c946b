"""js-waku's store client (npm @waku/sdk light node) querying a pystatus store node."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.archive.base import ArchivedMessage
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.waku.message import WakuMessage
from tests.interop.harness import NodePeer

pytestmark = pytest.mark.interop

TOPIC = "/waku/2/rs/1/3"  # where auto-sharding puts both content topics on cluster 1
CHAT = "/toychat/2/huilong/proto"
OTHER = "/toychat/2/other/proto"
COUNT = 250
STEP_NS = 60 * 10**9  # a message a minute: the 250 span about four hours


@contextlib.asynccontextmanager
async def _store_node(tmp_path: Path) -> AsyncIterator[tuple[WakuNode, list[ArchivedMessage]]]:
    config = NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=1,
        shards=(3,),
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"),
    )
    async with WakuNode(config) as node:
        assert node.store is not None
        # js-waku sends a Date bound as ms * 1e6 in a double, exact only for multiples of 256
        # ns at today's magnitude (2^60..2^61 ns); multiples of 4 ms (and a 60 s step) are both,
        # so its bounds land exactly on message timestamps.
        base = (time.time_ns() - COUNT * STEP_NS) // 4_000_000 * 4_000_000
        messages = [
            ArchivedMessage.of(
                TOPIC,
                WakuMessage(
                    f"message {i}".encode(),
                    CHAT if i % 5 else OTHER,
                    timestamp=base + i * STEP_NS,
                ),
                received_at=base + i * STEP_NS,
            )
            for i in range(COUNT)
        ]
        await node.store.archive.insert(messages)
        yield node, messages


@contextlib.asynccontextmanager
async def _js_client(node: WakuNode) -> AsyncIterator[NodePeer]:
    client = await NodePeer.start(script="waku_store_client.mjs")
    try:
        await client.call("dial", timeout=30, addr=str(node.host.full_addrs()[0]))
        yield client
    finally:
        await client.stop()


def _hashes(reply: dict[str, object]) -> list[str]:
    messages = reply["messages"]
    assert isinstance(messages, list)
    return [str(m["hash"]) for m in messages]


async def test_js_waku_store_queries(tmp_path: Path) -> None:
    async with _store_node(tmp_path) as (node, messages), _js_client(node) as js:
        chat = [m for m in messages if m.message.content_topic == CHAT]

        forward = await js.call("query", timeout=60, contentTopic=CHAT, forward=True, limit=20)
        assert _hashes(forward) == [m.hash.hex() for m in chat]
        assert forward["pages"] >= len(chat) // 20

        backward = await js.call("query", timeout=60, contentTopic=CHAT, forward=False, limit=20)
        # js-waku yields the newest page first; each page is in ascending order.
        pages = [chat[max(0, end - 20) : end] for end in range(len(chat), 0, -20)]
        assert _hashes(backward) == [m.hash.hex() for page in pages for m in page]

        # Both ends inclusive, as nwaku answers: [ts(m51), ts(m101)] holds m51 and m101.
        start, end = messages[51].timestamp, messages[101].timestamp
        ranged = await js.call(
            "query",
            timeout=60,
            contentTopic=CHAT,
            forward=True,
            timeStartMs=start // 10**6,
            timeEndMs=end // 10**6,
        )
        assert _hashes(ranged) == [m.hash.hex() for m in chat if start <= m.timestamp <= end]
        assert _hashes(ranged)[-1] == messages[101].hash.hex()

        other = await js.call("query", timeout=60, contentTopic=OTHER, forward=True)
        assert _hashes(other) == [
            m.hash.hex() for m in messages if m.message.content_topic == OTHER
        ]
        assert {m["contentTopic"] for m in other["messages"]} == {OTHER}

        wanted = [chat[7].hash.hex(), chat[42].hash.hex()]
        looked_up = await js.call("query", timeout=60, contentTopic=CHAT, hashesHex=wanted)
        assert sorted(_hashes(looked_up)) == sorted(wanted)
        first = looked_up["messages"][0]
        assert bytes.fromhex(first["payloadHex"]).startswith(b"message ")
