"""The simulator's configuration: one frozen dataclass, from TOML (stdlib ``tomllib``) and flags.

Every duration is seconds of the simulator's virtual clock unless its name says ``_ms``;
sizes are bytes; bandwidths are bits per second. :func:`load` raises
:class:`~pystatus.errors.ConfigError` naming the bad key.

Connectivity defaults follow nwaku v0.34 (the release its published 1,000-node figures were
measured with): ``--max-connections 50`` split ``60:40`` between relay and service peers, a
third of the relay share dialled out (``waku/node/peer_manager/peer_manager.nim``), the same
split :mod:`pystatus.node.peer_manager_rules` applies.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pystatus.errors import ConfigError

LATENCY_DISTRIBUTIONS = ("lognormal", "uniform", "constant")


@dataclass(frozen=True, kw_only=True, slots=True)
class SimConfig:
    nodes: int = 100
    """Relay nodes (full nodes); light clients and store nodes are counted within them."""
    messages: int = 100
    """Honest messages published, each by a relay node chosen at random (or a light client)."""
    seed: int = 1
    message_rate: float = 10.0
    """Honest messages per second of virtual time, network-wide."""
    message_size: int = 1024
    """Payload bytes of each Waku message."""
    warmup: float = 3.0
    """Virtual seconds of connections and heartbeats before the first message (meshes form)."""
    drain: float = 2.0
    """Virtual seconds after the last message before the run stops."""
    shards: int = 1
    """Pubsub topics (``/waku/2/rs/<cluster>/<shard>``) messages are spread over; every relay
    node subscribes to all of them."""
    cluster_id: int = 16
    max_connections: int = 50
    relay_service_ratio: float = 60.0
    """Percent of ``max_connections`` for relay peers; a third of them are dialled out."""
    latency_distribution: str = "lognormal"
    latency_ms: float = 40.0
    """Median one-way link latency (lognormal), the mean (uniform), or the value (constant)."""
    latency_sigma: float = 0.5
    """Lognormal shape; for uniform, the half-width as a fraction of ``latency_ms``."""
    latency_min_ms: float = 2.0
    latency_max_ms: float = 500.0
    bandwidth_bps: float = 50e6
    """Each node's uplink: an RPC waits for the bytes queued before it, then takes
    ``bytes * 8 / bandwidth_bps`` to serialise."""
    loss_rate: float = 0.0
    """Chance each RPC transmission is lost (a stream reset); gossip may recover the message."""
    light_fraction: float = 0.0
    """Share of the network that are light clients (filter + light push, no relay)."""
    store_fraction: float = 0.0
    """Share of relay nodes that are store nodes archiving every message."""
    spam_rate: float = 0.0
    """Messages per second a spammer relay node floods shard 0 with (0: no spammer)."""
    peer_rate: float = 5000.0
    """Relay's per-peer rate limit (messages per second) before messages are rejected."""
    peer_burst: float = 10000.0
    chat_pairs: int = 0
    """Pairs of chat accounts (ChatSessions on relay nodes) exchanging 1:1 texts."""
    chat_messages: int = 10
    """Texts each pair exchanges, the two accounts taking turns every 0.5 s."""

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(f"simulate: {what}")

        need(self.nodes >= 2, "nodes must be at least 2")
        need(self.messages >= 0, "messages must not be negative")
        need(self.message_rate > 0, "message_rate must be positive")
        need(8 <= self.message_size <= 150 * 1024, "message_size must be 8 B to 150 KiB")
        need(self.warmup >= 1.0 and self.drain >= 0, "warmup >= 1 s and drain >= 0 s")
        need(1 <= self.shards <= 1024, "shards must be 1 to 1024")
        need(self.max_connections >= 3, "max_connections must be at least 3")
        need(0 < self.relay_service_ratio <= 100, "relay_service_ratio must be in (0, 100]")
        need(
            self.latency_distribution in LATENCY_DISTRIBUTIONS,
            f"latency_distribution must be one of {', '.join(LATENCY_DISTRIBUTIONS)}",
        )
        need(self.latency_ms >= 0 and self.latency_sigma >= 0, "latency must not be negative")
        need(0 <= self.latency_min_ms <= self.latency_max_ms, "latency_min_ms <= latency_max_ms")
        need(self.bandwidth_bps > 0, "bandwidth_bps must be positive")
        need(0 <= self.loss_rate < 1, "loss_rate must be in [0, 1)")
        need(0 <= self.light_fraction < 1, "light_fraction must be in [0, 1)")
        need(0 <= self.store_fraction <= 1, "store_fraction must be in [0, 1]")
        need(self.spam_rate >= 0, "spam_rate must not be negative")
        need(self.peer_rate >= 0 and self.peer_burst >= 0, "peer_rate and peer_burst >= 0")
        need(0 <= 2 * self.chat_pairs <= self.nodes, "chat_pairs must fit the relay nodes")
        need(self.chat_messages >= 0, "chat_messages must not be negative")

    @property
    def relay_peers(self) -> int:
        return math.ceil(self.max_connections * self.relay_service_ratio / 100)

    @property
    def out_relay_target(self) -> int:
        """Relay peers each node dials (nwaku: a third of the relay share, at least one)."""
        return max(1, self.relay_peers // 3)

    @property
    def in_relay_target(self) -> int:
        return self.relay_peers - self.out_relay_target

    @property
    def light_nodes(self) -> int:
        return int(self.nodes * self.light_fraction)

    @property
    def relay_nodes(self) -> int:
        return self.nodes - self.light_nodes

    @property
    def store_nodes(self) -> int:
        if self.store_fraction <= 0:
            return 0
        return max(1, int(self.relay_nodes * self.store_fraction))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(SimConfig)}


def build(base: dict[str, Any] | None = None, **overrides: Any) -> SimConfig:
    """A config from a TOML-shaped mapping, then ``overrides`` (flags) that are not None."""
    values: dict[str, Any] = {}
    for source in (base or {}, overrides):
        for key, value in source.items():
            if value is None:
                continue
            field = _FIELDS.get(key)
            if field is None:
                raise ConfigError(f"simulate: unknown setting {key!r}")
            expected = SimConfig.__dataclass_fields__[key].default
            if isinstance(expected, bool) or not isinstance(value, (int, float, str)):
                raise ConfigError(f"simulate: {key} has the wrong type")
            if isinstance(expected, int) and not isinstance(value, int):
                raise ConfigError(f"simulate: {key} must be a whole number")
            if isinstance(expected, float) and isinstance(value, (int, float)):
                value = float(value)
            elif not isinstance(value, type(expected)):
                raise ConfigError(f"simulate: {key} has the wrong type")
            values[key] = value
    return SimConfig(**values)


def load(path: Path | None, **overrides: Any) -> SimConfig:
    """Read ``path`` (TOML: keys at the top level or under ``[simulate]``), apply flags."""
    base: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"simulate: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"simulate: {path} is not TOML: {exc}") from exc
        section = data.get("simulate", data)
        if not isinstance(section, dict):
            raise ConfigError("simulate: [simulate] must be a table")
        base = section
    return build(base, **overrides)
