"""/admin/v1/peers as nwaku's admin handler answers it: refusals in its words, our own peer id
never dialed, a peer's shards from its metadata answer, and the routes' absence without
--rest-admin said with the flag."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from pystatus.api.admin import _shards
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.peer_manager_rules import Origin, PeerInfo
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.metadata_codec import ShardInfo
from tests.api.rest import rest_client
from tests.p2p.hosts import wait_for

ADMIN = RestConfig(port=0, admin=True)


def _config(rest: RestConfig | None = ADMIN, **more: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "rest": rest}
    return NodeConfig(**(settings | more))  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _failed(index: int, text: str) -> tuple[int, str]:
    return 400, f"Failed to connect to peer at index: {index} - {text}"


async def test_bad_and_unreachable_peers_are_refused_as_nwaku_words_it() -> None:
    port = _closed_port()
    peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    nobody = f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer}"
    async with WakuNode(_config(relay=False)) as node, rest_client(node) as api:
        bad = await api.post("/admin/v1/peers", json=["not an address"])
        assert bad.status_code == 400
        assert bad.text.startswith("Couldn't parse remote peer info: ")
        no_id = await api.post("/admin/v1/peers", json=[f"/ip4/127.0.0.1/tcp/{port}"])
        assert no_id.text.startswith("Couldn't parse remote peer info: ")
        unreachable = await api.post("/admin/v1/peers", json=[nobody])
        assert (unreachable.status_code, unreachable.text) == _failed(0, nobody)


async def test_our_own_peer_id_is_not_dialed_and_is_refused_as_nwaku_does() -> None:
    """nwaku's connectPeer never dials itself: 400, whatever the address (a closed port with
    our peer id answered 200 here)."""
    port = _closed_port()
    async with WakuNode(_config(relay=False)) as node, rest_client(node) as api:
        for ours in (
            f"/ip4/127.0.0.1/tcp/{port}/p2p/{node.peer_id}",
            str(node.host.full_addrs()[0]),
        ):
            answer = await api.post("/admin/v1/peers", json=[ours])
            assert (answer.status_code, answer.text) == _failed(0, ours)


async def test_a_connected_peer_shows_the_shards_its_metadata_answer_named() -> None:
    """A peer reached by its multiaddr alone (no ENR) showed ``shards: []``; nwaku shows
    what its metadata answer said (peer_manager.nim onPeerMetadata, getShards)."""
    async with (
        WakuNode(_config(cluster_id=16, shards=(32, 64))) as node,
        WakuNode(_config(None, cluster_id=16, shards=(32, 64))) as other,
        rest_client(node) as api,
    ):
        added = await api.post("/admin/v1/peers", json=[str(other.host.full_addrs()[0])])
        assert added.status_code == 200, added.text
        await wait_for(lambda: other.peer_id in node.metadata.peers, 10, "metadata")
        peers = (await api.get("/admin/v1/peers")).json()
        [shown] = [p for p in peers if p["multiaddr"].endswith(str(other.peer_id))]
        assert shown["shards"] == [32, 64]


async def test_admin_routes_left_out_answer_404_naming_the_flag() -> None:
    async with WakuNode(_config(RestConfig(port=0), relay=False)) as node, rest_client(node) as api:
        answer = await api.get("/admin/v1/peers")
        assert (answer.status_code, answer.text) == (
            404,
            "/admin endpoints are not available. Please check your configuration:"
            " --rest-admin=true",
        )


def test_shards_come_from_metadata_then_the_record_then_relay_subscriptions() -> None:
    """nwaku's order (ShardBook from the metadata answer, else the ENR's ``rs``), then, for a
    relay peer that told neither (a plain gossipsub peer), the shards of our cluster it
    subscribed to."""
    peer = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    said: dict[PeerId, ShardInfo] = {}
    topics = frozenset({"/waku/2/rs/16/64", "/waku/2/rs/16/1", "/waku/2/rs/7/3", "/named"})
    router = SimpleNamespace(peer_topics=lambda key: topics if key == peer.to_bytes() else ())
    node = SimpleNamespace(
        metadata=SimpleNamespace(peers=said),
        config=SimpleNamespace(cluster_id=16),
        relay=SimpleNamespace(router=router),
    )
    info = PeerInfo(peer, Origin.STATIC)
    assert _shards(node, info) == [1, 64]  # type: ignore[arg-type]
    info.shards = (32,)
    assert _shards(node, info) == [32]  # type: ignore[arg-type]
    said[peer] = ShardInfo(7, (5,))  # another cluster's answer is not ours to show
    assert _shards(node, info) == [32]  # type: ignore[arg-type]
    said[peer] = ShardInfo(16, (32, 64, 128))
    assert _shards(node, info) == [32, 64, 128]  # type: ignore[arg-type]
    node.relay = None
    bare = PeerInfo(peer, Origin.INBOUND)
    assert _shards(node, bare) == [32, 64, 128]  # type: ignore[arg-type]
