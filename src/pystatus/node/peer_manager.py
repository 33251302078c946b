"""The peer manager's asyncio adapter: feeds the host's connection events and the records
discovery finds into :class:`~pystatus.node.peer_manager_rules.PeerBook`, carries out its
dials and disconnects, measures service peers' round trips, and saves the book to the
persistent :class:`~pystatus.node.peer_store.PeerStore`.

It sleeps until the book's next deadline (a connectivity check every 30 s, nwaku's
ConnectivityLoopInterval) or until something new is learned; no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import Counter, Gauge

from pystatus.errors import WakuError
from pystatus.node.peer_manager_rules import (
    Dial,
    Disconnect,
    Origin,
    PeerBook,
    PeerInfo,
    PeerManagerLimits,
)
from pystatus.node.peer_store import PeerStore, PeerStoreError, SavedPeer
from pystatus.p2p.connection import Connection
from pystatus.p2p.errors import P2PError
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.host import Host
from pystatus.p2p.identify import IdentifyInfo
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.tasks import TaskSet
from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.errors import InvalidEnr
from pystatus.waku.filter_codec import FILTER_SUBSCRIBE_PROTOCOL_ID
from pystatus.waku.lightpush_codec import LIGHTPUSH_PROTOCOL_ID
from pystatus.waku.metadata_codec import METADATA_PROTOCOL_ID
from pystatus.waku.peer_exchange_codec import PEER_EXCHANGE_PROTOCOL_ID
from pystatus.waku.relay import WakuRelay
from pystatus.waku.store_codec import STORE_PROTOCOL_ID

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 10.0
"""Seconds one dial may take (nwaku's DefaultDialTimeout)."""
PING_TIMEOUT = 5.0
MAX_PINGS_PER_CHECK = 10
"""Service peers whose round trip is measured at each connectivity check, at most."""
SAVE_INTERVAL = 30.0
"""Seconds between writes of the book to the peer store at most (and once more on stop)."""
SERVICE_PROTOCOLS = (STORE_PROTOCOL_ID, FILTER_SUBSCRIBE_PROTOCOL_ID, LIGHTPUSH_PROTOCOL_ID)
COUNTED_PROTOCOLS = (
    RELAY_PROTOCOL_ID,
    *SERVICE_PROTOCOLS,
    PEER_EXCHANGE_PROTOCOL_ID,
    METADATA_PROTOCOL_ID,
)
"""Protocols ``waku_connected_peers`` counts connections of, as nwaku's getWakuProtos."""

# nwaku's names (peer_manager.nim) where it has the metric.
PEER_STORE_SIZE = Gauge("waku_peer_store_size", "Number of peers managed by the peer store")
CONNECTED_PEERS = Gauge(
    "waku_connected_peers",
    "Number of physical connections per direction and protocol",
    ["direction", "protocol"],
)
CONNECTED_PER_SHARD = Gauge(
    "waku_connected_peers_per_shard", "Number of physical connections per shard", ["shard"]
)
PEERS_ERRORS = Counter("waku_peers_errors", "Number of peer manager errors", ["type"])
BOOK_EVICTIONS = Counter(
    "pystatus_peer_manager_evictions", "Peers forgotten by the peer manager's bounded book"
)
DIALS = Counter("waku_peers_dials", "Number of peer dials", ["outcome"])
DISCONNECTS = Counter(
    "pystatus_peer_manager_disconnects", "Connections closed by the peer manager", ["reason"]
)
LEARNED = Counter("pystatus_peer_manager_learned", "Peers learned", ["origin", "result"])
SERVICE_RTT = Gauge(
    "pystatus_peer_manager_best_service_rtt_seconds",
    "Round trip of the chosen service peer",
    ["protocol"],
)

_CAPABILITY_PROTOCOLS = {
    Capabilities.RELAY: RELAY_PROTOCOL_ID,
    Capabilities.STORE: STORE_PROTOCOL_ID,
    Capabilities.FILTER: FILTER_SUBSCRIBE_PROTOCOL_ID,
    Capabilities.LIGHTPUSH: LIGHTPUSH_PROTOCOL_ID,
}


def enr_protocols(enr: Enr) -> tuple[str, ...] | None:
    """The Waku protocols an ENR's ``waku2`` field announces, or None without the field."""
    capabilities = enr.capabilities
    if capabilities is None:
        return None
    return tuple(p for c, p in _CAPABILITY_PROTOCOLS.items() if capabilities & c)


class PeerManager:
    """Keeps the node's connections within ``limits`` and its shards and service slots
    filled. ``shards`` gives the relayed shards of our cluster now; ``relay`` (when mounted)
    gives gossipsub scores for pruning; ``store_path`` keeps the book across restarts."""

    def __init__(
        self,
        host: Host,
        limits: PeerManagerLimits,
        *,
        shards: Callable[[], Iterable[int]],
        relay: WakuRelay | None = None,
        store_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.limits = limits
        self.book = PeerBook(limits)
        self._shards = shards
        self._relay = relay
        self._store_path = store_path
        self._store: PeerStore | None = None
        self._clock = clock
        self._wall = wall_clock
        self._tasks = TaskSet("peer manager")
        self._wake = asyncio.Event()
        self._evictions_counted = 0
        self._saved_at: float | None = None

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> list[Enr]:
        """Load saved peers, follow the host's connections and start the connectivity loop.
        Returns the saved signed records (the node offers them by peer exchange). Raises
        :class:`PeerStoreError` when the store file cannot be opened."""
        records: list[Enr] = []
        if self._store_path is not None:
            try:
                self._store = PeerStore(self._store_path, capacity=self.limits.capacity)
            except PeerStoreError:
                PEERS_ERRORS.labels("storage_load_failure").inc()
                raise
            records = self._load(self._store.load())
        self.host.on_connected(self._on_connected)
        self.host.on_disconnected(self._on_disconnected)
        self.host.on_identified(self._on_identified)
        for connection in self.host.connections():
            self._on_connected(connection)
        self._tasks.spawn(self._loop(), name="peer manager")
        return records

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        self.save()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _load(self, saved: list[SavedPeer]) -> list[Enr]:
        now, wall = self._clock(), self._wall()
        records = []
        for row in reversed(saved):  # oldest first: the newest end up most recently used
            try:
                origin = Origin.parse(row.origin)
            except ValueError:
                origin = Origin.INBOUND
            relay_shards = (row.cluster_id, row.shards) if row.cluster_id is not None else None
            info = self.book.learn(
                row.peer_id,
                origin,
                now - max(0.0, wall - row.last_seen),
                addrs=row.addrs,
                enr=row.enr,
                relay_shards=relay_shards,
                protocols=row.protocols,
            )
            if info is None:
                continue
            # Failures are kept, their backoff restarts now: the clock they ran on is gone.
            info.failures = row.failures
            info.last_failed = now if row.failures else None
            if row.addrs:
                self.host.peerstore.add_addrs(row.peer_id, list(row.addrs))
            if row.enr is not None:
                try:
                    enr = Enr.from_text(row.enr)  # its signature is checked again
                except (InvalidEnr, WakuError, P2PError, ValueError):
                    PEERS_ERRORS.labels("bad_saved_record").inc()
                    info.enr = None
                    continue
                if enr.peer_id != row.peer_id:
                    PEERS_ERRORS.labels("bad_saved_record").inc()
                    info.enr = None
                    continue
                records.append(enr)
        self._count()
        log.debug("peer store: %d peers loaded", len(self.book))
        return records

    def save(self) -> None:
        """Write the book to the store (nothing without one); errors are logged, not raised:
        a full disk must not stop the node."""
        if self._store is None:
            return
        now, wall = self._clock(), self._wall()
        self._saved_at = now
        try:
            self._store.save(self._saved(info, now, wall) for info in self.book.peers())
        except PeerStoreError as exc:
            PEERS_ERRORS.labels("storage_failure").inc()
            log.warning("peer store not saved: %s", exc)

    @staticmethod
    def _saved(info: PeerInfo, now: float, wall: float) -> SavedPeer:
        return SavedPeer(
            peer_id=info.peer_id,
            addrs=tuple(info.addrs),
            enr=info.enr,
            origin=info.origin.value,
            protocols=info.protocols,
            cluster_id=info.cluster_id,
            shards=info.shards,
            last_seen=wall - max(0.0, now - info.last_seen),
            failures=info.failures,
        )

    # -- learning -----------------------------------------------------------------------------

    def learn_enr(self, enr: Enr, origin: Origin) -> bool:
        """Remember a signed record found by ``origin``; False when refused (another cluster,
        or a bad ``rs`` field). The host's peer store learns its addresses too."""
        try:
            relay_shards = enr.relay_shards
        except InvalidEnr:
            LEARNED.labels(origin.value, "bad_record").inc()
            return False
        info = self.book.learn(
            enr.peer_id,
            origin,
            self._clock(),
            addrs=enr.dial_addrs(),
            enr=enr.to_text(),
            relay_shards=relay_shards,
            protocols=enr_protocols(enr) if enr.peer_id not in self.book else None,
        )
        if info is None:
            LEARNED.labels(origin.value, "other_cluster").inc()
            return False
        LEARNED.labels(origin.value, "kept").inc()
        self.host.peerstore.add_addrs(enr.peer_id, enr.dial_addrs())
        self._count()
        self._wake.set()
        return True

    def learn_addr(self, addr: Multiaddr, origin: Origin) -> bool:
        """Remember a peer by address (``/p2p/<id>`` needed); False without a peer id."""
        peer = addr.peer_id
        if peer is None:
            return False
        self.book.learn(peer, origin, self._clock(), addrs=[addr])
        LEARNED.labels(origin.value, "kept").inc()
        self._count()
        return True

    def service_peer(self, protocol: str) -> PeerId | None:
        """The peer a light client should use for ``protocol``: fewest failures, then the
        shortest measured round trip (see :meth:`PeerBook.select_service_peer`)."""
        peer = self.book.select_service_peer(protocol, self._clock())
        info = self.book.get(peer) if peer is not None else None
        if info is not None and info.rtt is not None:
            SERVICE_RTT.labels(protocol).set(info.rtt)
        return peer

    def request_failed(self, peer: PeerId) -> None:
        """A service request to ``peer`` failed: it ranks lower for the next choice."""
        self.book.request_failed(peer, self._clock())

    # -- host events --------------------------------------------------------------------------

    def _on_connected(self, connection: Connection) -> None:
        actions = self.book.connected(connection.remote_peer, connection.direction, self._clock())
        self._run(actions)
        self._count()

    def _on_disconnected(self, connection: Connection) -> None:
        if not self.host.connections(connection.remote_peer):
            self.book.disconnected(connection.remote_peer, self._clock())
            self._count()
            self._wake.set()

    def _on_identified(self, peer: PeerId, info: IdentifyInfo) -> None:
        actions = self.book.identified(
            peer,
            tuple(info.protocols),
            self._clock(),
            agent=info.agent_version or "",
            scores=self._scores(),
        )
        self._run(actions)
        if any(p in info.protocols for p in SERVICE_PROTOCOLS):
            self._wake.set()  # measure the new service peer's round trip now

    def _scores(self) -> dict[PeerId, float]:
        """Gossipsub scores of relay peers (the relay reads them on the router's clock)."""
        return self._relay.peer_scores() if self._relay is not None else {}

    # -- the loop -----------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            actions = self.book.plan(
                now, self._shards(), scores=self._scores(), relay=self._relay is not None
            )
            self._run(actions)
            await self._measure_service_peers()
            if self._saved_at is None or self._clock() - self._saved_at >= SAVE_INTERVAL:
                self.save()
            self._count()
            deadline = self.book.next_deadline()
            delay = max(0.0, (deadline if deadline is not None else now) - self._clock())
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel that
            # lands as the wake-up does, and the loop would then outlive stop().
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _run(self, actions: list[Dial | Disconnect]) -> None:
        for action in actions:
            if isinstance(action, Dial):
                self._tasks.spawn(self._dial(action), name=f"dial {action.peer}")
            else:
                DISCONNECTS.labels(action.reason).inc()
                log.info("closing %s: %s", action.peer, action.reason)
                self._tasks.spawn(self.host.disconnect(action.peer), name=f"drop {action.peer}")

    async def _dial(self, action: Dial) -> None:
        self.book.dial_started(action.peer)
        try:
            async with asyncio.timeout(DIAL_TIMEOUT):
                await self.host.connect(action.peer)
        except (P2PError, OSError, TimeoutError) as exc:
            DIALS.labels(type(exc).__name__).inc()
            self.book.dial_failed(action.peer, self._clock())
            log.debug("dial %s (%s) failed: %s", action.peer, action.reason, exc)
            self._wake.set()  # another peer may fill the shard or slot now
            return
        DIALS.labels("successful").inc()
        log.debug("dialed %s for %s", action.peer, action.reason)

    async def _measure_service_peers(self) -> None:
        """Ping connected service peers (libp2p ping), at once, and keep each round trip; a
        failed ping counts as a failure. Only a node that uses service peers (a light
        client: the limits name service protocols) measures them."""
        wanted = self.limits.service_protocols
        peers = [
            i.peer_id
            for i in self.book.peers()
            if i.connected and any(p in i.protocols for p in wanted)
        ][:MAX_PINGS_PER_CHECK]
        await asyncio.gather(*(self._measure(peer) for peer in peers))

    async def _measure(self, peer: PeerId) -> None:
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                rtts = await self.host.ping(peer)
        except (P2PError, OSError, TimeoutError):
            self.book.request_failed(peer, self._clock())
            return
        if rtts:
            self.book.record_rtt(peer, rtts[0])

    def _count(self) -> None:
        peers = self.book.peers()
        PEER_STORE_SIZE.set(len(peers))
        by_protocol: dict[tuple[str, str], int] = {}
        by_shard: dict[int, int] = {}
        for info in peers:
            if not info.connected:
                continue
            direction = "In" if info.direction == "inbound" else "Out"
            for protocol in info.protocols:
                if protocol in COUNTED_PROTOCOLS:
                    key = (direction, protocol)
                    by_protocol[key] = by_protocol.get(key, 0) + 1
            for shard in info.shards:
                by_shard[shard] = by_shard.get(shard, 0) + 1
        # Fixed labels only: a peer's identify names whatever protocols it likes.
        for direction in ("In", "Out"):
            for protocol in COUNTED_PROTOCOLS:
                count = by_protocol.get((direction, protocol), 0)
                CONNECTED_PEERS.labels(direction, protocol).set(count)
        for shard in self._shards():
            CONNECTED_PER_SHARD.labels(str(shard)).set(by_shard.get(shard, 0))
        new = self.book.evictions - self._evictions_counted
        if new > 0:
            BOOK_EVICTIONS.inc(new)
            self._evictions_counted = self.book.evictions
