"""SDS, Scalable Data Sync, for one channel, with its repair extension (sans-IO: time is
passed in, in seconds).

Each participant keeps a Lamport clock, a log of the channel's message ids ordered by
(Lamport timestamp, id), a bloom filter of what it received, the messages it sent that nobody
acknowledged yet, and the messages whose causal history it has not seen. A message names the
last few ids of the sender's log; it is delivered once those are in the receiver's log, so
every sender's messages come out in the order they were sent, whatever order they arrive in.
A sender counts its message acknowledged when a later message names it in its causal history,
or when several bloom filters claim it; unacknowledged messages are broadcast again.

Missing dependencies are asked for in ``repair_request`` (SDS-R) after a pseudorandom wait,
and whoever holds the message and is due answers by broadcasting it again; the application may
also fetch them from a store by their retrieval hint (the Waku message hash). A message whose
dependencies stay missing past ``incoming_timeout`` is delivered anyway and the missing ids
reported lost.

The spec leaves SDS-R's ``hash`` open: here it is the first 8 bytes of SHA-256, big-endian.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError as ProtobufDecodeError

from pystatus.chat.bloom import BloomFilter, BloomFilterError
from pystatus.chat.proto import sds_pb2
from pystatus.errors import ChatError

CAUSAL_HISTORY = 2
"""Ids of the log's tail each message names (the spec recommends two)."""
MAX_LOG = 10_000
MAX_KNOWN = 100_000
MAX_CACHED = 1_000
"""Full messages kept to answer repair requests."""
MAX_BUFFERED = 10_000
RESEND_UNACKNOWLEDGED = 30.0
RESEND_POSSIBLY_ACKNOWLEDGED = 90.0
MAX_RESENDS = 5
POSSIBLE_ACKS_NEEDED = 2
"""Bloom filters that must claim a message before it counts as acknowledged."""
INCOMING_TIMEOUT = 600.0
REPAIR_T_MIN = 30.0
REPAIR_T_MAX = 120.0
MAX_REPAIR_REQUESTS = 3
MAX_HISTORY_ENTRIES = 100
MAX_ID_LENGTH = 200


class SdsError(ChatError):
    """An SDS message did not decode or breaks the protocol's bounds."""


def _hash(*parts: str) -> int:
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True, slots=True)
class Delivered:
    message_id: str
    sender_id: str
    lamport: int
    content: bytes
    lost: tuple[str, ...] = ()
    """Dependencies given up on when this message was delivered without them."""


@dataclass(slots=True)
class _Unacknowledged:
    data: bytes
    sent_at: float
    resends: int = 0
    possible_acks: int = 0


@dataclass(slots=True)
class _Waiting:
    message: sds_pb2.SdsMessage
    missing: set[str]
    since: float


@dataclass(slots=True)
class Sweep:
    delivered: list[Delivered] = field(default_factory=list)
    rebroadcast: list[bytes] = field(default_factory=list)
    """Messages to broadcast again: our unacknowledged ones and repairs due from us."""
    failed: list[str] = field(default_factory=list)
    """Our messages nobody acknowledged after every resend."""


def parse(data: bytes) -> sds_pb2.SdsMessage:
    """Decode an SDS message, refusing anything without ids or with oversized lists."""
    try:
        message = sds_pb2.SdsMessage.FromString(data)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise SdsError(f"undecodable SDS message: {exc}") from None
    if not message.message_id or not message.channel_id:
        raise SdsError("an SDS message names its id and channel")
    if len(message.message_id) > MAX_ID_LENGTH or len(message.sender_id) > MAX_ID_LENGTH:
        raise SdsError("an SDS id is too long")
    if len(message.causal_history) + len(message.repair_request) > MAX_HISTORY_ENTRIES:
        raise SdsError("an SDS message names too many other messages")
    return message


