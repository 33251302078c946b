"""The discv5 core in memory, on a virtual clock: handshake, PING/PONG, FINDNODE/NODES,
TALKREQ, timeouts, retries, bounded tables, lookups, the ENR filter."""

from __future__ import annotations

from prometheus_client import REGISTRY

from pystatus.waku.discv5 import crypto, packet
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.core import Discv5Core
from pystatus.waku.discv5.events import Event, LookupFinished, PongReceived, SendDatagram
from pystatus.waku.discv5.filter import WakuEnrFilter
from pystatus.waku.discv5.messages import Nodes, TalkReq, TalkResp, encode_message
from pystatus.waku.enr import Enr

from .sim import SimNet


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _datagram(event: Event) -> SendDatagram:
    assert isinstance(event, SendDatagram)
    return event


def test_handshake_then_ping_pong() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    before = _metric("waku_discv5_handshakes_total", role="recipient")
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    assert net.run_until(
        lambda: any(isinstance(e, PongReceived) for e in net.events[("127.0.0.1", 9001)]), 5
    )
    flags = [
        packet.decode_packet(
            d.data, crypto.node_id(net.cores[d.endpoint].local_record), packet.WAKU_PROTOCOL_ID
        ).flag
        for _, d in net.sent
    ]
    # random packet, WHOAREYOU, handshake carrying PING, PONG
    assert flags == [0, 1, 2, 0]
    pong = next(e for e in net.events[("127.0.0.1", 9001)] if isinstance(e, PongReceived))
    assert pong == PongReceived(b.local_id, "127.0.0.1", 9001)
    assert _metric("waku_discv5_handshakes_total", role="recipient") == before + 1
    # B learned A's record from the handshake (it had none, so A had to send it).
    assert b.table.get(a.local_id) is not None
    assert a.table.get(b.local_id) is None  # a bare ping does not add to the table
    # A second ping rides on the session: one packet each way.
    count = len(net.sent)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, net.now + 0.1)
    assert len(net.sent) == count + 2


def test_talkreq_gets_an_empty_talkresp() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, 1)
    out: list[Event] = []
    assert a._send(b.local_id, ("127.0.0.1", 9002), TalkReq(b"\x07", b"eth2", b"hi"), net.now, out)
    answer = b.receive(_datagram(out[0]).data, ("127.0.0.1", 9001), net.now)
    assert len(answer) == 1 and isinstance(answer[0], SendDatagram)
    _, incoming = a._sessions.receive(answer[0].data, ("127.0.0.1", 9002), net.now)
    assert incoming is not None and incoming.message == TalkResp(b"\x07", b"")


def test_findnode_answer_split_over_packets_and_at_most_16() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    for port in range(9100, 9140):
        other = net.add(port)
        b.table.add(other.local_id, other.local_record, ("127.0.0.1", port), 0.0, live=True)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, 1)
    out: list[Event] = []
    a._request(
        b.local_id,
        b.local_record,
        ("127.0.0.1", 9002),
        "enr",
        net.now,
        out,
        distances=tuple(range(0, 257)),
    )
    replies = b.receive(_datagram(out[0]).data, ("127.0.0.1", 9001), net.now)
    datagrams = [e for e in replies if isinstance(e, SendDatagram)]
    assert len(datagrams) > 1
    assert all(len(d.data) <= 1280 for d in datagrams)
    messages = []
    for datagram in datagrams:
        _, incoming = a._sessions.receive(datagram.data, ("127.0.0.1", 9002), net.now)
        assert incoming is not None and isinstance(incoming.message, Nodes)
        messages.append(incoming.message)
    assert {msg.total for msg in messages} == {len(datagrams)}
    records = [Enr.from_bytes(r) for msg in messages for r in msg.records]
    assert len(records) == 16
    assert records[0] == b.local_record  # distance 0: its own record


def test_nodes_at_a_distance_not_asked_are_dropped() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    c = net.add(9003)
    b.table.add(c.local_id, c.local_record, ("127.0.0.1", 9003), 0.0, live=True)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, 1)
    wrong = crypto.log_distance(c.local_id, b.local_id) % 256 + 1
    before = _metric("waku_discv5_dropped_packets_total", reason="distance")
    out: list[Event] = []
    a._request(
        b.local_id,
        b.local_record,
        ("127.0.0.1", 9002),
        "enr",
        net.now,
        out,
        distances=(wrong,),
    )
    # B answers honestly (nothing at that distance); a forged answer from B lists C anyway.
    request_id = next(iter(a._requests))
    forged = b._sessions.send(
        a.local_id,
        ("127.0.0.1", 9001),
        encode_message(Nodes(request_id, 1, (c.local_record.to_bytes(),))),
        net.now,
    )
    a.receive(forged[0][0], ("127.0.0.1", 9002), net.now)
    assert _metric("waku_discv5_dropped_packets_total", reason="distance") == before + 1
    assert a.table.get(c.local_id) is None


