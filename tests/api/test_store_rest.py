"""GET /store/v3/messages answers as nwaku's REST API does (issue 15, "Store (REST and
protocol)"): which queries it answers, where it asks, and how it reads each parameter.

nwaku's behaviour is read from its ``waku/rest_api/endpoint/store/handlers.nim`` and
``types.nim`` and from the openapi document (waku-org/waku-rest-api ``storeapi.yaml``).
The app is driven in-process over ASGI, with a real node and a real SQLite archive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.api import store as store_api
from pystatus.api.app import create_app
from pystatus.api.errors import ApiError
from pystatus.archive.base import ArchivedMessage
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.stream import Stream
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import MAX_REQUEST_SIZE, STORE_PROTOCOL_ID
from tests.p2p.hosts import running_host, within

TOPIC = "/waku/2/rs/0/0"
OTHER = "/waku/2/rs/0/1"
CHAT = "/app/1/chat/proto"
NEWS = "/app/1/news/proto"
BASE = 1_700_000_000 * 10**9
PATH = "/store/v3/messages"
NOBODY = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
"""A peer id no test node has."""


def _archived(index: int, *, topic: str = TOPIC, content: str = CHAT) -> ArchivedMessage:
    message = WakuMessage(f"m{index}".encode(), content, timestamp=BASE + index * 10**6)
    return ArchivedMessage.of(topic, message, received_at=BASE + index * 10**6)


HISTORY = [_archived(i) for i in range(30)] + [
    _archived(100, topic=OTHER),
    _archived(101, topic=OTHER, content=NEWS),
    _archived(102, content=NEWS),
]


def _closed_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, **overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 0,
        "shards": (0, 1),
        "store": StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _api(config: NodeConfig) -> AsyncIterator[tuple[WakuNode, httpx.AsyncClient]]:
    async with WakuNode(config) as node:
        if node.store is not None:
            await node.store.archive.insert(HISTORY)
        transport = httpx.ASGITransport(app=create_app(node))
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            yield node, client


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _api(_config(tmp_path)) as (_, client):
        yield client


async def _get(api: httpx.AsyncClient, query: str) -> httpx.Response:
    """GET with ``query`` sent exactly as written (no re-encoding)."""
    return await within(api.get(f"{PATH}?{query}"))


def _hashes(reply: httpx.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["statusCode"] == 200, body
    return [entry["messageHash"] for entry in body["messages"]]


def _hex(*archived: ArchivedMessage) -> list[str]:
    return ["0x" + m.hash.hex() for m in archived]


def _bad_request(reply: httpx.Response, *wording: str) -> None:
    """nwaku's refusal: 400 with a plain-text body (its ``RestApiResponse.badRequest``)."""
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text.startswith(wording), reply.text


async def test_pubsub_topic_alone_is_answered(api: httpx.AsyncClient) -> None:
    # The example, byte for byte.
    reply = await _get(api, "pubsubTopic=%2Fwaku%2F2%2Frs%2F0%2F0&pageSize=5&ascending=true")
    assert _hashes(reply) == _hex(*HISTORY[:5])
    reply = await _get(api, f"pubsubTopic={quote(OTHER, safe='')}&includeData=true")
    body = reply.json()
    assert [m["pubsubTopic"] for m in body["messages"]] == [OTHER, OTHER]
    assert body["messages"][0]["message"]["payload"] == base64.b64encode(b"m100").decode()


async def test_content_topics_alone_are_answered_across_shards(api: httpx.AsyncClient) -> None:
    reply = await _get(api, f"contentTopics={quote(NEWS, safe='')}")
    assert _hashes(reply) == _hex(HISTORY[-2], HISTORY[-1])  # shard 1's, then shard 0's


async def test_a_store_node_with_a_storenode_answers_from_its_own_archive(
    tmp_path: Path,
) -> None:
    storenode = Multiaddr.from_string(f"/ip4/127.0.0.1/tcp/{_closed_port()}/p2p/{NOBODY}")
    async with _api(_config(tmp_path, storenode=storenode)) as (_, api):
        reply = await _get(api, "pageSize=100")
        assert len(_hashes(reply)) == len(HISTORY)


