"""Tests of the sans-IO yamux session (hashicorp/yamux spec.md, as js-libp2p-yamux speaks it)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.errors import DecodeError, LimitExceeded, RemoteProtocolError, ResourceLimitError
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import (
    PongReceived,
    SendWindowUpdated,
    SessionClosed,
    StreamData,
    StreamOpened,
    StreamReset,
)
from pystatus.p2p.muxer.yamux import YamuxSession
from tests.p2p.muxer_conformance import CHECKS, PairFactory, Wire


def make_pair() -> tuple[MuxerSession, MuxerSession]:
    return YamuxSession(is_initiator=True), YamuxSession(is_initiator=False)


def header(frame_type: int, flags: int, stream_id: int, length: int) -> bytes:
    # Written out apart from the implementation: version 0, then big-endian fields.
    return bytes([0, frame_type]) + struct.pack(">HII", flags, stream_id, length)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check: Callable[[PairFactory], None]) -> None:
    check(make_pair)


def test_known_answer_open_and_data() -> None:
    session = YamuxSession(is_initiator=True)
    stream = session.open_stream()
    assert stream == 1
    # Open = window update with SYN and no extra window.
    assert session.data_to_send() == bytes.fromhex("000100010000000100000000")
    session.send(stream, b"hi")
    assert session.data_to_send() == bytes.fromhex("000000000000000100000002") + b"hi"
    session.close_stream(stream)
    assert session.data_to_send() == bytes.fromhex("000100040000000100000000")


def test_responder_acknowledges_and_uses_even_ids() -> None:
    session = YamuxSession(is_initiator=False)
    events = session.receive_data(header(1, 1, 1, 0) + header(0, 0, 1, 3) + b"abc")
    assert events == [StreamOpened(1), StreamData(1, b"abc")]
    assert session.data_to_send() == header(1, 2, 1, 0)
    assert session.open_stream() == 2


def test_send_window_exhaustion_and_update() -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    accepted = wire.a.send(stream, bytes(300 * 1024))
    assert accepted == 256 * 1024
    assert wire.a.send(stream, b"more") == 0
    wire.pump()
    (remote,) = wire.opened(1)
    wire.b.consumed(remote, 256 * 1024)
    wire.pump()
    assert SendWindowUpdated(stream) in wire.events[0]
    assert wire.a.send_window(stream) >= 256 * 1024


def test_window_update_only_after_half_is_consumed() -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.a.send(stream, bytes(100 * 1024))
    wire.pump()
    (remote,) = wire.opened(1)
    wire.b.consumed(remote, 100 * 1024)
    assert wire.b.data_to_send() == b""
    wire.a.send(stream, bytes(40 * 1024))
    wire.pump()
    wire.b.consumed(remote, 40 * 1024)
    update = wire.b.data_to_send()
    assert update[:2] == b"\x00\x01" and len(update) == 12
    # The window doubled: the grant is what was consumed plus the growth.
    assert struct.unpack(">I", update[8:])[0] == 140 * 1024 + 256 * 1024


def test_data_beyond_the_window_is_a_protocol_error() -> None:
    session = YamuxSession(is_initiator=False)
    session.receive_data(header(1, 1, 1, 0))
    session.data_to_send()
    with pytest.raises(LimitExceeded):
        session.receive_data(header(0, 0, 1, 256 * 1024 + 1))
    assert session.is_closed
    assert session.data_to_send() == header(3, 0, 0, 1)  # go-away, protocol error


def test_ping_is_answered_and_pong_reported() -> None:
    wire = Wire(make_pair())
    wire.a.ping(77)
    wire.pump()
    assert PongReceived(77) in wire.events[0]
    session = YamuxSession(is_initiator=True)
    assert session.receive_data(header(2, 1, 0, 5)) == []
    assert session.data_to_send() == header(2, 2, 0, 5)


def test_go_away_from_peer_closes_and_resets() -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.pump()
    events = wire.a.receive_data(header(3, 0, 0, 0))
    assert events == [StreamReset(stream), SessionClosed(None)]
    assert wire.a.is_closed
    erroring = YamuxSession(is_initiator=True).receive_data(header(3, 0, 0, 1))
    assert isinstance(erroring[-1], SessionClosed) and erroring[-1].error is not None


def test_inbound_stream_limit_refuses_with_reset() -> None:
    session = YamuxSession(is_initiator=False, max_streams=2)
    events = session.receive_data(header(1, 1, 1, 0) + header(1, 1, 3, 0) + header(1, 1, 5, 0))
    assert [e for e in events if isinstance(e, StreamOpened)] == [StreamOpened(1), StreamOpened(3)]
    assert session.refused_streams == 1
    assert header(1, 8, 5, 0) in session.data_to_send()
    assert not session.is_closed


def test_outbound_stream_limit() -> None:
    session = YamuxSession(is_initiator=True, max_streams=1)
    session.open_stream()
    with pytest.raises(ResourceLimitError):
        session.open_stream()


def test_peer_using_our_parity_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError):
        YamuxSession(is_initiator=True).receive_data(header(1, 1, 1, 0))


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"\x01" + bytes(11), DecodeError), (header(7, 0, 0, 0), DecodeError)],
)
def test_malformed_frames(data: bytes, error: type[Exception]) -> None:
    session = YamuxSession(is_initiator=True)
    with pytest.raises(error):
        session.receive_data(data)
    assert session.is_closed


def test_every_split_point_gives_the_same_events() -> None:
    wire_bytes = header(1, 1, 1, 0) + header(0, 0, 1, 5) + b"hello" + header(1, 4, 1, 0)
    whole = YamuxSession(is_initiator=False).receive_data(wire_bytes)
    for cut in range(len(wire_bytes)):
        session = YamuxSession(is_initiator=False)
        events = session.receive_data(wire_bytes[:cut]) + session.receive_data(wire_bytes[cut:])
        assert events == whole


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_fuzz_raw_bytes(chunks: list[bytes]) -> None:
    session = YamuxSession(is_initiator=True)
    for chunk in chunks:
        try:
            session.receive_data(chunk)
        except RemoteProtocolError:
            assert session.is_closed
            return
        assert session.stream_count >= 0


frames = st.builds(
    header,
    st.integers(0, 3),
    st.integers(0, 15),
    st.sampled_from([0, 1, 2, 3, 4, 6]),
    st.integers(0, 300_000),
)


@given(st.lists(st.tuples(frames, st.binary(max_size=32)), max_size=30))
def test_fuzz_well_formed_frames(items: list[tuple[bytes, bytes]]) -> None:
    session = YamuxSession(is_initiator=True, max_streams=4)
    for head, body in items:
        try:
            events = session.receive_data(head + body)
        except RemoteProtocolError:
            assert session.is_closed
            return
        for event in events:
            if isinstance(event, StreamData):
                session.consumed(event.stream_id, len(event.data))
        session.data_to_send()
        assert session.stream_count <= 8
