"""The gossipsub v1.1 router, sans-IO: RPC bytes and a clock in, RPC bytes and events out.

Sections cited are of libp2p/specs pubsub/gossipsub/gossipsub-v1.0.md (v1.0) and
gossipsub-v1.1.md (v1.1). The adapter frames RPCs on streams and calls :meth:`heartbeat`
at :attr:`next_heartbeat_at`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from pystatus.p2p.errors import LocalProtocolError, RemoteProtocolError
from pystatus.p2p.gossipsub import rpc as wire
from pystatus.p2p.gossipsub.backoff import Backoffs
from pystatus.p2p.gossipsub.events import (
    Deliver,
    Graylisted,
    PeerKey,
    PeersExchanged,
    RouterEvent,
    SendRpc,
)
from pystatus.p2p.gossipsub.mcache import CachedMessage, MessageCache, SeenCache
from pystatus.p2p.gossipsub.mesh import maintain_mesh
from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.score import PeerScore


class ValidationResult(Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    IGNORE = "ignore"


Validator = Callable[[str, bytes, PeerKey | None], ValidationResult]


def sha256_message_id(data: bytes) -> bytes:
    """Waku relay's message id: sha256 of the message data (11/WAKU2-RELAY)."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class PublishResult:
    message_id: bytes
    peers: int
    duplicate: bool = False
    """The message was seen before (published or received): nothing was sent."""


@dataclass(slots=True)
class _Peer:
    outbound: bool
    topics: set[str] = field(default_factory=set)
    ihave_received: int = 0
    iwant_served: dict[bytes, int] = field(default_factory=dict)
    graylisted: bool = False


@dataclass(slots=True)
class _Outgoing:
    fragments: list[bytes] = field(default_factory=list)
    control: wire.ControlMessage | None = None


