"""A new stream's SYN or ACK rides on its first data frame in the same flush (the spec allows
flags on data and window update frames alike), and writes in a row make one data frame: a
request stream costs two headers each way (data, then FIN alone: js-libp2p loses the data of
a data frame that carries a FIN)."""

from __future__ import annotations

from pystatus.p2p.muxer.events import StreamData, StreamEnded, StreamOpened, StreamReset
from pystatus.p2p.muxer.yamux import (
    FLAG_ACK,
    FLAG_FIN,
    FLAG_RST,
    FLAG_SYN,
    HEADER,
    HEADER_SIZE,
    TYPE_DATA,
    TYPE_WINDOW_UPDATE,
    YamuxSession,
)


def _headers(data: bytes) -> list[tuple[int, int, int, int]]:
    """(type, flags, stream id, length) of each frame in ``data``."""
    out = []
    position = 0
    while position < len(data):
        _, frame_type, flags, stream_id, length = HEADER.unpack_from(data, position)
        out.append((frame_type, flags, stream_id, length))
        position += HEADER_SIZE + (length if frame_type == TYPE_DATA else 0)
    return out


def test_a_request_is_one_frame_each_way() -> None:
    client, server = YamuxSession(is_initiator=True), YamuxSession(is_initiator=False)
    stream = client.open_stream()
    client.send(stream, b"/multistream/1.0.0\n")
    client.send(stream, b"request")
    client.close_stream(stream)
    request = client.data_to_send()
    assert _headers(request) == [
        (TYPE_DATA, FLAG_SYN, stream, 26),
        (TYPE_WINDOW_UPDATE, FLAG_FIN, stream, 0),
    ]
    events = server.receive_data(request)
    assert [type(e) for e in events] == [StreamOpened, StreamData, StreamEnded]
    assert isinstance(events[1], StreamData) and events[1].data == b"/multistream/1.0.0\nrequest"

    server.send(stream, b"response")
    server.close_stream(stream)
    answer = server.data_to_send()
    assert _headers(answer) == [
        (TYPE_DATA, FLAG_ACK, stream, 8),
        (TYPE_WINDOW_UPDATE, FLAG_FIN, stream, 0),
    ]
    events = client.receive_data(answer)
    assert [type(e) for e in events] == [StreamData, StreamEnded]
    assert client.stream_count == server.stream_count == 0


def test_flags_with_nothing_to_ride_on_go_alone_in_the_same_flush() -> None:
    client, server = YamuxSession(is_initiator=True), YamuxSession(is_initiator=False)
    stream = client.open_stream()
    opened = client.data_to_send()
    assert _headers(opened) == [(TYPE_WINDOW_UPDATE, FLAG_SYN, stream, 0)]
    server.receive_data(opened)
    assert _headers(server.data_to_send()) == [(TYPE_WINDOW_UPDATE, FLAG_ACK, stream, 0)]
    client.send(stream, b"x")
    assert client.data_to_send()[HEADER_SIZE:] == b"x"
    client.close_stream(stream)
    assert _headers(client.data_to_send()) == [(TYPE_WINDOW_UPDATE, FLAG_FIN, stream, 0)]


def test_a_stream_reset_before_its_syn_left_sends_nothing_and_an_accepted_one_is_reset() -> None:
    client, server = YamuxSession(is_initiator=True), YamuxSession(is_initiator=False)
    unheard = client.open_stream()
    client.reset_stream(unheard)
    assert client.data_to_send() == b""
    stream = client.open_stream()
    client.send(stream, b"hello")
    server.receive_data(client.data_to_send())
    server.reset_stream(stream)
    reset = server.data_to_send()
    assert _headers(reset) == [(TYPE_WINDOW_UPDATE, FLAG_RST, stream, 0)]
    assert [type(e) for e in client.receive_data(reset)] == [StreamReset]


def test_frames_of_one_stream_grow_only_while_they_end_the_buffer() -> None:
    session = YamuxSession(is_initiator=True)
    first, second = session.open_stream(), session.open_stream()
    session.send(first, b"a")
    session.send(second, b"b")
    session.send(first, b"c")
    headers = _headers(session.data_to_send())
    assert headers == [
        (TYPE_DATA, FLAG_SYN, first, 1),
        (TYPE_DATA, FLAG_SYN, second, 1),
        (TYPE_DATA, 0, first, 1),
    ]
