"""The REST server's edge: oversized requests are answered as nwaku answers them, never reset."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx

from pystatus.api.server import MAX_REQUEST_BODY, MAX_REQUEST_HEAD
from pystatus.node import NodeConfig, RestConfig, WakuNode
from tests.api.rest import rest_client, rest_server


@contextlib.asynccontextmanager
async def _api() -> AsyncIterator[httpx.AsyncClient]:
    config = NodeConfig(
        listen_address="127.0.0.1", tcp_port=0, cluster_id=1, relay=False, rest=RestConfig(port=0)
    )
    async with WakuNode(config) as node, rest_client(node) as client:
        yield client


async def _raw_request(url: str, request: bytes) -> bytes:
    """Send ``request`` whole, as a client does before it reads, then read the answer to EOF."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        async with asyncio.timeout(20):
            writer.write(request)
            await writer.drain()
            return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_a_7_mb_query_string_answers_431() -> None:
    async with _api() as api:
        query = b"contentTopics=" + b"a" * 7_000_000
        request = b"GET /store/v3/messages?" + query + b" HTTP/1.1\r\nHost: node\r\n\r\n"
        answer = await _raw_request(str(api.base_url), request)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert body == b"Request Header Fields Too Large"
        # The server carries on.
        assert (await api.get("/debug/v1/version")).status_code == 200


async def test_huge_headers_answer_431_and_a_head_within_the_bound_is_served() -> None:
    async with _api() as api:
        huge = await api.get("/debug/v1/version", headers={"x-big": "b" * 200_000})
        assert huge.status_code == 431
        many = {f"x-h{i}": "c" * 1000 for i in range(100)}
        assert (await api.get("/debug/v1/version", headers=many)).status_code == 431
        fits = await api.get(
            "/debug/v1/version", headers={"x-big": "d" * (MAX_REQUEST_HEAD - 1024)}
        )
        assert fits.status_code == 200


async def test_a_body_that_cannot_be_decoded_is_refused_in_nwakus_words() -> None:
    async with _api() as api:
        missing = await api.post("/lightpush/v1/message", json={"pubsubTopic": "/waku/2/rs/1/0"})
        assert missing.status_code == 400
        assert missing.text.startswith("Invalid content body, could not decode. ")
        assert "message" in missing.text
        nothing = await api.post("/lightpush/v1/message")
        assert (nothing.status_code, nothing.text) == (400, "Missing content body")


async def test_a_body_over_16_mib_answers_413_declared_or_chunked() -> None:
    async with _api() as api:
        body = b"x" * (MAX_REQUEST_BODY + 1)
        head = (
            b"POST /lightpush/v1/message HTTP/1.1\r\nHost: node\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        answer = await _raw_request(str(api.base_url), head + body)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert answer.endswith(b"Request Entity Too Large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(17):
                yield b"y" * (1024 * 1024)

        chunked = await api.post("/lightpush/v1/message", content=chunks())
        assert (chunked.status_code, chunked.text) == (413, "Request Entity Too Large")
        assert (await api.get("/debug/v1/version")).status_code == 200


async def test_answers_go_out_at_once_not_after_the_clients_delayed_ack() -> None:
    config = NodeConfig(
        listen_address="127.0.0.1", tcp_port=0, relay=False, rest=RestConfig(port=0)
    )
    async with (
        WakuNode(config) as node,
        rest_server(node) as server,
        httpx.AsyncClient(base_url=server.url, timeout=20) as api,
    ):
        assert (await api.get("/debug/v1/version")).status_code == 200
        connections = server._server.server_state.connections
        assert connections
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
