"""Message segmentation as status-go does it (sans-IO: time is passed in, in seconds).

A payload longer than a segment size (3/4 of the Waku max message size, to leave room for the
segment's own fields) is cut into ``SegmentMessage``s, each sent as its own Waku message
(status-go v1.1.0 ``protocol/common/message_segmentation.go``). The payload is what later gets
RFC 26 encrypted: the serialized ProtocolMessage, or a public/community raw payload. With 8
data segments or more, ``floor(n / 8)`` Reed-Solomon parity segments follow (see
:mod:`pystatus.chat.reedsolomon`), unless data and parity would exceed 256 shards.

On receipt status-go first parses every decrypted payload as a ``SegmentMessage``; it is a
segment if that parse succeeds and ``segments_count >= 2 or parity_segments_count > 0``
(``SegmentMessage.IsValid``); otherwise it is handled as usual. A normal ProtocolMessage never
passes: its fields 2 and 3 are length-delimited, so protobuf keeps them as unknown fields and
both counts stay 0. The parse here follows Go's protobuf decoder (google.golang.org/protobuf
v1.34.1) rather than upb, which differs on two corner cases: a tenth varint byte above 1, and
unknown groups nested more than about 100 deep.

Segments are collected per (sender, hash of the whole payload), as status-go does, and whole
payload hashes already reassembled are remembered (for any sender) so late copies are ignored;
status-go checks that before it checks the counts, and so does :class:`Reassembler`.

Where this is stricter than status-go (which would store such segments, never complete the
message, and hand the bytes on to the decryption layer to fail there): the hash must be 32
bytes, segments must be non-empty and sized as a status-go sender cuts them, a data segment
needs ``segments_count >= 2``, and a second segment with the same index must be identical.
Where it does better: if the last data segment is lost and rebuilt from parity it comes back
zero-padded, and status-go's hash check then fails; here the padding is found by trying the
lengths that strip trailing zeros (at most :data:`MAX_PADDING_GUESSES`).

tests/vectors/statusgo/segmentation.json holds status-go's answers; running status-go's own
code on them: tests/interop/segmentation/crosscheck/crosscheck.sh.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from pystatus.chat import reedsolomon
from pystatus.chat.proto import segment_message_pb2
from pystatus.errors import ChatError, ConfigError
from pystatus.waku.enr import keccak256

PARITY_RATE_DIVISOR = 8
"""status-go adds ``floor(data segments * 0.125)`` parity segments."""
MAX_SHARDS = reedsolomon.MAX_SHARDS
HASH_LENGTH = 32
MAX_PADDING_GUESSES = 16

SEGMENTS_RECEIVED = Counter("chat_segments_received", "Message segments received", ["kind"])
SEGMENTS_REASSEMBLED = Counter(
    "chat_segments_reassembled_messages", "Segmented payloads put back together", ["method"]
)
SEGMENTS_DROPPED = Counter(
    "chat_segments_dropped", "Segments or pending segmented payloads dropped", ["reason"]
)
SEGMENTS_PENDING = Gauge("chat_segments_pending_messages", "Segmented payloads being collected")
SEGMENTS_PENDING_BYTES = Gauge("chat_segments_pending_bytes", "Bytes of segments being held")


class SegmentationError(ChatError):
    """Root of the segmentation errors."""


class SegmentError(SegmentationError):
    """A received segment breaks the protocol or our bounds; drop the Waku message it came in."""


class InvalidSegment(SegmentError):
    """A segment is malformed on its own: counts, index out of range, hash length, empty."""


class InconsistentSegments(SegmentError):
    """A segment disagrees with earlier ones of the same payload (counts, sizes, content); the
    whole payload being collected is dropped."""


class SegmentHashMismatch(SegmentError):
    """The reassembled payload does not hash to the segments' ``entire_message_hash``."""


class SegmentLimitExceeded(SegmentError):
    """A segmented payload is larger than the reassembler accepts."""


