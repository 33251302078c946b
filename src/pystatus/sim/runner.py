"""The discrete-event simulation: real relay routers on a virtual clock over the network model.

The event queue is a heap of tuples ``(time, seq, kind, node, a, b)``; ``seq`` breaks ties in
the order events were made, so a seed gives one history. Each input to a router (an RPC's
bytes, a heartbeat, a publish) is followed by draining its events: each ``SendRpc`` crosses
:class:`~pystatus.sim.network.Links` (uplink queue, then latency) and is queued for the
receiver; each ``Deliver`` is recorded as that node's first arrival of the message.

Heartbeats are the router's own: every node's ``next_heartbeat_at`` (1 s apart), from a start
time drawn in the first second so the network's heartbeats are not in step. Connections open
``3 x latency`` after the later of their two nodes starts (TCP, then noise's three messages).

Every random choice comes from ``random.Random`` instances seeded from the config's seed, and
peer keys hash by value (:class:`SimKey`), so the routers' sets iterate in one order whatever
``PYTHONHASHSEED`` is: a seed gives one history, and one report, byte for byte.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import random
from array import array
from dataclasses import dataclass, field
from typing import cast

from pystatus.p2p.errors import RemoteProtocolError
from pystatus.p2p.gossipsub.events import Deliver, Graylisted, SendRpc
from pystatus.p2p.gossipsub.router import sha256_message_id
from pystatus.sim.chat import SEND_INTERVAL, ChatLayer
from pystatus.sim.config import SimConfig
from pystatus.sim.network import STREAM_OVERHEAD, LatencyModel, Links, build_topology
from pystatus.sim.relaynode import CONTENT_TOPIC, EPOCH_NS, RelayNode, relay_params
from pystatus.sim.services import LightClients
from pystatus.waku.message import WakuMessage, max_message_size
from pystatus.waku.relay import RelayConfig

RPC, HEARTBEAT, CONNECT, PUBLISH, SPAM, SERVICE, CHAT, CHAT_START = range(8)
CHAT_BOOT_AT = 1.5
"""When chat sessions start: connections are up, meshes are forming."""


class SimKey(bytes):
    """A peer key whose hash is its value, not Python's salted string hash: the routers keep
    peers in sets, and their iteration order must not change with ``PYTHONHASHSEED`` for a
    seed to give one history."""

    __slots__ = ()

    def __hash__(self) -> int:
        return int.from_bytes(self, "big")


def node_key(index: int) -> bytes:
    """A peer key for node ``index`` (the router treats keys as opaque bytes)."""
    return SimKey(b"sim" + index.to_bytes(4, "big"))


@dataclass(slots=True)
class Traffic:
    """Bytes per node per protocol, in and out (index: node)."""

    nodes: int
    bytes_in: dict[str, array[float]] = field(default_factory=dict)
    bytes_out: dict[str, array[float]] = field(default_factory=dict)

    def _row(self, table: dict[str, array[float]], protocol: str) -> array[float]:
        row = table.get(protocol)
        if row is None:
            row = table[protocol] = array("d", bytes(8 * self.nodes))
        return row

    def row_in(self, protocol: str) -> array[float]:
        return self._row(self.bytes_in, protocol)

    def row_out(self, protocol: str) -> array[float]:
        return self._row(self.bytes_out, protocol)

    def sent(self, protocol: str, node: int, size: int) -> None:
        self._row(self.bytes_out, protocol)[node] += size

    def received(self, protocol: str, node: int, size: int) -> None:
        self._row(self.bytes_in, protocol)[node] += size


@dataclass(slots=True)
class Record:
    """What happened to the honest messages: arrival times and the peer each came from."""

    published_at: list[float] = field(default_factory=list)
    publisher: list[int] = field(default_factory=list)
    arrival: list[array[float]] = field(default_factory=list)
    """Per message, per node: virtual seconds of first arrival, NaN when it never came."""
    parent: list[array[int]] = field(default_factory=list)
    """Per message, per node: the node it came from (-1: none, or the publisher itself)."""


class Simulation:
    """Build with a :class:`SimConfig`, then :meth:`run`; results in :attr:`record`,
    :attr:`traffic`, :attr:`counters` and the nodes' routers."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        rng = random.Random(config.seed)
        self._rng = rng
        relay_count = config.relay_nodes
        self.relay_count = relay_count
        self.node_count = config.nodes
        self.topics = [f"/waku/2/rs/{config.cluster_id}/{shard}" for shard in range(config.shards)]
        size_cap = max_message_size(config.cluster_id)
        relay = RelayConfig(
            max_message_size=size_cap,
            peer_rate=config.peer_rate,
            peer_burst=config.peer_burst,
        )
        params = relay_params(relay)
        self.rejected: collections.Counter[str] = collections.Counter()
        self.counters: collections.Counter[str] = collections.Counter()
        self.keys = [node_key(i) for i in range(self.node_count)]
        self.index_of = {key: i for i, key in enumerate(self.keys)}
        self.nodes = [
            RelayNode(
                i, self.keys[i], relay, params, random.Random(rng.getrandbits(64)), self.rejected
            )
            for i in range(relay_count)
        ]
        latency = LatencyModel(config, random.Random(rng.getrandbits(64)))
        self.links = Links(self.node_count, config, random.Random(rng.getrandbits(64)))
        self.edges = build_topology(
            relay_count, config, random.Random(rng.getrandbits(64)), latency
        )
        self.traffic = Traffic(self.node_count)
        self._relay_out = self.traffic.row_out("relay")
        self.record = Record()
        self.message_index: dict[bytes, int] = {}
        self._heap: list[tuple[float, int, int, int, object, object]] = []
        self._seq = itertools.count()
        self.start_times = [rng.uniform(0.0, 1.0) for _ in range(self.node_count)]
        self._hb_scheduled = [False] * relay_count
        self.first_message_at = config.warmup
        self.last_message_at = config.warmup + max(0, config.messages - 1) / config.message_rate
        self.end = self.last_message_at + config.drain
        if config.chat_pairs:
            # The texts, then a second for the last one's MVDS batch and ack, then the drain.
            chat_end = self.first_message_at + config.chat_messages * SEND_INTERVAL + 1.0
            self.end = max(self.end, chat_end + config.drain)
        self.traffic_at_first_message: dict[tuple[str, str], array[float]] = {}
        self.spammer: int | None = None
        self.spam_sent = 0
        self.spam_reach: collections.Counter[int] = collections.Counter()
        self._spam_ids: set[bytes] = set()
        self.now = 0.0
        self.light = LightClients(self, latency, random.Random(rng.getrandbits(64)))
        self.chat: ChatLayer | None = None
        self.store_nodes = set(rng.sample(range(relay_count), config.store_nodes))
        self.archive: dict[int, set[bytes]] = {s: set() for s in self.store_nodes}
        self._schedule_all(random.Random(rng.getrandbits(64)))

    # -- the queue ----------------------------------------------------------------------------

    def push(self, at: float, kind: int, node: int, a: object = None, b: object = None) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, node, a, b))

    def _schedule_all(self, rng: random.Random) -> None:
        config = self.config
        for node in self.nodes:
            for topic in self.topics:
                node.subscribe(topic, self.start_times[node.index])
        for edge in self.edges:
            self.links.connect(edge.dialer, edge.listener, edge.latency)
            at = (
                max(self.start_times[edge.dialer], self.start_times[edge.listener])
                + 3 * edge.latency
            )
            self.push(at, CONNECT, edge.dialer, edge.listener)
        if config.spam_rate > 0:
            self.spammer = rng.randrange(self.relay_count)
            self.push(self.first_message_at, SPAM, self.spammer, 0)
        self.light.schedule()
        if config.chat_pairs:
            chat_rng = random.Random(rng.getrandbits(64))
            self.chat = ChatLayer(self, config.chat_pairs, config.chat_messages, chat_rng)
            self.push(min(CHAT_BOOT_AT, self.first_message_at), CHAT_START, -1)
        honest = [i for i in range(self.node_count) if i != self.spammer]
        for index in range(config.messages):
            at = self.first_message_at + index / config.message_rate
            self.push(at, PUBLISH, honest[rng.randrange(len(honest))], index)

    def _schedule_heartbeat(self, node: RelayNode) -> None:
        at = node.router.next_heartbeat_at
        if at is not None and not self._hb_scheduled[node.index]:
            self._hb_scheduled[node.index] = True
            self.push(at, HEARTBEAT, node.index)

    # -- running ------------------------------------------------------------------------------

    def run(self) -> None:
        heap = self._heap
        pop = heapq.heappop
        nodes = self.nodes
        keys = self.keys
        relay_in = self.traffic.row_in("relay")
        end = self.end
        first_message_at = self.first_message_at
        snapshot_due = True
        while heap:
            at, _, kind, target, a, b = pop(heap)
            if at > end:
                break
            self.now = at
            if snapshot_due and at >= first_message_at:
                snapshot_due = False
                self._snapshot()
            if kind == RPC:
                data = cast(bytes, b)
                relay_in[target] += len(data) + STREAM_OVERHEAD
                node = nodes[target]
                node.now = at
                try:
                    node.router.receive_rpc(keys[cast(int, a)], data, at)
                except RemoteProtocolError:
                    self.counters["rpc_malformed"] += 1
                self._flush(node, at)
            elif kind == HEARTBEAT:
                node = nodes[target]
                node.now = at
                node.router.heartbeat(at)
                self._hb_scheduled[target] = False
                self._flush(node, at)
                self._schedule_heartbeat(node)
            elif kind == CONNECT:
                assert isinstance(a, int)
                dialer, listener = nodes[target], nodes[a]
                dialer.router.add_peer(listener.key, at, outbound=True, ip=f"ip{listener.index}")
                listener.router.add_peer(dialer.key, at, outbound=False, ip=f"ip{dialer.index}")
                for node in (dialer, listener):
                    node.now = at
                    self._flush(node, at)
                    self._schedule_heartbeat(node)
            elif kind == PUBLISH:
                assert isinstance(a, int)
                self._publish(target, a, at)
            elif kind == SPAM:
                assert isinstance(a, int)
                self._spam(target, a, at)
            elif kind == SERVICE:
                self.light.handle(target, a, b, at)
            elif kind == CHAT and self.chat is not None:
                self.chat.handle(cast(int, a), b, at)
            elif kind == CHAT_START and self.chat is not None:
                self.chat.start(at)

    def _snapshot(self) -> None:
        """Keep the byte counts at the first message: bandwidth is reported from there."""
        traffic = self.traffic
        for direction, table in (("in", traffic.bytes_in), ("out", traffic.bytes_out)):
            for protocol, row in table.items():
                self.traffic_at_first_message[(direction, protocol)] = array("d", row)

    def _flush(self, node: RelayNode, now: float) -> None:
        index = node.index
        transmit = self.links.transmit
        relay_out = self._relay_out
        index_of = self.index_of
        heap = self._heap
        seq = self._seq
        for event in node.router.events():
            if type(event) is SendRpc:
                dst = index_of[event.peer]
                size = len(event.data) + STREAM_OVERHEAD
                relay_out[index] += size
                arrival = transmit(index, dst, size, now)
                if arrival is not None:
                    heapq.heappush(heap, (arrival, next(seq), RPC, dst, index, event.data))
            elif type(event) is Deliver:
                self._delivered(index, event, now)
            elif type(event) is Graylisted:
                who = "spammer" if index_of[event.peer] == self.spammer else "honest"
                self.counters[f"graylisted_{who}"] += 1

    def _delivered(self, node: int, event: Deliver, now: float) -> None:
        message = self.message_index.get(event.message_id)
        source = self.index_of[event.source] if event.source is not None else -1
        if message is not None:
            self.record.arrival[message][node] = now
            self.record.parent[message][node] = source
        elif event.message_id in self._spam_ids:
            self.spam_reach[node] += 1
        if node in self.archive:
            self.archive[node].add(event.message_id)
        self.light.relayed(node, event, now)
        if self.chat is not None:
            self.chat.relayed(node, event, now)

    # -- publishing ---------------------------------------------------------------------------

    def new_message(self, index: int, at: float) -> tuple[str, WakuMessage, bytes]:
        """Honest message ``index``: its shard, the Waku message and its encoding."""
        config = self.config
        payload = random.Random(f"{config.seed}:{index}").randbytes(config.message_size)
        message = WakuMessage(payload, CONTENT_TOPIC, timestamp=EPOCH_NS + int(at * 1e9))
        data = message.encode()
        topic = self.topics[index % len(self.topics)]
        record = self.record
        record.published_at.append(at)
        self.message_index[sha256_message_id(data)] = index
        record.arrival.append(array("d", [math.nan]) * self.node_count)
        record.parent.append(array("i", [-1]) * self.node_count)
        return topic, message, data

    def _publish(self, publisher: int, index: int, at: float) -> None:
        topic, message, data = self.new_message(index, at)
        self.record.publisher.append(publisher)
        self.record.arrival[index][publisher] = at
        if publisher >= self.relay_count:
            self.light.light_push(publisher, topic, message, at)
            return
        self.relay_publish(publisher, topic, data, at)

    def relay_publish(
        self, publisher: int, topic: str, data: bytes, at: float, *, via: int = -1
    ) -> int:
        """Publish ``data`` from relay node ``publisher`` (for light client ``via``, a light
        push); returns the peers it went to."""
        node = self.nodes[publisher]
        node.now = at
        result = node.router.publish(topic, data, at)
        message_id = sha256_message_id(data)
        index = self.message_index.get(message_id)
        if index is not None and self.record.arrival[index][publisher] != at:
            self.record.arrival[index][publisher] = at
            self.record.parent[index][publisher] = via
        if publisher in self.archive:
            self.archive[publisher].add(message_id)
        self._flush(node, at)
        self.light.published(publisher, topic, data, at)
        return result.peers

    def _spam(self, spammer: int, count: int, at: float) -> None:
        """The spammer's next message on shard 0: valid, unique, at ``spam_rate``."""
        payload = random.Random(f"spam:{self.config.seed}:{count}").randbytes(
            self.config.message_size
        )
        data = WakuMessage(payload, CONTENT_TOPIC, timestamp=EPOCH_NS + int(at * 1e9)).encode()
        self._spam_ids.add(sha256_message_id(data))
        self.spam_sent += 1
        self.relay_publish(spammer, self.topics[0], data, at)
        next_at = at + 1.0 / self.config.spam_rate
        if next_at <= self.last_message_at:
            self.push(next_at, SPAM, spammer, count + 1)
