"""An mplex frame codec written apart from the implementation, a model of js @libp2p/mplex's
stream bookkeeping, and a pair of sessions wired together in memory (for test_mplex*.py)."""

from dataclasses import dataclass, field

from pystatus.p2p.muxer.events import (
    MuxerEvent,
)
from pystatus.p2p.muxer.mplex import (
    MplexSession,
)

NEW, MSG_R, MSG_I, CLOSE_R, CLOSE_I, RESET_R, RESET_I = range(7)

# -- a decoder and encoder written apart from the implementation ------------------------------


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame(mplex_id: int, flag: int, data: bytes = b"") -> bytes:
    return uvarint(mplex_id << 3 | flag) + uvarint(len(data)) + data


def decode_frames(data: bytes) -> list[tuple[int, int, bytes]]:
    frames = []
    pos = 0
    while pos < len(data):
        values = []
        for _ in range(2):
            value = shift = 0
            while True:
                byte = data[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            values.append(value)
        header, length = values
        frames.append((header >> 3, header & 7, data[pos : pos + length]))
        pos += length
    return frames


# -- js-mplex's stream bookkeeping ------------------------------------------------------------


@dataclass
class _JsStream:
    read_closed: bool = False  # source ended: the peer's CLOSE arrived
    write_closed: bool = False  # sink ended: our CLOSE went out


@dataclass
class JsMplexModel:
    """The streams one js side still tracks, driven by the frames it sends and receives."""

    initiators: dict[int, _JsStream] = field(default_factory=dict)
    receivers: dict[int, _JsStream] = field(default_factory=dict)
    missing: list[tuple[int, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def sent(self, mplex_id: int, flag: int) -> None:
        if flag == NEW:
            self.initiators[mplex_id] = _JsStream()
            return
        # Our own even flags name streams we initiated.
        table = self.receivers if flag & 1 else self.initiators
        stream = table.get(mplex_id)
        if stream is None:
            return
        if flag in (CLOSE_R, CLOSE_I):
            stream.write_closed = True
            if stream.read_closed:
                del table[mplex_id]  # onSinkEnd after onSourceEnd -> onEnd -> registry.delete
        elif flag in (RESET_R, RESET_I):
            del table[mplex_id]  # abort(): both ends closed at once

    def received(self, mplex_id: int, flag: int) -> None:
        if flag == NEW:
            if mplex_id in self.receivers:
                self.violations.append(f"stream {mplex_id} opened twice")  # js throws
            self.receivers[mplex_id] = _JsStream()
            return
        # mplex.ts: (type & 1) === 1 ? initiators : receivers
        table = self.initiators if flag & 1 else self.receivers
        stream = table.get(mplex_id)
        if stream is None:
            self.missing.append((mplex_id, flag))
            return
        if flag in (MSG_R, MSG_I):
            if stream.read_closed:
                self.violations.append(f"data on {mplex_id} after CLOSE")
        elif flag in (CLOSE_R, CLOSE_I):
            if stream.read_closed:
                self.violations.append(f"second CLOSE on {mplex_id}")
            stream.read_closed = True
            if stream.write_closed:
                del table[mplex_id]
        else:
            del table[mplex_id]  # reset(): both ends closed at once

    def assert_clean(self) -> None:
        assert self.missing == []
        assert self.violations == []


class Pair:
    """Two sessions in memory; each side's frames are checked against a model of the other."""

    def __init__(self, **limits: int) -> None:
        self.a = MplexSession(is_initiator=True, **limits)
        self.b = MplexSession(is_initiator=False, **limits)
        self.js_a = JsMplexModel()
        self.js_b = JsMplexModel()
        self.events_a: list[MuxerEvent] = []
        self.events_b: list[MuxerEvent] = []

    def pump(self) -> None:
        """Deliver until quiet. Bytes drained in one round cross on the wire."""
        while True:
            out_a = self.a.data_to_send()
            out_b = self.b.data_to_send()
            if not out_a and not out_b:
                return
            frames_a = decode_frames(out_a)
            frames_b = decode_frames(out_b)
            for mplex_id, flag, _ in frames_a:
                self.js_a.sent(mplex_id, flag)
            for mplex_id, flag, _ in frames_b:
                self.js_b.sent(mplex_id, flag)
            for mplex_id, flag, _ in frames_a:
                self.js_b.received(mplex_id, flag)
            for mplex_id, flag, _ in frames_b:
                self.js_a.received(mplex_id, flag)
            self.events_b += self.b.receive_data(out_a)
            self.events_a += self.a.receive_data(out_b)

    def take_a(self) -> list[MuxerEvent]:
        events, self.events_a = self.events_a, []
        return events

    def take_b(self) -> list[MuxerEvent]:
        events, self.events_b = self.events_b, []
        return events

    def assert_clean(self) -> None:
        self.js_a.assert_clean()
        self.js_b.assert_clean()


def peer_of(stream_id: int) -> int:
    """The id the other session gives the same stream."""
    return stream_id ^ 1
