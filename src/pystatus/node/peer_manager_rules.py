"""The peer manager's rules (sans-IO): which peers to keep, dial, refuse and prune.

Follows nwaku's ``waku/node/peer_manager/peer_manager.nim`` in its numbers and names:

- ``--max-connections`` is split by ``--relay-service-ratio`` (``60:40``): relay peers get
  ``ceil(max * relay share)`` connections, a third of them (rounded down) outbound; the rest
  of the relay share is the inbound relay target. Service peers (light clients we serve, and
  the store/filter/light push peers we use) share the remainder.
- Inbound connections beyond ``max_connections - outbound relay target`` are closed at once
  (the outbound share stays free for our own dials), and inbound relay peers beyond the
  inbound target are pruned, the worst-scoring first.
- Each subscribed shard wants ``outbound relay target / shards`` (at least 1) outbound relay
  peers; missing ones are dialed from known peers of that shard (their ENR's ``rs``/``rsv``).
- A failed dial backs the peer off ``120 s * 4^(failures - 1)``; after 5 failures in a row it
  is no longer dialed (nwaku's ``canBeConnected``).
- Light clients pick a service peer by fewest failures, then the shortest measured round trip.

Time comes in as ``now`` (monotonic seconds); the book never reads a clock. Inputs return
actions (:class:`Dial`, :class:`Disconnect`) for the adapter, :mod:`pystatus.node.peer_manager`.
"""

from __future__ import annotations

import collections
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pystatus.errors import ConfigError
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId

INITIAL_BACKOFF = 120.0
"""Seconds a peer is left alone after its first failed dial (nwaku's InitialBackoffInSec)."""
BACKOFF_FACTOR = 4
MAX_FAILED_ATTEMPTS = 5
"""Failures in a row after which a peer is no longer dialed (nwaku's MaxFailedAttempts)."""
CONNECTIVITY_INTERVAL = 30.0
"""Seconds between connectivity checks (nwaku's ConnectivityLoopInterval)."""
MAX_PARALLEL_DIALS = 10
DEFAULT_BOOK_CAPACITY = 1000
"""Peers the book keeps; least recently seen unconnected ones are evicted first."""
MIN_RELAY_PEERS = 1


class Origin(StrEnum):
    """How a peer became known; values are nwaku's ``PeerOrigin`` names, as its REST shows
    them. A peer that dialed us has no other origin: nwaku reports it ``UnknownOrigin``."""

    STATIC = "Static"
    DNS = "Dns"
    DISCV5 = "Discv5"
    PX = "PeerExchange"
    INBOUND = "UnknownOrigin"

    @classmethod
    def parse(cls, text: str) -> Origin:
        """An origin by its nwaku name or short name (static, dns, discv5, px, inbound)."""
        short = {"static": cls.STATIC, "dns": cls.DNS, "discv5": cls.DISCV5, "px": cls.PX}
        short["inbound"] = cls.INBOUND
        if text in short:
            return short[text]
        return cls(text)


ORIGIN_RANK = {Origin.STATIC: 4, Origin.DNS: 3, Origin.DISCV5: 2, Origin.PX: 1, Origin.INBOUND: 0}
"""When a peer is learned twice, the stronger origin is kept (a static node stays static)."""


class Connectedness(StrEnum):
    """nwaku's ``Connectedness`` (``waku/waku_core/peers.nim``), as its REST shows it."""

    NOT_CONNECTED = "NotConnected"
    CANNOT_CONNECT = "CannotConnect"
    CAN_CONNECT = "CanConnect"
    CONNECTED = "Connected"


@dataclass(slots=True)
class PeerInfo:
    """What the book knows of one peer. ``last_seen`` is monotonic seconds, ``last_failed`` too;
    ``rtt`` is the last measured round trip in seconds."""

    peer_id: PeerId
    origin: Origin
    addrs: list[Multiaddr] = field(default_factory=list)
    enr: str | None = None
    cluster_id: int | None = None
    shards: tuple[int, ...] = ()
    protocols: tuple[str, ...] = ()
    direction: str | None = None
    """``inbound`` or ``outbound`` while connected."""
    connected: bool = False
    connected_since: float = 0.0
    was_connected: bool = False
    failures: int = 0
    last_failed: float | None = None
    last_seen: float = 0.0
    rtt: float | None = None
    agent: str = ""

    @property
    def connectedness(self) -> Connectedness:
        if self.connected:
            return Connectedness.CONNECTED
        if self.failures:
            return Connectedness.CANNOT_CONNECT
        if self.was_connected:
            return Connectedness.CAN_CONNECT
        return Connectedness.NOT_CONNECTED


