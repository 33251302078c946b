"""Behaviour every stream muxer must have, for any ``make_pair() -> (initiator, responder)``.

Two sessions are wired in memory: whatever one hands out with ``data_to_send()`` is fed to the
other's ``receive_data()``. Each check is a plain function so each muxer's test module can
parametrize over them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pystatus.p2p.errors import LocalProtocolError
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import (
    MuxerEvent,
    StreamData,
    StreamEnded,
    StreamOpened,
    StreamReset,
)

PairFactory = Callable[[], tuple[MuxerSession, MuxerSession]]


class Wire:
    """Two sessions and the events each has received, with a pump between them."""

    def __init__(self, pair: tuple[MuxerSession, MuxerSession]) -> None:
        self.a, self.b = pair
        self.events: dict[int, list[MuxerEvent]] = {0: [], 1: []}

    def pump(self) -> None:
        for _ in range(10_000):
            moved = False
            for index, (source, target) in enumerate(((self.a, self.b), (self.b, self.a))):
                data = source.data_to_send()
                if data:
                    self.events[1 - index].extend(target.receive_data(data))
                    moved = True
            if not moved:
                return
        raise AssertionError("sessions never went quiet")

    def received(self, side: int, stream_id: int) -> bytes:
        return b"".join(
            e.data
            for e in self.events[side]
            if isinstance(e, StreamData) and e.stream_id == stream_id
        )

    def consume_all(self, side: int) -> None:
        session = self.a if side == 0 else self.b
        for event in self.events[side]:
            if isinstance(event, StreamData):
                session.consumed(event.stream_id, len(event.data))

    def opened(self, side: int) -> list[int]:
        return [e.stream_id for e in self.events[side] if isinstance(e, StreamOpened)]

    def kinds(self, side: int, stream_id: int) -> list[type]:
        return [type(e) for e in self.events[side] if getattr(e, "stream_id", None) == stream_id]


def check_open_and_exchange(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    assert wire.a.send(stream, b"hello") == 5
    wire.pump()
    (remote,) = wire.opened(1)
    assert wire.received(1, remote) == b"hello"
    assert wire.b.send(remote, b"world") == 5
    wire.pump()
    assert wire.received(0, stream) == b"world"
    assert wire.a.stream_count == 1 and wire.b.stream_count == 1


def check_half_close(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.a.send(stream, b"request")
    wire.a.close_stream(stream)
    wire.pump()
    (remote,) = wire.opened(1)
    assert wire.kinds(1, remote)[-1] is StreamEnded
    # The other direction stays open after a half-close.
    wire.b.send(remote, b"response")
    wire.b.close_stream(remote)
    wire.pump()
    assert wire.received(0, stream) == b"response"
    assert StreamEnded in wire.kinds(0, stream)
    assert wire.a.stream_count == 0 and wire.b.stream_count == 0
    try:
        wire.a.send(stream, b"late")
    except LocalProtocolError:
        pass
    else:
        raise AssertionError("send after close must raise")


def check_close_is_idempotent(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.a.close_stream(stream)
    first = wire.a.data_to_send()
    wire.a.close_stream(stream)
    assert wire.a.data_to_send() == b""
    assert first


def check_reset_both_ways(make_pair: PairFactory) -> None:
    for resetter in (0, 1):
        wire = Wire(make_pair())
        stream = wire.a.open_stream()
        wire.a.send(stream, b"x")
        wire.pump()
        (remote,) = wire.opened(1)
        if resetter == 0:
            wire.a.reset_stream(stream)
            wire.pump()
            assert wire.kinds(1, remote)[-1] is StreamReset
        else:
            wire.b.reset_stream(remote)
            wire.pump()
            assert wire.kinds(0, stream)[-1] is StreamReset
        assert wire.a.stream_count == 0 and wire.b.stream_count == 0
        # A second reset is silent.
        wire.a.reset_stream(stream)
        wire.b.reset_stream(remote)
        assert wire.a.data_to_send() == b"" and wire.b.data_to_send() == b""


def check_many_streams(make_pair: PairFactory, count: int = 200) -> None:
    wire = Wire(make_pair())
    streams = [wire.a.open_stream() for _ in range(count)]
    assert len(set(streams)) == count
    for index, stream in enumerate(streams):
        wire.a.send(stream, index.to_bytes(4, "big"))
    wire.pump()
    remotes = wire.opened(1)
    assert len(remotes) == count
    assert sorted(int.from_bytes(wire.received(1, r), "big") for r in remotes) == list(range(count))


def check_large_write(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.pump()
    assert len(wire.opened(1)) == 1
    payload = os.urandom(3 * 1024 * 1024 + 17)
    collected = bytearray()
    offset = 0
    for _ in range(10_000):
        if offset < len(payload):
            offset += wire.a.send(stream, payload[offset:])
        wire.pump()
        for event in wire.events[1]:
            if isinstance(event, StreamData):
                collected += event.data
                wire.b.consumed(event.stream_id, len(event.data))
        wire.events[1].clear()
        wire.pump()
        if len(collected) == len(payload):
            break
    assert bytes(collected) == payload


def check_session_close_ends_streams(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.a.send(stream, b"x")
    wire.pump()
    wire.a.close()
    assert wire.a.is_closed
    wire.pump()
    (remote,) = wire.opened(1)
    kinds = wire.kinds(1, remote)
    assert StreamReset in kinds or wire.b.is_closed
    try:
        wire.a.open_stream()
    except LocalProtocolError:
        pass
    else:
        raise AssertionError("open_stream on a closed session must raise")


def check_frames_for_forgotten_streams_are_ignored(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    wire.pump()
    (remote,) = wire.opened(1)
    wire.b.reset_stream(remote)
    # a sends before learning of the reset: its frame reaches b for a stream b forgot.
    wire.a.send(stream, b"late")
    late = wire.a.data_to_send()
    reset = wire.b.data_to_send()
    assert not any(isinstance(e, StreamData) for e in wire.b.receive_data(late))
    events = wire.a.receive_data(reset)
    assert [type(e) for e in events] == [StreamReset]
    assert not wire.b.is_closed and not wire.a.is_closed


def check_send_window_is_reported(make_pair: PairFactory) -> None:
    wire = Wire(make_pair())
    stream = wire.a.open_stream()
    assert wire.a.send_window(stream) > 0
    wire.a.close_stream(stream)
    assert wire.a.send_window(stream) == 0


CHECKS: list[Callable[[PairFactory], None]] = [
    check_open_and_exchange,
    check_half_close,
    check_close_is_idempotent,
    check_reset_both_ways,
    check_many_streams,
    check_large_write,
    check_session_close_ends_streams,
    check_frames_for_forgotten_streams_are_ignored,
    check_send_window_is_reported,
]
