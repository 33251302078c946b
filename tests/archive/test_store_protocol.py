"""Store v3 between pystatus hosts, answered from a real archive; the codec under fuzzing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.archive.base import Archive
from pystatus.p2p.host import Host
from pystatus.waku.errors import DecodeError
from pystatus.waku.store import (
    StoreBackendError,
    StoreClient,
    StoreError,
    StoreQuery,
    StoreResponse,
    StoreServer,
)
from tests.archive.backends import open_backend
from tests.archive.test_archive import OTHER_TOPIC, TOPIC, make
from tests.p2p.hosts import running_host, within


@contextlib.asynccontextmanager
async def _store_pair(
    archive: Archive, **limits: float
) -> AsyncIterator[tuple[Host, StoreClient, StoreServer]]:
    async with running_host() as server_host, running_host() as client_host:
        server = StoreServer(server_host, archive, **limits)
        server.start()
        await within(client_host.connect(server_host.full_addrs()[0]))
        yield server_host, StoreClient(client_host), server


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_paged_queries_over_the_network(backend: str, tmp_path: Path) -> None:
    async with open_backend(backend, tmp_path) as archive:
        messages = [make(i) for i in range(55)]
        await archive.insert(messages)
        async with _store_pair(archive) as (server, client, _):
            pages = [
                page
                async for page in client.query_all(
                    server.peer_id,
                    StoreQuery(
                        pubsub_topic=TOPIC, content_topics=("/app/1/a/proto",), forward=True
                    ),
                )
            ]
            assert [len(p.entries) for p in pages] == [20, 20, 15]
            got = [e for p in pages for e in p.entries]
            assert [e.hash for e in got] == [m.hash for m in messages]
            assert got[0].message == messages[0].message
            assert got[0].pubsub_topic == TOPIC
            hashes_only = await client.query(
                server.peer_id, StoreQuery(include_data=False, limit=3, forward=False)
            )
            assert [e.hash for e in hashes_only.entries] == [m.hash for m in messages[-3:]]
            assert all(e.message is None for e in hashes_only.entries)
            assert hashes_only.cursor == messages[-3].hash


async def test_bad_requests_answer_400_and_floods_429(tmp_path: Path) -> None:
    async with (
        open_backend("sqlite", tmp_path) as archive,
        _store_pair(archive, peer_rate=0.001, peer_burst=3) as (server, client, _),
    ):
        bad = [
            StoreQuery(message_hashes=(b"short",)),
            StoreQuery(
                message_hashes=(b"\x00" * 32,), content_topics=("/a/1/b/c",), pubsub_topic=TOPIC
            ),
            StoreQuery(cursor=b"\x01" * 32),  # names no stored message
        ]
        for query in bad:
            with pytest.raises(StoreError) as excinfo:
                await client.query(server.peer_id, query)
            assert excinfo.value.status == 400, query
        with pytest.raises(StoreError) as excinfo:
            await client.query(server.peer_id, StoreQuery())
        assert excinfo.value.status == 429


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_queries_nwaku_serves_beyond_the_rfc(backend: str, tmp_path: Path) -> None:
    """nwaku answers a pubsub topic alone, content topics alone (across every pubsub topic it
    archived), an inclusive time range, and a range that is empty: all 200, over the wire."""
    async with open_backend(backend, tmp_path) as archive:
        messages = [
            make(0, content="/app/1/a/proto"),
            make(1, content="/app/1/b/proto"),
            make(2, content="/app/1/a/proto", topic=OTHER_TOPIC),
            make(3, content="/app/1/c/proto", topic=OTHER_TOPIC),
        ]
        await archive.insert(messages)
        async with _store_pair(archive) as (server, client, _):

            async def hashes(query: StoreQuery) -> list[bytes]:
                response = await within(client.query(server.peer_id, query))
                assert response.status_code == 200 and response.status_desc == "OK"
                return [entry.hash for entry in response.entries]

            by_topic = await hashes(StoreQuery(pubsub_topic=OTHER_TOPIC, forward=True))
            assert by_topic == [messages[2].hash, messages[3].hash]
            by_content = await hashes(StoreQuery(content_topics=("/app/1/a/proto",)))
            assert by_content == [messages[0].hash, messages[2].hash]
            at = messages[1].timestamp
            assert await hashes(StoreQuery(time_start=at, time_end=at)) == [messages[1].hash]
            assert await hashes(StoreQuery(time_start=at + 1, time_end=at)) == []


class _BrokenBackend:
    async def query(self, query: StoreQuery) -> tuple[list[object], bytes | None]:
        raise StoreBackendError("database connection lost")


async def test_backend_failure_answers_503() -> None:
    async with running_host() as server_host, running_host() as client_host:
        StoreServer(server_host, _BrokenBackend()).start()  # type: ignore[arg-type]
        with pytest.raises(StoreError) as excinfo:
            await within(StoreClient(client_host).query(server_host.full_addrs()[0], StoreQuery()))
        assert excinfo.value.status == 503


def test_request_round_trip() -> None:
    query = StoreQuery(
        include_data=True,
        pubsub_topic=TOPIC,
        content_topics=("/a/1/b/c", "/a/1/d/c"),
        time_start=-5,
        time_end=2**62,
        cursor=b"\x07" * 32,
        forward=True,
        limit=0,
    )
    assert StoreQuery.from_bytes(query.to_bytes()) == query
    assert query.page_size == 20


@given(st.binary(max_size=300))
def test_fuzz_request_decoder(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        StoreQuery.from_bytes(data)


@given(st.binary(max_size=300))
def test_fuzz_response_decoder(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        StoreResponse.from_bytes(data)