@dataclass(frozen=True, slots=True)
class Dial:
    """Dial ``peer`` at its known addresses; ``reason`` is ``shard:<n>`` or ``service:<codec>``
    or ``static``."""

    peer: PeerId
    reason: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close every connection to ``peer``; ``reason`` is a metric label (``inbound_share``,
    ``prune_relay``, ``other_cluster``)."""

    peer: PeerId
    reason: str


Action = Dial | Disconnect


@dataclass(frozen=True, kw_only=True, slots=True)
class PeerManagerLimits:
    """The connection budget and targets, computed as nwaku's ``PeerManager.new``."""

    max_connections: int = 300
    relay_service_ratio: str = "60:40"
    """``--relay-service-ratio``: relay share and service share in percent, summing to 100."""
    cluster_id: int = 0
    service_protocols: tuple[str, ...] = ()
    """Protocols this node wants one service peer for (a slot each): store, filter, light push."""
    capacity: int = DEFAULT_BOOK_CAPACITY
    initial_backoff: float = INITIAL_BACKOFF
    backoff_factor: int = BACKOFF_FACTOR
    max_failed_attempts: int = MAX_FAILED_ATTEMPTS

    def __post_init__(self) -> None:
        relay, _ = parse_relay_service_ratio(self.relay_service_ratio)
        if self.max_connections < 1:
            raise ConfigError("--max-connections must be at least 1")
        if self.capacity < self.max_connections:
            raise ConfigError(
                "--peer-store-capacity must be at least --max-connections "
                f"({self.capacity} < {self.max_connections})"
            )
        if self.initial_backoff <= 0 or self.backoff_factor < 1 or self.max_failed_attempts < 1:
            raise ConfigError("peer backoff settings must be positive")
        if math.ceil(self.max_connections * relay / 100) < MIN_RELAY_PEERS:
            raise ConfigError("--relay-service-ratio leaves no connection for relay peers")

    @property
    def relay_peers(self) -> int:
        relay, _ = parse_relay_service_ratio(self.relay_service_ratio)
        return math.ceil(self.max_connections * relay / 100)

    @property
    def service_peers(self) -> int:
        _, service = parse_relay_service_ratio(self.relay_service_ratio)
        return math.floor(self.max_connections * service / 100)

    @property
    def out_relay_target(self) -> int:
        return self.relay_peers // 3

    @property
    def in_relay_target(self) -> int:
        return self.relay_peers - self.out_relay_target

    @property
    def max_inbound(self) -> int:
        """Inbound connections allowed: all but the outbound relay share."""
        return max(1, self.max_connections - self.out_relay_target)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed dials in a row (0 for none)."""
        if failures <= 0:
            return 0.0
        return self.initial_backoff * float(self.backoff_factor ** (failures - 1))


def parse_relay_service_ratio(text: str) -> tuple[float, float]:
    """``"60:40"`` -> (60.0, 40.0). Raises :class:`ConfigError` unless two non-negative
    numbers summing to 100."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        relay, service = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"--relay-service-ratio {text!r} is not <relay>:<service>") from None
    if relay < 0 or service < 0 or not math.isclose(relay + service, 100.0):
        raise ConfigError(f"--relay-service-ratio {text!r} must be two shares summing to 100")
    return relay, service