@dataclass(frozen=True, slots=True)
class Segment:
    """The fields of a ``SegmentMessage``, as Go's decoder reads them."""

    entire_message_hash: bytes = b""
    index: int = 0
    segments_count: int = 0
    payload: bytes = b""
    parity_segment_index: int = 0
    parity_segments_count: int = 0

    @property
    def is_valid(self) -> bool:
        """status-go's ``IsValid``: what makes a payload a segment rather than a message."""
        return self.segments_count >= 2 or self.parity_segments_count > 0

    @property
    def is_parity(self) -> bool:
        return self.segments_count == 0 and self.parity_segments_count > 0


def segment_size(max_message_size: int) -> int:
    """status-go's segment size for a transport's max message size (``max / 4 * 3``)."""
    return max_message_size // 4 * 3


def _encode(segment: Segment) -> bytes:
    message = segment_message_pb2.SegmentMessage(
        entire_message_hash=segment.entire_message_hash,
        index=segment.index,
        segments_count=segment.segments_count,
        payload=segment.payload,
        parity_segment_index=segment.parity_segment_index,
        parity_segments_count=segment.parity_segments_count,
    )
    return message.SerializeToString()


def segment(payload: bytes, segment_size: int) -> list[bytes]:
    """The Waku payloads status-go sends for ``payload``: itself if it is at most
    ``segment_size`` bytes, else the serialized data segments and then the parity segments."""
    if segment_size < 1:
        raise SegmentationError(f"segment size {segment_size}")
    if len(payload) <= segment_size:
        return [payload]
    digest = keccak256(payload)
    chunks = [payload[i : i + segment_size] for i in range(0, len(payload), segment_size)]
    count = len(chunks)
    out = [
        _encode(Segment(digest, index=i, segments_count=count, payload=chunk))
        for i, chunk in enumerate(chunks)
    ]
    parity = count // PARITY_RATE_DIVISOR
    if parity == 0 or count + parity > MAX_SHARDS:
        return out
    shards = [*chunks[:-1], chunks[-1].ljust(segment_size, b"\x00")]
    for i, shard in enumerate(reedsolomon.encode(shards, parity)):
        out.append(
            _encode(
                Segment(digest, parity_segment_index=i, parity_segments_count=parity, payload=shard)
            )
        )
    return out


# -- decoding, after google.golang.org/protobuf's protowire and impl.unmarshalPointer ---------

_MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_INT32 = (1 << 31) - 1
_RECURSION_LIMIT = 10_000
_VARINT, _FIXED64, _BYTES, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5


