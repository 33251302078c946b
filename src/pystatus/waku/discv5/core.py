"""The discv5 v5.1 node, sans-IO: requests and answers, the routing table, lookups, timers.

:class:`Discv5Core` is fed datagrams (``receive``) and the time (``handle_timer``) and hands
back :mod:`~pystatus.waku.discv5.events`: datagrams to send, records found, lookups finished.
Every ``now`` is monotonic seconds. It follows discv5-wire.md ("Protocol Messages") and
discv5-theory.md ("Node Table", "Table Maintenance In Practice", "Lookup"):

- PING is answered with PONG (our ENR seq, the sender's envelope address); a PING or PONG
  naming a newer seq than the record we hold makes us ask the node for it (FINDNODE [0]).
- FINDNODE is answered from live table entries (at most 16 records), split over as many NODES
  messages as 1280-byte packets need; distance 0 is our own record.
- TALKREQ is answered with an empty TALKRESP: no talk protocol is spoken here.
- NODES answers are checked (each record verified, at a requested distance, ``total`` at
  most ``max_nodes_responses``); a bad record costs only itself.
- A request unanswered after ``request_timeout`` (plus ``handshake_timeout`` when it had to
  handshake) is sent again ``request_retries`` times with a new nonce, then given up.
- The table is revalidated one node at a time by PING every ``revalidate_interval``; a node
  that fails is replaced from its bucket's replacement cache. A lookup toward a random target
  runs every ``refresh_interval`` (with the bootstrap nodes put back if the table emptied).

Bad datagrams are dropped and counted in ``waku_discv5_dropped_packets{reason}``; nothing a
peer sends makes :meth:`Discv5Core.receive` raise. Unlike a connection-oriented core there is
no ERROR state: one peer's bad packet says nothing about the others.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from pystatus.errors import ConfigError
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import crypto
from pystatus.waku.discv5 import metrics as m
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.errors import Discv5LocalError, PacketError
from pystatus.waku.discv5.events import (
    Event,
    LookupFinished,
    NodeFound,
    PongReceived,
    SendDatagram,
)
from pystatus.waku.discv5.filter import EnrFilter
from pystatus.waku.discv5.lookup import Lookup, lookup_distances
from pystatus.waku.discv5.messages import (
    FindNode,
    Message,
    Nodes,
    Ping,
    Pong,
    TalkReq,
    TalkResp,
    encode_message,
    pack_nodes,
)
from pystatus.waku.discv5.packet import MAX_PACKET_SIZE
from pystatus.waku.discv5.sessions import Datagram, Endpoint, Incoming, SessionLayer
from pystatus.waku.discv5.table import Added, RoutingTable, record_endpoint
from pystatus.waku.enr import Enr
from pystatus.waku.errors import InvalidEnr

# Room for the ENRs of one NODES message: 1280 less the packet's header (16 + 23 + 32), the
# GCM tag (16) and the message's own framing (type, list prefixes, request id, total).
_NODES_RECORD_BUDGET = MAX_PACKET_SIZE - 87 - 30
_FINDNODE_RESULT_LIMIT = 16  # discv5-wire.md: "The recommended result limit ... is 16 nodes"
_MAX_RECORDS_PER_REQUEST = 64
_MAX_BOOTSTRAP = 64
_TYPE_NAMES = {
    Ping: "ping",
    Pong: "pong",
    FindNode: "findnode",
    Nodes: "nodes",
    TalkReq: "talkreq",
    TalkResp: "talkresp",
}


@dataclass(slots=True)
class _Request:
    node_id: bytes
    record: Enr | None
    endpoint: Endpoint
    message: Ping | FindNode | TalkReq
    purpose: str  # "lookup", "revalidate", "enr", "ping"
    retries_left: int
    deadline: float = 0.0
    lookup_id: int | None = None
    total: int = 0
    received: int = 0
    records: list[Enr] = field(default_factory=list)


class Discv5Core:
    """One discv5 node: ``key`` is its secp256k1 identity, ``record`` its signed ENR (same key;
    ip/udp set so that others can reach it). ``enr_filter`` decides which records become
    :class:`NodeFound` events; ``rng(n)`` gives n random bytes (injectable for tests).
    Raises :class:`~pystatus.errors.ConfigError` when the record is not the key's."""

    def __init__(
        self,
        key: Secp256k1PrivateKey,
        record: Enr,
        *,
        now: float,
        config: Discv5Config | None = None,
        enr_filter: EnrFilter | None = None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config or Discv5Config()
        self._check_record(key, record)
        self._rng = rng
        self._filter = enr_filter
        self.local_id = crypto.node_id(record)
        self._sessions = SessionLayer(
            key.to_bytes(),
            record,
            known_record=self._known_record,
            rng=rng,
            max_sessions=self.config.max_sessions,
            max_challenges=self.config.max_challenges,
            max_initiations=self.config.max_challenges,
            handshake_timeout=self.config.handshake_timeout,
            # As long as a request that had to handshake waits (see _transmit).
            whoareyou_timeout=self.config.request_timeout + self.config.handshake_timeout,
            protocol_id=self.config.protocol_id,
        )
        self.table = RoutingTable(
            self.local_id,
            bucket_size=self.config.bucket_size,
            replacements=self.config.replacements,
        )
        self._key = key
        self._requests: dict[bytes, _Request] = {}
        self._lookups: dict[int, Lookup] = {}
        self._next_lookup_id = 1
        self._recent: OrderedDict[bytes, Enr] = OrderedDict()
        self._judged: OrderedDict[bytes, int] = OrderedDict()
        self._bootstrap: list[Enr] = []
        # The same records come back in many NODES answers: each raw form is verified once.
        self._verified: OrderedDict[bytes, Enr] = OrderedDict()
        # node id -> (tokens, last refill): per-peer request budgets, bounded like sessions.
        self._budgets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._next_revalidate = now + self.config.revalidate_interval
        self._next_refresh = now + self.config.refresh_interval
        self._local_raw = record.to_bytes()
        self._closed = False

    @staticmethod
    def _check_record(key: Secp256k1PrivateKey, record: Enr) -> None:
        if record.get("secp256k1") != key.public_key.to_bytes():
            raise ConfigError("the discv5 record is not signed by the node's key")

    # -- public entry points ------------------------------------------------------------------

    @property
    def local_record(self) -> Enr:
        return self._sessions.local_record

    def update_record(self, record: Enr) -> None:
        """Serve a new version of our record (same key, higher seq) from now on."""
        self._check_record(self._key, record)
        if record.seq <= self._sessions.local_record.seq:
            raise ConfigError("a new discv5 record needs a higher seq")
        self._sessions.local_record = record
        self._local_raw = record.to_bytes()

    def add_node(self, record: Enr, now: float) -> list[Event]:
        """Add a bootstrap node (kept to refill an emptied table). Raises
        :class:`Discv5LocalError` for a record without ip/udp or our own."""
        endpoint = record_endpoint(record)
        if endpoint is None:
            raise Discv5LocalError("a bootstrap record needs ip and udp")
        node_id = crypto.node_id(record)
        if node_id == self.local_id:
            raise Discv5LocalError("a node cannot bootstrap from itself")
        if len(self._bootstrap) < _MAX_BOOTSTRAP:
            self._bootstrap.append(record)
        out: list[Event] = []
        self.table.add(node_id, record, endpoint, now)
        self._judge(node_id, record, out)
        return out

    def lookup(self, now: float, target: bytes | None = None) -> tuple[int, list[Event]]:
        """Start a lookup for ``target`` (32 bytes; random if ``None``): (lookup id, events).
        Its :class:`LookupFinished` carries that id. Raises :class:`Discv5LocalError` when
        ``max_lookups`` are already running."""
        if len(self._lookups) >= self.config.max_lookups:
            raise Discv5LocalError("too many discv5 lookups running")
        if target is None:
            target = self._rng(32)
        if len(target) != 32:
            raise Discv5LocalError("a lookup target is a 32-byte node id")
        out: list[Event] = []
        lookup = Lookup(self._next_lookup_id, target, self.config.bucket_size, self.config.alpha)
        self._next_lookup_id += 1
        self._lookups[lookup.lookup_id] = lookup
        for entry in self.table.closest(target, self.config.bucket_size):
            lookup.add(entry.node_id, entry.record)
        self._step_lookup(lookup, now, out)
        return lookup.lookup_id, out

    def ping(self, record: Enr, now: float) -> list[Event]:
        """PING the node of ``record``; its PONG arrives as :class:`PongReceived`."""
        endpoint = record_endpoint(record)
        if endpoint is None:
            raise Discv5LocalError("cannot ping a record without ip and udp")
        out: list[Event] = []
        self._request(crypto.node_id(record), record, endpoint, "ping", now, out)
        return out

    def receive(self, data: bytes, endpoint: Endpoint, now: float) -> list[Event]:
        """Events caused by one datagram from ``endpoint`` (ip, port). Never raises for what
        the datagram holds: bad ones are dropped and counted."""
        out: list[Event] = []
        if self._closed:
            return out
        m.PACKETS.labels("in").inc()
        m.BYTES.labels("in").inc(len(data))
        try:
            datagrams, incoming = self._sessions.receive(data, endpoint, now)
            self._emit(datagrams, out)
            if incoming is not None:
                self._on_incoming(incoming, now, out)
        except PacketError as exc:
            m.DROPPED.labels(exc.reason).inc()
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` next has work (monotonic seconds), or ``None``."""
        if self._closed:
            return None
        deadlines = [request.deadline for request in self._requests.values()]
        deadlines += [self._next_revalidate, self._next_refresh]
        return min(deadlines)

    def handle_timer(self, now: float) -> list[Event]:
        """Expire requests (retrying or giving up), revalidate, refresh: whatever is due."""
        out: list[Event] = []
        if self._closed:
            return out
        for request_id, request in list(self._requests.items()):
            if request.deadline <= now and request_id in self._requests:
                self._expire(request_id, request, now, out)
        if now >= self._next_revalidate:
            self._sessions.expire(now)
            self._next_revalidate = now + self.config.revalidate_interval
            self._revalidate(now, out)
        if now >= self._next_refresh:
            self._next_refresh = now + self.config.refresh_interval
            self._refresh(now, out)
        return out

    def close(self) -> None:
        """Forget all state; the gauges go back down by what this node held."""
        if self._closed:
            return
        self._closed = True
        m.REQUESTS_PENDING.dec(len(self._requests))
        self._requests.clear()
        self._lookups.clear()
        self._sessions.close()
        self.table.close()

    # -- records ------------------------------------------------------------------------------

    def _known_record(self, node_id: bytes) -> Enr | None:
        entry = self.table.get(node_id) or self.table.replacement(node_id)
        if entry is not None:
            return entry.record
        return self._recent.get(node_id)

    def _learn(self, node_id: bytes, record: Enr, now: float, out: list[Event]) -> None:
        endpoint = record_endpoint(record)
        added = Added.REPLACEMENT
        if endpoint is not None:
            added = self.table.add(node_id, record, endpoint, now)
        if added in (Added.REPLACEMENT, Added.SELF) and node_id != self.local_id:
            # Kept aside so a WHOAREYOU or answer to a node outside the table has its record.
            self._recent[node_id] = record
            self._recent.move_to_end(node_id)
            if len(self._recent) > self.config.max_sessions:
                self._recent.popitem(last=False)
        self._judge(node_id, record, out)

    def _parse_record(self, raw: bytes) -> Enr:
        record = self._verified.get(raw)
        if record is None:
            record = Enr.from_bytes(raw)
            self._verified[raw] = record
            if len(self._verified) > self.config.max_sessions:
                self._verified.popitem(last=False)
        return record

    def _judge(self, node_id: bytes, record: Enr, out: list[Event]) -> None:
        if node_id == self.local_id:
            return
        seen_seq = self._judged.get(node_id)
        if seen_seq is not None and seen_seq >= record.seq:
            return
        self._judged[node_id] = record.seq
        self._judged.move_to_end(node_id)
        if len(self._judged) > self.config.judged_records:
            self._judged.popitem(last=False)
        reason = self._filter(record) if self._filter is not None else None
        if reason is not None:
            m.FILTERED.labels(reason).inc()
            return
        m.DISCOVERED.inc()
        out.append(NodeFound(record))

    # -- sending ------------------------------------------------------------------------------

    def _emit(self, datagrams: list[Datagram], out: list[Event]) -> None:
        for data, endpoint in datagrams:
            m.PACKETS.labels("out").inc()
            m.BYTES.labels("out").inc(len(data))
            out.append(SendDatagram(data, endpoint))

    def _send(
        self,
        node_id: bytes,
        endpoint: Endpoint,
        message: Message,
        now: float,
        out: list[Event],
        record: Enr | None = None,
    ) -> bool:
        try:
            datagrams = self._sessions.send(
                node_id, endpoint, encode_message(message), now, record=record
            )
        except PacketError as exc:
            m.ERRORS.labels(f"send_{exc.reason}").inc()
            return False
        m.MESSAGES.labels(_TYPE_NAMES[type(message)], "out").inc()
        self._emit(datagrams, out)
        return True

    def _request(
        self,
        node_id: bytes,
        record: Enr | None,
        endpoint: Endpoint,
        purpose: str,
        now: float,
        out: list[Event],
        *,
        distances: tuple[int, ...] = (),
        lookup_id: int | None = None,
    ) -> bool:
        if len(self._requests) >= self.config.max_pending_requests:
            m.ERRORS.labels("requests_full").inc()
            return False
        request_id = self._rng(8)
        message: Ping | FindNode
        if purpose in ("ping", "revalidate"):
            message = Ping(request_id, self.local_record.seq)
        else:
            message = FindNode(request_id, distances)
        request = _Request(
            node_id,
            record,
            endpoint,
            message,
            purpose,
            self.config.request_retries,
            lookup_id=lookup_id,
        )
        self._requests[request_id] = request
        m.REQUESTS_PENDING.inc()
        if not self._transmit(request, now, out):
            del self._requests[request_id]
            m.REQUESTS_PENDING.dec()
            return False
        return True

    def _transmit(self, request: _Request, now: float, out: list[Event]) -> bool:
        timeout = self.config.request_timeout
        if not self._sessions.has_session(request.node_id, request.endpoint):
            timeout += self.config.handshake_timeout
        request.deadline = now + timeout
        return self._send(
            request.node_id, request.endpoint, request.message, now, out, request.record
        )

    # -- receiving ----------------------------------------------------------------------------

    def _on_incoming(self, incoming: Incoming, now: float, out: list[Event]) -> None:
        node_id, endpoint, message = incoming.node_id, incoming.endpoint, incoming.message
        m.MESSAGES.labels(_TYPE_NAMES[type(message)], "in").inc()
        if incoming.record is not None:
            self._learn(node_id, incoming.record, now, out)
        entry = self.table.get(node_id)
        if entry is not None and entry.endpoint == endpoint:
            # An authenticated packet from the endpoint its record names: the handshake
            # round trip proved the node answers there.
            self.table.mark_live(node_id, now)
        if isinstance(message, Ping | FindNode | TalkReq) and not self._admit(node_id, now):
            m.DROPPED.labels("rate_limited").inc()
            return
        match message:
            case Ping(request_id, enr_seq):
                ip, port = endpoint
                pong = Pong(request_id, self.local_record.seq, ip, port)
                self._send(node_id, endpoint, pong, now, out)
                self._maybe_fetch_record(node_id, endpoint, enr_seq, now, out)
            case FindNode(request_id, distances):
                self._answer_findnode(node_id, endpoint, request_id, distances, now, out)
            case TalkReq(request_id, _, _):
                # discv5-wire.md: an unknown protocol gets a TALKRESP with an empty response.
                self._send(node_id, endpoint, TalkResp(request_id, b""), now, out)
            case Pong() | Nodes() | TalkResp():
                self._on_response(node_id, message, now, out)

    def _admit(self, node_id: bytes, now: float) -> bool:
        burst = float(self.config.request_burst)
        tokens, last = self._budgets.pop(node_id, (burst, now))
        tokens = min(burst, tokens + (now - last) * self.config.request_rate)
        admitted = tokens >= 1.0
        self._budgets[node_id] = (tokens - 1.0 if admitted else tokens, now)
        if len(self._budgets) > self.config.max_sessions:
            self._budgets.popitem(last=False)
        return admitted

    def _maybe_fetch_record(
        self, node_id: bytes, endpoint: Endpoint, seq: int, now: float, out: list[Event]
    ) -> None:
        known = self._known_record(node_id)
        if known is None or seq <= known.seq:
            return
        for request in self._requests.values():
            if request.node_id == node_id and request.purpose == "enr":
                return
        self._request(node_id, known, endpoint, "enr", now, out, distances=(0,))

    def _answer_findnode(
        self,
        node_id: bytes,
        endpoint: Endpoint,
        request_id: bytes,
        distances: tuple[int, ...],
        now: float,
        out: list[Event],
    ) -> None:
        records: list[bytes] = []
        for distance in dict.fromkeys(distances):
            if len(records) >= _FINDNODE_RESULT_LIMIT:
                break
            if distance == 0:
                records.append(self._local_raw)
            else:
                room = _FINDNODE_RESULT_LIMIT - len(records)
                records += [e.raw for e in self.table.at_distances([distance], room)]
        for nodes in pack_nodes(request_id, records, _NODES_RECORD_BUDGET):
            self._send(node_id, endpoint, nodes, now, out)

    def _on_response(
        self, node_id: bytes, message: Pong | Nodes | TalkResp, now: float, out: list[Event]
    ) -> None:
        request = self._requests.get(message.request_id)
        if request is None or request.node_id != node_id:
            m.DROPPED.labels("unsolicited").inc()
            return
        request_id = message.request_id
        if isinstance(message, Pong) and isinstance(request.message, Ping):
            self.table.mark_live(node_id, now)
            out.append(PongReceived(node_id, message.ip, message.port))
            self._complete(request_id, request, True, now, out)
            self._maybe_fetch_record(node_id, request.endpoint, message.enr_seq, now, out)
        elif isinstance(message, Nodes) and isinstance(request.message, FindNode):
            self._on_nodes(request_id, request, message, now, out)
        else:
            m.DROPPED.labels("unsolicited").inc()

    def _on_nodes(
        self, request_id: bytes, request: _Request, nodes: Nodes, now: float, out: list[Event]
    ) -> None:
        assert isinstance(request.message, FindNode)
        if not 1 <= nodes.total <= self.config.max_nodes_responses:
            m.DROPPED.labels("total").inc()
        if request.total == 0:
            request.total = min(max(nodes.total, 1), self.config.max_nodes_responses)
        for raw in nodes.records:
            try:
                record = self._parse_record(raw)
                found_id = crypto.node_id(record)
            except (InvalidEnr, PacketError):
                m.DROPPED.labels("record").inc()
                continue
            if crypto.log_distance(found_id, request.node_id) not in request.message.distances:
                m.DROPPED.labels("distance").inc()
                continue
            if len(request.records) < _MAX_RECORDS_PER_REQUEST:
                request.records.append(record)
                self._learn(found_id, record, now, out)
        request.received += 1
        if request.received >= request.total:
            self._complete(request_id, request, True, now, out)

    # -- completion and timers ----------------------------------------------------------------

    def _complete(
        self, request_id: bytes, request: _Request, answered: bool, now: float, out: list[Event]
    ) -> None:
        del self._requests[request_id]
        m.REQUESTS_PENDING.dec()
        if not answered:
            self._on_failure(request)
        if request.lookup_id is not None:
            lookup = self._lookups.get(request.lookup_id)
            if lookup is not None:
                lookup.finished(request.node_id, answered)
                for record in request.records:
                    found_id = crypto.node_id(record)
                    if found_id != self.local_id:
                        lookup.add(found_id, record)
                self._step_lookup(lookup, now, out)

    def _on_failure(self, request: _Request) -> None:
        entry = self.table.get(request.node_id)
        if entry is None:
            return
        entry.failures += 1
        # A node never seen alive, or failing its revalidation twice, makes room.
        if not entry.live or (request.purpose == "revalidate" and entry.failures >= 2):
            self.table.remove(request.node_id)

    def _expire(self, request_id: bytes, request: _Request, now: float, out: list[Event]) -> None:
        if request.retries_left > 0 and request.received == 0:
            request.retries_left -= 1
            if self._transmit(request, now, out):
                return
        m.REQUEST_TIMEOUTS.labels(_TYPE_NAMES[type(request.message)]).inc()
        # A FINDNODE that got some of its NODES counts as answered with what came.
        self._complete(request_id, request, request.received > 0, now, out)

    def _revalidate(self, now: float, out: list[Event]) -> None:
        entry = self.table.least_recently_checked()
        if entry is None:
            return
        entry.last_checked = now
        for request in self._requests.values():
            if request.node_id == entry.node_id and request.purpose == "revalidate":
                return
        self._request(entry.node_id, entry.record, entry.endpoint, "revalidate", now, out)

    def _refresh(self, now: float, out: list[Event]) -> None:
        if len(self.table) == 0:
            for record in self._bootstrap:
                endpoint = record_endpoint(record)
                if endpoint is not None:
                    self.table.add(crypto.node_id(record), record, endpoint, now)
        if len(self._lookups) < self.config.max_lookups:
            _, events = self.lookup(now)
            out += events

    def _step_lookup(self, lookup: Lookup, now: float, out: list[Event]) -> None:
        # A sparse table (just bootstrapped, or a small network) asks for 16 distances at once
        # rather than 3: the answer is still at most 16 records, but a node sharing no
        # distance with the target is no longer missed until a random walk happens upon it.
        spread = 3 if len(self.table) >= self.config.bucket_size else 16
        while True:
            chosen = lookup.next_to_query()
            if not chosen:
                break
            for node_id in chosen:
                record = lookup.seen[node_id]
                endpoint = record_endpoint(record)
                sent = endpoint is not None and self._request(
                    node_id,
                    record,
                    endpoint,
                    "lookup",
                    now,
                    out,
                    distances=lookup_distances(lookup.target, node_id, spread),
                    lookup_id=lookup.lookup_id,
                )
                if not sent:
                    lookup.finished(node_id, False)
        if lookup.done and lookup.lookup_id in self._lookups:
            del self._lookups[lookup.lookup_id]
            m.LOOKUPS.inc()
            out.append(LookupFinished(lookup.lookup_id, lookup.target, lookup.result()))
