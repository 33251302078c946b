"""WAKU2-LIGHTPUSH, the light client's side: push one message to a service node over v3
(``/vac/waku/lightpush/3.0.0``) or, asked for ``legacy``, v2, with
:func:`~pystatus.waku.wire.request`.
"""

from __future__ import annotations

import secrets

from pystatus.p2p.host import Host
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku import wire
from pystatus.waku.lightpush_codec import (
    LIGHTPUSH_PROTOCOL_ID,
    LIGHTPUSH_V2_PROTOCOL_ID,
    MAX_RESPONSE_SIZE,
    REQUEST_TIMEOUT,
    LightPushError,
    LightPushRequest,
    LightPushResponse,
)
from pystatus.waku.message import WakuMessage

__all__ = ["LightPushClient"]

REQUEST_ID_BYTES = 10
"""Random bytes in a push's request id, sent hex-encoded (20 characters) and echoed in the
answer: nwaku's client draws 10 (``waku/utils/requests.nim``), go-waku 32. The id only pairs
an answer with its request on one stream, so 80 bits are plenty, and every byte of it is paid
twice per push (request and response)."""


class LightPushClient:
    """Pushes messages through service nodes reached over ``host``."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def push(
        self,
        peer: PeerId | Multiaddr | str,
        message: WakuMessage,
        pubsub_topic: str | None = None,
        *,
        legacy: bool = False,
    ) -> LightPushResponse:
        """Push ``message`` to ``peer``, on ``pubsub_topic`` or (v3 only) its auto-shard.

        Returns the service node's 200 response (v3 carries ``relay_peer_count``). Raises
        :class:`~pystatus.waku.errors.RequestRefused` (alias ``LightPushError``) with the
        node's status code for any other answer (v2's refusals read as 500),
        :class:`~pystatus.waku.errors.DecodeError` for a malformed reply, and ``TimeoutError``
        or :class:`~pystatus.p2p.errors.P2PError` when the exchange fails.
        """
        request = LightPushRequest(
            message=message,
            pubsub_topic=pubsub_topic,
            request_id=secrets.token_hex(REQUEST_ID_BYTES),
        )
        if legacy and pubsub_topic is None:
            raise LightPushError(400, "light push v2 needs a pubsub topic")
        _, data = await wire.request(
            self.host,
            peer,
            LIGHTPUSH_V2_PROTOCOL_ID if legacy else LIGHTPUSH_PROTOCOL_ID,
            request.to_v2_bytes() if legacy else request.to_bytes(),
            max_response=MAX_RESPONSE_SIZE,
            time_limit=REQUEST_TIMEOUT,
            label="lightpush",
        )
        response = (
            LightPushResponse.from_v2_bytes(data) if legacy else LightPushResponse.from_bytes(data)
        )
        if not response.ok:
            raise LightPushError(response.status_code, response.status_desc)
        return response
