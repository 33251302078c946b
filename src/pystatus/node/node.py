"""WakuNode: a host with relay and metadata, its ENR, and the caches the REST API reads."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import replace

from pystatus.archive import metrics as archive_metrics
from pystatus.errors import NodeError, WakuError
from pystatus.node import metrics
from pystatus.node.config import NodeConfig
from pystatus.node.discv5 import discv5_service
from pystatus.node.dns_discovery import dns_discovery, dns_discovery_loop
from pystatus.node.message_cache import FilterMessageCache, MessageCache
from pystatus.node.peer_log_recorder import PeerLogRecorder
from pystatus.node.peer_manager import SERVICE_PROTOCOLS, PeerManager
from pystatus.node.peer_manager_rules import Origin
from pystatus.node.shards import RelayedShards
from pystatus.node.store_service import StoreService
from pystatus.p2p import metrics as p2p_metrics
from pystatus.p2p.config import HostConfig
from pystatus.p2p.errors import P2PError
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IdentifyInfo
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.tasks import TaskSet
from pystatus.waku import metrics as waku_metrics
from pystatus.waku.discv5 import Discv5Service
from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.errors import InvalidTopic, RemoteWakuError
from pystatus.waku.filter import FilterClient, FilterLimits, FilterServer
from pystatus.waku.filter_codec import FILTER_SUBSCRIBE_PROTOCOL_ID
from pystatus.waku.lightpush import LightPushClient, LightPushServer
from pystatus.waku.lightpush_codec import LIGHTPUSH_PROTOCOL_ID
from pystatus.waku.message import MAX_CLOCK_DRIFT_NS, TWN_CLUSTER_ID, WakuMessage
from pystatus.waku.metadata import METADATA_PROTOCOL_ID, WakuMetadata
from pystatus.waku.peer_exchange import EnrCache, PeerExchangeClient, PeerExchangeServer
from pystatus.waku.rate_limit import RateLimitedProtocol
from pystatus.waku.relay import PublishOutcome, RelayConfig, RelayedMessage, WakuRelay
from pystatus.waku.store import StoreClient, StoreQuery, StoreResponse
from pystatus.waku.store_codec import STORE_PROTOCOL_ID
from pystatus.waku.topics import RelayShard, pubsub_topic_for_content_topic

log = logging.getLogger(__name__)

PX_PEERS_WANTED = 20
PX_INTERVAL = 300.0
STATIC_RETRY_MIN = 1.0
STATIC_RETRY_MAX = 30.0


class WakuNode:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.host = Host(
            HostConfig(
                identity=config.identity,
                listen_addrs=config.listen_addrs(),
                max_connections=config.max_connections,
            )
        )
        # 64/WAKU2-NETWORK's 20 s timestamp rule is The Waku Network's (cluster 1), where
        # nwaku's RLN validator enforces it; nwaku's relay checks no timestamp elsewhere.
        drift = MAX_CLOCK_DRIFT_NS if config.cluster_id == TWN_CLUSTER_ID else None
        relay_config = RelayConfig(
            faults=config.relay_faults,
            max_message_size=config.message_size_limit,
            max_clock_drift_ns=drift,
            max_message_age_ns=drift,
        )
        self.relay = WakuRelay(self.host, relay_config) if config.relay else None
        self.shards: RelayedShards | None = None
        if self.relay is not None:
            self.shards = RelayedShards(
                self.relay,
                cluster_id=config.cluster_id,
                shard_count=config.num_shards_in_network,
            )
        self.metadata = WakuMetadata(
            self.host, cluster_id=config.cluster_id, shards=self.relayed_shards
        )
        capacity = config.rest.relay_cache_capacity if config.rest else 50
        self.topic_cache: MessageCache | None = None
        self.content_cache: MessageCache | None = None
        if self.relay is not None:
            self.topic_cache = MessageCache(capacity, lambda i: i.pubsub_topic)
            self.content_cache = MessageCache(capacity, lambda i: i.message.content_topic)
        self.store_client = StoreClient(self.host)
        self.store: StoreService | None = None
        if config.store is not None:
            self.store = StoreService(config.store, relay=self.relay, client=self.store_client)
        self.filter_server: FilterServer | None = None
        limits = config.rate_limits
        if config.filter is not None:
            self.filter_server = FilterServer(
                self.host,
                limits=FilterLimits(
                    max_subscribers=config.filter.max_peers_to_serve,
                    max_criteria_per_peer=config.filter.max_criteria,
                    subscription_timeout=config.filter.subscription_timeout,
                    peer_rate=limits.setting(RateLimitedProtocol.FILTER).rate,
                    peer_burst=limits.setting(RateLimitedProtocol.FILTER).burst,
                ),
                # Without relay (nwaku starts so too) nothing could be pushed: every shard is
                # refused rather than a subscription accepted that never delivers.
                serves_pubsub_topic=(
                    self.serves_pubsub_topic if self.relay is not None else lambda _: False
                ),
            )
        self.filter_client = FilterClient(self.host)
        self.filter_cache = FilterMessageCache(capacity)
        self.filter_client.on_push(self.filter_cache.add)
        # Light push requests are answered by these rules whether they come from peers
        # (with --lightpush) or from this node's own REST API.
        self.lightpush_server: LightPushServer | None = None
        lightpush_limit = limits.setting(RateLimitedProtocol.LIGHTPUSH)
        if self.relay is not None:
            self.lightpush_server = LightPushServer(
                self.host,
                publish=self._publish_for_lightpush,
                resolve_topic=self.resolve_topic,
                max_message_size=config.message_size_limit,
                peer_rate=lightpush_limit.rate,
                peer_burst=lightpush_limit.burst,
            )
        elif config.lightpush:
            # --lightpush with --relay=false starts, as nwaku does; each request is refused
            # since no shard is relayed here.
            self.lightpush_server = LightPushServer(
                self.host,
                publish=self._publish_for_lightpush,
                resolve_topic=self._no_relay_topic,
                max_message_size=config.message_size_limit,
                peer_rate=lightpush_limit.rate,
                peer_burst=lightpush_limit.burst,
            )
        self.lightpush_client = LightPushClient(self.host)
        self.enr_cache = EnrCache()
        px_limit = limits.setting(RateLimitedProtocol.PX)
        self.px_server = PeerExchangeServer(
            self.host, self.enr_cache, peer_rate=px_limit.rate, peer_burst=px_limit.burst
        )
        self.px_client = PeerExchangeClient(self.host)
        self.peer_manager = PeerManager(
            self.host,
            config.peer_manager_limits(SERVICE_PROTOCOLS if self.relay is None else ()),
            shards=self.relayed_shards,
            relay=self.relay,
            store_path=config.peer_store_path,
        )
        self.peer_log: PeerLogRecorder | None = None
        if config.peer_log_path is not None:
            self.peer_log = PeerLogRecorder(self.host, config.peer_log_path)
        self._tasks = TaskSet("node")
        self._enr: Enr | None = None
        self.discv5: Discv5Service | None = None
        self._started = False

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.peer_log is not None:
            self.peer_log.start()  # before the host: its first connection is logged too
        try:
            await self.host.start()
        except BaseException:
            if self.peer_log is not None:
                await self.peer_log.stop()
            raise
        if self.config.ext_ip is not None:
            self.host.config = self._with_announced(self.host.config)
        self.metadata.start()
        self.host.on_identified(self._on_identified)
        if self.relay is not None:
            await self.relay.start()
            self.relay.add_observer(self._cache_message)
            assert self.shards is not None
            for topic in self.config.relay_topics:
                self.shards.subscribe_pubsub_topic(topic)
            for content_topic in self.config.content_topics:
                self.shards.subscribe_content_topic(content_topic)
        if self.store is not None:
            await self.store.start()
            if self.config.store is not None and self.config.store.resume and self.config.storenode:
                self._tasks.spawn(self._resume(self.config.storenode), name="store resume")
        if self.filter_server is not None:
            self.filter_server.start()
            if self.relay is not None:
                self.relay.add_observer(self.filter_server.on_relayed)
            else:
                log.warning("filter served without relay: every subscription is refused")
        if self.config.filternode is not None:
            self.filter_client.start()
        if self.config.lightpush and self.lightpush_server is not None:
            self.lightpush_server.start()
            if self.relay is None:
                log.warning("light push served without relay: every request is refused")
        self.host.on_connected(lambda c: self.enr_cache.mark_reached(c.remote_peer))
        configured = [self.config.filternode, self.config.lightpushnode, self.config.storenode]
        for addr in [*self.config.static_nodes, *(a for a in configured if a is not None)]:
            self.peer_manager.learn_addr(addr, Origin.STATIC)
        for enr in await self.peer_manager.start():
            # Records saved by an earlier run were learned by discovery or reached then.
            self.enr_cache.add(enr, time.monotonic(), reached=True)
        for enr in self.config.known_enrs:
            self.add_enr(enr)
        if self.config.peer_exchange:
            self.px_server.start()
        if self.config.peer_exchange_node is not None:
            self._tasks.spawn(
                self._discover_loop(self.config.peer_exchange_node), name="peer exchange"
            )
        if self.config.dns_discovery_urls:
            loop = dns_discovery_loop(self, dns_discovery(self))
            self._tasks.spawn(loop, name="DNS discovery")
        # Service peers stay connected too: filter pushes arrive over the subscriber's connection.
        service_peers = [self.config.filternode, self.config.lightpushnode]
        kept = dict.fromkeys([*self.config.static_nodes, *(a for a in service_peers if a)])
        for addr in kept:
            self._tasks.spawn(self._keep_connected(addr), name=f"keep connected {addr}")
        self._enr = self.build_enr()
        if self.config.discv5 is not None:
            self.discv5 = discv5_service(self, self.config.discv5)
            await self.discv5.start()
        self._started = True

    async def _resume(self, storenode: Multiaddr) -> None:
        assert self.store is not None
        # What is relayed at start: the shards and the auto-shards of --content-topic.
        topics = self.shards.topics() if self.shards is not None else self.config.relay_topics
        added = await self.store.resume(storenode, list(topics))
        log.info("resumed %d messages from %s", added, storenode)

    async def stop(self) -> None:
        if self.discv5 is not None:
            await self.discv5.stop()
        await self._tasks.cancel_all()
        await self.peer_manager.stop()
        if self.filter_server is not None:
            await self.filter_server.stop()
        await self.filter_client.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self.store is not None:
            await self.store.stop()
        self.metadata.stop()
        await self.host.stop()
        if self.peer_log is not None:
            await self.peer_log.stop()  # after the host: its disconnections are logged too

    async def __aenter__(self) -> WakuNode:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _with_announced(self, config: HostConfig) -> HostConfig:
        """Announce ``--nat=extip:IP`` with the ports actually bound (0 picks one)."""
        ip = self.config.ext_ip or ""
        family = "ip6" if ":" in ip else "ip4"
        announced = []
        for addr in self.host.listen_addrs:
            port = addr.value_for("tcp")
            suffix = "/ws" if addr.value_for("ws") is not None else ""
            announced.append(Multiaddr.from_string(f"/{family}/{ip}/tcp/{port}{suffix}"))
        return replace(config, announce_addrs=tuple(announced))

    # -- identity -----------------------------------------------------------------------------

    @property
    def peer_id(self) -> PeerId:
        return self.host.peer_id

    @property
    def enr(self) -> Enr:
        """The node's signed record; with discv5, the one discv5 serves (its UDP port, and
        the address peers see us at with ``--discv5-enr-auto-update``)."""
        if self.discv5 is not None and self._started:
            return self.discv5.local_enr
        if self._enr is None:
            raise NodeError("the node has not started")
        return self._enr

    def build_enr(self, *, ip: str | None = None, udp: int | None = None) -> Enr:
        """A record of the node as it runs now, at ``ip`` (else ``--nat=extip`` or the listen
        address) with a discv5 ``udp`` port if given."""
        addrs = self.host.listen_addrs
        tcp = next((a for a in addrs if a.value_for("ws") is None), None)
        others = [a for a in addrs if a is not tcp]
        ip = ip or self.config.ext_ip or self._routable_ip()
        return Enr.build(
            self.config.identity,
            ip=ip,
            udp=udp if ip is not None else None,
            tcp=int(tcp.value_for("tcp") or 0) if tcp is not None and ip is not None else None,
            capabilities=self._capabilities(),
            multiaddrs=others,
            cluster_id=self.config.cluster_id,
            shards=list(self.config.relay_shards),
        )

    def _capabilities(self) -> Capabilities:
        capabilities = Capabilities(0)
        if self.relay is not None:
            capabilities |= Capabilities.RELAY
        if self.store is not None:
            capabilities |= Capabilities.STORE
        if self.filter_server is not None:
            capabilities |= Capabilities.FILTER
        if self.config.lightpush:
            capabilities |= Capabilities.LIGHTPUSH
        return capabilities

    def _routable_ip(self) -> str | None:
        address = ipaddress.ip_address(self.config.listen_address)
        return None if address.is_unspecified else str(address)

    # -- peers --------------------------------------------------------------------------------

    def _on_identified(self, peer: PeerId, info: IdentifyInfo) -> None:
        if METADATA_PROTOCOL_ID in info.protocols and peer not in self.metadata.peers:
            self._tasks.spawn(self._check_cluster(peer), name=f"metadata {peer}")

    async def _check_cluster(self, peer: PeerId) -> None:
        try:
            info = await self.metadata.query(peer)
        except (P2PError, RemoteWakuError, TimeoutError) as exc:
            log.debug("metadata query to %s failed: %r", peer, exc)
            return
        if info.cluster_id is not None and info.cluster_id != self.config.cluster_id:
            metrics.PEERS_DROPPED.labels("other_cluster").inc()
            log.info("dropping %s: it is in cluster %s", peer, info.cluster_id)
            await self.host.disconnect(peer)

    async def _keep_connected(self, addr: Multiaddr) -> None:
        delay = STATIC_RETRY_MIN
        while True:
            peer = addr.peer_id
            if peer is None or not self.host.connections(peer):
                try:
                    await self.host.connect(addr)
                    log.info("connected to static node %s", addr)
                    delay = STATIC_RETRY_MIN
                except P2PError as exc:
                    log.info(
                        "static node %s unreachable (%s); retrying in %.0f s", addr, exc, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, STATIC_RETRY_MAX)
                    continue
            await asyncio.sleep(STATIC_RETRY_MIN)

    async def connect(self, addr: Multiaddr | str) -> PeerId:
        connection = await self.host.connect(addr)
        return connection.remote_peer

    def add_enr(self, enr: Enr, origin: Origin = Origin.STATIC) -> None:
        """Remember a peer's signed record, found by ``origin``, and its addresses. The peer
        manager keeps it (and dials it when a shard or service slot needs it); peer exchange
        offers it when it is of our cluster and was found by DNS or discv5 or reached, as
        nwaku serves peer exchange from its peer store."""
        self.host.peerstore.add_addrs(enr.peer_id, enr.dial_addrs())
        if not self.peer_manager.learn_enr(enr, origin):
            return
        reached = bool(self.host.connections(enr.peer_id))
        served = reached or origin in (Origin.DNS, Origin.DISCV5)
        self.enr_cache.add(enr, time.monotonic(), reached=served)

    def service_peer(self, protocol: str) -> Multiaddr | None:
        """Where to send a ``protocol`` request (a store, filter subscribe or light push codec)
        as a client: the node named by flag (``--storenode``, ``--filternode``,
        ``--lightpushnode``), else the peer manager's pick among known peers announcing it,
        fewest failures first, then the shortest measured round trip, as nwaku's REST asks
        its peer manager's ``selectPeer``; None when no peer is known for it."""
        configured = {
            STORE_PROTOCOL_ID: self.config.storenode,
            FILTER_SUBSCRIBE_PROTOCOL_ID: self.config.filternode,
            LIGHTPUSH_PROTOCOL_ID: self.config.lightpushnode,
        }.get(protocol)
        if configured is not None:
            return configured
        peer = self.peer_manager.service_peer(protocol)
        info = self.peer_manager.book.get(peer) if peer is not None else None
        if info is None or not info.addrs:
            return None
        return info.addrs[0].with_peer_id(str(info.peer_id))

    async def discover(self, peer: Multiaddr | PeerId, wanted: int = PX_PEERS_WANTED) -> int:
        """Ask ``peer`` for records by peer exchange and dial the new ones; returns how many
        were reached."""
        records = await self.px_client.query(peer, wanted)
        reached = 0
        for enr in records:
            if enr.peer_id == self.peer_id:
                continue
            self.add_enr(enr, Origin.PX)
            if self.host.connections(enr.peer_id):
                continue
            try:
                await self.host.connect(enr.peer_id)
            except P2PError as exc:
                log.debug("peer %s from peer exchange unreachable: %s", enr.peer_id, exc)
                self.enr_cache.remove(enr.peer_id)
                continue
            reached += 1
        return reached

    async def _discover_loop(self, addr: Multiaddr) -> None:
        while True:
            try:
                reached = await self.discover(addr)
                log.info("peer exchange with %s: %d new peers reached", addr, reached)
            except (P2PError, WakuError, TimeoutError) as exc:
                log.info("peer exchange with %s failed: %s", addr, exc)
            await asyncio.sleep(PX_INTERVAL)

    def refresh_gauges(self) -> None:
        """Bring queue-depth and peer gauges up to date (called before each metrics scrape)."""
        p2p_metrics.PEERS.set(len(self.host.connected_peers()))
        if self.relay is not None:
            waku_metrics.RELAY_SEND_QUEUE.set(self.relay.send_queue_bytes())
        if self.filter_server is not None:
            waku_metrics.FILTER_PUSH_QUEUE.set(self.filter_server.queued_pushes())
        if self.store is not None:
            archive_metrics.QUEUE.set(self.store.writer.pending)

    # -- relay for the REST API --------------------------------------------------------------

    def store_peer(self) -> StorePeer | None:
        """Store queries to ``--storenode`` (what a messenger confirms and catches up with)."""
        if self.config.storenode is None:
            return None
        return StorePeer(self.store_client, self.config.storenode)

    def require_relay(self) -> WakuRelay:
        if self.relay is None:
            raise NodeError("relay is not enabled on this node (--relay=false)")
        return self.relay

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> PublishOutcome:
        """Relay ``message``, stamped with the wall clock (ns) when its timestamp is absent or
        0, as nwaku's relay publish does; raises :class:`LocalWakuError` for a message the
        network's rules refuse. A store node archives it, and returns only once it is
        durably archived, when it relays ``pubsub_topic`` (nwaku archives only those)."""
        relay = self.require_relay()
        if not message.timestamp:
            message = replace(message, timestamp=time.time_ns())
        outcome = relay.publish(pubsub_topic, message)
        if self.store is not None and self.serves_pubsub_topic(pubsub_topic):
            item = RelayedMessage(pubsub_topic, message, outcome.hash, None, time.time())
            await self.store.archive_published(pubsub_topic, item)
        return outcome

    def relayed_shards(self) -> tuple[int, ...]:
        """Shards of this cluster the relay has joined now (configured or subscribed since);
        without relay, the configured ones."""
        if self.shards is None:
            return self.config.relay_shards
        return self.shards.shards()

    def serves_pubsub_topic(self, pubsub_topic: str) -> bool:
        """Whether the relay has joined ``pubsub_topic`` now: what filter and light push
        serve, as nwaku's follow its relay subscriptions."""
        if self.shards is None:
            return pubsub_topic in self.config.relay_topics
        return self.shards.relays(pubsub_topic)

    def resolve_topic(self, pubsub_topic: str | None, message: WakuMessage) -> str:
        """The pubsub topic for ``message``: the one named, else auto-sharded; it must be one
        this node relays (raises :class:`InvalidTopic`)."""
        topic = pubsub_topic or self.content_topic_to_pubsub(message.content_topic)
        if not self.serves_pubsub_topic(topic):
            RelayShard.parse(topic)
            raise InvalidTopic(f"this node does not relay {topic}")
        return topic

    def _no_relay_topic(self, pubsub_topic: str | None, message: WakuMessage) -> str:
        raise InvalidTopic("this node relays no pubsub topic (it runs with --relay=false)")

    async def _publish_for_lightpush(self, pubsub_topic: str, message: WakuMessage) -> int:
        return (await self.publish(pubsub_topic, message)).peers

    def content_topic_to_pubsub(self, content_topic: str) -> str:
        return pubsub_topic_for_content_topic(
            content_topic,
            cluster_id=self.config.cluster_id,
            shard_count=self.config.num_shards_in_network,
        )

    def _cache_message(self, item: RelayedMessage) -> None:
        if self.topic_cache is not None and self.content_cache is not None:
            self.topic_cache.add(item)
            self.content_cache.add(item)


class StorePeer:
    """Queries to one store node."""

    def __init__(self, client: StoreClient, peer: Multiaddr) -> None:
        self.client = client
        self.peer = peer

    async def query(self, query: StoreQuery) -> StoreResponse:
        return await self.client.query(self.peer, query)
