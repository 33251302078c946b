"""yamux (hashicorp/yamux spec.md), sans-IO, as js-libp2p's @chainsafe/libp2p-yamux speaks it.

Frames are a 12-byte header (version, type, flags, stream id, length) and, for data frames,
``length`` bytes of payload. Flow control is per stream: each side may send at most the
window the other granted (256 KiB to start), and grants more with window updates as its
application consumes data. Streams opened by the connection's initiator have odd ids.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pystatus.p2p.errors import (
    DecodeError,
    LimitExceeded,
    LocalProtocolError,
    RemoteProtocolError,
    ResourceLimitError,
)
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import (
    MuxerEvent,
    PongReceived,
    SendWindowUpdated,
    SessionClosed,
    StreamData,
    StreamEnded,
    StreamOpened,
    StreamReset,
)

YAMUX_PROTOCOL_ID = "/yamux/1.0.0"

HEADER = struct.Struct(">BBHII")
HEADER_SIZE = HEADER.size
VERSION = 0

TYPE_DATA = 0
TYPE_WINDOW_UPDATE = 1
TYPE_PING = 2
TYPE_GO_AWAY = 3

FLAG_SYN = 1
FLAG_ACK = 2
FLAG_FIN = 4
FLAG_RST = 8

GO_AWAY_NORMAL = 0
GO_AWAY_PROTOCOL_ERROR = 1
GO_AWAY_INTERNAL_ERROR = 2

INITIAL_WINDOW = 256 * 1024
MAX_STREAM_ID = 0xFFFFFFFF


@dataclass(slots=True)
class _Stream:
    send_window: int
    recv_window: int
    recv_capacity: int
    consumed_pending: int = 0
    local_closed: bool = False
    remote_closed: bool = False
    inbound: bool = False


class YamuxSession(MuxerSession):
    protocol_id = YAMUX_PROTOCOL_ID

    def __init__(
        self,
        *,
        is_initiator: bool,
        max_streams: int = 1024,
        initial_window: int = INITIAL_WINDOW,
        max_window: int = 16 * 1024 * 1024,
        max_frame_payload: int = 64 * 1024,
    ) -> None:
        if initial_window < INITIAL_WINDOW or max_window < initial_window:
            raise LocalProtocolError("yamux windows must be >= 256 KiB and max >= initial")
        self._is_initiator = is_initiator
        self._max_streams = max_streams
        self._initial_window = initial_window
        self._max_window = max_window
        self._max_frame_payload = max_frame_payload
        self._next_id = 1 if is_initiator else 2
        self._streams: dict[int, _Stream] = {}
        self._inbound_count = 0
        self._outbound_count = 0
        self._inbuf = bytearray()
        self._outbuf = bytearray()
        self._opening: dict[int, int] = {}
        """Streams whose SYN or ACK is not written yet: it rides on the stream's next frame in
        this flush, or goes alone in a window update when the flush is taken."""
        self._data_at: dict[int, int] = {}
        """Where each stream's last data frame of the unflushed buffer starts."""
        self._closed = False
        self.refused_streams = 0
        self.ignored_frames = 0

    # -- sending ------------------------------------------------------------------------------

    def _frame(self, frame_type: int, flags: int, stream_id: int, length: int) -> None:
        if stream_id:
            flags |= self._opening.pop(stream_id, 0)
        self._outbuf += HEADER.pack(VERSION, frame_type, flags, stream_id, length)

    def data_to_send(self) -> bytes:
        """The frames written since the last call. A new stream's SYN or ACK rides on its
        first data frame where they share a flush (the spec lets flags ride on data frames as
        on window updates; go, js and nim-libp2p take it), and writes to one stream in a row
        make one data frame: a request stream's frames shrink from four headers to two."""
        if self._opening:
            opening, self._opening = self._opening, {}
            for stream_id, flag in opening.items():
                if stream_id in self._streams:
                    self._frame(TYPE_WINDOW_UPDATE, flag, stream_id, 0)
        self._data_at.clear()
        if not self._outbuf:
            return b""
        data = bytes(self._outbuf)
        self._outbuf.clear()
        return data

    def _open_flag(self, stream_id: int, flag: int) -> None:
        """Send ``flag`` (SYN or ACK) for a new stream, with any window above the default;
        without one it waits for the stream's next frame in this flush."""
        delta = self._initial_window - INITIAL_WINDOW
        if delta:
            self._frame(TYPE_WINDOW_UPDATE, flag, stream_id, delta)
        else:
            self._opening[stream_id] = flag

    def open_stream(self) -> int:
        if self._closed:
            raise LocalProtocolError("yamux session is closed")
        if self._outbound_count >= self._max_streams:
            raise ResourceLimitError(f"at most {self._max_streams} outbound streams")
        stream_id = self._next_id
        if stream_id > MAX_STREAM_ID:
            raise ResourceLimitError("yamux stream ids exhausted")
        self._next_id += 2
        self._streams[stream_id] = _Stream(
            send_window=INITIAL_WINDOW,
            recv_window=self._initial_window,
            recv_capacity=self._initial_window,
        )
        self._outbound_count += 1
        self._open_flag(stream_id, FLAG_SYN)
        return stream_id

    def _writable(self, stream_id: int) -> _Stream:
        if self._closed:
            raise LocalProtocolError("yamux session is closed")
        stream = self._streams.get(stream_id)
        if stream is None:
            raise LocalProtocolError(f"stream {stream_id} is reset or unknown")
        if stream.local_closed:
            raise LocalProtocolError(f"stream {stream_id} is closed for writing")
        return stream

    def send(self, stream_id: int, data: bytes) -> int:
        stream = self._writable(stream_id)
        amount = min(len(data), stream.send_window)
        if amount <= 0:
            return 0
        stream.send_window -= amount
        step = self._max_frame_payload
        out = self._outbuf
        pack = HEADER.pack
        flags = self._opening.pop(stream_id, 0) if self._opening else 0
        if amount <= step:
            at = self._data_at.get(stream_id)
            if at is not None:
                # The stream's last frame, still unsent, ends the buffer: it grows instead.
                length = int.from_bytes(out[at + 8 : at + 12], "big")
                if at + HEADER_SIZE + length == len(out) and length + amount <= step:
                    out[at + 8 : at + 12] = (length + amount).to_bytes(4, "big")
                    out += data if amount == len(data) else memoryview(data)[:amount]
                    return amount
            self._data_at[stream_id] = len(out)
            out += pack(VERSION, TYPE_DATA, flags, stream_id, amount)
            out += data if amount == len(data) else memoryview(data)[:amount]
            return amount
        view = memoryview(data)
        for start in range(0, amount, step):
            end = min(start + step, amount)
            self._data_at[stream_id] = len(out)
            out += pack(VERSION, TYPE_DATA, flags, stream_id, end - start)
            out += view[start:end]
            flags = 0
        return amount

    def send_window(self, stream_id: int) -> int:
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed or self._closed:
            return 0
        return stream.send_window

    def consumed(self, stream_id: int, amount: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or self._closed or stream.remote_closed:
            return
        stream.consumed_pending += amount
        if stream.consumed_pending < stream.recv_window // 2:
            return
        # The application keeps up: grow the window (like js and go do) up to the maximum.
        grow = min(stream.recv_window, self._max_window - stream.recv_window)
        stream.recv_window += grow
        delta = stream.consumed_pending + grow
        stream.recv_capacity += delta
        stream.consumed_pending = 0
        self._frame(TYPE_WINDOW_UPDATE, 0, stream_id, delta)

    def close_stream(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed or self._closed:
            return
        stream.local_closed = True
        # Never on the last data frame: js-libp2p's yamux acts on a data frame's flags before
        # its data, so a FIN there ends the stream with the data lost (its identify failed).
        self._data_at.pop(stream_id, None)
        self._frame(TYPE_WINDOW_UPDATE, FLAG_FIN, stream_id, 0)
        if stream.remote_closed:
            self._forget(stream_id)

    def reset_stream(self, stream_id: int) -> None:
        if stream_id not in self._streams or self._closed:
            return
        self._data_at.pop(stream_id, None)
        if self._opening.pop(stream_id, 0) != FLAG_SYN:  # else the peer never heard of it
            self._frame(TYPE_WINDOW_UPDATE, FLAG_RST, stream_id, 0)
        self._forget(stream_id)

    def ping(self, opaque: int) -> None:
        if not self._closed:
            self._frame(TYPE_PING, FLAG_SYN, 0, opaque & 0xFFFFFFFF)

    def close(self) -> None:
        if self._closed:
            return
        self._frame(TYPE_GO_AWAY, 0, 0, GO_AWAY_NORMAL)
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._streams.clear()
        self._opening.clear()
        self._inbound_count = self._outbound_count = 0
        # Rebind rather than clear: the parser may still hold a view of the old buffer.
        self._inbuf = bytearray()

    def _forget(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        if stream.inbound:
            self._inbound_count -= 1
        else:
            self._outbound_count -= 1

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    # -- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[MuxerEvent]:
        if self._closed:
            return []
        if self._inbuf:
            self._inbuf += data
            buffer: bytes | bytearray = self._inbuf
        else:
            buffer = data
        events: list[MuxerEvent] = []
        try:
            consumed = self._parse(buffer, events)
        except RemoteProtocolError:
            self._frame(TYPE_GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR)
            self._close()
            raise
        if buffer is self._inbuf:
            del self._inbuf[:consumed]
        elif consumed < len(buffer):
            self._inbuf = bytearray(buffer[consumed:])
        return events

    def _parse(self, buffer: bytes | bytearray, events: list[MuxerEvent]) -> int:
        position = 0
        end = len(buffer)
        unpack = HEADER.unpack_from
        streams = self._streams
        # Consecutive data frames of one stream become one event: fewer wake-ups upstream.
        run_id = -1
        run: list[bytes] = []
        with memoryview(buffer) as view:
            while end - position >= HEADER_SIZE:
                version, frame_type, flags, stream_id, length = unpack(buffer, position)
                if version != VERSION:
                    raise DecodeError(f"yamux version {version}")
                if frame_type == TYPE_DATA:
                    stream = streams.get(stream_id)
                    if stream is not None and length > stream.recv_capacity:
                        raise LimitExceeded(
                            f"stream {stream_id} sent {length} bytes beyond its window"
                        )
                    if stream is None and not flags & FLAG_SYN and length > self._max_window:
                        raise LimitExceeded(f"data frame of {length} bytes")
                    if end - position - HEADER_SIZE < length:
                        break
                    body_start = position + HEADER_SIZE
                    position = body_start + length
                    if flags & FLAG_SYN:
                        if run:
                            events.append(StreamData(run_id, b"".join(run)))
                            run = []
                        stream = self._incoming(stream_id, events)
                        if stream is not None and length > stream.recv_capacity:
                            raise LimitExceeded(f"stream {stream_id} opened beyond its window")
                    if stream is None:
                        self.ignored_frames += 1
                        continue
                    if length:
                        stream.recv_capacity -= length
                        if stream_id != run_id and run:
                            events.append(StreamData(run_id, b"".join(run)))
                            run = []
                        run_id = stream_id
                        run.append(view[body_start:position].tobytes())
                    if flags & (FLAG_FIN | FLAG_RST):
                        if run:
                            events.append(StreamData(run_id, b"".join(run)))
                            run = []
                        self._stream_flags(stream_id, stream, flags, events)
                    continue
                position += HEADER_SIZE
                if run:
                    events.append(StreamData(run_id, b"".join(run)))
                    run = []
                if frame_type == TYPE_WINDOW_UPDATE:
                    self._window_update(stream_id, flags, length, events)
                elif frame_type == TYPE_PING:
                    if flags & FLAG_SYN:
                        self._frame(TYPE_PING, FLAG_ACK, 0, length)
                    elif flags & FLAG_ACK:
                        events.append(PongReceived(length))
                elif frame_type == TYPE_GO_AWAY:
                    for open_id in list(streams):
                        events.append(StreamReset(open_id))
                    error = None
                    if length != GO_AWAY_NORMAL:
                        error = RemoteProtocolError(f"peer went away with code {length}")
                    events.append(SessionClosed(error))
                    self._close()
                    return position
                else:
                    raise DecodeError(f"yamux frame type {frame_type}")
        if run:
            events.append(StreamData(run_id, b"".join(run)))
        return position

    def _incoming(self, stream_id: int, events: list[MuxerEvent]) -> _Stream | None:
        if stream_id == 0 or (stream_id % 2 == 1) == self._is_initiator:
            raise RemoteProtocolError(f"peer opened stream {stream_id} with our parity")
        existing = self._streams.get(stream_id)
        if existing is not None:
            return existing
        if self._inbound_count >= self._max_streams:
            self.refused_streams += 1
            self._frame(TYPE_WINDOW_UPDATE, FLAG_RST, stream_id, 0)
            return None
        stream = _Stream(
            send_window=INITIAL_WINDOW,
            recv_window=self._initial_window,
            recv_capacity=self._initial_window,
            inbound=True,
        )
        self._streams[stream_id] = stream
        self._inbound_count += 1
        # Acknowledged in this flush, on the stream's first frame where it has one.
        self._open_flag(stream_id, FLAG_ACK)
        events.append(StreamOpened(stream_id))
        return stream

    def _window_update(
        self, stream_id: int, flags: int, delta: int, events: list[MuxerEvent]
    ) -> None:
        if flags & FLAG_SYN:
            stream = self._incoming(stream_id, events)
        else:
            stream = self._streams.get(stream_id)
        if stream is None:
            self.ignored_frames += 1
            return
        if delta:
            previous = stream.send_window
            stream.send_window = min(previous + delta, MAX_STREAM_ID)
            if previous <= 0 and not stream.local_closed:
                events.append(SendWindowUpdated(stream_id))
        if flags & (FLAG_FIN | FLAG_RST):
            self._stream_flags(stream_id, stream, flags, events)

    def _stream_flags(
        self, stream_id: int, stream: _Stream, flags: int, events: list[MuxerEvent]
    ) -> None:
        if flags & FLAG_RST:
            self._forget(stream_id)
            events.append(StreamReset(stream_id))
            return
        if flags & FLAG_FIN and not stream.remote_closed:
            stream.remote_closed = True
            events.append(StreamEnded(stream_id))
            if stream.local_closed:
                self._forget(stream_id)
