"""Light clients in the simulation: filter subscriptions and light push through service nodes,
and a store query at the end, run through the services' real rules modules.

Each light client picks one relay node as its service node (nwaku's ``--filter --lightpush``)
over its own link. The service side is the sans-IO rules the node runs:
:class:`~pystatus.waku.filter_rules.FilterSubscriptions` with :func:`answer_request` for
subscriptions (12/WAKU2-FILTER), :class:`~pystatus.waku.lightpush_rules.LightPushRules` for
pushes (19/WAKU2-LIGHTPUSH v3), :class:`~pystatus.waku.store_rules.StoreRules` for the
history query (WAKU2-STORE v3). Every request, response and push crosses the network model as
its encoded bytes, counted per protocol. Times are virtual seconds.
"""

from __future__ import annotations

import collections
import hashlib
import random
from typing import TYPE_CHECKING

from pystatus.p2p.gossipsub.events import Deliver
from pystatus.p2p.gossipsub.router import sha256_message_id
from pystatus.p2p.peer_id import PeerId
from pystatus.sim.network import STREAM_OVERHEAD, LatencyModel
from pystatus.sim.relaynode import CONTENT_TOPIC
from pystatus.waku.errors import InvalidTopic
from pystatus.waku.filter_codec import FilterRequest, RequestType, encode_push
from pystatus.waku.filter_rules import FilterSubscriptions, answer_request
from pystatus.waku.lightpush_codec import LightPushRequest
from pystatus.waku.lightpush_rules import Admitted, LightPushRules
from pystatus.waku.message import WakuMessage
from pystatus.waku.rate_limit import FILTER_DEFAULT_PER_PEER, PeerRateLimiter
from pystatus.waku.store_codec import StoreQuery
from pystatus.waku.store_rules import Refused, StoreRules

if TYPE_CHECKING:
    from pystatus.sim.runner import Simulation

FILTER, LIGHTPUSH, STORE = "filter", "lightpush", "store"
REQUEST_OVERHEAD = 60
"""Bytes a request/response stream costs beyond its message: multistream-select of the
protocol id both ways and the length prefix."""
STORE_QUERY_DELAY = 1.0
"""Seconds after the last honest message when each light client asks a store node."""


def light_peer_id(key: bytes) -> PeerId:
    """A well-formed (sha2-256 multihash) peer id for a simulated light client."""
    return PeerId(bytes([0x12, 32]) + hashlib.sha256(key).digest())


