"""WAKU2-LIGHTPUSH, the service node's asyncio adapter: serves v3 and v2 with
:func:`~pystatus.waku.wire.serve_one` over :class:`~pystatus.waku.lightpush_rules.LightPushRules`,
relays what they admit, and counts every answer by status code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.waku import metrics, wire
from pystatus.waku.errors import InvalidMessage, LocalWakuError
from pystatus.waku.lightpush_codec import (
    LIGHTPUSH_PROTOCOL_ID,
    LIGHTPUSH_V2_PROTOCOL_ID,
    MAX_REQUEST_SIZE,
    REQUEST_TIMEOUT,
    LightPushRequest,
    LightPushResponse,
    StatusCode,
)
from pystatus.waku.lightpush_rules import (
    Admitted,
    LightPushRules,
    Publish,
    ResolveTopic,
    decode_request,
)
from pystatus.waku.message import MAX_MESSAGE_SIZE

log = logging.getLogger(__name__)

__all__ = ["LightPushServer"]


class LightPushServer:
    """Serves light push on ``host`` and relays through ``publish``.

    ``resolve_topic`` picks a push's pubsub topic; ``max_message_size`` is in bytes;
    ``peer_rate`` requests per second per peer with bursts of ``peer_burst`` (zero rate: no
    limit); ``clock`` gives monotonic seconds.
    """

    def __init__(
        self,
        host: Host,
        *,
        publish: Publish,
        resolve_topic: ResolveTopic,
        max_message_size: int = MAX_MESSAGE_SIZE,
        peer_rate: float = 10.0,
        peer_burst: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.rules = LightPushRules(
            resolve_topic=resolve_topic,
            max_message_size=max_message_size,
            peer_rate=peer_rate,
            peer_burst=peer_burst,
        )
        self._publish = publish
        self._max_request_size = max(MAX_REQUEST_SIZE, 2 * max_message_size)
        self._limiter = self.rules.limiter
        self._clock = clock

    def start(self) -> None:
        self.host.set_stream_handler(LIGHTPUSH_PROTOCOL_ID, self._serve_v3)
        self.host.set_stream_handler(LIGHTPUSH_V2_PROTOCOL_ID, self._serve_v2)

    def stop(self) -> None:
        self.host.remove_stream_handler(LIGHTPUSH_PROTOCOL_ID)
        self.host.remove_stream_handler(LIGHTPUSH_V2_PROTOCOL_ID)

    async def handle(self, request: LightPushRequest, peer: PeerId | None) -> LightPushResponse:
        """Apply the rules to one request and relay it; ``peer`` None is a local caller.

        Returns the v3 response (status codes as in :class:`StatusCode`); never raises for
        the request's content.
        """
        admitted = self.rules.admit(request, peer, self._clock())
        if isinstance(admitted, Admitted):
            try:
                peers = await self._publish(admitted.pubsub_topic, admitted.message)
            except (InvalidMessage, LocalWakuError) as exc:
                response = self.rules.refused_by_relay(request, exc)
            else:
                response = self.rules.published(request, peers)
        else:
            response = admitted
        return _counted(response)

    async def _serve_v3(self, stream: Stream) -> None:
        await wire.serve_one(
            stream,
            self._answer_v3,
            max_request=self._max_request_size,
            time_limit=REQUEST_TIMEOUT,
            label="lightpush",
        )

    async def _serve_v2(self, stream: Stream) -> None:
        await wire.serve_one(
            stream,
            self._answer_v2,
            max_request=self._max_request_size,
            time_limit=REQUEST_TIMEOUT,
            label="lightpush",
        )

    async def _answer_v3(self, peer: PeerId, data: bytes) -> bytes:
        return (await self._answer(peer, data, v2=False)).to_bytes()

    async def _answer_v2(self, peer: PeerId, data: bytes) -> bytes:
        return (await self._answer(peer, data, v2=True)).to_v2_bytes()

    async def _answer(self, peer: PeerId, data: bytes, *, v2: bool) -> LightPushResponse:
        request = decode_request(data, v2=v2)
        if isinstance(request, LightPushResponse):
            return _counted(request)
        return await self.handle(request, peer)


def _counted(response: LightPushResponse) -> LightPushResponse:
    """Count ``response`` by status code (labels are codes, never peers)."""
    metrics.LIGHTPUSH_MESSAGES.labels(str(int(response.status_code))).inc()
    if not response.ok:
        try:
            kind = StatusCode(response.status_code).name.lower()
        except ValueError:
            kind = f"status_{response.status_code}"
        metrics.PROTOCOL_ERRORS.labels("lightpush", kind).inc()
    return response
