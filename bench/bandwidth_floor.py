"""The floor under a light client's bytes per delivered 1:1 message: what the protocols as they
are cost with every byte of framing we could save saved (issue 14, item 9's 2x target).

For one delivered message, both sides' Waku messages are taken as measured (their encoded
size, RFC 26 envelope and padding included) and everything around them is encoded with the
real codecs: WAKU2-LIGHTPUSH v3's request and response (``/vac/waku/lightpush/3.0.0``),
WAKU2-FILTER v2's ``MessagePush`` (``/vac/waku/filter-push/2.0.0-beta1``), multistream-select
1.0's header and protocol line each way. Transport framing is counted at its least (the ``its
stream`` rows): one yamux data frame (12 bytes, SYN or ACK and FIN riding on it, which the yamux
spec allows) in one Noise transport frame (2-byte length, 16-byte tag) per direction and stream.
pystatus gets close: a connection sends what one loop turn wrote as one Noise frame, and a new
stream's SYN or ACK rides on its first data frame. Two costs stay above the floor: a FIN goes
in a window update of its own (12 bytes per stream and direction), since js-libp2p's yamux
applies a data frame's flags before its data and would lose the last bytes; and a dialer waits
for the listener's multistream answer before its request (one more Noise frame, 18 bytes, and
often one more yamux frame, per stream and direction), where multistream-select would let it
send the request with its proposal.

Flows, as status-go v1.1.0's light client runs them (``protocol/common/message_sender.go``
sends 1:1 on the negotiated topic once agreed; go-waku's filter pushes every message matching a
subscription, its sender's own included):

- the sender light-pushes its message, gets it back by filter (it listens on the negotiated
  topic it sends on) and gets the partner's acknowledgement by filter;
- the receiver gets the message by filter, light-pushes its acknowledgement and gets that back
  by filter.

Store confirmations are left out of the floor: status-go v1.1.0's light client makes none
(``wakuv2/waku.go`` turns ``EnableStoreConfirmationForMessagesSent`` off for light clients),
and pystatus asks as go-waku's message check (``waku/v2/api/publish/message_check.go``) does:
at most every 3 s for up to 50 hashes, never for a message already acknowledged. What remains
is the receiver's acknowledgements, one query per 3 s for a conversation's worth of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from pystatus.p2p.multistream import MULTISTREAM_PROTOCOL_ID, encode_line
from pystatus.p2p.varint import encode_uvarint
from pystatus.waku.filter_codec import FILTER_PUSH_PROTOCOL_ID, encode_push
from pystatus.waku.lightpush import (
    LIGHTPUSH_PROTOCOL_ID,
    LightPushRequest,
    LightPushResponse,
)
from pystatus.waku.lightpush_client import REQUEST_ID_BYTES
from pystatus.waku.message import WakuMessage

YAMUX_HEADER = 12
NOISE_FRAME = 2 + 16
FRAMING = 2 * (YAMUX_HEADER + NOISE_FRAME)
"""Bytes of transport framing per stream at the least: one frame each way."""
CONTENT_TOPIC = "/waku/1/0x00000000/rfc26"
"""A Status content topic (its length is all that counts here)."""


@dataclass(frozen=True)
class Part:
    """One component of a side's floor: ``count`` times ``each`` bytes."""

    side: str
    what: str
    count: float
    each: int
    echo: bool = False
    """Bytes of the side's own Waku message coming back (it listens where it sends)."""

    @property
    def bytes(self) -> float:
        return self.count * self.each


def _message(encoded: int, content_topic: str) -> WakuMessage:
    """A Waku message whose encoding is ``encoded`` bytes long (payload length adjusted)."""
    bare = WakuMessage(b"", content_topic, version=1, timestamp=1 << 60)
    size = encoded - len(bare.encode())
    # The payload's own length prefix grows past 127 and 16383 bytes.
    for _ in range(3):
        message = WakuMessage(bytes(max(0, size)), content_topic, version=1, timestamp=1 << 60)
        size -= len(message.encode()) - encoded
    return message


def _framed(data: bytes) -> int:
    return len(encode_uvarint(len(data))) + len(data)


