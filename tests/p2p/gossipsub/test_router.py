"""The gossipsub router in an in-memory network on a virtual clock."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.p2p.errors import LocalProtocolError, RemoteProtocolError
from pystatus.p2p.gossipsub import rpc as wire
from pystatus.p2p.gossipsub.events import Deliver, SendRpc
from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.router import GossipsubRouter, ValidationResult
from tests.p2p.gossipsub.sim import TOPIC, Network, SimNode


def line(network: Network, count: int) -> list[SimNode]:
    nodes = [network.add(f"n{i}") for i in range(count)]
    for a, b in itertools.pairwise(nodes):
        network.connect(a, b)
    for node in nodes:
        node.router.subscribe(TOPIC, network.now)
    network.settle()
    network.run(3)
    return nodes


def test_mesh_forms_within_bounds() -> None:
    network = Network(seed=3)
    nodes = [network.add(f"n{i}") for i in range(12)]
    for a, b in itertools.combinations(nodes, 2):
        network.connect(a, b)
    for node in nodes:
        node.router.subscribe(TOPIC, network.now)
    network.settle()
    network.run(5)
    params = network.params
    for node in nodes:
        assert 1 <= len(node.router.mesh_peers(TOPIC)) <= params.d_high
    # Once the prune backoffs of the first scramble have passed, every mesh is within bounds.
    network.run(70)
    for node in nodes:
        size = len(node.router.mesh_peers(TOPIC))
        assert params.d_low <= size <= params.d_high, size
    # Meshes are symmetric: a GRAFT is accepted or answered with a PRUNE.
    for node in nodes:
        for peer in node.router.mesh_peers(TOPIC):
            assert node.key in network.nodes[peer].router.mesh_peers(TOPIC)


def test_message_crosses_a_line_exactly_once() -> None:
    network = Network(seed=1)
    nodes = line(network, 6)
    result = nodes[0].router.publish(TOPIC, b"hello", network.now)
    assert result.peers == 1
    network.settle()
    for node in nodes[1:]:
        assert [d.data for d in node.delivered] == [b"hello"]
        assert node.delivered[0].message_id == hashlib.sha256(b"hello").digest()
    assert nodes[0].delivered == []


def test_random_graph_of_twenty_delivers_every_message_once() -> None:
    network = Network(seed=7)
    nodes = [network.add(f"n{i}") for i in range(20)]
    rng = network.rng
    for index in range(1, 20):
        network.connect(nodes[index], nodes[rng.randrange(index)])
    for a, b in itertools.combinations(nodes, 2):
        if rng.random() < 0.1 and b.key not in a.router.peers:
            network.connect(a, b)
    for node in nodes:
        node.router.subscribe(TOPIC, network.now)
    network.settle()
    network.run(5)
    for index in range(30):
        nodes[index % 20].router.publish(TOPIC, f"m{index}".encode(), network.now)
        network.settle()
    for index, node in enumerate(nodes):
        received = [d.data for d in node.delivered]
        own = {f"m{i}".encode() for i in range(30) if i % 20 == index}
        assert sorted(received) == sorted({f"m{i}".encode() for i in range(30)} - own)


def test_gossip_recovers_a_message_dropped_on_the_mesh() -> None:
    network = Network(seed=2)
    a, b, c = (network.add(n) for n in "abc")
    network.connect(a, b)
    network.connect(a, c)
    network.connect(b, c)
    for node in (a, b, c):
        node.router.subscribe(TOPIC, network.now)
    network.settle()
    network.run(2)

    # c never receives the message itself from anyone: only gossip can bring it.
    def drop_messages_to_c(sender: bytes, receiver: bytes, data: bytes) -> bool:
        if receiver != c.key:
            return True
        return not wire.decode_rpc(data, network.params).publish

    network.link_filter = drop_messages_to_c
    a.router.publish(TOPIC, b"gossiped", network.now)
    network.settle()
    assert c.delivered == []
    network.link_filter = None
    # Take c out of every mesh and keep it out (backoff both ways): only gossip reaches it now.
    for node, other in ((a, c), (b, c), (c, a), (c, b)):
        node.router.mesh[TOPIC].discard(other.key)
        node.router._backoffs.extend(TOPIC, other.key, network.now + 100)
    network.tick()
    assert [d.data for d in c.delivered] == [b"gossiped"]


def test_graft_during_backoff_is_penalised() -> None:
    network = Network(seed=4)
    a, b = network.add("a"), network.add("b")
    network.connect(a, b)
    a.router.subscribe(TOPIC, network.now)
    b.router.subscribe(TOPIC, network.now)
    network.settle()
    network.tick()
    assert b.key in a.router.mesh_peers(TOPIC)
    # b leaves and rejoins: it pruned a, so a is in b's backoff for a while.
    b.router.unsubscribe(TOPIC, network.now)
    network.settle()
    b.router.subscribe(TOPIC, network.now)
    network.settle()
    assert a.key not in b.router.mesh_peers(TOPIC)
    before = b.router.peer_score(a.key, network.now)
    graft = wire.ControlMessage()
    graft.graft.add(topicID=TOPIC)
    b.router.receive_rpc(a.key, wire.control_fragment(graft), network.now)
    assert b.router.counters["graft_during_backoff"] == 1
    assert b.router.peer_score(a.key, network.now) < before
    assert a.key not in b.router.mesh_peers(TOPIC)


def test_prune_carries_backoff_and_peer_exchange() -> None:
    params = GossipsubParams(d=2, d_low=1, d_high=2, d_score=1, d_out=0, d_lazy=2)
    router = GossipsubRouter(params)
    router.subscribe(TOPIC, 0.0)
    peers = [bytes([i]) * 4 for i in range(4)]
    subscribe = wire.subscription_fragment(TOPIC, True)
    graft = wire.control_fragment(wire.ControlMessage(graft=[wire.ControlGraft(topicID=TOPIC)]))
    for peer in peers:
        router.add_peer(peer, 0.0, outbound=False)
        router.receive_rpc(peer, subscribe + graft, 0.0)
    router.events()
    pruned = [p for p in peers if p not in router.mesh_peers(TOPIC)]
    assert len(pruned) == 2
    router.receive_rpc(pruned[0], graft, 1.0)
    (rpc_event,) = [e for e in router.events() if isinstance(e, SendRpc)]
    rpc = wire.decode_rpc(rpc_event.data, params)
    (prune,) = rpc.control.prune
    assert prune.topicID == TOPIC
    assert prune.backoff == 60
    assert {p.peerID for p in prune.peers} <= set(peers) - {pruned[0]}


def test_unsubscribe_leaves_the_mesh() -> None:
    network = Network(seed=5)
    nodes = line(network, 3)
    middle = nodes[1]
    assert middle.router.mesh_peers(TOPIC)
    middle.router.unsubscribe(TOPIC, network.now)
    network.settle()
    assert middle.key not in nodes[0].router.mesh_peers(TOPIC)
    assert middle.key not in nodes[0].router.topic_peers(TOPIC)


def _flood_rpc(index: int) -> bytes:
    return wire.publish_fragment(TOPIC, b"bad" + index.to_bytes(4, "big"))


def test_flooder_of_invalid_messages_is_graylisted_while_honest_traffic_flows() -> None:
    def validator(topic: str, data: bytes, peer: bytes | None) -> ValidationResult:
        return ValidationResult.REJECT if data.startswith(b"bad") else ValidationResult.ACCEPT

    network = Network(seed=6)
    hub = network.add("hub", validator)
    honest = [network.add(f"h{i}", validator) for i in range(2)]
    flooder = network.add("flooder")
    for node in [*honest, flooder]:
        network.connect(hub, node)
    network.connect(honest[0], honest[1])
    for node in [hub, *honest, flooder]:
        node.router.subscribe(TOPIC, network.now)
    network.settle()
    network.run(2)
    sent = 0
    for second in range(10):
        for index in range(10):
            honest[index % 2].router.publish(TOPIC, f"ok {second} {index}".encode(), network.now)
        # Ten times the honest rate, straight onto the wire.
        for _ in range(100):
            if not hub.router.is_graylisted(flooder.key):
                hub.router.receive_rpc(flooder.key, _flood_rpc(sent), network.now)
            else:
                hub.router.receive_rpc(flooder.key, _flood_rpc(sent), network.now)
            sent += 1
        network.settle()
        network.tick()
    assert hub.router.is_graylisted(flooder.key)
    assert flooder.key in hub.graylisted
    assert hub.router.counters["rpc_ignored_graylisted"] > 0
    for node in honest:
        other = {d.data for d in node.delivered}
        assert len(other) == 50
    assert len({d.data for d in hub.delivered}) == 100
    assert not any(d.data.startswith(b"bad") for d in hub.delivered)


def test_strict_no_sign_and_oversize_messages_are_rejected() -> None:
    router = GossipsubRouter()
    router.subscribe(TOPIC, 0.0)
    peer = b"p"
    router.add_peer(peer, 0.0, outbound=True)
    signed = wire.RPC(publish=[wire.Message(data=b"x", topic=TOPIC, seqno=b"1")])
    router.receive_rpc(peer, signed.SerializeToString(), 0.0)
    big = wire.RPC(publish=[wire.Message(data=bytes(150 * 1024 + 1), topic=TOPIC)])
    router.receive_rpc(peer, big.SerializeToString(), 0.0)
    assert router.counters["messages_invalid"] == 2
    assert not [e for e in router.events() if isinstance(e, Deliver)]
    with pytest.raises(LocalProtocolError):
        router.publish(TOPIC, bytes(150 * 1024 + 1), 0.0)


def test_known_answer_rpc_encoding() -> None:
    # Byte for byte what @chainsafe/libp2p-gossipsub 14.1.1 RPC.encode writes for one
    # subscription and one unsigned message: fields in number order, proto2 presence.
    data = wire.subscription_fragment("t", True) + wire.publish_fragment("t", b"\x01")
    assert data.hex() == "0a0508011201741206120101220174"
    rpc = wire.decode_rpc(data, GossipsubParams())
    assert rpc.subscriptions[0].topicid == "t"
    assert rpc.publish[0].data == b"\x01"


@settings(max_examples=150)
@given(st.binary(max_size=300))
def test_fuzz_receive_rpc(data: bytes) -> None:
    router = GossipsubRouter()
    router.subscribe(TOPIC, 0.0)
    router.add_peer(b"p", 0.0, outbound=False)
    try:
        router.receive_rpc(b"p", data, 0.0)
    except RemoteProtocolError:
        assert router.counters["rpc_malformed"] == 1
    router.events()
    router.heartbeat(1.0)
    assert len(router.mesh_peers(TOPIC)) <= router.params.d_high


def test_rpc_limits() -> None:
    params = GossipsubParams()
    with pytest.raises(RemoteProtocolError):
        wire.decode_rpc(bytes(params.max_rpc_size + 1), params)
    many = b"".join(wire.subscription_fragment(f"t{i}", True) for i in range(2000))
    with pytest.raises(RemoteProtocolError):
        wire.decode_rpc(many, params)
