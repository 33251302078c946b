"""The bandwidth floor's arithmetic against the real codecs (bench/bandwidth_floor.py)."""

from __future__ import annotations

from bench.bandwidth_floor import (
    CONTENT_TOPIC,
    FRAMING,
    _message,
    floor_parts,
    floor_table,
    lightpush_bytes,
    negotiation_bytes,
    push_bytes,
)
from pystatus.waku.lightpush import LIGHTPUSH_PROTOCOL_ID

SHARD = "/waku/2/rs/16/32"


def test_messages_are_built_to_the_encoded_size_asked() -> None:
    for size in (60, 127, 128, 200, 1097, 16_400, 70_000):
        assert len(_message(size, CONTENT_TOPIC).encode()) == size


def test_components_are_the_codecs_sizes() -> None:
    # "/multistream/1.0.0\n" and "/vac/waku/lightpush/3.0.0\n", each with a 1-byte prefix,
    # sent by both sides.
    assert negotiation_bytes(LIGHTPUSH_PROTOCOL_ID) == 2 * (20 + 27)
    request, response = lightpush_bytes(1097, SHARD, CONTENT_TOPIC)
    # A 20-character request id (field 1), the shard and the message (fields 20 and 21: tags
    # of 2 bytes), after a 2-byte length prefix.
    assert request == 2 + (2 + 20) + (3 + len(SHARD)) + (4 + 1097)
    assert response == 1 + (2 + 20) + 3 + 2
    assert push_bytes(1097, SHARD, CONTENT_TOPIC) == 2 + (3 + 1097) + (2 + len(SHARD))
    assert FRAMING == 60


def test_the_echo_alone_puts_a_sender_past_twice_its_payload() -> None:
    """At a short text's size the sender's floor is over 3x the payload, 2x without its own
    message coming back, so the target is out of reach by the flows, not by framing."""
    parts = floor_parts(1097, 690, 1.0, SHARD)
    sender = sum(p.bytes for p in parts if p.side == "sender")
    echo = sum(p.bytes for p in parts if p.side == "sender" and p.echo)
    assert sender / 1052 > 3.0
    assert echo / 1052 > 1.0
    assert (sender - echo) / 1052 > 2.0
    table = floor_table("floor", 1052, parts)
    assert table.row_count == len(parts) + 4
