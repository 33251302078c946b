"""The node's configuration, validated when built: every bad value is a ConfigError naming it."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from pystatus.archive.retention import RetentionPolicy
from pystatus.errors import ConfigError
from pystatus.node.peer_manager_rules import PeerManagerLimits
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.faults import FaultPlan
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.dns_discovery import InvalidNameServer, parse_name_server
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import InvalidEnrTree, Link
from pystatus.waku.errors import InvalidTopic
from pystatus.waku.message import max_message_size
from pystatus.waku.rate_limit import ProtocolRateLimits
from pystatus.waku.topics import MAX_SHARD, ContentTopic, RelayShard

MIN_MESSAGE_SIZE_LIMIT = 1024
MAX_MESSAGE_SIZE_LIMIT = 4 * 1024 * 1024 - 64 * 1024
"""A message and its framing must fit one gossipsub RPC (4 MiB)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RestConfig:
    address: str = "127.0.0.1"
    port: int = 8645
    admin: bool = False
    relay_cache_capacity: int = 50
    """Messages kept per subscribed topic for GET /relay/v1/messages (oldest dropped first)."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 0xFFFF:
            raise ConfigError(f"--rest-port {self.port} is not a port")
        if self.relay_cache_capacity < 1:
            raise ConfigError("--rest-relay-cache-capacity must be at least 1")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pystatus"


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreConfig:
    """Serving store queries from an archive of what this node relays."""

    db_url: str = field(default_factory=lambda: f"sqlite:///{default_data_dir()}/store.sqlite3")
    retention: RetentionPolicy = field(default_factory=lambda: RetentionPolicy.parse("time:172800"))
    retention_interval: float = 300.0
    resume: bool = True
    """After a restart, fetch from --storenode what was relayed while this node was down."""
    peer_rate: float = 0.0
    """Store queries per second a peer may make before it is answered 429; 0 is no limit,
    nwaku's default (``--rate-limit store:<volume>/<period>`` sets one)."""
    peer_burst: float = 30.0
    """Store queries a peer may make at once when ``peer_rate`` limits it."""

    def __post_init__(self) -> None:
        if not self.db_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ConfigError(
                "--store-message-db-url must be sqlite:///path or postgres://user@host/db"
            )
        if self.retention_interval <= 0:
            raise ConfigError("store intervals must be positive")
        if self.peer_rate < 0 or self.peer_burst < 1:
            raise ConfigError("a store rate limit must allow at least one query")


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterConfig:
    """Serving filter v2 subscriptions to light clients (nwaku's defaults)."""

    max_peers_to_serve: int = 1000
    max_criteria: int = 1000
    subscription_timeout: float = 300.0

    def __post_init__(self) -> None:
        if self.max_peers_to_serve < 1 or self.max_criteria < 1:
            raise ConfigError("--filter-max-peers-to-serve and --filter-max-criteria must be >= 1")
        if self.subscription_timeout <= 0:
            raise ConfigError("--filter-subscription-timeout must be positive")


