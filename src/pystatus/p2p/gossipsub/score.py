"""Peer scoring (gossipsub-v1.1.md "The Score Function"), time passed in.

Score = sum over topics of topic_weight * (P1 + P2 + P3 + P3b + P4) (optionally capped)
        + P5 (application) + P6 (IP colocation) + P7 (behaviour penalty).
Stats outlive a disconnection for ``retain_score`` seconds so a peer cannot shed a bad score
by reconnecting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from pystatus.p2p.gossipsub.events import PeerKey
from pystatus.p2p.gossipsub.params import GossipsubParams


@dataclass(slots=True)
class TopicStats:
    in_mesh: bool = False
    graft_time: float = 0.0
    mesh_time: float = 0.0
    first_message_deliveries: float = 0.0
    mesh_message_deliveries: float = 0.0
    mesh_message_deliveries_active: bool = False
    mesh_failure_penalty: float = 0.0
    invalid_message_deliveries: float = 0.0


@dataclass(slots=True)
class PeerStats:
    connected: bool = True
    expires_at: float = 0.0
    ips: tuple[str, ...] = ()
    behaviour_penalty: float = 0.0
    topics: dict[str, TopicStats] = field(default_factory=dict)


def colocation_keys(ip: str) -> tuple[str, ...]:
    """What P6 counts a peer's ``ip`` under, as go-libp2p-pubsub's ``score.go`` getIPs does:
    nothing for loopback (nodes on one machine are not a Sybil attack), the address and its
    /64 for IPv6. A string that is no IP address (a simulator's name) counts as itself."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (ip,)
    if address.is_loopback:
        return ()
    if address.version == 6:
        network = ipaddress.ip_network(f"{address}/64", strict=False)
        return (str(address), str(network))
    return (str(address),)


class PeerScore:
    def __init__(
        self,
        params: GossipsubParams,
        app_score: Callable[[PeerKey], float] | None = None,
    ) -> None:
        self._params = params
        self._topic = params.topic_params
        self._app_score = app_score
        self._peers: dict[PeerKey, PeerStats] = {}
        self._ips: dict[str, set[PeerKey]] = {}
        self._cache: dict[PeerKey, float] = {}

    def __len__(self) -> int:
        return len(self._peers)

    def _topic_stats(self, peer: PeerKey, topic: str) -> TopicStats | None:
        stats = self._peers.get(peer)
        if stats is None:
            return None
        topic_stats = stats.topics.get(topic)
        if topic_stats is None:
            if len(stats.topics) >= self._params.max_topics_per_peer:
                return None
            topic_stats = stats.topics[topic] = TopicStats()
        return topic_stats

    # -- membership ---------------------------------------------------------------------------

    def add_peer(self, peer: PeerKey, ip: str | None = None) -> None:
        stats = self._peers.get(peer)
        if stats is None:
            stats = self._peers[peer] = PeerStats()
        stats.connected = True
        if ip is not None:
            self._cache.clear()  # P6 of every peer on that address changes
            self._forget_ips(peer, stats)
            stats.ips = colocation_keys(ip)
            for key in stats.ips:
                self._ips.setdefault(key, set()).add(peer)

    def _forget_ips(self, peer: PeerKey, stats: PeerStats) -> None:
        for key in stats.ips:
            colocated = self._ips.get(key)
            if colocated is not None:
                colocated.discard(peer)
                if not colocated:
                    del self._ips[key]

    def remove_peer(self, peer: PeerKey, now: float) -> None:
        stats = self._peers.get(peer)
        if stats is None:
            return
        if stats.ips:
            self._cache.clear()
        else:
            self._cache.pop(peer, None)
        self._forget_ips(peer, stats)
        stats.ips = ()
        # A peer with a non-negative score is forgotten; a bad one is remembered a while.
        if self.score(peer, now) > 0:
            del self._peers[peer]
            return
        stats.connected = False
        stats.expires_at = now + self._params.retain_score
        for topic_stats in stats.topics.values():
            if topic_stats.in_mesh:
                self._apply_mesh_failure(topic_stats)
                topic_stats.in_mesh = False

    def graft(self, peer: PeerKey, topic: str, now: float) -> None:
        self._cache.pop(peer, None)
        stats = self._topic_stats(peer, topic)
        if stats is not None:
            stats.in_mesh = True
            stats.graft_time = now
            stats.mesh_time = 0.0
            stats.mesh_message_deliveries_active = False

    def prune(self, peer: PeerKey, topic: str) -> None:
        stats = self._topic_stats(peer, topic)
        if stats is not None and stats.in_mesh:
            self._cache.pop(peer, None)
            self._apply_mesh_failure(stats)
            stats.in_mesh = False

    def _apply_mesh_failure(self, stats: TopicStats) -> None:
        threshold = self._topic.mesh_message_deliveries_threshold
        if stats.mesh_message_deliveries_active and stats.mesh_message_deliveries < threshold:
            deficit = threshold - stats.mesh_message_deliveries
            stats.mesh_failure_penalty += deficit * deficit

    # -- observations -------------------------------------------------------------------------

    def first_delivery(self, peer: PeerKey, topic: str) -> None:
        stats = self._topic_stats(peer, topic)
        if stats is None:
            return
        cap = self._topic.first_message_deliveries_cap
        stats.first_message_deliveries = min(stats.first_message_deliveries + 1, cap)
        if stats.in_mesh:
            mesh_cap = self._topic.mesh_message_deliveries_cap
            stats.mesh_message_deliveries = min(stats.mesh_message_deliveries + 1, mesh_cap)

    def duplicate_delivery(self, peer: PeerKey, topic: str, delay: float) -> None:
        stats = self._topic_stats(peer, topic)
        if stats is None or not stats.in_mesh:
            return
        if delay <= self._topic.mesh_message_deliveries_window:
            cap = self._topic.mesh_message_deliveries_cap
            stats.mesh_message_deliveries = min(stats.mesh_message_deliveries + 1, cap)

    def invalid_delivery(self, peer: PeerKey, topic: str) -> None:
        self._cache.pop(peer, None)
        stats = self._topic_stats(peer, topic)
        if stats is not None:
            stats.invalid_message_deliveries += 1

    def add_penalty(self, peer: PeerKey, count: float = 1.0) -> None:
        self._cache.pop(peer, None)
        stats = self._peers.get(peer)
        if stats is not None:
            stats.behaviour_penalty += count

    # -- the score ----------------------------------------------------------------------------

    def cached_score(self, peer: PeerKey, now: float) -> float:
        """:meth:`score`, computed at most once between two :meth:`clear_cache` calls (the
        router clears it every heartbeat) unless the score may have fallen meanwhile: what
        lowers a score (invalid messages, penalties, mesh changes, colocation) drops the
        cached value at once. Rises (deliveries, time in mesh) wait for the next heartbeat,
        so thresholds judged on it are no laxer than on :meth:`score`, but for the P3
        deficit that time alone switches on (seen at the next heartbeat). The hot path (one
        check per message and per RPC) needs no more."""
        value = self._cache.get(peer)
        if value is None:
            value = self._cache[peer] = self.score(peer, now)
        return value

    def clear_cache(self) -> None:
        self._cache.clear()

    def score(self, peer: PeerKey, now: float) -> float:
        stats = self._peers.get(peer)
        if stats is None:
            return 0.0
        params = self._params
        topic_params = self._topic
        total = 0.0
        for topic_stats in stats.topics.values():
            value = 0.0
            if topic_stats.in_mesh:
                # Never negative: P1 rewards time spent, it cannot punish.
                mesh_time = max(0.0, now - topic_stats.graft_time)
                quanta = mesh_time / topic_params.time_in_mesh_quantum
                value += (
                    min(quanta, topic_params.time_in_mesh_cap) * topic_params.time_in_mesh_weight
                )
                if topic_stats.mesh_message_deliveries_active or (
                    mesh_time >= topic_params.mesh_message_deliveries_activation
                ):
                    threshold = topic_params.mesh_message_deliveries_threshold
                    if topic_stats.mesh_message_deliveries < threshold:
                        deficit = threshold - topic_stats.mesh_message_deliveries
                        value += deficit * deficit * topic_params.mesh_message_deliveries_weight
            value += (
                topic_stats.first_message_deliveries * topic_params.first_message_deliveries_weight
            )
            value += topic_stats.mesh_failure_penalty * topic_params.mesh_failure_penalty_weight
            invalid = topic_stats.invalid_message_deliveries
            value += invalid * invalid * topic_params.invalid_message_deliveries_weight
            total += value * topic_params.topic_weight
        if params.topic_score_cap > 0:
            total = min(total, params.topic_score_cap)
        if self._app_score is not None:
            total += self._app_score(peer) * params.app_specific_weight
        for key in stats.ips:
            surplus = len(self._ips.get(key, ())) - params.ip_colocation_factor_threshold
            if surplus > 0:
                total += surplus * surplus * params.ip_colocation_factor_weight
        excess = stats.behaviour_penalty - params.behaviour_penalty_threshold
        if excess > 0:
            total += excess * excess * params.behaviour_penalty_weight
        return total

    def refresh(self, now: float) -> None:
        """Decay every counter one step (call every ``decay_interval``) and drop expired peers."""
        params = self._params
        topic_params = self._topic
        to_zero = params.decay_to_zero

        def decay(value: float, factor: float) -> float:
            value *= factor
            return 0.0 if value < to_zero else value

        self._cache.clear()
        expired = [
            peer
            for peer, stats in self._peers.items()
            if not stats.connected and stats.expires_at <= now
        ]
        for peer in expired:
            del self._peers[peer]
        for stats in self._peers.values():
            for topic_stats in stats.topics.values():
                topic_stats.first_message_deliveries = decay(
                    topic_stats.first_message_deliveries,
                    topic_params.first_message_deliveries_decay,
                )
                topic_stats.mesh_message_deliveries = decay(
                    topic_stats.mesh_message_deliveries,
                    topic_params.mesh_message_deliveries_decay,
                )
                topic_stats.mesh_failure_penalty = decay(
                    topic_stats.mesh_failure_penalty, topic_params.mesh_failure_penalty_decay
                )
                topic_stats.invalid_message_deliveries = decay(
                    topic_stats.invalid_message_deliveries,
                    topic_params.invalid_message_deliveries_decay,
                )
                if topic_stats.in_mesh and (
                    now - topic_stats.graft_time >= topic_params.mesh_message_deliveries_activation
                ):
                    topic_stats.mesh_message_deliveries_active = True
            stats.behaviour_penalty = decay(stats.behaviour_penalty, params.behaviour_penalty_decay)
