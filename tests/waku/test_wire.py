"""The request/response skeleton every Waku service shares: ``serve_one`` against ``request``."""

from __future__ import annotations

import pytest

from pystatus.p2p.errors import P2PError
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import metrics, wire
from tests.p2p.hosts import running_host, wait_for, within

PROTOCOL = "/pystatus/test-serve-one/1.0.0"


def errors(kind: str) -> float:
    value: float = metrics.PROTOCOL_ERRORS.labels("test_wire", kind)._value.get()
    return value


async def test_serve_one_answers_and_closes() -> None:
    seen: list[PeerId] = []

    async def answer(peer: PeerId, data: bytes) -> bytes | None:
        seen.append(peer)
        return b"re:" + data

    async with running_host() as server, running_host() as client:
        server.set_stream_handler(
            PROTOCOL,
            lambda s: wire.serve_one(s, answer, max_request=64, time_limit=5, label="test_wire"),
        )
        before = metrics.PROTOCOL_MESSAGES.labels("test_wire", "in")._value.get()
        remote, data = await within(
            wire.request(
                client,
                server.full_addrs()[0],
                PROTOCOL,
                b"ping",
                max_response=64,
                time_limit=5,
                label="test_wire",
            )
        )
        assert (remote, data) == (server.peer_id, b"re:ping")
        assert seen == [client.peer_id]
        assert metrics.PROTOCOL_MESSAGES.labels("test_wire", "in")._value.get() == before + 1


async def test_serve_one_refuses_with_a_reset_when_answer_is_none() -> None:
    async def refuse(peer: PeerId, data: bytes) -> bytes | None:
        return None

    async with running_host() as server, running_host() as client:
        server.set_stream_handler(
            PROTOCOL,
            lambda s: wire.serve_one(s, refuse, max_request=64, time_limit=5, label="test_wire"),
        )
        with pytest.raises(P2PError):
            await within(
                wire.request(
                    client,
                    server.full_addrs()[0],
                    PROTOCOL,
                    b"x",
                    max_response=64,
                    time_limit=5,
                    label="test_wire",
                )
            )


async def test_serve_one_resets_a_silent_or_oversized_request_and_counts_it() -> None:
    async def answer(peer: PeerId, data: bytes) -> bytes | None:
        raise AssertionError("never reached")

    async with running_host() as server, running_host() as client:
        server.set_stream_handler(
            PROTOCOL,
            lambda s: wire.serve_one(s, answer, max_request=8, time_limit=0.2, label="test_wire"),
        )
        timeouts = errors("TimeoutError")
        silent = await within(client.new_stream(server.full_addrs()[0], [PROTOCOL]))
        # Nothing is sent: the server's deadline ends the stream, and the client sees the end.
        with pytest.raises(P2PError):
            await within(silent.read_message(64))
        await wait_for(lambda: errors("TimeoutError") == timeouts + 1, what="timeout counted")
        oversized = await within(client.new_stream(server.full_addrs()[0], [PROTOCOL]))
        await oversized.write_message(b"x" * 100)
        await oversized.close()
        with pytest.raises(P2PError):
            await within(oversized.read_message(64))
