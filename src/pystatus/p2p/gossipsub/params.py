"""gossipsub parameters, with the values nwaku's relay uses (waku/waku_relay/protocol.nim).

Field meanings follow libp2p/specs pubsub/gossipsub/gossipsub-v1.0.md ("Parameters") and
gossipsub-v1.1.md ("Peer Scoring", "Score Thresholds"). Durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pystatus.errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class TopicScoreParams:
    topic_weight: float = 1.0
    time_in_mesh_weight: float = 0.01
    time_in_mesh_quantum: float = 1.0
    time_in_mesh_cap: float = 10.0
    first_message_deliveries_weight: float = 1.0
    first_message_deliveries_decay: float = 0.5
    first_message_deliveries_cap: float = 10.0
    # nwaku leaves P3/P3b off: the network's traffic is too bursty for delivery quotas.
    mesh_message_deliveries_weight: float = 0.0
    mesh_message_deliveries_decay: float = 0.5
    mesh_message_deliveries_threshold: float = 1.0
    mesh_message_deliveries_cap: float = 20.0
    mesh_message_deliveries_activation: float = 10.0
    mesh_message_deliveries_window: float = 0.1
    mesh_failure_penalty_weight: float = 0.0
    mesh_failure_penalty_decay: float = 0.5
    invalid_message_deliveries_weight: float = -100.0
    invalid_message_deliveries_decay: float = 0.5


@dataclass(frozen=True, kw_only=True, slots=True)
class GossipsubParams:
    d: int = 6
    d_low: int = 4
    d_high: int = 8
    d_score: int = 6
    d_out: int = 3
    d_lazy: int = 6
    gossip_factor: float = 0.25
    heartbeat_interval: float = 1.0
    fanout_ttl: float = 60.0
    history_length: int = 6
    history_gossip: int = 3
    seen_ttl: float = 120.0
    prune_backoff: float = 60.0
    unsubscribe_backoff: float = 5.0
    flood_publish: bool = True
    prune_peers: int = 16
    opportunistic_graft_ticks: int = 60
    opportunistic_graft_peers: int = 2
    gossip_retransmission: int = 3
    max_ihave_length: int = 5000
    max_ihave_messages: int = 10
    iwant_followup_time: float = 3.0
    # Thresholds (gossipsub-v1.1.md "Score Thresholds"), nwaku's values.
    gossip_threshold: float = -100.0
    publish_threshold: float = -1000.0
    graylist_threshold: float = -10000.0
    accept_px_threshold: float = 100.0
    opportunistic_graft_threshold: float = 0.0
    decay_interval: float = 12.0
    decay_to_zero: float = 0.01
    retain_score: float = 600.0
    app_specific_weight: float = 1.0
    ip_colocation_factor_weight: float = -50.0
    ip_colocation_factor_threshold: float = 5.0
    behaviour_penalty_weight: float = -10.0
    behaviour_penalty_threshold: float = 0.0
    behaviour_penalty_decay: float = 0.986
    topic_score_cap: float = 0.0
    topic_params: TopicScoreParams = field(default_factory=TopicScoreParams)
    # Bounds that keep every table finite.
    max_message_size: int = 150 * 1024
    max_rpc_size: int = 4 * 1024 * 1024
    max_topics_per_rpc: int = 1024
    max_topics_per_peer: int = 1024
    max_topic_length: int = 256
    max_seen_messages: int = 200_000
    max_peers: int = 10_000
    max_backoffs: int = 100_000

    def __post_init__(self) -> None:
        if not 0 < self.d_low <= self.d <= self.d_high:
            raise ConfigError("gossipsub needs 0 < d_low <= d <= d_high")
        if not 0 <= self.d_out < self.d_low or self.d_out > self.d // 2:
            raise ConfigError("gossipsub needs d_out < d_low and d_out <= d / 2")
        if self.history_gossip > self.history_length:
            raise ConfigError("history_gossip cannot exceed history_length")
        if not (self.graylist_threshold < self.publish_threshold <= self.gossip_threshold <= 0):
            raise ConfigError("score thresholds must be graylist < publish <= gossip <= 0")
        if self.heartbeat_interval <= 0 or self.decay_interval <= 0:
            raise ConfigError("intervals must be positive")