class _Malformed(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(10):
        if pos + i >= len(data):
            raise _Malformed("truncated varint")
        byte = data[pos + i]
        if i == 9 and byte > 1:
            raise _Malformed("varint overflows 64 bits")
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, pos + i + 1
    raise AssertionError("unreachable")


def _length_delimited(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _varint(data, pos)
    if length > len(data) - pos:
        raise _Malformed("truncated length-delimited field")
    return data[pos : pos + length], pos + length


def _skip(data: bytes, pos: int, number: int, wire_type: int) -> int:
    """Skip one unknown field value (protowire.ConsumeFieldValue), groups included."""
    groups: list[int] = []
    while True:
        if wire_type == _VARINT:
            pos = _varint(data, pos)[1]
        elif wire_type in (_FIXED32, _FIXED64):
            pos += 4 if wire_type == _FIXED32 else 8
            if pos > len(data):
                raise _Malformed("truncated fixed-width field")
        elif wire_type == _BYTES:
            pos = _length_delimited(data, pos)[1]
        elif wire_type == _START_GROUP:
            if len(groups) > _RECURSION_LIMIT:
                raise _Malformed("groups nested too deep")
            groups.append(number)
        elif wire_type == _END_GROUP:
            if not groups or groups[-1] != number:
                raise _Malformed("unmatched end group")
            groups.pop()
        else:
            raise _Malformed(f"reserved wire type {wire_type}")
        if not groups:
            return pos
        tag, pos = _varint(data, pos)
        if tag >> 3 > _MAX_INT32 or tag >> 3 == 0:
            raise _Malformed("invalid field number in group")
        number, wire_type = tag >> 3, tag & 7


def decode_segment(data: bytes) -> Segment | None:
    """``data`` read as a ``SegmentMessage`` the way Go's protobuf decoder reads it (last value
    wins, a known field with another wire type is kept as unknown, uint32 truncated), or None
    where Go's ``proto.Unmarshal`` fails."""
    fields: dict[str, bytes | int] = {}
    pos = 0
    try:
        while pos < len(data):
            tag, pos = _varint(data, pos)
            number, wire_type = tag >> 3, tag & 7
            if number == 0 or number > _MAX_FIELD_NUMBER or wire_type == _END_GROUP:
                raise _Malformed("invalid tag")
            name = _FIELDS.get(number)
            if name is not None and wire_type == _BYTES and number in (1, 4):
                fields[name], pos = _length_delimited(data, pos)
            elif name is not None and wire_type == _VARINT and number not in (1, 4):
                value, pos = _varint(data, pos)
                fields[name] = value & 0xFFFFFFFF
            else:
                pos = _skip(data, pos, number, wire_type)
    except _Malformed:
        return None
    return Segment(**fields)  # type: ignore[arg-type]


_FIELDS = {
    1: "entire_message_hash",
    2: "index",
    3: "segments_count",
    4: "payload",
    5: "parity_segment_index",
    6: "parity_segments_count",
}


def parse_segment(data: bytes) -> Segment | None:
    """``data`` as a segment, or None if status-go would handle it as a normal payload."""
    decoded = decode_segment(data)
    return decoded if decoded is not None and decoded.is_valid else None


def is_segment(data: bytes) -> bool:
    return parse_segment(data) is not None


# -- reassembly ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotSegment:
    """Not a segment: handle the payload as usual."""


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A segment was kept (or was a harmless duplicate); the payload is not complete yet."""


@dataclass(frozen=True, slots=True)
class AlreadyCompleted:
    """A segment of a payload already reassembled: ignore it."""


@dataclass(frozen=True, slots=True)
class Complete:
    """The last segment needed arrived: ``payload`` is the whole payload."""

    payload: bytes
    used_parity: bool = False


ReceiveResult = NotSegment | Incomplete | AlreadyCompleted | Complete


@dataclass(frozen=True, slots=True, kw_only=True)
class ReassemblerConfig:
    max_pending_messages: int = 256
    """Payloads being collected at once; the oldest is dropped to make room."""
    max_segments_per_message: int = 1024
    """Largest ``segments_count`` (and ``parity_segments_count``) accepted."""
    max_message_bytes: int = 64 * 1024 * 1024
    """Largest payload accepted, as declared (count x segment size) and as held."""
    max_total_bytes: int = 256 * 1024 * 1024
    """Bytes of segments held across all payloads; the oldest are dropped to make room."""
    pending_timeout: float = 3600.0
    """Seconds a payload may take to complete, from its first segment."""
    max_completed: int = 10_000
    """Hashes of reassembled payloads remembered, to ignore late copies."""
    completed_timeout: float = 7 * 24 * 3600.0
    """Seconds a reassembled payload's hash is remembered."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if getattr(self, f.name) <= 0:
                raise ConfigError(f"ReassemblerConfig.{f.name} must be positive")
        if self.max_message_bytes > self.max_total_bytes:
            raise ConfigError("ReassemblerConfig.max_message_bytes exceeds max_total_bytes")


@dataclass(slots=True)
class _Pending:
    deadline: float
    data_count: int = 0
    parity_count: int = 0
    shard_size: int = 0
    """Size of every segment but the last data one, once known."""
    data: dict[int, bytes] = field(default_factory=dict)
    parity: dict[int, bytes] = field(default_factory=dict)
    nbytes: int = 0


class Reassembler:
    """Collects segments per (sender, payload hash) and hands back whole payloads."""

    def __init__(self, config: ReassemblerConfig | None = None) -> None:
        self.config = config or ReassemblerConfig()
        self._pending: OrderedDict[tuple[bytes, bytes], _Pending] = OrderedDict()
        self._completed: OrderedDict[bytes, float] = OrderedDict()
        self._bytes = 0

    @property
    def pending_messages(self) -> int:
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def receive(self, sender: bytes, payload: bytes, now: float) -> ReceiveResult:
        """Take one decrypted Waku payload from ``sender`` (the key that signed it). Raises a
        :class:`SegmentError` for a segment to drop."""
        decoded = decode_segment(payload)
        if decoded is None:
            return NotSegment()
        # status-go looks the hash up before it looks at the counts.
        if decoded.entire_message_hash in self._completed:
            SEGMENTS_DROPPED.labels("already_completed").inc()
            return AlreadyCompleted()
        if not decoded.is_valid:
            return NotSegment()
        SEGMENTS_RECEIVED.labels("parity" if decoded.is_parity else "data").inc()
        try:
            self._check(decoded)
            return self._add(sender, decoded, now)
        except SegmentError as exc:
            SEGMENTS_DROPPED.labels(_REASONS[type(exc)]).inc()
            raise

    def _check(self, s: Segment) -> None:
        limit = self.config.max_segments_per_message
        if len(s.entire_message_hash) != HASH_LENGTH:
            raise InvalidSegment(f"hash of {len(s.entire_message_hash)} bytes")
        if not s.payload:
            raise InvalidSegment("empty segment")
        if s.is_parity:
            if s.parity_segments_count > min(limit, MAX_SHARDS - 1):
                raise SegmentLimitExceeded(f"{s.parity_segments_count} parity segments")
            if s.parity_segment_index >= s.parity_segments_count:
                raise InvalidSegment(
                    f"parity index {s.parity_segment_index} of {s.parity_segments_count}"
                )
            return
        if s.segments_count < 2:
            raise InvalidSegment(f"data segment of a {s.segments_count}-segment payload")
        if s.segments_count > limit:
            raise SegmentLimitExceeded(f"{s.segments_count} segments")
        if s.index >= s.segments_count:
            raise InvalidSegment(f"index {s.index} of {s.segments_count}")

    def _add(self, sender: bytes, s: Segment, now: float) -> ReceiveResult:
        key = (sender, s.entire_message_hash)
        entry = self._pending.get(key)
        if entry is None:
            self._make_room()
            entry = _Pending(deadline=now + self.config.pending_timeout)
            self._pending[key] = entry
            SEGMENTS_PENDING.inc()
        try:
            if not self._store(entry, s):
                SEGMENTS_DROPPED.labels("duplicate").inc()
                return Incomplete()
            self._bytes += len(s.payload)
            entry.nbytes += len(s.payload)
            SEGMENTS_PENDING_BYTES.inc(len(s.payload))
            if entry.nbytes > self.config.max_message_bytes:
                raise SegmentLimitExceeded(f"more than {self.config.max_message_bytes} bytes")
            result = self._try_complete(entry, s.entire_message_hash)
        except SegmentError:
            self._forget(key)
            raise
        if result is not None:
            self._forget(key)
            self._remember_completed(s.entire_message_hash, now)
            SEGMENTS_REASSEMBLED.labels("parity" if result.used_parity else "data").inc()
            return result
        self._evict_for_bytes(keep=key)
        return Incomplete()

    def _store(self, entry: _Pending, s: Segment) -> bool:
        """Checks ``s`` against what ``entry`` knows and keeps it; False for a duplicate."""
        if s.is_parity:
            count, table, index = s.parity_segments_count, entry.parity, s.parity_segment_index
            if entry.parity_count and count != entry.parity_count:
                raise InconsistentSegments(f"{count} parity segments, earlier {entry.parity_count}")
            entry.parity_count = count
            full = True
        else:
            count, table, index = s.segments_count, entry.data, s.index
            if entry.data_count and count != entry.data_count:
                raise InconsistentSegments(f"{count} segments, earlier {entry.data_count}")
            entry.data_count = count
            full = index != count - 1
        shards = entry.data_count + entry.parity_count
        if entry.data_count and entry.parity_count and shards > MAX_SHARDS:
            raise InconsistentSegments("parity segments for more than 256 shards")
        known = table.get(index)
        if known is not None:
            if known != s.payload:
                raise InconsistentSegments(f"two different segments at index {index}")
            return False
        size = len(s.payload)
        if full:
            if entry.shard_size and size != entry.shard_size:
                raise InconsistentSegments(f"segment of {size} bytes, others {entry.shard_size}")
            entry.shard_size = size
        if entry.shard_size:
            last = s.payload if not full else entry.data.get(entry.data_count - 1)
            if last is not None and len(last) > entry.shard_size:
                raise InconsistentSegments("last segment longer than the others")
            declared = entry.data_count * entry.shard_size
            if declared > self.config.max_message_bytes:
                raise SegmentLimitExceeded(f"a payload of up to {declared} bytes")
        table[index] = s.payload
        return True

    def _try_complete(self, entry: _Pending, digest: bytes) -> Complete | None:
        k = entry.data_count
        if k and len(entry.data) == k:
            payload = b"".join(entry.data[i] for i in range(k))
            if keccak256(payload) != digest:
                raise SegmentHashMismatch("reassembled payload does not match its hash")
            return Complete(payload)
        m = entry.parity_count
        if not (k and m and entry.shard_size and len(entry.data) + len(entry.parity) >= k):
            return None
        size = entry.shard_size
        last = entry.data.get(k - 1)
        shards: list[bytes | None] = [entry.data.get(i) for i in range(k)]
        if last is not None:
            shards[k - 1] = last.ljust(size, b"\x00")
        shards += [entry.parity.get(i) for i in range(m)]
        try:
            data = reedsolomon.reconstruct_data(shards, k)
        except reedsolomon.ReedSolomonError as exc:
            raise InconsistentSegments(str(exc)) from exc
        head = b"".join(data[: k - 1])
        if last is not None:
            candidates = [last]
        else:
            stripped = max(1, len(data[k - 1].rstrip(b"\x00")))
            upper = min(size, stripped + MAX_PADDING_GUESSES - 1)
            candidates = [data[k - 1][:n] for n in range(stripped, upper + 1)]
        for tail in candidates:
            if keccak256(head + tail) == digest:
                return Complete(head + tail, used_parity=True)
        raise SegmentHashMismatch("payload rebuilt from parity does not match its hash")

    def _forget(self, key: tuple[bytes, bytes]) -> None:
        entry = self._pending.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.nbytes
        SEGMENTS_PENDING.dec()
        SEGMENTS_PENDING_BYTES.dec(entry.nbytes)

    def _make_room(self) -> None:
        while len(self._pending) >= self.config.max_pending_messages:
            self._forget(next(iter(self._pending)))
            SEGMENTS_DROPPED.labels("evicted").inc()

    def _evict_for_bytes(self, keep: tuple[bytes, bytes]) -> None:
        while self._bytes > self.config.max_total_bytes:
            oldest = next((k for k in self._pending if k != keep), None)
            if oldest is None:
                return
            self._forget(oldest)
            SEGMENTS_DROPPED.labels("evicted").inc()

    def _remember_completed(self, digest: bytes, now: float) -> None:
        self._completed[digest] = now + self.config.completed_timeout
        self._completed.move_to_end(digest)
        while len(self._completed) > self.config.max_completed:
            self._completed.popitem(last=False)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` next has something to expire."""
        # Both tables are in insertion order, and so in deadline order.
        firsts = [
            next(iter(self._pending.values())).deadline if self._pending else None,
            next(iter(self._completed.values())) if self._completed else None,
        ]
        return min((d for d in firsts if d is not None), default=None)

    def handle_timer(self, now: float) -> None:
        """Drops payloads that did not complete in time and forgets old completed hashes."""
        while self._pending:
            key, entry = next(iter(self._pending.items()))
            if entry.deadline > now:
                break
            self._forget(key)
            SEGMENTS_DROPPED.labels("expired").inc()
        while self._completed:
            digest, expiry = next(iter(self._completed.items()))
            if expiry > now:
                break
            del self._completed[digest]


_REASONS: dict[type[SegmentError], str] = {
    InvalidSegment: "invalid",
    InconsistentSegments: "inconsistent",
    SegmentHashMismatch: "hash_mismatch",
    SegmentLimitExceeded: "too_large",
}
