"""What a light push costs on the wire, from the client's side (issue 14, item 9)."""

from __future__ import annotations

from pystatus.p2p.stream import Stream
from pystatus.waku.lightpush import (
    LIGHTPUSH_PROTOCOL_ID,
    LightPushClient,
    LightPushRequest,
    LightPushResponse,
)
from tests.p2p.hosts import running_host, within
from tests.waku.relays import TOPIC, message


async def test_push_request_id_is_nwakus_length() -> None:
    """The request id is 20 hex characters (10 random bytes, as nwaku's client draws), not
    32: it pairs an answer with its request on one stream, and is paid in both directions."""
    seen: list[str] = []

    async def serve(stream: Stream) -> None:
        request = LightPushRequest.from_bytes(await stream.read_message(64 * 1024))
        seen.append(request.request_id)
        await stream.write_message(LightPushResponse(request.request_id, 200, "", 1).to_bytes())
        await stream.close()

    async with running_host() as service, running_host() as light:
        service.set_stream_handler(LIGHTPUSH_PROTOCOL_ID, serve)
        client = LightPushClient(light)
        first = await within(client.push(service.full_addrs()[0], message(b"a"), TOPIC))
        second = await within(client.push(service.full_addrs()[0], message(b"b"), TOPIC))
    assert first.ok and second.ok
    assert [len(request_id) for request_id in seen] == [20, 20]
    assert seen[0] != seen[1]
    assert all(int(request_id, 16) >= 0 for request_id in seen)
