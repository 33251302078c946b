"""mplex (``/mplex/6.7.0``) as a sans-IO :class:`MuxerSession`.

Wire format (libp2p/specs ``mplex/README.md``, "Message format"): every frame is
``uvarint(stream_id << 3 | flag) uvarint(length) data``. A stream is named by its id *and* by
which side opened it, so both sides count ids from 0: the flag says whether the sender is the
stream's initiator (even flags) or its receiver (odd flags). There is no flow control, no
go-away and no ping.

The real network is js ``@libp2p/mplex`` 11.0.42, and it is unforgiving: it drops a stream from
its tables once both directions are finished (its CLOSE sent and the peer's CLOSE received) or
on a reset either way, and every later frame naming that stream counts as a "missing stream"
frame; more than 5 of those within a second abort the whole connection ("Too many messages for
missing streams"). So this session only ever sends a frame on a stream the peer still tracks:

* a stream's state is dropped on a reset (either side) or once both directions are closed, and
  nothing is ever sent for a dropped stream (send raises, close/reset are no-ops);
* CLOSE is sent at most once, never after a reset, and data never follows our CLOSE;
* a reset we decide ourselves while reading (a refused stream, an unread-buffer overflow) is
  sent only after the whole input chunk was processed, and not at all when that same chunk
  finished or reset the stream from the peer's side;
* zero-length data frames are never sent (each would be one more frame the peer has to match).

The other way round we are lenient: frames for streams we no longer know (a reset crossing the
peer's data, a duplicate CLOSE) are ignored and counted, and only a flood of them (more than
``MAX_LATE_FRAMES`` within ``LATE_WINDOW_FRAMES`` received frames) is a protocol error.
"""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.errors import ConfigError
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
    StreamData,
    StreamEnded,
    StreamOpened,
    StreamReset,
)
from pystatus.p2p.varint import decode_uvarint, encode_uvarint

MPLEX_PROTOCOL_ID = "/mplex/6.7.0"

# Flags, mplex/README.md "Flag values". Odd flags are sent by a stream's receiver, even flags
# (other than NewStream) by its initiator.
NEW_STREAM = 0
MESSAGE_RECEIVER = 1
MESSAGE_INITIATOR = 2
CLOSE_RECEIVER = 3
CLOSE_INITIATOR = 4
RESET_RECEIVER = 5
RESET_INITIATOR = 6

#: The spec's and js's maximum message size.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
#: js names a stream by its id in decimal; anything longer than this is not a name.
MAX_STREAM_NAME = 1024
#: js decodes ``header >> 3`` as a 32-bit integer: ids at or above 2**28 would break it.
MAX_STREAM_ID = (1 << 28) - 1
#: What :meth:`MplexSession.send_window` reports: mplex has no flow control.
SEND_WINDOW = 1 << 30
#: js tolerates 5 missing-stream frames per second; we are more generous (frames for streams we
#: already dropped are ordinary in-flight races), counted per window of received frames since
#: a sans-IO session has no clock.
MAX_LATE_FRAMES = 1024
LATE_WINDOW_FRAMES = 4096


@dataclass(slots=True)
class MplexStats:
    """Counters for metrics; they only ever grow."""

    frames_received: int = 0
    late_frames: int = 0
    refused_streams: int = 0
    overflow_resets: int = 0


class _Stream:
    __slots__ = (
        "data_header",
        "doomed",
        "local_closed",
        "mplex_id",
        "ours",
        "remote_closed",
        "unconsumed",
    )

    def __init__(self, mplex_id: int, ours: bool) -> None:
        self.mplex_id = mplex_id
        self.ours = ours
        flag = MESSAGE_INITIATOR if ours else MESSAGE_RECEIVER
        self.data_header = encode_uvarint(mplex_id << 3 | flag)
        self.local_closed = False  # we sent CLOSE
        self.remote_closed = False  # the peer sent CLOSE
        # Reset by us while reading: invisible to the application, RESET sent at chunk end.
        self.doomed = False
        self.unconsumed = 0


def _length_prefix(length: int) -> bytes:
    # One- and two-byte varints inline: the per-frame cost of sending many small writes.
    if length < 0x80:
        return bytes((length,))
    if length < 0x4000:
        return bytes((length & 0x7F | 0x80, length >> 7))
    return encode_uvarint(length)