class GossipsubRouter:
    def __init__(
        self,
        params: GossipsubParams | None = None,
        *,
        validator: Validator | None = None,
        message_id: Callable[[bytes], bytes] = sha256_message_id,
        app_score: Callable[[PeerKey], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.params = params or GossipsubParams()
        self._validator = validator
        self._message_id = message_id
        self._rng = rng or random.Random()
        self.score = PeerScore(self.params, app_score)
        self._peers: dict[PeerKey, _Peer] = {}
        self._topic_peers: dict[str, set[PeerKey]] = {}
        self._subscriptions: set[str] = set()
        self.mesh: dict[str, set[PeerKey]] = {}
        self._fanout: dict[str, set[PeerKey]] = {}
        self._fanout_last_publish: dict[str, float] = {}
        # go-libp2p-pubsub's slack of two heartbeats before grafting after a back-off.
        self._backoffs = Backoffs(2 * self.params.heartbeat_interval, self.params.max_backoffs)
        self._mcache = MessageCache(self.params.history_length, self.params.history_gossip)
        self._seen = SeenCache(self.params.seen_ttl, self.params.max_seen_messages)
        self._outgoing: dict[PeerKey, _Outgoing] = {}
        self._events: list[RouterEvent] = []
        self._heartbeat_ticks = 0
        self._next_heartbeat: float | None = None
        self._next_decay: float | None = None
        self.counters: dict[str, int] = {
            "rpc_received": 0,
            "rpc_malformed": 0,
            "rpc_ignored_graylisted": 0,
            "messages_received": 0,
            "messages_duplicate": 0,
            "messages_rejected": 0,
            "messages_ignored": 0,
            "messages_invalid": 0,
            "messages_delivered": 0,
            "messages_published": 0,
            "messages_forwarded": 0,
            "graft_during_backoff": 0,
            "backoffs_evicted": 0,
            "iwant_served": 0,
            "ihave_sent": 0,
        }

    # -- queries ------------------------------------------------------------------------------

    @property
    def next_heartbeat_at(self) -> float | None:
        return self._next_heartbeat

    def peer_score(self, peer: PeerKey, now: float) -> float:
        return self.score.score(peer, now)

    def mesh_peers(self, topic: str) -> frozenset[PeerKey]:
        return frozenset(self.mesh.get(topic, ()))

    def topic_peers(self, topic: str) -> frozenset[PeerKey]:
        return frozenset(self._topic_peers.get(topic, ()))

    def peer_topics(self, peer: PeerKey) -> frozenset[str]:
        """The topics ``peer`` announced it subscribes to (empty for an unknown peer)."""
        state = self._peers.get(peer)
        return frozenset(state.topics) if state is not None else frozenset()

    @property
    def subscriptions(self) -> frozenset[str]:
        return frozenset(self._subscriptions)

    @property
    def peers(self) -> frozenset[PeerKey]:
        return frozenset(self._peers)

    def table_sizes(self) -> dict[str, int]:
        """Entries in each bounded table (peers, scored peers, seen ids, cached messages,
        back-offs), for metrics."""
        return {
            "peers": len(self._peers),
            "scored_peers": len(self.score),
            "seen": len(self._seen),
            "mcache": len(self._mcache),
            "backoffs": len(self._backoffs),
        }

    def is_graylisted(self, peer: PeerKey) -> bool:
        state = self._peers.get(peer)
        return state is not None and state.graylisted

    # -- output -------------------------------------------------------------------------------

    def _out(self, peer: PeerKey) -> _Outgoing:
        outgoing = self._outgoing.get(peer)
        if outgoing is None:
            outgoing = self._outgoing[peer] = _Outgoing()
        return outgoing

    def _control(self, peer: PeerKey) -> wire.ControlMessage:
        outgoing = self._out(peer)
        if outgoing.control is None:
            outgoing.control = wire.ControlMessage()
        return outgoing.control

    def events(self) -> list[RouterEvent]:
        """Drain what the router wants done: each peer's RPCs batched into one."""
        events = self._events
        self._events = []
        for peer, outgoing in self._outgoing.items():
            if peer not in self._peers:
                continue
            fragments = outgoing.fragments
            if outgoing.control is not None:
                fragments.append(wire.control_fragment(outgoing.control))
            if fragments:
                events.append(SendRpc(peer, b"".join(fragments)))
        self._outgoing.clear()
        return events

    # -- peers and subscriptions --------------------------------------------------------------

    def add_peer(self, peer: PeerKey, now: float, *, outbound: bool, ip: str | None = None) -> None:
        if peer in self._peers:
            return
        if len(self._peers) >= self.params.max_peers:
            raise LocalProtocolError("gossipsub peer table is full")
        self._peers[peer] = _Peer(outbound=outbound)
        self.score.add_peer(peer, ip)
        if self._next_heartbeat is None:
            self._next_heartbeat = now + self.params.heartbeat_interval
            self._next_decay = now + self.params.decay_interval
        # gossipsub-v1.0 "Subscriptions": announce ours to every new peer.
        if self._subscriptions:
            self._out(peer).fragments.extend(
                wire.subscription_fragment(topic, True) for topic in sorted(self._subscriptions)
            )

    def remove_peer(self, peer: PeerKey, now: float) -> None:
        state = self._peers.pop(peer, None)
        if state is None:
            return
        for topic in state.topics:
            peers = self._topic_peers.get(topic)
            if peers is not None:
                peers.discard(peer)
                if not peers:
                    del self._topic_peers[topic]
        for peers in self.mesh.values():
            peers.discard(peer)
        for peers in self._fanout.values():
            peers.discard(peer)
        self._outgoing.pop(peer, None)
        self.score.remove_peer(peer, now)

    def subscribe(self, topic: str, now: float) -> None:
        if topic in self._subscriptions:
            return
        self._subscriptions.add(topic)
        for peer in self._peers:
            self._out(peer).fragments.append(wire.subscription_fragment(topic, True))
        # gossipsub-v1.0 "Mesh maintenance" / JOIN: start from fanout peers, fill to D.
        mesh = self._fanout.pop(topic, set())
        self._fanout_last_publish.pop(topic, None)
        mesh = {p for p in mesh if self.score.score(p, now) >= 0}
        candidates = [
            p
            for p in self._topic_peers.get(topic, ())
            if p not in mesh
            and self._backoffs.may_graft(topic, p, now)
            and self.score.score(p, now) >= 0
        ]
        self._rng.shuffle(candidates)
        mesh.update(candidates[: max(0, self.params.d - len(mesh))])
        self.mesh[topic] = mesh
        for peer in mesh:
            self._graft(peer, topic, now)

    def unsubscribe(self, topic: str, now: float) -> None:
        if topic not in self._subscriptions:
            return
        self._subscriptions.discard(topic)
        for peer in self._peers:
            self._out(peer).fragments.append(wire.subscription_fragment(topic, False))
        for peer in self.mesh.pop(topic, set()):
            self._prune(peer, topic, now, backoff=self.params.unsubscribe_backoff)

    def _graft(self, peer: PeerKey, topic: str, now: float) -> None:
        self.score.graft(peer, topic, now)
        self._control(peer).graft.add(topicID=topic)

    def _prune(
        self, peer: PeerKey, topic: str, now: float, *, backoff: float, px: bool = False
    ) -> None:
        """Take ``peer`` (just removed from the topic's mesh) out of the mesh's score."""
        self.score.prune(peer, topic)
        self._send_prune(peer, topic, now, backoff=backoff, px=px)

    def _send_prune(
        self, peer: PeerKey, topic: str, now: float, *, backoff: float, px: bool = False
    ) -> None:
        self._backoff(topic, peer, now + backoff)
        prune = self._control(peer).prune.add(topicID=topic, backoff=int(backoff))
        if px:
            candidates = [
                p
                for p in self._topic_peers.get(topic, ())
                if p != peer and self.score.score(p, now) >= 0
            ]
            self._rng.shuffle(candidates)
            for candidate in candidates[: self.params.prune_peers]:
                prune.peers.add(peerID=candidate)

    def _backoff(self, topic: str, peer: PeerKey, until: float) -> None:
        if self._backoffs.extend(topic, peer, until):
            self.counters["backoffs_evicted"] += 1

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, topic: str, data: bytes, now: float) -> PublishResult:
        if len(data) > self.params.max_message_size:
            raise LocalProtocolError(
                f"message of {len(data)} bytes exceeds {self.params.max_message_size}"
            )
        message_id = self._message_id(data)
        if not self._seen.add(message_id, now):
            return PublishResult(message_id, 0, duplicate=True)
        fragment = wire.publish_fragment(topic, data)
        self._mcache.put(message_id, CachedMessage(topic, data, fragment))
        targets = self._publish_targets(topic, now)
        for peer in targets:
            self._out(peer).fragments.append(fragment)
        self.counters["messages_published"] += 1
        return PublishResult(message_id, len(targets))

    def _publish_targets(self, topic: str, now: float) -> set[PeerKey]:
        params = self.params
        subscribed = self._topic_peers.get(topic, set())
        if params.flood_publish:
            # v1.1 "Flood Publishing": every subscribed peer above the publish threshold.
            score = self.score.cached_score
            return {p for p in subscribed if score(p, now) >= params.publish_threshold}
        if topic in self._subscriptions:
            return set(self.mesh.get(topic, ()))
        fanout = self._fanout.get(topic)
        if not fanout:
            candidates = [
                p for p in subscribed if self.score.cached_score(p, now) >= params.publish_threshold
            ]
            self._rng.shuffle(candidates)
            fanout = self._fanout[topic] = set(candidates[: params.d])
        self._fanout_last_publish[topic] = now
        return set(fanout)

    # -- receiving ----------------------------------------------------------------------------

    def receive_rpc(self, peer: PeerKey, data: bytes, now: float) -> None:
        """Handle one RPC from ``peer``. A malformed one raises RemoteProtocolError after
        counting it and penalising the peer; the router stays usable either way."""
        state = self._peers.get(peer)
        if state is None:
            raise LocalProtocolError("RPC from a peer that was never added")
        self.counters["rpc_received"] += 1
        if state.graylisted:
            if self.score.cached_score(peer, now) >= self.params.graylist_threshold:
                state.graylisted = False
            else:
                self.counters["rpc_ignored_graylisted"] += 1
                return
        try:
            rpc = wire.decode_rpc(data, self.params)
        except RemoteProtocolError:
            self.counters["rpc_malformed"] += 1
            self.score.add_penalty(peer)
            self._check_graylist(peer, state, now)
            raise
        for subscription in rpc.subscriptions:
            self._handle_subscription(peer, state, subscription, now)
        for message in rpc.publish:
            self._handle_message(peer, message, now)
        if rpc.HasField("control"):
            self._handle_control(peer, state, rpc.control, now)
        self._check_graylist(peer, state, now)

    def _check_graylist(self, peer: PeerKey, state: _Peer, now: float) -> None:
        if state.graylisted:
            return
        score = self.score.cached_score(peer, now)
        if score < self.params.graylist_threshold:
            state.graylisted = True
            self._events.append(Graylisted(peer, score))
            for topic, mesh in self.mesh.items():
                if peer in mesh:
                    mesh.discard(peer)
                    self._prune(peer, topic, now, backoff=self.params.prune_backoff)

    def _handle_subscription(
        self, peer: PeerKey, state: _Peer, subscription: wire.RPC.SubOpts, now: float
    ) -> None:
        topic = subscription.topicid
        if not topic or len(topic) > self.params.max_topic_length:
            return
        if subscription.subscribe:
            if topic in state.topics or len(state.topics) >= self.params.max_topics_per_peer:
                return
            state.topics.add(topic)
            self._topic_peers.setdefault(topic, set()).add(peer)
        else:
            if topic not in state.topics:
                return
            state.topics.discard(topic)
            peers = self._topic_peers.get(topic)
            if peers is not None:
                peers.discard(peer)
                if not peers:
                    del self._topic_peers[topic]
            mesh = self.mesh.get(topic)
            if mesh is not None and peer in mesh:
                mesh.discard(peer)
                self.score.prune(peer, topic)
            fanout = self._fanout.get(topic)
            if fanout is not None:
                fanout.discard(peer)

    def _handle_message(self, peer: PeerKey, message: wire.Message, now: float) -> None:
        self.counters["messages_received"] += 1
        topic = message.topic
        data = message.data
        message_id = self._message_id(data)
        if message_id in self._seen:
            self.counters["messages_duplicate"] += 1
            first = self._seen.validated_at(message_id)
            if first is not None:
                self.score.duplicate_delivery(peer, topic, now - first)
            return
        violation = wire.strict_no_sign_violation(message)
        if violation is None and not topic:
            violation = "message without topic"
        if violation is None and len(data) > self.params.max_message_size:
            violation = f"message of {len(data)} bytes"
        if violation is not None:
            self.counters["messages_invalid"] += 1
            self.score.invalid_delivery(peer, topic)
            return
        result = self._validator(topic, data, peer) if self._validator else ValidationResult.ACCEPT
        self._seen.add(message_id, now)
        if result is ValidationResult.REJECT:
            self.counters["messages_rejected"] += 1
            self.score.invalid_delivery(peer, topic)
            return
        if result is ValidationResult.IGNORE:
            self.counters["messages_ignored"] += 1
            return
        self._seen.mark_validated(message_id, now)
        self.score.first_delivery(peer, topic)
        cached = CachedMessage(topic, data)
        self._mcache.put(message_id, cached)
        if topic in self._subscriptions:
            self.counters["messages_delivered"] += 1
            self._events.append(Deliver(topic, data, message_id, peer))
            # v1.0 "Message forwarding": to the mesh, never back to the sender.
            for target in self.mesh.get(topic, ()):
                if target != peer:
                    self._out(target).fragments.append(cached.fragment)
                    self.counters["messages_forwarded"] += 1

    def _handle_control(
        self, peer: PeerKey, state: _Peer, control: wire.ControlMessage, now: float
    ) -> None:
        params = self.params
        score = self.score.score(peer, now)
        if control.ihave and score >= params.gossip_threshold:
            wanted: list[bytes] = []
            for ihave in control.ihave:
                state.ihave_received += 1
                if state.ihave_received > params.max_ihave_messages:
                    break
                if ihave.topicID not in self._subscriptions:
                    continue
                for message_id in ihave.messageIDs:
                    if message_id not in self._seen and len(wanted) < params.max_ihave_length:
                        wanted.append(message_id)
            if wanted:
                self._rng.shuffle(wanted)
                self._control(peer).iwant.add(messageIDs=wanted)
        if control.iwant and score >= params.gossip_threshold:
            for iwant in control.iwant:
                for message_id in iwant.messageIDs:
                    cached = self._mcache.get(message_id)
                    if cached is None:
                        continue
                    served = state.iwant_served.get(message_id, 0)
                    if served >= params.gossip_retransmission:
                        continue
                    state.iwant_served[message_id] = served + 1
                    self._out(peer).fragments.append(cached.fragment)
                    self.counters["iwant_served"] += 1
        for graft in control.graft:
            self._handle_graft(peer, state, graft.topicID, score, now)
        for prune in control.prune:
            self._handle_prune(peer, prune, score, now)

    def _handle_graft(
        self, peer: PeerKey, state: _Peer, topic: str, score: float, now: float
    ) -> None:
        params = self.params
        mesh = self.mesh.get(topic)
        if mesh is None:
            # A topic we do not subscribe to: ignored, no PRUNE, as go-libp2p-pubsub and
            # nim-libp2p do (spam hardening; a PRUNE would also back the peer off for a
            # minute from a mesh we may join the next moment).
            return
        if peer in mesh:
            return
        if self._backoffs.refuses_graft(topic, peer, now):
            # v1.1: a GRAFT within the backoff period is penalised and refused.
            self.counters["graft_during_backoff"] += 1
            self.score.add_penalty(peer)
            self._send_prune(peer, topic, now, backoff=params.prune_backoff)
            return
        if score < 0:
            self._send_prune(peer, topic, now, backoff=params.prune_backoff)
            return
        if len(mesh) >= params.d_high and not state.outbound:
            self._send_prune(peer, topic, now, backoff=params.prune_backoff, px=True)
            return
        mesh.add(peer)
        self.score.graft(peer, topic, now)

    def _handle_prune(
        self, peer: PeerKey, prune: wire.ControlPrune, score: float, now: float
    ) -> None:
        topic = prune.topicID
        mesh = self.mesh.get(topic)
        if mesh is not None and peer in mesh:
            mesh.discard(peer)
            self.score.prune(peer, topic)
        backoff = float(prune.backoff) if prune.HasField("backoff") else self.params.prune_backoff
        backoff = min(backoff, 3600.0)
        self._backoff(topic, peer, now + backoff)
        if prune.peers and score >= self.params.accept_px_threshold:
            exchanged = tuple(p.peerID for p in prune.peers[: self.params.prune_peers] if p.peerID)
            if exchanged:
                self._events.append(PeersExchanged(topic, exchanged))

    # -- heartbeat (v1.0 "Heartbeat", v1.1 "Mesh maintenance with scores") --------------------

    def heartbeat(self, now: float) -> None:
        params = self.params
        self._heartbeat_ticks += 1
        self._next_heartbeat = now + params.heartbeat_interval
        if self._next_decay is not None and now >= self._next_decay:
            self.score.refresh(now)
            self._next_decay = now + params.decay_interval
        self.score.clear_cache()
        scores = {peer: self.score.cached_score(peer, now) for peer in self._peers}
        for state in self._peers.values():
            state.ihave_received = 0
            state.iwant_served.clear()
        for topic, mesh in self.mesh.items():
            self._maintain_mesh(topic, mesh, scores, now)
        self._maintain_fanout(scores, now)
        self._emit_gossip(scores)
        self._mcache.shift()
        self._seen.expire(now)
        self._backoffs.expire(now)

    def _maintain_mesh(
        self, topic: str, mesh: set[PeerKey], scores: dict[PeerKey, float], now: float
    ) -> None:
        params = self.params
        plan = maintain_mesh(
            mesh,
            self._topic_peers.get(topic, ()),
            scores,
            outbound=lambda p: self._peers[p].outbound,
            may_graft=lambda p: self._backoffs.may_graft(topic, p, now),
            params=params,
            rng=self._rng,
            opportunistic=self._heartbeat_ticks % params.opportunistic_graft_ticks == 0,
        )
        for peer in plan.prune:
            self._prune(peer, topic, now, backoff=params.prune_backoff)
        for peer in plan.prune_px:
            self._prune(peer, topic, now, backoff=params.prune_backoff, px=True)
        for peer in plan.graft:
            self._graft(peer, topic, now)

    def _maintain_fanout(self, scores: dict[PeerKey, float], now: float) -> None:
        params = self.params
        for topic in list(self._fanout):
            if now - self._fanout_last_publish.get(topic, now) > params.fanout_ttl:
                del self._fanout[topic]
                self._fanout_last_publish.pop(topic, None)
                continue
            fanout = self._fanout[topic]
            subscribed = self._topic_peers.get(topic, set())
            for peer in [p for p in fanout if p not in subscribed]:
                fanout.discard(peer)
            if len(fanout) < params.d:
                extra = [
                    p
                    for p in subscribed
                    if p not in fanout and scores.get(p, 0.0) >= params.publish_threshold
                ]
                self._rng.shuffle(extra)
                fanout.update(extra[: params.d - len(fanout)])

    def _emit_gossip(self, scores: dict[PeerKey, float]) -> None:
        params = self.params
        for topic in list(self.mesh) + list(self._fanout):
            ids = self._mcache.gossip_ids(topic)
            if not ids:
                continue
            exclude = self.mesh.get(topic, set()) | self._fanout.get(topic, set())
            candidates = [
                p
                for p in self._topic_peers.get(topic, ())
                if p not in exclude and scores.get(p, 0.0) >= params.gossip_threshold
            ]
            count = max(params.d_lazy, int(params.gossip_factor * len(candidates)))
            self._rng.shuffle(candidates)
            if len(ids) > params.max_ihave_length:
                ids = self._rng.sample(ids, params.max_ihave_length)
            for peer in candidates[:count]:
                self._control(peer).ihave.add(topicID=topic, messageIDs=ids)
                self.counters["ihave_sent"] += 1