def test_timeout_retries_then_gives_up_and_drops_the_node() -> None:
    net = SimNet()
    config = Discv5Config(request_timeout=0.5, handshake_timeout=0.5, request_retries=1)
    a = net.add(9001, config=config)
    ghost = net.add(9002)
    del net.cores[("127.0.0.1", 9002)]  # nobody answers there
    a.add_node(ghost.local_record, net.now)
    before = _metric("waku_discv5_request_timeouts_total", type="findnode")
    lookup_id, events = a.lookup(net.now)
    net.feed(("127.0.0.1", 9001), events)
    assert net.run_until(
        lambda: any(isinstance(e, LookupFinished) for e in net.events[("127.0.0.1", 9001)]), 10
    )
    to_ghost = [d for src, d in net.sent if d.endpoint == ("127.0.0.1", 9002)]
    assert len(to_ghost) == 2  # the first try and one retry
    assert 2.0 <= net.now <= 2.5  # 2 x (request + handshake timeout)
    assert _metric("waku_discv5_request_timeouts_total", type="findnode") == before + 1
    assert a.table.get(ghost.local_id) is None
    finished = [e for e in net.events[("127.0.0.1", 9001)] if isinstance(e, LookupFinished)]
    assert finished == [LookupFinished(lookup_id, finished[0].target, ())]


def test_newer_record_fetched_after_pong() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    a.add_node(b.local_record, net.now)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, 1)
    newer = Enr.build(b._key, seq=5, ip="127.0.0.1", udp=9002)
    b.update_record(newer)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    assert net.run_until(
        lambda: (e := a.table.get(b.local_id)) is not None and e.record.seq == 5, 5
    )


def test_session_cache_is_bounded() -> None:
    net = SimNet()
    a = net.add(9001, config=Discv5Config(max_sessions=2))
    others = [net.add(port) for port in (9002, 9003, 9004)]
    before = _metric("waku_discv5_sessions_evicted_total")
    for other in others:
        net.feed(("127.0.0.1", 9001), a.ping(other.local_record, net.now))
        net.run_until(lambda: False, net.now + 1)
    assert a._sessions.session_count == 2
    assert _metric("waku_discv5_sessions_evicted_total") >= before + 1


def test_lookups_find_everyone_from_one_bootstrap() -> None:
    net = SimNet(seed=7)
    boot = net.add(9000)
    nodes = [net.add(port) for port in range(9001, 9021)]
    for node in nodes:
        net.feed(net.endpoint_of(node), node.add_node(boot.local_record, net.now))
        _, events = node.lookup(net.now, node.local_id)
        net.feed(net.endpoint_of(node), events)
    everyone = len(nodes)  # each finds the bootstrap node and the others, not itself

    def all_found() -> bool:
        return all(len(net.found[net.endpoint_of(n)]) >= everyone for n in nodes)

    assert net.run_until(all_found, 120)
    assert all(source != datagram.endpoint for source, datagram in net.sent)  # never to itself
    for node in nodes:
        found = {crypto.node_id(r) for r in net.found[net.endpoint_of(node)]}
        assert found == {n.local_id for n in [boot, *nodes]} - {node.local_id}


def test_records_of_another_cluster_are_filtered_out() -> None:
    net = SimNet()
    keep = WakuEnrFilter.of(cluster_id=16, shards=[32, 64])
    a = net.add(9001, enr_filter=keep, cluster=16, shards=[32])
    boot = net.add(9000, cluster=16, shards=[32])
    other = net.add(9002, cluster=1, shards=[0])
    same = net.add(9003, cluster=16, shards=[64])
    for node in (a, other, same):
        net.feed(net.endpoint_of(node), node.add_node(boot.local_record, net.now))
        net.feed(net.endpoint_of(node), node.lookup(net.now, node.local_id)[1])
    before = _metric("waku_discv5_filtered_records_total", reason="cluster")
    net.run_for(40)
    found = {crypto.node_id(r) for r in net.found[("127.0.0.1", 9001)]}
    assert found == {boot.local_id, same.local_id}
    assert a.table.get(other.local_id) is not None  # routed, not announced
    assert _metric("waku_discv5_filtered_records_total", reason="cluster") >= before + 1


def test_filter_rules() -> None:
    from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
    from pystatus.waku.enr import Capabilities

    key = Secp256k1PrivateKey.generate()
    relay_store = Enr.build(
        key, capabilities=Capabilities.RELAY | Capabilities.STORE, cluster_id=16, shards=[32]
    )
    needs_store = WakuEnrFilter.of(16, capabilities=Capabilities.STORE)
    needs_filter = WakuEnrFilter.of(16, capabilities=Capabilities.FILTER)
    assert needs_store(relay_store) is None
    assert needs_filter(relay_store) == "capabilities"
    assert WakuEnrFilter.of(16, shards=[64])(relay_store) == "shards"
    assert WakuEnrFilter.of(1)(relay_store) == "cluster"
    assert WakuEnrFilter.of(16)(Enr.build(key, cluster_id=16, shards=[32])) == "not_waku"
    assert WakuEnrFilter.of(16)(Enr.build(key, capabilities=Capabilities.RELAY)) == "no_shards"