def _control_frame(mplex_id: int, flag: int) -> bytes:
    # CLOSE and RESET carry no data: header then a zero length.
    return encode_uvarint(mplex_id << 3 | flag) + b"\x00"


class MplexSession(MuxerSession):
    """One mplex session. Stream ids are ``mplex_id * 2`` for ours, ``mplex_id * 2 + 1`` theirs."""

    protocol_id = MPLEX_PROTOCOL_ID

    def __init__(
        self,
        *,
        is_initiator: bool,
        max_streams: int = 1024,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_unconsumed_per_stream: int = 4 << 20,
    ) -> None:
        if max_streams < 1 or max_message_size < 1 or max_unconsumed_per_stream < 1:
            raise ConfigError("mplex limits must be positive")
        self.is_initiator = is_initiator
        self._max_streams = max_streams
        self._max_message_size = max_message_size
        self._max_unconsumed = max_unconsumed_per_stream
        self._streams: dict[int, _Stream] = {}
        self._inbound = 0
        self._outbound = 0
        self._next_id = 0
        self._closed = False
        # Input state: a partial header (few bytes), or a frame whose body is still arriving.
        self._head = b""
        self._pending: tuple[int, int, int] | None = None
        self._parts: list[bytes | memoryview] = []
        self._parts_len = 0
        self._out: list[bytes | memoryview] = []
        self._doomed: list[_Stream] = []
        self._late_window_start = 0
        self._late_in_window = 0
        self.stats = MplexStats()

    # -- MuxerSession ---------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

    def receive_data(self, data: bytes) -> list[MuxerEvent]:
        if self._closed or not data:
            return []
        if type(data) is not bytes:
            data = bytes(data)
        events: list[MuxerEvent] = []
        try:
            pos = 0
            pending = self._pending
            if pending is not None:
                # A frame body is incomplete: collect pieces without copying until it is whole,
                # then join once (growing a bytearray would copy it again and again).
                need = pending[1] - self._parts_len
                if len(data) < need:
                    self._parts.append(data)
                    self._parts_len += len(data)
                    return events
                parts = self._parts
                parts.append(data if need == len(data) else memoryview(data)[:need])
                body = b"".join(parts)
                parts.clear()
                self._parts_len = 0
                self._pending = None
                self._on_frame(pending[0], body, 0, len(body), events)
                pos = need
            elif self._head:
                # Only a header (at most two 9-byte varints) can be left over here.
                data = self._head + data
                self._head = b""
            pos = self._parse(data, pos, events)
            if pos < len(data):
                pending = self._pending
                if pending is None:
                    self._head = data[pos:]
                else:
                    self._parts.append(memoryview(data)[pending[2] :])
                    self._parts_len = len(data) - pending[2]
        except RemoteProtocolError:
            self._fail()
            raise
        finally:
            if self._doomed:
                self._finish_doomed()
        return events

    def open_stream(self) -> int:
        if self._closed:
            raise LocalProtocolError("mplex session is closed")
        if self._outbound >= self._max_streams:
            raise ResourceLimitError(f"{self._outbound} outbound mplex streams open")
        mplex_id = self._next_id
        if mplex_id > MAX_STREAM_ID:
            raise ResourceLimitError("mplex stream ids exhausted")
        self._next_id = mplex_id + 1
        self._streams[mplex_id * 2] = _Stream(mplex_id, ours=True)
        self._outbound += 1
        # js names streams by their id in decimal (mplex.ts newStream).
        name = str(mplex_id).encode()
        self._out.append(encode_uvarint(mplex_id << 3 | NEW_STREAM) + encode_uvarint(len(name)))
        self._out.append(name)
        return mplex_id * 2

    def send(self, stream_id: int, data: bytes) -> int:
        stream = self._streams.get(stream_id)
        if stream is None or stream.doomed:
            raise LocalProtocolError(f"mplex stream {stream_id} is reset or unknown")
        if stream.local_closed:
            raise LocalProtocolError(f"mplex stream {stream_id} is closed for writing")
        total = len(data)
        if not total:
            return 0
        header = stream.data_header
        out = self._out
        chunk = self._max_message_size
        if total <= chunk:
            out.append(header + _length_prefix(total))
            out.append(data if type(data) is bytes else bytes(data))
            return total
        # Split like js's MplexStream.sendData: frames of at most the maximum message size.
        # Slices of an immutable bytes object are safe to keep until data_to_send() joins them.
        view = memoryview(data if type(data) is bytes else bytes(data))
        for offset in range(0, total, chunk):
            piece = view[offset : offset + chunk]
            out.append(header + _length_prefix(len(piece)))
            out.append(piece)
        return total

    def send_window(self, stream_id: int) -> int:
        stream = self._streams.get(stream_id)
        if stream is None or stream.doomed or stream.local_closed:
            return 0
        return SEND_WINDOW

    def consumed(self, stream_id: int, amount: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.unconsumed = max(0, stream.unconsumed - amount)

    def close_stream(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        # Unknown means reset or finished in both directions: the peer no longer tracks it.
        if stream is None or stream.doomed or stream.local_closed:
            return
        stream.local_closed = True
        flag = CLOSE_INITIATOR if stream.ours else CLOSE_RECEIVER
        self._out.append(_control_frame(stream.mplex_id, flag))
        if stream.remote_closed:
            self._drop(stream_id, stream)

    def reset_stream(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.doomed:
            return
        self._send_reset(stream)
        self._drop(stream_id, stream)

    def ping(self, opaque: int) -> None:
        """mplex has no ping."""

    def close(self) -> None:
        """Reset every stream the peer still tracks (mplex has no go-away) and stop."""
        if self._closed:
            return
        for stream in self._streams.values():
            self._send_reset(stream)
        self._streams.clear()
        self._doomed.clear()
        self._inbound = self._outbound = 0
        self._closed = True
        self._drop_input()

    # -- internals ------------------------------------------------------------------------

    def _send_reset(self, stream: _Stream) -> None:
        flag = RESET_INITIATOR if stream.ours else RESET_RECEIVER
        self._out.append(_control_frame(stream.mplex_id, flag))

    def _drop(self, stream_id: int, stream: _Stream) -> None:
        # Only for streams still visible to the application; doomed ones are counted apart.
        del self._streams[stream_id]
        if stream.ours:
            self._outbound -= 1
        else:
            self._inbound -= 1

    def _doom(self, stream_id: int, stream: _Stream) -> None:
        # Counted out of the inbound limit now; dropped (and reset) at the end of the chunk.
        if not stream.ours:
            self._inbound -= 1
        stream.doomed = True
        self._doomed.append(stream)

    def _finish_doomed(self) -> None:
        streams = self._streams
        for stream in self._doomed:
            stream_id = stream.mplex_id * 2 + (0 if stream.ours else 1)
            if streams.get(stream_id) is not stream:
                continue  # the peer reset it in the same chunk: it no longer tracks it
            del streams[stream_id]
            if stream.ours:
                self._outbound -= 1
            if not (stream.local_closed and stream.remote_closed) and not self._closed:
                self._send_reset(stream)
        self._doomed.clear()

    def _fail(self) -> None:
        # A broken peer: the connection goes down, so there is nobody to send resets to.
        self._closed = True
        self._streams.clear()
        self._doomed.clear()
        self._inbound = self._outbound = 0
        self._drop_input()

    def _drop_input(self) -> None:
        self._head = b""
        self._pending = None
        self._parts.clear()
        self._parts_len = 0

    def _late(self) -> None:
        stats = self.stats
        stats.late_frames += 1
        frames_now = stats.frames_received
        if frames_now - self._late_window_start >= LATE_WINDOW_FRAMES:
            self._late_window_start = frames_now
            self._late_in_window = 0
        self._late_in_window += 1
        if self._late_in_window > MAX_LATE_FRAMES:
            raise LimitExceeded(
                f"more than {MAX_LATE_FRAMES} mplex frames for unknown streams "
                f"within {LATE_WINDOW_FRAMES} frames"
            )

    def _parse(self, buf: bytes, pos: int, events: list[MuxerEvent]) -> int:
        """Handle every complete frame in ``buf`` from ``pos``; return where parsing stopped.

        When it stops inside a frame body, ``self._pending`` holds (header, length, body start).
        """
        end = len(buf)
        max_size = self._max_message_size
        on_frame = self._on_frame
        while pos < end:
            # Header and length varints; one- and two-byte forms are decoded inline.
            byte = buf[pos]
            if byte < 0x80:
                header = byte
                cursor = pos + 1
            else:
                decoded = decode_uvarint(buf, pos)
                if decoded is None:
                    break
                header, cursor = decoded
            if header & 7 == 7:
                raise DecodeError("mplex frame with unknown flag 7")
            if cursor >= end:
                break
            byte = buf[cursor]
            if byte < 0x80:
                length = byte
                cursor += 1
            elif cursor + 1 < end and buf[cursor + 1] < 0x80:
                if not buf[cursor + 1]:
                    raise DecodeError("non-minimal varint")
                length = (byte & 0x7F) | buf[cursor + 1] << 7
                cursor += 2
            else:
                decoded = decode_uvarint(buf, cursor)
                if decoded is None:
                    break
                length, cursor = decoded
            if length > max_size:
                raise LimitExceeded(f"mplex frame of {length} bytes exceeds {max_size}")
            stop = cursor + length
            if stop > end:
                self._pending = (header, length, cursor)
                break
            on_frame(header, buf, cursor, stop, events)
            pos = stop
        return pos

    def _on_frame(
        self, header: int, buf: bytes, start: int, stop: int, events: list[MuxerEvent]
    ) -> None:
        """Apply one whole frame whose body is ``buf[start:stop]``."""
        self.stats.frames_received += 1
        flag = header & 7
        mplex_id = header >> 3
        if flag == NEW_STREAM:
            self._on_new_stream(mplex_id, stop - start, events)
            return
        # Odd flags come from the receiver of a stream we opened.
        stream_id = mplex_id * 2 if flag & 1 else mplex_id * 2 + 1
        stream = self._streams.get(stream_id)
        if stream is None:
            self._late()
        elif flag <= MESSAGE_INITIATOR:
            if stream.doomed or start == stop:
                return
            if stream.remote_closed:
                self._late()  # data after the peer's CLOSE: ignore it
                return
            unconsumed = stream.unconsumed + stop - start
            if unconsumed > self._max_unconsumed:
                # mplex has no back-pressure: a reader this far behind loses the stream, as
                # js does at maxStreamBufferSize (mplex.ts _handleIncoming).
                self.stats.overflow_resets += 1
                self._doom(stream_id, stream)
                events.append(StreamReset(stream_id))
                return
            stream.unconsumed = unconsumed
            # A whole bytes object slices to itself: the joined body of a big frame is not
            # copied again.
            events.append(StreamData(stream_id, buf[start:stop]))
        elif flag <= CLOSE_INITIATOR:
            if stream.remote_closed:
                self._late()  # a second CLOSE
                return
            stream.remote_closed = True
            if stream.doomed:
                return
            events.append(StreamEnded(stream_id))
            if stream.local_closed:
                self._drop(stream_id, stream)
        elif stream.doomed:
            # A reset from the peer: it already forgot the stream, so do we, silently.
            del self._streams[stream_id]
            if stream.ours:
                self._outbound -= 1
        else:
            self._drop(stream_id, stream)
            events.append(StreamReset(stream_id))

    def _on_new_stream(self, mplex_id: int, name_length: int, events: list[MuxerEvent]) -> None:
        stream_id = mplex_id * 2 + 1
        if stream_id in self._streams:
            raise RemoteProtocolError(f"mplex stream {mplex_id} opened twice")
        if name_length > MAX_STREAM_NAME:
            raise LimitExceeded(f"mplex stream name of {name_length} bytes")
        stream = _Stream(mplex_id, ours=False)
        self._streams[stream_id] = stream
        if self._inbound >= self._max_streams:
            # Refused as js does (RESET_RECEIVER at once), but sent at the end of the chunk so
            # a reset from the peer in the same chunk is not answered. Not fatal.
            self.stats.refused_streams += 1
            stream.doomed = True
            self._doomed.append(stream)
            return
        self._inbound += 1
        events.append(StreamOpened(stream_id))