class LightClients:
    """The light clients of one :class:`Simulation` (nodes ``relay_count`` and above)."""

    def __init__(self, sim: Simulation, latency: LatencyModel, rng: random.Random) -> None:
        self._sim = sim
        self._latency = latency
        self._rng = rng
        self.service_of: dict[int, int] = {}
        self._filters: dict[int, FilterSubscriptions] = {}
        self._filter_limits: dict[int, PeerRateLimiter] = {}
        self._lightpush: dict[int, LightPushRules] = {}
        self._store = StoreRules(peer_rate=10.0, peer_burst=20.0)
        self._peer_ids: dict[PeerId, int] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self._requests = 0

    def _request_id(self) -> str:
        self._requests += 1
        return f"sim-{self._requests}"

    def _send(
        self, protocol: str, src: int, dst: int, payload: object, size: int, at: float
    ) -> None:
        sim = self._sim
        size += REQUEST_OVERHEAD + STREAM_OVERHEAD
        sim.traffic.sent(protocol, src, size)
        arrival = sim.links.transmit(src, dst, size, at)
        if arrival is None:
            self.counters[f"{protocol}_lost"] += 1
            return
        sim.push(arrival, 5, dst, (protocol, src, size), payload)

    # -- set-up -------------------------------------------------------------------------------

    def schedule(self) -> None:
        sim = self._sim
        servers = [i for i in range(sim.relay_count) if i != sim.spammer]
        for client in range(sim.relay_count, sim.node_count):
            server = servers[self._rng.randrange(len(servers))]
            self.service_of[client] = server
            self._peer_ids[light_peer_id(sim.keys[client])] = client
            latency = self._latency.draw()
            sim.links.connect(client, server, latency)
            at = sim.start_times[client] + 3 * latency
            for topic in sim.topics:
                request = FilterRequest(
                    type=RequestType.SUBSCRIBE,
                    request_id=self._request_id(),
                    pubsub_topic=topic,
                    content_topics=(CONTENT_TOPIC,),
                )
                data = request.to_bytes()
                self._send(FILTER, client, server, ("subscribe", data), len(data), at)
        if sim.store_nodes and sim.node_count > sim.relay_count:
            stores = sorted(sim.store_nodes)
            at = sim.last_message_at + STORE_QUERY_DELAY
            for client in range(sim.relay_count, sim.node_count):
                sim.push(at, 5, client, ("store_ask", stores[client % len(stores)], 0), None)

    # -- events -------------------------------------------------------------------------------

    def handle(self, node: int, a: object, b: object, at: float) -> None:
        assert isinstance(a, tuple)
        sim = self._sim
        kind = a[0]
        if kind == "store_ask":
            self._store_ask(node, a[1], at)
            return
        protocol, src, size = a
        sim.traffic.received(protocol, node, size)
        assert isinstance(b, tuple)
        what = b[0]
        if what == "subscribe":
            self._serve_subscribe(node, src, b[1], at)
        elif what == "filter_answer":
            self.counters[f"filter_subscribe_{b[1]}"] += 1
        elif what == "push":
            self._pushed(node, b[1], at)
        elif what == "lightpush":
            self._serve_lightpush(node, src, b[1], at)
        elif what == "lightpush_answer":
            self.counters[f"lightpush_{b[1]}"] += 1
        elif what == "store_query":
            self._serve_store(node, src, b[1], at)
        elif what == "store_answer":
            self._store_answered(node, b[1])

    def _serve_subscribe(self, server: int, client: int, data: bytes, at: float) -> None:
        subscriptions = self._filters.get(server)
        if subscriptions is None:
            subscriptions = self._filters[server] = FilterSubscriptions()
            self._filter_limits[server] = PeerRateLimiter.from_setting(FILTER_DEFAULT_PER_PEER)
        peer = light_peer_id(self._sim.keys[client])
        answer = answer_request(subscriptions, self._filter_limits[server], peer, data, at)
        response = answer.response.to_bytes()
        status = answer.response.status_code
        self._send(FILTER, server, client, ("filter_answer", status), len(response), at)

    def relayed(self, server: int, event: Deliver, at: float) -> None:
        """A message the relay handed ``server``'s application: push it to its subscribers."""
        subscriptions = self._filters.get(server)
        if subscriptions is None or not len(subscriptions):
            return
        self._push(server, subscriptions, event.topic, event.data, at)

    def published(self, server: int, topic: str, data: bytes, at: float) -> None:
        """``server`` published ``data`` itself (its own or a light push): its subscribers get
        it too, as nwaku's relay hands local messages to its own handlers."""
        subscriptions = self._filters.get(server)
        if subscriptions is not None and len(subscriptions):
            self._push(server, subscriptions, topic, data, at)

    def _push(
        self, server: int, subscriptions: FilterSubscriptions, topic: str, data: bytes, at: float
    ) -> None:
        message = WakuMessage.decode(data)
        targets = list(subscriptions.match(topic, message.content_topic))
        if not targets:
            return
        push = encode_push(topic, data)
        message_id = sha256_message_id(data)
        for peer in sorted(targets):
            client = self._peer_ids[peer]
            self._send(FILTER, server, client, ("push", message_id), len(push), at)

    def _pushed(self, client: int, message_id: bytes, at: float) -> None:
        sim = self._sim
        index = sim.message_index.get(message_id)
        if index is None:
            self.counters["filter_spam_pushed"] += 1
            return
        arrival = sim.record.arrival[index]
        if arrival[client] != arrival[client]:  # NaN: first arrival
            arrival[client] = at
            sim.record.parent[index][client] = self.service_of[client]
        else:
            self.counters["filter_duplicate"] += 1

    # -- light push ---------------------------------------------------------------------------

    def light_push(self, client: int, topic: str, message: WakuMessage, at: float) -> None:
        request = LightPushRequest(
            message=message, pubsub_topic=topic, request_id=self._request_id()
        )
        data = request.to_bytes()
        self._send(LIGHTPUSH, client, self.service_of[client], ("lightpush", data), len(data), at)

    def _serve_lightpush(self, server: int, client: int, data: bytes, at: float) -> None:
        rules = self._lightpush.get(server)
        if rules is None:
            rules = self._lightpush[server] = LightPushRules(resolve_topic=_resolve_topic)
        request = LightPushRequest.from_bytes(data)
        peer = light_peer_id(self._sim.keys[client])
        verdict = rules.admit(request, peer, at)
        if isinstance(verdict, Admitted):
            peers = self._sim.relay_publish(
                server, verdict.pubsub_topic, verdict.message.encode(), at, via=client
            )
            response = rules.published(request, peers)
        else:
            response = verdict
        body = response.to_bytes()
        self._send(
            LIGHTPUSH, server, client, ("lightpush_answer", response.status_code), len(body), at
        )

    # -- store --------------------------------------------------------------------------------

    def _store_ask(self, client: int, store: int, at: float) -> None:
        sim = self._sim
        if store not in sim.links.latency[client]:
            sim.links.connect(client, store, self._latency.draw())
        query = StoreQuery(
            request_id=self._request_id(),
            pubsub_topic=sim.topics[0],
            content_topics=(CONTENT_TOPIC,),
            include_data=False,
            limit=100,
        )
        data = query.to_bytes()
        self._send(STORE, client, store, ("store_query", data), len(data), at)

    def _serve_store(self, store: int, client: int, data: bytes, at: float) -> None:
        verdict = self._store.receive(client, data, at)
        if isinstance(verdict, Refused):
            self.counters[f"store_refused_{verdict.reason}"] += 1
            return
        hashes = sorted(self._sim.archive.get(store, set()))[:100]
        # A hash-only page: each entry a 32-byte hash and its framing.
        size = 40 + 36 * len(hashes)
        self._send(STORE, store, client, ("store_answer", tuple(hashes)), size, at)

    def _store_answered(self, client: int, hashes: tuple[bytes, ...]) -> None:
        sim = self._sim
        missing = 0
        for message_id in hashes:
            index = sim.message_index.get(message_id)
            if (
                index is not None
                and sim.record.arrival[index][client] != sim.record.arrival[index][client]
            ):
                missing += 1
        self.counters["store_answers"] += 1
        self.counters["store_missed_messages_found"] += missing


def _resolve_topic(pubsub_topic: str | None, message: WakuMessage) -> str:
    if pubsub_topic is None:
        raise InvalidTopic("the simulation's pushes name their pubsub topic")
    return pubsub_topic