async def test_a_node_without_a_store_asks_its_storenode(tmp_path: Path) -> None:
    async with (
        _api(_config(tmp_path / "a")) as (store, _),
        _api(_config(tmp_path / "b", store=None, storenode=store.host.full_addrs()[0])) as (_, api),
    ):
        reply = await _get(api, "pageSize=3&ascending=false")
        assert _hashes(reply) == _hex(*HISTORY[-3:])


async def test_without_store_or_storenode_it_is_412(tmp_path: Path) -> None:
    async with _api(_config(tmp_path, store=None)) as (_, api):
        reply = await _get(api, "")
        assert reply.status_code == 412
        assert reply.headers["content-type"].startswith("text/plain")
        assert reply.text == "No suitable service peer & no discovery method"


async def test_time_range_is_inclusive(api: httpx.AsyncClient) -> None:
    at = HISTORY[7].message.timestamp
    assert _hashes(await _get(api, f"startTime={at}&endTime={at}")) == _hex(HISTORY[7])
    start, end = HISTORY[10].message.timestamp, HISTORY[19].message.timestamp
    reply = await _get(api, f"pubsubTopic={quote(TOPIC)}&startTime={start}&endTime={end}")
    assert _hashes(reply) == _hex(*HISTORY[10:20])


async def test_zero_and_negative_times_are_no_bound(api: httpx.AsyncClient) -> None:
    """nwaku's ``parseTime`` keeps only positive times; anything else leaves the bound out."""
    everything = _hashes(await _get(api, "pageSize=100"))
    assert len(everything) == len(HISTORY)
    for value in ("0", "-1", "-9223372036854775808", ""):
        for name in ("startTime", "endTime"):
            reply = await _get(api, f"pageSize=100&{name}={value}")
            assert _hashes(reply) == everything, (name, value)


async def test_times_that_are_not_int64_are_refused(api: httpx.AsyncClient) -> None:
    reply = await _get(api, "endTime=9223372036854775807")
    assert len(_hashes(reply)) == 20
    for value in ("9223372036854775808", "99999999999999999999999", "1.5", "soon", "1e9"):
        for name in ("startTime", "endTime"):
            _bad_request(await _get(api, f"{name}={value}"), "time parsing error")


async def test_topics_unencoded_or_double_encoded(api: httpx.AsyncClient) -> None:
    expected = _hex(HISTORY[-2])
    for pubsub in (OTHER, quote(OTHER, safe=""), quote(quote(OTHER, safe=""), safe="")):
        for content in (NEWS, quote(NEWS, safe=""), quote(quote(NEWS, safe=""), safe="")):
            reply = await _get(api, f"pubsubTopic={pubsub}&contentTopics={content}")
            assert _hashes(reply) == expected, (pubsub, content)
    # A double-encoded list: the comma is encoded twice too.
    both = quote(quote(f"{CHAT},{NEWS}", safe=""), safe="")
    reply = await _get(api, f"pubsubTopic={quote(OTHER, safe='')}&contentTopics={both}")
    assert _hashes(reply) == _hex(HISTORY[-3], HISTORY[-2])


def _encodings(digest: bytes) -> list[str]:
    """Every spelling of a hash nwaku's REST API reads (hex since v0.35, base64 before)."""
    standard = base64.b64encode(digest).decode()
    url = base64.urlsafe_b64encode(digest).decode()
    return [
        "0x" + digest.hex(),
        digest.hex(),
        "0x" + digest.hex().upper(),
        "0X" + digest.hex(),
        quote(standard, safe=""),
        quote(quote(standard, safe=""), safe=""),
        standard.replace("/", "%2F").replace("=", "%3D"),  # a raw '+' arrives as a space
        url,
        url.rstrip("="),
        standard.rstrip("="),
    ]