def test_waku_network_is_isolated_by_its_protocol_id() -> None:
    """33/WAKU2-DISCV5: Waku speaks discv5 under protocol-id "d5waku" (go-waku, nwaku); an
    Ethereum "discv5" packet is not for it, and a core told b"discv5" speaks Ethereum's."""
    from pystatus.p2p.crypto.keys import Secp256k1PrivateKey

    from .test_vectors import NODE_B_KEY, PING_PACKET

    key = Secp256k1PrivateKey.from_bytes(NODE_B_KEY)
    record = Enr.build(key, ip="127.0.0.1", udp=9002)
    waku = Discv5Core(key, record, now=0.0)
    before = _metric("waku_discv5_dropped_packets_total", reason="protocol")
    assert waku.receive(PING_PACKET, ("127.0.0.1", 9001), 0.0) == []
    assert _metric("waku_discv5_dropped_packets_total", reason="protocol") == before + 1
    ethereum = Discv5Core(key, record, now=0.0, config=Discv5Config(protocol_id=b"discv5"))
    [challenge] = ethereum.receive(PING_PACKET, ("127.0.0.1", 9001), 0.0)
    assert isinstance(challenge, SendDatagram)
    from .test_vectors import NODE_A_ID

    whoareyou = packet.decode_packet(challenge.data, NODE_A_ID)
    assert whoareyou.flag == packet.FLAG_WHOAREYOU
    assert whoareyou.nonce == bytes.fromhex("ffffffffffffffffffffffff")
    waku.close()
    ethereum.close()


def test_requests_beyond_a_peers_budget_are_dropped_and_counted() -> None:
    net = SimNet()
    a = net.add(9001)
    b = net.add(9002, config=Discv5Config(request_rate=10.0, request_burst=20))
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: False, 1)
    before = _metric("waku_discv5_dropped_packets_total", reason="rate_limited")
    now = net.now + 10.0  # the bucket is full again: 20
    answered = 0
    for _ in range(100):  # a burst at one instant
        out: list[Event] = []
        a._request(b.local_id, b.local_record, ("127.0.0.1", 9002), "ping", now, out)
        answered += len(b.receive(_datagram(out[0]).data, ("127.0.0.1", 9001), now))
    assert answered == 20
    assert _metric("waku_discv5_dropped_packets_total", reason="rate_limited") == before + 80
    # A second later, ten more are answered.
    later = now + 1.0
    answered = 0
    for _ in range(20):
        out = []
        a._request(b.local_id, b.local_record, ("127.0.0.1", 9002), "ping", later, out)
        answered += len(b.receive(_datagram(out[0]).data, ("127.0.0.1", 9001), later))
    assert answered == 10


def test_a_late_whoareyou_is_answered_while_the_request_waits() -> None:
    """A busy peer challenges our first packet after the handshake timeout (1 s) but before
    our request's deadline (request + handshake timeout, 2 s): the challenge is answered and
    the lookup gets its NODES at once, as go-ethereum answers a WHOAREYOU while its call is
    active. Refusing it left the request waiting out its deadline, then handshaking again."""
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    a_end, b_end = ("127.0.0.1", 9001), ("127.0.0.1", 9002)
    a.add_node(b.local_record, net.now)
    lookup_id, events = a.lookup(net.now)
    [first] = [e for e in events if isinstance(e, SendDatagram)]
    net.now = 1.2  # B reads our random packet late and challenges it at once
    [whoareyou] = [e for e in b.receive(first.data, a_end, net.now) if isinstance(e, SendDatagram)]
    net.feed(a_end, a.receive(whoareyou.data, b_end, net.now))
    assert net.run_until(lambda: any(isinstance(e, LookupFinished) for e in net.events[a_end]), 1.5)
    finished = [e for e in net.events[a_end] if isinstance(e, LookupFinished)]
    assert finished[0].lookup_id == lookup_id
    assert [r.peer_id for r in finished[0].records] == [b.local_record.peer_id]
    # After the random packet, A sent only its handshake: no second one, nothing resent.
    flags = [
        packet.decode_packet(d.data, b.local_id, packet.WAKU_PROTOCOL_ID).flag
        for src, d in net.sent
        if src == a_end
    ]
    assert flags == [2]


def test_a_whoareyou_after_the_request_gave_up_is_refused() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    a_end, b_end = ("127.0.0.1", 9001), ("127.0.0.1", 9002)
    first = _datagram(a.ping(b.local_record, net.now)[0])
    net.now = 2.1  # past request (1 s) + handshake (1 s) timeouts
    [whoareyou] = [e for e in b.receive(first.data, a_end, net.now) if isinstance(e, SendDatagram)]
    before = _metric("waku_discv5_dropped_packets_total", reason="unsolicited")
    assert a.receive(whoareyou.data, b_end, net.now) == []
    assert _metric("waku_discv5_dropped_packets_total", reason="unsolicited") == before + 1
