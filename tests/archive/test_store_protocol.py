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
from tests.archive.test_archive import TOPIC, make
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
        _store_pair(archive, peer_rate=0.001, peer_burst=6) as (server, client, _),
    ):
        bad = [
            StoreQuery(pubsub_topic=TOPIC),  # pubsub topic without content topics
            StoreQuery(content_topics=("/a/1/b/c",)),
            StoreQuery(message_hashes=(b"short",)),
            StoreQuery(
                message_hashes=(b"\x00" * 32,), content_topics=("/a/1/b/c",), pubsub_topic=TOPIC
            ),
            StoreQuery(time_start=10, time_end=5),
            StoreQuery(cursor=b"\x01" * 32),  # names no stored message
        ]
        for query in bad:
            with pytest.raises(StoreError) as excinfo:
                await client.query(server.peer_id, query)
            assert excinfo.value.status == 400, query
        with pytest.raises(StoreError) as excinfo:
            await client.query(server.peer_id, StoreQuery())
        assert excinfo.value.status == 429


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