async def test_hashes_in_every_encoding(api: httpx.AsyncClient) -> None:
    # Pick messages whose base64 has a '+' or '/' somewhere, so the alphabets differ.
    wanted = [
        m
        for m in HISTORY
        if set(base64.b64encode(m.hash).decode()) & {"+", "/"}
        and m.pubsub_topic == TOPIC
        and m.message.content_topic == CHAT
    ][:2]
    assert len(wanted) == 2
    for spellings in zip(*(_encodings(m.hash) for m in wanted), strict=True):
        reply = await _get(api, f"hashes={','.join(spellings)}")
        assert sorted(_hashes(reply)) == sorted(_hex(*wanted)), spellings


async def test_cursors_in_every_encoding(api: httpx.AsyncClient) -> None:
    first = (await _get(api, f"pubsubTopic={quote(TOPIC)}&pageSize=4")).json()
    assert first["paginationCursor"] == _hex(HISTORY[3])[0]
    for spelling in _encodings(HISTORY[3].hash):
        reply = await _get(api, f"pubsubTopic={quote(TOPIC)}&pageSize=4&cursor={spelling}")
        assert _hashes(reply) == _hex(*HISTORY[4:8]), spelling


async def test_malformed_hashes_and_cursors_are_refused_as_nwaku_does(
    api: httpx.AsyncClient,
) -> None:
    bad_length = "waku message hash parsing error: invalid hash length"
    not_hex = "Exception converting hex string to bytes"
    cases = {
        "0x12": bad_length,
        "0x" + "ab" * 33: bad_length,
        "ab" * 31: bad_length,
        base64.b64encode(b"\x01" * 31).decode(): bad_length,
        "0x" + "zz" * 32: not_hex,
        "0x" + "a" * 63: not_hex,
        "not*a*hash": not_hex,
        "%00%01": not_hex,
    }
    for text, wording in cases.items():
        for name in ("cursor", "hashes"):
            _bad_request(await _get(api, f"{name}={quote(text, safe='')}"), wording)


async def test_other_parameters_read_as_nwaku_reads_them(api: httpx.AsyncClient) -> None:
    topic = f"pubsubTopic={quote(TOPIC)}&contentTopics={quote(CHAT)}"
    # includeData: false unless asked (the openapi's default); Nim's parseBool spellings.
    plain = (await _get(api, f"{topic}&pageSize=1")).json()
    assert set(plain["messages"][0]) == {"messageHash"}
    for spelling in ("true", "TRUE", "yes", "1", "on"):
        full = (await _get(api, f"{topic}&pageSize=1&includeData={spelling}")).json()
        assert full["messages"][0]["pubsubTopic"] == TOPIC, spelling
        assert full["messages"][0]["message"]["contentTopic"] == CHAT
    _bad_request(await _get(api, "includeData=maybe"), "include data parsing error")
    # ascending: forward unless given as something other than "true".
    assert _hashes(await _get(api, f"{topic}&pageSize=2")) == _hex(*HISTORY[:2])
    for spelling in ("false", "no", "True"):
        reply = await _get(api, f"{topic}&pageSize=2&ascending={spelling}")
        assert _hashes(reply) == _hex(*HISTORY[28:30]), spelling
    # pageSize: 20 by default and for 0, capped at 100, negatives wrap (unsigned) to the cap.
    for size, count in (("0", 20), ("", 20), ("7", 7), ("1000", 30), ("-1", 30)):
        reply = await _get(api, f"{topic}&pageSize={size}")
        assert len(_hashes(reply)) == count, size
    _bad_request(await _get(api, "pageSize=ten"), "page size parsing error")
    # The last page carries no cursor at all (nwaku leaves the field out).
    assert "paginationCursor" not in (await _get(api, f"{topic}&pageSize=100")).json()


