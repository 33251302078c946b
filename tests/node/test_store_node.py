"""A store node: archives what it relays, answers GET /store/v3/messages, resumes after downtime."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from pystatus.api.server import RestServer
from pystatus.archive.base import Archive
from pystatus.archive.open import open_archive
from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.store import StoreQuery
from tests.archive.backends import PG_URL, postgres_schema
from tests.p2p.hosts import wait_for, within

TOPIC = "/waku/2/rs/1/0"
CONTENT = "/app/1/chat/proto"


def _config(tmp_path: Path, **overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 1,
        "shards": (0,),
        "rest": RestConfig(port=0),
        "store": StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _api(node: WakuNode) -> AsyncIterator[httpx.AsyncClient]:
    assert node.config.rest is not None
    server = RestServer(node, node.config.rest)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as c:
            yield c
    finally:
        await server.stop()


def _message(index: int) -> WakuMessage:
    return WakuMessage(f"msg {index}".encode(), CONTENT, timestamp=time.time_ns() + index)


async def _relayed(store: WakuNode, sender: WakuNode, count: int) -> list[WakuMessage]:
    await within(sender.connect(store.host.full_addrs()[0]))
    await wait_for(lambda: sender.relay is not None and sender.relay.mesh_size(TOPIC) > 0, 15)
    assert sender.relay is not None
    sent = [_message(i) for i in range(count)]
    for message in sent:
        sender.relay.publish(TOPIC, message)
    assert store.store is not None
    archive = store.store.archive

    await _until_count(archive, count)
    return sent


async def _until_count(archive: Archive, count: int) -> None:
    """Wait, with a deadline, until ``archive`` holds ``count`` messages."""

    async def reached() -> None:
        while await archive.count() < count:
            await asyncio.sleep(0.02)

    await within(reached(), 15)


async def test_relayed_messages_are_archived_and_served_over_rest(tmp_path: Path) -> None:
    async with (
        WakuNode(_config(tmp_path)) as store,
        WakuNode(_config(tmp_path, store=None, rest=None)) as sender,
        _api(store) as api,
    ):
        sent = await _relayed(store, sender, 30)
        params = {
            "pubsubTopic": TOPIC,
            "contentTopics": CONTENT,
            "pageSize": "25",
            "ascending": "true",
            "includeData": "true",
        }
        first = (await api.get("/store/v3/messages", params=params)).json()
        assert first["statusCode"] == 200 and len(first["messages"]) == 25
        second = (
            await api.get(
                "/store/v3/messages", params=params | {"cursor": first["paginationCursor"]}
            )
        ).json()
        got = first["messages"] + second["messages"]
        assert second.get("paginationCursor") is None
        assert [m["messageHash"] for m in got] == [
            "0x" + message_hash(TOPIC, m).hex() for m in sent
        ]
        assert base64.b64decode(got[0]["message"]["payload"]) == sent[0].payload
        # A hash look-up, base64 on the way in as js-waku's tools write it.
        wanted = base64.b64encode(message_hash(TOPIC, sent[7])).decode()
        found = (await api.get("/store/v3/messages", params={"hashes": wanted})).json()
        assert [m["messageHash"] for m in found["messages"]] == [
            "0x" + message_hash(TOPIC, sent[7]).hex()
        ]
        # A pubsub topic alone is a query nwaku answers.
        by_topic = await api.get("/store/v3/messages", params={"pubsubTopic": TOPIC})
        assert by_topic.status_code == 200 and by_topic.json()["statusCode"] == 200
        bad = await api.get("/store/v3/messages", params={"hashes": "nothex"})
        assert bad.status_code == 400


async def test_rest_queries_a_remote_store_with_peer_addr(tmp_path: Path) -> None:
    async with (
        WakuNode(_config(tmp_path)) as store,
        WakuNode(_config(tmp_path, store=None)) as client,
        _api(client) as api,
    ):
        sent = await _relayed(store, client, 5)
        reply = await api.get(
            "/store/v3/messages",
            params={"peerAddr": str(store.host.full_addrs()[0]), "ascending": "false"},
        )
        body = reply.json()
        assert reply.status_code == 200, body
        assert len(body["messages"]) == 5
        assert body["messages"][-1]["messageHash"] == "0x" + message_hash(TOPIC, sent[-1]).hex()
        no_store = await api.get("/store/v3/messages")
        assert no_store.status_code == 412


async def test_rest_publish_on_a_store_node_is_archived_before_ok(tmp_path: Path) -> None:
    async with (
        WakuNode(_config(tmp_path)) as store,
        WakuNode(_config(tmp_path, store=None, rest=None)) as peer,
        _api(store) as api,
    ):
        await within(peer.connect(store.host.full_addrs()[0]))
        await wait_for(lambda: store.relay is not None and store.relay.mesh_size(TOPIC) > 0, 15)
        message = _message(1)
        body = {
            "payload": base64.b64encode(message.payload).decode(),
            "contentTopic": CONTENT,
            "timestamp": message.timestamp,
        }
        reply = await api.post(f"/relay/v1/messages/{quote(TOPIC, safe='')}", json=body)
        assert reply.status_code == 200
        assert store.store is not None
        entries, _ = await store.store.archive.query(
            StoreQuery(message_hashes=(message_hash(TOPIC, message),))
        )
        assert len(entries) == 1  # committed by the time the API said OK


async def test_resume_fetches_what_was_missed_without_relaying_it_again(tmp_path: Path) -> None:
    keeper_dir, late_dir = tmp_path / "keeper", tmp_path / "late"
    late_key = Secp256k1PrivateKey.generate()
    async with (
        WakuNode(_config(keeper_dir)) as keeper,
        WakuNode(_config(keeper_dir, store=None, rest=None)) as sender,
    ):
        late_config = _config(late_dir, identity=late_key, rest=None)
        # The late node runs once, sees the first messages, and stops.
        async with WakuNode(late_config) as late:
            await within(late.connect(keeper.host.full_addrs()[0]))
            first = await _relayed(keeper, sender, 10)
            assert late.store is not None
            await _until_count(late.store.archive, 10)
        # While it is down, more is relayed.
        assert sender.relay is not None
        missed = [_message(100 + i) for i in range(15)]
        for message in missed:
            sender.relay.publish(TOPIC, message)
        assert keeper.store is not None
        await _until_count(keeper.store.archive, 25)
        storenode = Multiaddr.from_string(str(keeper.host.full_addrs()[0]))
        async with WakuNode(
            _config(late_dir, identity=late_key, rest=None, storenode=storenode)
        ) as back:
            assert back.store is not None
            await _until_count(back.store.archive, 25)
            assert back.relay is not None
            assert back.relay.router.counters["messages_published"] == 0
        assert len(first) == 10


async def test_postgres_backed_store_node(tmp_path: Path) -> None:
    async with postgres_schema() as schema:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        async with (
            WakuNode(_config(tmp_path, store=StoreConfig(db_url=url))) as store,
            WakuNode(_config(tmp_path, store=None, rest=None)) as sender,
            _api(store) as api,
        ):
            sent = await _relayed(store, sender, 12)
            body = (await api.get("/store/v3/messages", params={"pageSize": "100"})).json()
            assert len(body["messages"]) == len(sent)
            assert store.store is not None and "postgres" in store.store.archive.url


def test_bad_db_urls_are_refused() -> None:
    with pytest.raises(ConfigError, match="store-message-db-url"):
        StoreConfig(db_url="mysql://x")
    with pytest.raises(ConfigError, match="needs a path"):
        open_archive("sqlite://")