def lightpush_bytes(encoded: int, pubsub_topic: str, content_topic: str) -> tuple[int, int]:
    """A v3 push of a Waku message encoded in ``encoded`` bytes: (request, response) on the
    wire, length prefixes included, with our request id's length."""
    request_id = "0" * (2 * REQUEST_ID_BYTES)
    request = LightPushRequest(
        message=_message(encoded, content_topic),
        pubsub_topic=pubsub_topic,
        request_id=request_id,
    )
    response = LightPushResponse(request_id, 200, "", 1)
    return _framed(request.to_bytes()), _framed(response.to_bytes())


def push_bytes(encoded: int, pubsub_topic: str, content_topic: str) -> int:
    """A filter ``MessagePush`` of a Waku message encoded in ``encoded`` bytes, prefixed."""
    return _framed(encode_push(pubsub_topic, _message(encoded, content_topic).encode()))


def negotiation_bytes(protocol: str) -> int:
    """multistream-select 1.0 for ``protocol``, both ways: header and protocol line each."""
    return 2 * len(encode_line(MULTISTREAM_PROTOCOL_ID) + encode_line(protocol))


def floor_parts(
    message: float, ack: float, acks: float, pubsub_topic: str, content_topic: str = CONTENT_TOPIC
) -> list[Part]:
    """Both sides' floor for one delivered message: ``message`` and ``ack`` are the encoded
    sizes (bytes) of the sender's Waku message and of one acknowledgement's, ``acks`` the
    acknowledgements sent per delivered message."""
    up, answer = lightpush_bytes(round(message), pubsub_topic, content_topic)
    ack_up, ack_answer = lightpush_bytes(round(ack), pubsub_topic, content_topic)
    down = push_bytes(round(message), pubsub_topic, content_topic)
    ack_down = push_bytes(round(ack), pubsub_topic, content_topic)
    lightpush = negotiation_bytes(LIGHTPUSH_PROTOCOL_ID) + FRAMING
    filter_push = negotiation_bytes(FILTER_PUSH_PROTOCOL_ID) + FRAMING
    return [
        Part("sender", "message up: light push request", 1, up),
        Part("sender", "light push response", 1, answer),
        Part("sender", "  its stream: negotiation + framing", 1, lightpush),
        Part("sender", "own message back: filter push", 1, down, echo=True),
        Part("sender", "  its stream: negotiation + framing", 1, filter_push, echo=True),
        Part("sender", "acknowledgement down: filter push", acks, ack_down),
        Part("sender", "  its stream: negotiation + framing", acks, filter_push),
        Part("receiver", "message down: filter push", 1, down),
        Part("receiver", "  its stream: negotiation + framing", 1, filter_push),
        Part("receiver", "acknowledgement up: light push request", acks, ack_up),
        Part("receiver", "light push response", acks, ack_answer),
        Part("receiver", "  its stream: negotiation + framing", acks, lightpush),
        Part("receiver", "own acknowledgement back: filter push", acks, ack_down, echo=True),
        Part("receiver", "  its stream: negotiation + framing", acks, filter_push, echo=True),
    ]


def floor_table(title: str, payload: float, parts: list[Part]) -> Table:
    """``parts`` per side with their arithmetic, totals and ratios to ``payload`` (bytes)."""
    table = Table(title=title)
    for column in ("side", "component", "count x bytes", "bytes", "x payload"):
        table.add_column(column, justify="right")
    for side in ("sender", "receiver"):
        mine = [part for part in parts if part.side == side]
        for part in mine:
            table.add_row(
                side,
                part.what,
                f"{part.count:g} x {part.each:,}",
                f"{part.bytes:,.0f}",
                f"{part.bytes / payload:.2f}",
            )
        total = sum(part.bytes for part in mine)
        echo = sum(part.bytes for part in mine if part.echo)
        table.add_row(side, "total", "", f"{total:,.0f}", f"{total / payload:.2f}")
        table.add_row(
            side,
            "total without the echo",
            "",
            f"{total - echo:,.0f}",
            f"{(total - echo) / payload:.2f}",
        )
    return table