class SdsChannel:
    def __init__(
        self,
        channel_id: str,
        participant_id: str,
        *,
        lamport: int = 0,
        bloom: BloomFilter | None = None,
        track_acknowledgements: bool = True,
        repair: bool = True,
        incoming_timeout: float = INCOMING_TIMEOUT,
        num_response_groups: int = 1,
    ) -> None:
        """``bloom``: the filter shared with others (None: send none, as 1:1 chats whose
        acknowledgements come from MVDS do)."""
        self.channel_id = channel_id
        self.participant_id = participant_id
        self.lamport = lamport
        self._bloom = bloom
        self._bloom_count = 0
        self._track = track_acknowledgements
        self._repair = repair
        self._incoming_timeout = incoming_timeout
        self._groups = max(1, num_response_groups)
        self._log: list[tuple[int, str]] = []
        self._known: OrderedDict[str, None] = OrderedDict()
        self._hints: OrderedDict[str, bytes] = OrderedDict()
        self._senders: dict[str, str] = {}
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._outgoing: dict[str, _Unacknowledged] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._waiting_on: dict[str, set[str]] = {}
        self._repair_out: dict[str, float] = {}
        self._repair_in: dict[str, float] = {}
        self.acknowledged: list[str] = []
        """Ids of our messages acknowledged since the caller last cleared this."""

    # -- state --------------------------------------------------------------------------------

    def knows(self, message_id: str) -> bool:
        return message_id in self._known

    def unacknowledged(self) -> list[str]:
        return list(self._outgoing)

    def waiting(self) -> int:
        """Messages held back for their causal history."""
        return len(self._waiting)

    def missing(self) -> dict[str, bytes | None]:
        """Ids this channel waits for, with their retrieval hints where known."""
        return {
            message_id: self._hints.get(message_id)
            for message_id in self._waiting_on
            if message_id not in self._known
        }

    def set_retrieval_hint(self, message_id: str, hint: bytes) -> None:
        self._hints[message_id] = hint
        if len(self._hints) > MAX_KNOWN:
            self._hints.popitem(last=False)

    def export(self) -> dict[str, object]:
        """What survives a restart: the clock and the log's tail."""
        return {
            "lamport": self.lamport,
            "log": [[lamport, message_id] for lamport, message_id in self._log[-MAX_LOG:]],
        }

    def restore(self, state: dict[str, object]) -> None:
        lamport = state.get("lamport", 0)
        log = state.get("log", [])
        if not isinstance(lamport, int) or not isinstance(log, list):
            raise SdsError("saved SDS state is malformed")
        self.lamport = max(self.lamport, lamport)
        for entry in log:
            self._append_log(int(entry[0]), str(entry[1]))

    def _append_log(self, lamport: int, message_id: str) -> None:
        if message_id in self._known:
            return
        bisect.insort(self._log, (lamport, message_id))
        if len(self._log) > MAX_LOG:
            del self._log[: len(self._log) - MAX_LOG]
        self._known[message_id] = None
        if len(self._known) > MAX_KNOWN:
            self._known.popitem(last=False)

    def _remember(self, message_id: str, data: bytes) -> None:
        self._cache[message_id] = data
        if len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)

    def _add_to_bloom(self, message_id: str) -> None:
        if self._bloom is None:
            return
        if self._bloom_count >= self._bloom.capacity:
            # Rolled over: rebuilt from the newer half of the log.
            fresh = BloomFilter(self._bloom.capacity, self._bloom.error_rate)
            recent = self._log[-(self._bloom.capacity // 2) :]
            for _, known in recent:
                fresh.insert(known)
            self._bloom, self._bloom_count = fresh, len(recent)
        self._bloom.insert(message_id)
        self._bloom_count += 1

    def _entry(self, message_id: str) -> sds_pb2.HistoryEntry:
        entry = sds_pb2.HistoryEntry(message_id=message_id)
        hint = self._hints.get(message_id)
        if hint is not None:
            entry.retrieval_hint = hint
        sender = self._senders.get(message_id)
        if sender is not None and self._repair:  # only SDS-R reads it
            entry.sender_id = sender
        return entry

    # -- sending ------------------------------------------------------------------------------

    def _outgoing_message(self, message_id: str, now: float) -> sds_pb2.SdsMessage:
        message = sds_pb2.SdsMessage(
            sender_id=self.participant_id,
            message_id=message_id,
            channel_id=self.channel_id,
            lamport_timestamp=self.lamport,
        )
        tail = [i for _, i in self._log[-CAUSAL_HISTORY - 1 :] if i != message_id]
        message.causal_history.extend(self._entry(i) for i in tail[-CAUSAL_HISTORY:])
        if self._bloom is not None:
            message.bloom_filter = self._bloom.to_bytes()
        if self._repair:
            due = sorted((t, i) for i, t in self._repair_out.items() if t <= now)
            message.repair_request.extend(self._entry(i) for _, i in due[:MAX_REPAIR_REQUESTS])
        return message

    def wrap(self, content: bytes, message_id: str, now: float) -> bytes:
        """Stamp ``content`` for broadcast; the message joins our log (and waits for
        acknowledgement when this channel tracks them)."""
        if not message_id or len(message_id) > MAX_ID_LENGTH:
            raise SdsError("an SDS message id is 1 to 200 characters")
        cached = self._cache.get(message_id)
        if cached is not None:  # sent before: the same message again
            if self._track:
                self._outgoing[message_id] = _Unacknowledged(cached, now)
            return cached
        self.lamport = max(self.lamport + 1, int(now * 1000))
        message = self._outgoing_message(message_id, now)
        message.content = content
        data = message.SerializeToString()
        self._append_log(self.lamport, message_id)
        self._senders[message_id] = self.participant_id
        self._remember(message_id, data)
        self._add_to_bloom(message_id)
        if self._track:
            self._outgoing[message_id] = _Unacknowledged(data, now)
        return data

    def sync_message(self, now: float) -> bytes:
        """A periodic sync message: no content, never logged nor acknowledged."""
        self.lamport = max(self.lamport + 1, int(now * 1000))
        message_id = f"sync-{self.participant_id}-{self.lamport}"
        return self._outgoing_message(message_id, now).SerializeToString()

    # -- receiving ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[Delivered]:
        """Handle one message; returns what became deliverable, in causal order."""
        message = parse(data)
        if message.channel_id != self.channel_id:
            raise SdsError("an SDS message for another channel")
        self._review_acknowledgements(message)
        if self._repair:
            self._review_repair_requests(message, now)
        message_id = message.message_id
        self._repair_out.pop(message_id, None)
        self._repair_in.pop(message_id, None)
        if not message.HasField("content") or message_id in self._known:
            return []
        if message_id in self._waiting:
            return []
        if len(self._waiting) >= MAX_BUFFERED:
            raise SdsError("too many messages wait for their causal history")
        self._senders[message_id] = message.sender_id
        self._remember(message_id, data)
        self._add_to_bloom(message_id)
        for entry in message.causal_history:
            if entry.HasField("retrieval_hint") and entry.message_id not in self._hints:
                self.set_retrieval_hint(entry.message_id, entry.retrieval_hint)
            if entry.HasField("sender_id"):
                self._senders.setdefault(entry.message_id, entry.sender_id)
        missing = {e.message_id for e in message.causal_history if e.message_id not in self._known}
        if missing:
            self._waiting[message_id] = _Waiting(message, missing, now)
            for dependency in missing:
                self._waiting_on.setdefault(dependency, set()).add(message_id)
                if self._repair and dependency not in self._repair_out:
                    self._repair_out[dependency] = now + self._request_delay(dependency)
            return []
        return self._deliver(message, ())

    def _review_acknowledgements(self, message: sds_pb2.SdsMessage) -> None:
        if not self._outgoing:
            return
        for entry in message.causal_history:
            if self._outgoing.pop(entry.message_id, None) is not None:
                self.acknowledged.append(entry.message_id)
        if not message.HasField("bloom_filter") or self._bloom is None:
            return
        try:
            bloom = BloomFilter.from_bytes(
                message.bloom_filter, self._bloom.capacity, self._bloom.error_rate
            )
        except BloomFilterError:
            return  # another size of filter: nothing to learn from it
        for message_id in [m for m in self._outgoing if m in bloom]:
            record = self._outgoing[message_id]
            record.possible_acks += 1
            if record.possible_acks >= POSSIBLE_ACKS_NEEDED:
                del self._outgoing[message_id]
                self.acknowledged.append(message_id)

    def _deliver(self, message: sds_pb2.SdsMessage, lost: tuple[str, ...]) -> list[Delivered]:
        """Deliver ``message`` and then whatever was waiting only for it, in causal order."""
        delivered = []
        ready = [(message, lost)]
        while ready:
            current, current_lost = ready.pop()
            message_id = current.message_id
            self.lamport = max(self.lamport, current.lamport_timestamp)
            self._append_log(current.lamport_timestamp, message_id)
            delivered.append(
                Delivered(
                    message_id,
                    current.sender_id,
                    current.lamport_timestamp,
                    current.content,
                    current_lost,
                )
            )
            unblocked = []
            for waiter_id in sorted(self._waiting_on.pop(message_id, set())):
                waiter = self._waiting.get(waiter_id)
                if waiter is None:
                    continue
                waiter.missing.discard(message_id)
                if not waiter.missing:
                    del self._waiting[waiter_id]
                    unblocked.append(waiter.message)
            # Later in causal order goes later: the stack pops the smallest Lamport first.
            unblocked.sort(key=lambda m: (m.lamport_timestamp, m.message_id), reverse=True)
            ready.extend((m, ()) for m in unblocked)
        return delivered

    # -- repair (SDS-R) -----------------------------------------------------------------------

    def _request_delay(self, message_id: str) -> float:
        span = REPAIR_T_MAX - REPAIR_T_MIN
        return REPAIR_T_MIN + (_hash(self.participant_id, message_id) % int(span * 1000)) / 1000

    def _response_delay(self, message_id: str, sender_id: str) -> float:
        distance = _hash(self.participant_id) ^ _hash(sender_id)
        return (distance * _hash(message_id)) % int(REPAIR_T_MAX * 1000) / 1000

    def _in_response_group(self, message_id: str, sender_id: str) -> bool:
        ours = _hash(self.participant_id, message_id) % self._groups
        return ours == _hash(sender_id, message_id) % self._groups

    def _review_repair_requests(self, message: sds_pb2.SdsMessage, now: float) -> None:
        for entry in message.repair_request:
            self._repair_out.pop(entry.message_id, None)
            if entry.message_id not in self._cache or entry.message_id in self._repair_in:
                continue
            sender = entry.sender_id or self._senders.get(entry.message_id, "")
            if self._in_response_group(entry.message_id, sender):
                self._repair_in[entry.message_id] = now + self._response_delay(
                    entry.message_id, sender
                )

    # -- sweeps -------------------------------------------------------------------------------

    def sweep(self, now: float) -> Sweep:
        result = Sweep()
        for message_id, record in list(self._outgoing.items()):
            period = RESEND_POSSIBLY_ACKNOWLEDGED if record.possible_acks else RESEND_UNACKNOWLEDGED
            if now - record.sent_at < period:
                continue
            if record.resends >= MAX_RESENDS:
                del self._outgoing[message_id]
                result.failed.append(message_id)
                continue
            record.resends += 1
            record.sent_at = now
            result.rebroadcast.append(record.data)
        for message_id, due in list(self._repair_in.items()):
            if due <= now:
                del self._repair_in[message_id]
                cached = self._cache.get(message_id)
                if cached is not None:
                    result.rebroadcast.append(cached)
        for message_id, due in list(self._repair_out.items()):
            if message_id in self._known or due + REPAIR_T_MAX < now:
                del self._repair_out[message_id]
        expired = sorted(
            (w for w in self._waiting.values() if now - w.since >= self._incoming_timeout),
            key=lambda w: (w.message.lamport_timestamp, w.message.message_id),
        )
        for waiter in expired:
            if waiter.message.message_id not in self._waiting:
                continue  # delivered by an earlier one in this sweep
            del self._waiting[waiter.message.message_id]
            lost = tuple(sorted(waiter.missing))
            for dependency in lost:
                waiters = self._waiting_on.get(dependency)
                if waiters is not None:
                    waiters.discard(waiter.message.message_id)
                    if not waiters:
                        del self._waiting_on[dependency]
            result.delivered.extend(self._deliver(waiter.message, lost))
        return result
