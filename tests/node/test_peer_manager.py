"""The peer manager in running nodes on loopback: a restarted node reconnects from its saved
peer store with no bootstrap reachable; inbound connections over the inbound share are closed;
peer exchange serves records learned by DNS (of our cluster only); /admin/v1/peers shows
origin and connectedness as nwaku does; a light client measures its service peers' round trips."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from pystatus.api.server import RestServer
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, RestConfig
from pystatus.node.peer_manager_rules import Connectedness, Origin
from pystatus.node.peer_store import PeerStore, SavedPeer
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.filter_codec import FILTER_SUBSCRIBE_PROTOCOL_ID
from pystatus.waku.lightpush_codec import LIGHTPUSH_PROTOCOL_ID
from tests.p2p.hosts import wait_for, within


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 16,
        "shards": (32,),
    }
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _unreachable(cluster: int) -> Enr:
    # Port 1 on loopback: refused at once.
    return Enr.build(
        Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=1, cluster_id=cluster, shards=[32]
    )


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_restarted_node_reconnects_from_its_peer_store(tmp_path: Path) -> None:
    path = tmp_path / "peers.sqlite3"
    identity = Secp256k1PrivateKey.generate()
    async with contextlib.AsyncExitStack() as stack:
        found = await stack.enter_async_context(WakuNode(_config()))
        bootstrap = WakuNode(_config())
        await bootstrap.start()
        try:
            boot_addr = bootstrap.host.full_addrs()[0]
            config = _config(identity=identity, peer_store_path=path, static_nodes=(boot_addr,))
            async with WakuNode(config) as node:
                # As DNS discovery hands a record over: the peer manager dials it for shard 32.
                node.add_enr(found.enr, Origin.DNS)
                await wait_for(
                    lambda: bool(node.host.connections(found.peer_id)), 15, "found peer dialed"
                )
        finally:
            await bootstrap.stop()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # Restarted with only the bootstrap (now gone) configured: the store is all it has.
        async with WakuNode(config) as restarted:
            await wait_for(
                lambda: bool(restarted.host.connections(found.peer_id)),
                15,
                "reconnected from the peer store",
            )
            info = restarted.peer_manager.book.get(found.peer_id)
            assert info is not None and info.origin is Origin.DNS
            assert not restarted.host.connections(bootstrap.peer_id)


async def test_inbound_connections_over_the_share_are_closed() -> None:
    before = _sample("pystatus_peer_manager_disconnects_total", reason="inbound_share")
    # 6 connections, all relay: 2 kept for outbound dials, 4 inbound at most.
    config = _config(max_connections=6, relay_service_ratio="100:0")
    async with contextlib.AsyncExitStack() as stack:
        node = await stack.enter_async_context(WakuNode(config))
        addr = node.host.full_addrs()[0]
        clients = [
            await stack.enter_async_context(WakuNode(_config(relay=False))) for _ in range(5)
        ]
        for client in clients:
            await within(client.connect(addr))

        def inbound() -> int:
            return sum(1 for c in node.host.connections() if c.direction == "inbound")

        await wait_for(
            lambda: (
                _sample("pystatus_peer_manager_disconnects_total", reason="inbound_share")
                == before + 1
            ),
            10,
            "the fifth inbound connection closed",
        )
        await wait_for(lambda: inbound() == 4, 10, "four inbound connections kept")


async def test_peer_exchange_serves_dns_records_of_our_cluster_and_admin_shows_them() -> None:
    ours, theirs = _unreachable(16), _unreachable(1)
    config = _config(peer_exchange=True, rest=RestConfig(port=0, admin=True))
    async with WakuNode(config) as service, WakuNode(_config(relay=False)) as client:
        service.add_enr(ours, Origin.DNS)
        service.add_enr(theirs, Origin.DNS)
        records = await within(client.px_client.query(service.host.full_addrs()[0], 10))
        assert [r.peer_id for r in records] == [ours.peer_id]
        # The peer manager dials it for shard 32, and fails: connectedness says so.
        book = service.peer_manager.book
        await wait_for(
            lambda: (
                (info := book.get(ours.peer_id)) is not None
                and info.connectedness is Connectedness.CANNOT_CONNECT
            ),
            10,
            "dial failed",
        )
        assert config.rest is not None
        server = RestServer(service, config.rest)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                listed = (await api.get("/admin/v1/peers")).json()
        finally:
            await server.stop()
        entry = next(p for p in listed if p["multiaddr"].endswith(str(ours.peer_id)))
        assert entry["origin"] == "Dns"
        assert entry["connected"] == "CannotConnect"
        assert entry["shards"] == [32]
        assert set(entry) == {
            "multiaddr",
            "protocols",
            "shards",
            "connected",
            "agent",
            "origin",
            "score",
        }
        client_entry = next(p for p in listed if p["multiaddr"].endswith(str(client.peer_id)))
        assert client_entry["origin"] == "UnknownOrigin"
        assert client_entry["connected"] == "Connected"
        assert not any(p["multiaddr"].endswith(str(theirs.peer_id)) for p in listed)


async def test_a_light_client_measures_its_service_peers_round_trip() -> None:
    async with WakuNode(_config(filter=FilterConfig())) as service:
        addr = service.host.full_addrs()[0]
        async with WakuNode(_config(relay=False, filternode=addr)) as light:
            book = light.peer_manager.book
            await wait_for(
                lambda: (info := book.get(service.peer_id)) is not None and info.rtt is not None,
                10,
                "round trip measured",
            )
            assert light.peer_manager.service_peer(FILTER_SUBSCRIBE_PROTOCOL_ID) == (
                service.peer_id
            )


async def test_a_light_client_fills_its_slot_with_a_working_service_peer() -> None:
    async with WakuNode(_config(lightpush=True)) as good:
        dead = Enr.build(
            Secp256k1PrivateKey.generate(),
            ip="127.0.0.1",
            tcp=1,
            capabilities=Capabilities.LIGHTPUSH,
            cluster_id=16,
            shards=[32],
        )
        async with WakuNode(_config(relay=False)) as light:
            assert light.service_peer(LIGHTPUSH_PROTOCOL_ID) is None
            light.add_enr(dead, Origin.PX)
            light.add_enr(good.enr, Origin.PX)
            await wait_for(
                lambda: bool(light.host.connections(good.peer_id)),
                10,
                "the light push slot filled with the working peer",
            )
            chosen = light.service_peer(LIGHTPUSH_PROTOCOL_ID)
            assert chosen is not None and chosen.peer_id == good.peer_id


async def test_a_tampered_peer_store_does_not_stop_the_node(tmp_path: Path) -> None:
    path = tmp_path / "peers.sqlite3"
    other = _unreachable(16)
    store = PeerStore(path)
    rows = []
    for enr in ("enr:-not-a-record", other.to_text()):
        rows.append(
            SavedPeer(
                peer_id=PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key),
                addrs=(),
                enr=enr,
                origin="Dns",
                protocols=(),
                cluster_id=16,
                shards=(32,),
                last_seen=1.0,
                failures=0,
            )
        )
    store.save(rows)
    store.close()
    before = _sample("waku_peers_errors_total", type="bad_saved_record")
    async with WakuNode(_config(peer_store_path=path, peer_exchange=True)) as node:
        assert len(node.enr_cache) == 0, "neither record is offered by peer exchange"
        assert {r.peer_id for r in rows} <= {i.peer_id for i in node.peer_manager.book.peers()}
    assert _sample("waku_peers_errors_total", type="bad_saved_record") == before + 2