async def test_a_store_peers_answers_pass_through_as_nwaku_passes_them(tmp_path: Path) -> None:
    """With peerAddr, nwaku hands the store peer's refusal on in a 200 carrying its code, and a
    failed dial as its own 504 (PEER_DIAL_FAILURE) in a 200; a bad address is a plain 400."""
    async with (
        _api(_config(tmp_path / "a")) as (store, _),
        _api(_config(tmp_path / "b", store=None)) as (_, api),
    ):
        peer = quote(str(store.host.full_addrs()[0]), safe="")
        reply = await _get(api, f"peerAddr={peer}&pageSize=2&ascending=false")
        assert _hashes(reply) == _hex(*HISTORY[-2:])
        mixed = f"hashes={HISTORY[0].hash.hex()}&contentTopics={quote(CHAT, safe='')}"
        refused = await _get(api, f"peerAddr={peer}&{mixed}")
        assert refused.status_code == 200
        assert refused.json()["statusCode"] == 400 and refused.json()["messages"] == []
        gone = quote(f"/ip4/127.0.0.1/tcp/{_closed_port()}/p2p/{NOBODY}", safe="")
        unreachable = await _get(api, f"peerAddr={gone}")
        assert unreachable.status_code == 200
        assert unreachable.json()["statusCode"] == 504
        assert unreachable.json()["statusDesc"].startswith("PEER_DIAL_FAILURE")
        _bad_request(await _get(api, "peerAddr=nonsense"), "Failed parsing remote peer info")


async def test_a_store_peers_429_is_a_plain_429(tmp_path: Path) -> None:
    limited = StoreConfig(
        db_url=f"sqlite:///{tmp_path}/a.sqlite3", resume=False, peer_rate=0.001, peer_burst=1
    )
    async with (
        _api(_config(tmp_path / "a", store=limited)) as (store, _),
        _api(_config(tmp_path / "b", store=None)) as (_, api),
    ):
        peer = quote(str(store.host.full_addrs()[0]), safe="")
        assert len(_hashes(await _get(api, f"peerAddr={peer}"))) == 20
        flooded = await _get(api, f"peerAddr={peer}")
        assert flooded.status_code == 429
        assert flooded.headers["content-type"].startswith("text/plain")
        assert flooded.text == "Request rate limit reached"


async def test_local_refusals_are_plain_text(tmp_path: Path) -> None:
    """From its own archive, nwaku's answers other than 200 are plain text: a cursor naming no
    stored message is the caller's mistake (400), an archive that fails is a 500."""
    async with _api(_config(tmp_path)) as (node, api):
        _bad_request(await _get(api, f"cursor={'ab' * 32}"), "pagination cursor not found")
        assert node.store is not None
        await node.store.archive.close()
        failed = await _get(api, "")
        assert failed.status_code == 500, failed.text
        assert failed.headers["content-type"].startswith("text/plain")


async def test_a_silent_store_peer_is_a_500_after_nwakus_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nwaku waits 5 s (its ``futTimeout``) for a store peer, then answers 500 in plain text;
    the wait is shortened here, the answer is the same."""
    monkeypatch.setattr(store_api, "REMOTE_QUERY_TIMEOUT", 0.5)

    async def never_answers(stream: Stream) -> None:
        await stream.read_message(MAX_REQUEST_SIZE)
        await asyncio.Event().wait()  # cancelled when the host stops

    async with running_host() as silent, _api(_config(tmp_path, store=None)) as (_, api):
        silent.set_stream_handler(STORE_PROTOCOL_ID, never_answers)
        peer = quote(str(silent.full_addrs()[0]), safe="")
        reply = await _get(api, f"peerAddr={peer}")
        assert reply.status_code == 500
        assert reply.headers["content-type"].startswith("text/plain")
        assert reply.text == "No history response received (timeout)"


@given(text=st.text(max_size=6000))
def test_parameter_readers_refuse_with_a_400_and_nothing_else(text: str) -> None:
    """Whatever arrives, each reader answers a value or an ApiError, never another exception (a
    5,000-digit time once would have been a ValueError from int(), a 500)."""
    for reader in (
        store_api.parse_hash,
        store_api._parse_time,
        store_api._parse_page_size,
        store_api._parse_include_data,
        store_api._parse_hashes,
    ):
        with contextlib.suppress(ApiError):
            reader(text)


def test_very_long_numbers_are_refused() -> None:
    for reader in (store_api._parse_time, store_api._parse_page_size):
        with pytest.raises(ApiError):
            reader("1" * 5000)