class PeerBook:
    """Every peer known, bounded to ``limits.capacity`` (least recently seen unconnected peer
    evicted first, :attr:`evictions` counts them), with the decisions of the peer manager.

    ``shards`` are the relayed shards of our cluster, asked for on each plan (they change with
    REST subscriptions). ``rng`` shuffles candidates, as nwaku picks them at random.
    """

    def __init__(self, limits: PeerManagerLimits, *, rng: random.Random | None = None) -> None:
        self.limits = limits
        self._peers: collections.OrderedDict[PeerId, PeerInfo] = collections.OrderedDict()
        self._dialing: set[PeerId] = set()
        self._rng = rng or random.Random()
        self._next_check: float | None = None
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._peers)

    def __contains__(self, peer: object) -> bool:
        return peer in self._peers

    def get(self, peer: PeerId) -> PeerInfo | None:
        return self._peers.get(peer)

    def peers(self) -> list[PeerInfo]:
        return list(self._peers.values())

    # -- learning ----------------------------------------------------------------------------

    def learn(
        self,
        peer: PeerId,
        origin: Origin,
        now: float,
        *,
        addrs: Iterable[Multiaddr] = (),
        enr: str | None = None,
        relay_shards: tuple[int, tuple[int, ...]] | None = None,
        protocols: tuple[str, ...] | None = None,
    ) -> PeerInfo | None:
        """Remember ``peer`` (or refresh it); returns its entry, or None when refused: a
        record of another cluster (by ``rs``/``rsv``) is not kept, as nwaku's peer manager
        keeps none."""
        if relay_shards is not None and relay_shards[0] != self.limits.cluster_id:
            return None
        info = self._peers.get(peer)
        if info is None:
            info = PeerInfo(peer, origin, last_seen=now)
            self._peers[peer] = info
            self._evict()
        else:
            self._peers.move_to_end(peer)
            if ORIGIN_RANK[origin] > ORIGIN_RANK[info.origin]:
                info.origin = origin
        for addr in addrs:
            bare = addr.decapsulate_p2p()
            if bare not in info.addrs:
                info.addrs.insert(0, bare)
        del info.addrs[16:]
        if enr is not None:
            info.enr = enr
        if relay_shards is not None:
            info.cluster_id, info.shards = relay_shards[0], tuple(sorted(relay_shards[1]))
        if protocols is not None:
            info.protocols = protocols
        info.last_seen = max(info.last_seen, now)
        return info

    def _evict(self) -> None:
        while len(self._peers) > self.limits.capacity:
            victim = next((p for p, i in self._peers.items() if not i.connected), None)
            if victim is None:
                return
            del self._peers[victim]
            self._dialing.discard(victim)
            self.evictions += 1

    def forget(self, peer: PeerId) -> None:
        self._peers.pop(peer, None)
        self._dialing.discard(peer)

    # -- connection events -------------------------------------------------------------------

    def connected(self, peer: PeerId, direction: str, now: float) -> list[Action]:
        """A connection to ``peer`` opened (``inbound`` or ``outbound``). An inbound one past
        :attr:`PeerManagerLimits.max_inbound` is to be closed (``inbound_share``)."""
        info = self._peers.get(peer)
        if info is None:
            info = self.learn(peer, Origin.INBOUND, now)
            assert info is not None
        self._peers.move_to_end(peer)
        self._dialing.discard(peer)
        first = not info.connected
        info.connected, info.was_connected, info.last_seen = True, True, now
        if first:
            info.direction, info.connected_since = direction, now
        info.failures, info.last_failed = 0, None
        if direction == "inbound" and first and self.inbound_count() > self.limits.max_inbound:
            return [Disconnect(peer, "inbound_share")]
        return []

    def disconnected(self, peer: PeerId, now: float) -> None:
        info = self._peers.get(peer)
        if info is not None:
            info.connected, info.direction, info.last_seen = False, None, now

    def identified(
        self,
        peer: PeerId,
        protocols: tuple[str, ...],
        now: float,
        *,
        agent: str = "",
        scores: Mapping[PeerId, float] | None = None,
    ) -> list[Action]:
        """``peer`` told its protocols; returns prunes when inbound relay peers now exceed the
        inbound target."""
        info = self._peers.get(peer)
        if info is None:
            return []
        info.protocols, info.agent, info.last_seen = protocols, agent, now
        return self.prune_inbound_relay(scores or {})

    def dial_started(self, peer: PeerId) -> None:
        self._dialing.add(peer)

    def dial_failed(self, peer: PeerId, now: float) -> None:
        """A dial to ``peer`` failed: its backoff grows (nwaku's NumberFailedConnBook)."""
        self._dialing.discard(peer)
        info = self._peers.get(peer)
        if info is not None:
            info.failures += 1
            info.last_failed = now

    def record_rtt(self, peer: PeerId, rtt: float) -> None:
        info = self._peers.get(peer)
        if info is not None:
            info.rtt = rtt

    def request_failed(self, peer: PeerId, now: float) -> None:
        """A service request to a connected ``peer`` failed: it ranks lower as a service peer."""
        self.dial_failed(peer, now)

    # -- decisions ---------------------------------------------------------------------------

    def can_dial(self, peer: PeerId, now: float) -> bool:
        """Whether ``peer`` may be dialed at ``now``: known addresses, not connected nor being
        dialed, and out of its backoff (nwaku's ``canBeConnected``)."""
        info = self._peers.get(peer)
        if info is None or info.connected or peer in self._dialing or not info.addrs:
            return False
        if info.failures == 0:
            return True
        if info.failures >= self.limits.max_failed_attempts:
            return False
        assert info.last_failed is not None
        return now >= info.last_failed + self.limits.backoff(info.failures)

    def inbound_count(self) -> int:
        return sum(1 for i in self._peers.values() if i.connected and i.direction == "inbound")

    def _relay_peers(self, direction: str) -> list[PeerInfo]:
        return [
            i
            for i in self._peers.values()
            if i.connected and i.direction == direction and RELAY_PROTOCOL_ID in i.protocols
        ]

    def prune_inbound_relay(self, scores: Mapping[PeerId, float]) -> list[Action]:
        """Inbound relay peers over the inbound target, worst first: lowest gossipsub score,
        then most failures, then the most recent connection (long-lived peers are kept)."""
        inbound = self._relay_peers("inbound")
        excess = len(inbound) - self.limits.in_relay_target
        if excess <= 0:
            return []
        inbound.sort(key=lambda i: (scores.get(i.peer_id, 0.0), -i.failures, -i.connected_since))
        return [Disconnect(i.peer_id, "prune_relay") for i in inbound[:excess]]

    def plan(
        self,
        now: float,
        shards: Iterable[int],
        *,
        scores: Mapping[PeerId, float] | None = None,
        relay: bool = True,
    ) -> list[Action]:
        """One connectivity check (nwaku's ``manageRelayPeers``, plus the service slots):
        dials for shards short of outbound relay peers and for empty service slots, and
        prunes of inbound relay peers over target. At most :data:`MAX_PARALLEL_DIALS` dials."""
        self._next_check = now + CONNECTIVITY_INTERVAL
        actions: list[Action] = list(self.prune_inbound_relay(scores or {}))
        chosen: dict[PeerId, str] = {}
        shard_list = sorted(set(shards))
        if relay and shard_list:
            per_shard = max(1, self.limits.out_relay_target // len(shard_list))
            outbound = self._relay_peers("outbound")
            for shard in shard_list:
                have = sum(1 for i in outbound if shard in i.shards)
                # Dials under way count: a slow dial is not doubled by the next check.
                have += sum(1 for p in self._dialing if shard in self._peers[p].shards)
                have += sum(1 for r in chosen.values() if r == f"shard:{shard}")
                missing = per_shard - have
                if missing <= 0:
                    continue
                candidates = [
                    i.peer_id
                    for i in self._peers.values()
                    if shard in i.shards
                    and i.cluster_id == self.limits.cluster_id
                    and i.peer_id not in chosen
                    and self.can_dial(i.peer_id, now)
                ]
                self._rng.shuffle(candidates)
                for peer in candidates[:missing]:
                    chosen[peer] = f"shard:{shard}"
        for protocol in self.limits.service_protocols:
            if any(
                (i.connected or i.peer_id in self._dialing) and protocol in i.protocols
                for i in self._peers.values()
            ):
                continue
            best = self.select_service_peer(protocol, now, connected_only=False)
            if best is not None and best not in chosen and self.can_dial(best, now):
                chosen[best] = f"service:{protocol}"
        for peer, reason in list(chosen.items())[:MAX_PARALLEL_DIALS]:
            actions.append(Dial(peer, reason))
            self._dialing.add(peer)
        return actions

    def select_service_peer(
        self, protocol: str, now: float, *, connected_only: bool = False
    ) -> PeerId | None:
        """The best peer for ``protocol``: fewest failures, then the shortest measured round
        trip (unmeasured last), then connected first. Peers in backoff are left out."""
        candidates = [
            i
            for i in self._peers.values()
            if protocol in i.protocols
            and (i.connected or (not connected_only and self.can_dial(i.peer_id, now)))
        ]
        if not candidates:
            return None
        best = min(
            candidates,
            key=lambda i: (
                i.failures,
                i.rtt if i.rtt is not None else math.inf,
                not i.connected,
            ),
        )
        return best.peer_id

    def next_deadline(self) -> float | None:
        """Monotonic seconds of the next connectivity check, or None before the first plan."""
        return self._next_check