@dataclass(frozen=True, kw_only=True, slots=True)
class LightChatConfig:
    """Chat as a Waku light client (``--chat --relay=false``), as the Status mobile app does:
    the service nodes its :class:`~pystatus.chat.light.LightTransport` spreads over, each a
    multiaddr ending in ``/p2p/<peer id>``."""

    filternodes: tuple[Multiaddr, ...]
    lightpushnodes: tuple[Multiaddr, ...]
    storenodes: tuple[Multiaddr, ...] = ()

    def __post_init__(self) -> None:
        for flag, addrs in (
            ("--filternode", self.filternodes),
            ("--lightpushnode", self.lightpushnodes),
            ("--storenode", self.storenodes),
        ):
            for addr in addrs:
                if addr.peer_id is None:
                    raise ConfigError(f"{flag} {addr} must end in /p2p/<peer id>")
        if not self.filternodes or not self.lightpushnodes:
            raise ConfigError(
                "chat without relay needs --filternode and --lightpushnode (or --staticnode)"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricsConfig:
    address: str = "127.0.0.1"
    port: int = 8008
    logging: bool = True
    """Log a summary of the metrics every ``log_interval`` seconds (nwaku's
    ``--metrics-logging``, on by default, every 10 minutes)."""
    log_interval: float = 600.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 0xFFFF:
            raise ConfigError(f"--metrics-server-port {self.port} is not a port")
        if self.log_interval <= 0:
            raise ConfigError("the metrics log interval must be positive")


@dataclass(frozen=True, kw_only=True, slots=True)
class Discv5NodeConfig:
    """nwaku's ``--discv5-*`` flags."""

    udp_port: int = 9000
    """``--discv5-udp-port`` (0 picks a free one)."""
    bootstrap: tuple[Enr, ...] = ()
    """``--discv5-bootstrap-node`` records."""
    enr_auto_update: bool = False
    """``--discv5-enr-auto-update``: our record follows the address peers see us at."""
    refresh_interval: float = 30.0
    """Seconds between random-walk lookups that refresh the routing table."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeConfig:
    identity: Secp256k1PrivateKey = field(default_factory=Secp256k1PrivateKey.generate)
    listen_address: str = "0.0.0.0"
    tcp_port: int = 60000
    websocket_support: bool = False
    websocket_port: int = 8000
    ext_ip: str | None = None
    static_nodes: tuple[Multiaddr, ...] = ()
    relay: bool = True
    cluster_id: int = 0
    shards: tuple[int, ...] = ()
    pubsub_topics: tuple[str, ...] = ()
    content_topics: tuple[str, ...] = ()
    """Content topics whose auto-shard the node relays from the start (nwaku's
    ``--content-topic``), beside its shards."""
    num_shards_in_network: int = 8
    """Shards auto-sharding spreads content topics over, as js-waku's default network has."""
    max_message_size: int | None = None
    """Largest Waku message relayed or light-pushed, in bytes (nwaku's --max-msg-size); None
    follows the cluster: 1 MiB on 16, the Status network, as status-go; 150 KiB elsewhere."""
    max_connections: int = 300
    relay_service_ratio: str = "60:40"
    """nwaku's ``--relay-service-ratio``: shares of ``max_connections`` for relay peers (a
    third of them outbound) and for service peers (see :mod:`pystatus.node.peer_manager_rules`)."""
    peer_store_path: Path | None = None
    """SQLite file the peer manager keeps its peers in across restarts
    (``<data dir>/peers.sqlite3`` with ``--peer-persistence``); None keeps them in memory."""
    peer_store_capacity: int = 1000
    """Peers known at most, in memory and saved (nwaku's ``--peer-store-capacity``)."""
    peer_log_path: Path | None = None
    """SQLite file of the connection log the operator's user reports read
    (``<data dir>/peer_log.sqlite3``, salted peer ids; see :mod:`pystatus.node.peer_log`);
    None records nothing (``--peer-log=false``)."""
    rest: RestConfig | None = None
    store: StoreConfig | None = None
    storenode: Multiaddr | None = None
    """The store peer this node queries for its own needs (REST queries, resume)."""
    filter: FilterConfig | None = None
    lightpush: bool = False
    peer_exchange: bool = False
    filternode: Multiaddr | None = None
    """The filter service peer this node subscribes at as a light client (REST /filter/v2)."""
    lightpushnode: Multiaddr | None = None
    """The light push service peer for REST /lightpush; without it the node relays itself."""
    peer_exchange_node: Multiaddr | None = None
    """A peer asked for ENRs of other peers, which this node then dials."""
    known_enrs: tuple[Enr, ...] = ()
    """Signed records of peers (static nodes given as ENRs) offered by peer exchange."""
    dns_discovery_urls: tuple[str, ...] = ()
    """``enrtree://`` trees (EIP-1459) whose nodes this node dials (``--dns-discovery-url``)."""
    dns_discovery_name_servers: tuple[str, ...] = ()
    """Servers the trees are looked up at; none means nwaku's 1.1.1.1 and 1.0.0.1."""
    dns_discovery_interval: float = 1800.0
    """Seconds between readings of the trees (go-ethereum rechecks a root every 30 minutes)."""
    discv5: Discv5NodeConfig | None = None
    """discv5 discovery (``--discv5-discovery``); None runs none."""
    light_chat: LightChatConfig | None = None
    """Service nodes for chat as a light client; None chats over this node's relay."""
    metrics: MetricsConfig | None = None
    relay_faults: FaultPlan | None = None
    """Faults injected on the relay's incoming links (for reliability tests)."""
    rate_limits: ProtocolRateLimits = field(default_factory=ProtocolRateLimits)
    """Request limits of light push, filter and peer exchange (nwaku's ``--rate-limit``; the
    store's is :attr:`StoreConfig.peer_rate`): none but filter's 30 a minute unless told."""

    def __post_init__(self) -> None:
        try:
            for url in self.dns_discovery_urls:
                Link.from_url(url)
            for server in self.dns_discovery_name_servers:
                parse_name_server(server)
        except (InvalidEnrTree, InvalidNameServer) as exc:
            raise ConfigError(f"DNS discovery: {exc}") from None
        for name, value in (
            ("--listen-address", self.listen_address),
            ("--nat extip", self.ext_ip),
        ):
            if value is None:
                continue
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ConfigError(f"{name} {value!r} is not an IP address") from None
        for name, port in (
            ("--tcp-port", self.tcp_port),
            ("--websocket-port", self.websocket_port),
        ):
            if not 0 <= port <= 0xFFFF:
                raise ConfigError(f"{name} {port} is not a port")
        if self.max_connections < 1:
            raise ConfigError("--max-connections must be at least 1")
        self.peer_manager_limits()
        if not 0 <= self.cluster_id <= 0xFFFF:
            raise ConfigError(f"--cluster-id {self.cluster_id} is out of range 0..65535")
        if self.max_message_size is not None and not (
            MIN_MESSAGE_SIZE_LIMIT <= self.max_message_size <= MAX_MESSAGE_SIZE_LIMIT
        ):
            raise ConfigError(
                f"--max-msg-size {self.max_message_size} bytes is out of range "
                f"{MIN_MESSAGE_SIZE_LIMIT}..{MAX_MESSAGE_SIZE_LIMIT}"
            )
        if not 1 <= self.num_shards_in_network <= MAX_SHARD + 1:
            raise ConfigError("--num-shards-in-network must be between 1 and 1024")
        for shard in self.shards:
            if not 0 <= shard <= MAX_SHARD:
                raise ConfigError(f"--shard {shard} is out of range 0..{MAX_SHARD}")
        for topic in self.pubsub_topics:
            try:
                parsed = RelayShard.parse(topic)
            except InvalidTopic as exc:
                raise ConfigError(f"--pubsub-topic {topic!r}: {exc}") from None
            if parsed.cluster_id != self.cluster_id:
                raise ConfigError(
                    f"--pubsub-topic {topic!r} is in cluster {parsed.cluster_id}, "
                    f"not --cluster-id {self.cluster_id}"
                )
        for content_topic in self.content_topics:
            try:
                ContentTopic.parse(content_topic)
            except InvalidTopic as exc:
                raise ConfigError(f"--content-topic {content_topic!r}: {exc}") from None

    def peer_manager_limits(self, service_protocols: tuple[str, ...] = ()) -> PeerManagerLimits:
        """The peer manager's budget from these flags; raises :class:`ConfigError`."""
        return PeerManagerLimits(
            max_connections=self.max_connections,
            relay_service_ratio=self.relay_service_ratio,
            cluster_id=self.cluster_id,
            service_protocols=service_protocols,
            capacity=self.peer_store_capacity,
        )

    @property
    def message_size_limit(self) -> int:
        """The largest Waku message relay and light push accept: the configured one, or the
        cluster's."""
        if self.max_message_size is not None:
            return self.max_message_size
        return max_message_size(self.cluster_id)

    @property
    def relay_shards(self) -> tuple[int, ...]:
        """The shards relayed: those named, or every shard of the network when none are."""
        named = set(self.shards) | {RelayShard.parse(t).shard for t in self.pubsub_topics}
        if not named:
            named = set(range(self.num_shards_in_network))
        return tuple(sorted(named))

    @property
    def relay_topics(self) -> tuple[str, ...]:
        return tuple(RelayShard(self.cluster_id, s).pubsub_topic for s in self.relay_shards)

    def listen_addrs(self) -> tuple[Multiaddr, ...]:
        family = "ip6" if ":" in self.listen_address else "ip4"
        addrs = [Multiaddr.from_string(f"/{family}/{self.listen_address}/tcp/{self.tcp_port}")]
        if self.websocket_support:
            addrs.append(
                Multiaddr.from_string(
                    f"/{family}/{self.listen_address}/tcp/{self.websocket_port}/ws"
                )
            )
        return tuple(addrs)


def status_service_config(directory: Path, *, store_peer_rate: float = 1000.0) -> NodeConfig:
    """A service node for Status clients on loopback (a free port): cluster 16, shards 32
    and 64 (status-go v1.1.0's ``protocol/common/shard/shard.go``), relay, a SQLite store in
    ``directory`` keeping an hour, filter and light push. ``store_peer_rate`` (queries per
    second per peer) is high because status-go asks for every chat's history at once after
    connecting; filter is not limited for the same reason (status-go subscribes each chat's
    topics at once, where nwaku's default would allow 30 requests a minute)."""
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        store=StoreConfig(
            db_url=f"sqlite:///{directory}/store.sqlite3",
            retention=RetentionPolicy.parse("time:3600"),
            peer_rate=store_peer_rate,
        ),
        filter=FilterConfig(),
        lightpush=True,
        rate_limits=ProtocolRateLimits.parse(["filter:0/1s"]),
    )
