"""The routing table alone, and the core's upkeep of it: buckets, replacements, revalidation,
sessions lost on one side, forged handshakes."""

from __future__ import annotations

from prometheus_client import REGISTRY

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import crypto, packet
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.core import Discv5Core
from pystatus.waku.discv5.events import Event, PongReceived, SendDatagram
from pystatus.waku.discv5.packet import HandshakeAuth
from pystatus.waku.discv5.table import Added, RoutingTable
from pystatus.waku.enr import Enr

from .sim import SimNet


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _node(port: int) -> tuple[bytes, Enr]:
    record = Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", udp=port)
    return crypto.node_id(record), record


def test_full_bucket_fills_the_replacement_cache_and_promotes_on_removal() -> None:
    # A local id of all zeros puts every id with its top bit set in bucket 256.
    table = RoutingTable(bytes(32), bucket_size=2, replacements=2)
    far: list[tuple[bytes, Enr]] = []
    while len(far) < 5:
        node_id, record = _node(10000 + len(far))
        if node_id[0] & 0x80:
            far.append((node_id, record))
    results = [table.add(i, r, ("127.0.0.1", r.udp or 0), 0.0) for i, r in far]
    assert results == [Added.NEW, Added.NEW, *[Added.REPLACEMENT] * 3]
    assert len(table) == 2
    # The cache keeps the 2 most recent; the oldest waiting one fell out.
    assert table.replacement(far[2][0]) is None
    promoted = table.remove(far[0][0])
    assert promoted is not None and promoted.node_id == far[4][0]
    assert {e.node_id for e in table.entries()} == {far[1][0], far[4][0]}
    table.close()


def test_only_live_entries_are_served_and_newer_records_replace_older() -> None:
    table = RoutingTable(bytes(32))
    node_id, record = _node(10001)
    distance = crypto.log_distance(node_id, bytes(32))
    assert table.add(node_id, record, ("127.0.0.1", 10001), 0.0) is Added.NEW
    assert table.at_distances([distance], 16) == []
    table.mark_live(node_id, 1.0)
    assert [e.node_id for e in table.at_distances([distance], 16)] == [node_id]
    key = Secp256k1PrivateKey.generate()
    old = Enr.build(key, seq=1, ip="127.0.0.1", udp=1)
    new = Enr.build(key, seq=2, ip="127.0.0.1", udp=2)
    other_id = crypto.node_id(old)
    table.add(other_id, old, ("127.0.0.1", 1), 0.0)
    assert table.add(other_id, new, ("127.0.0.1", 2), 0.0) is Added.UPDATED
    assert table.add(other_id, old, ("127.0.0.1", 1), 0.0) is Added.KNOWN
    entry = table.get(other_id)
    assert entry is not None and entry.endpoint == ("127.0.0.1", 2)
    table.close()


def test_a_node_that_stops_answering_is_revalidated_out() -> None:
    net = SimNet()
    config = Discv5Config(revalidate_interval=1.0, refresh_interval=1000.0)
    a, b = net.add(9001, config=config), net.add(9002, config=config)
    net.feed(("127.0.0.1", 9001), a.add_node(b.local_record, net.now))
    net.run_until(lambda: (e := a.table.get(b.local_id)) is not None and e.live, 5)
    del net.cores[("127.0.0.1", 9002)]  # B goes away
    assert net.run_until(lambda: a.table.get(b.local_id) is None, 60)


def test_a_peer_that_lost_its_session_is_handshaken_again() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: a._sessions.has_session(b.local_id, ("127.0.0.1", 9002)), 5)
    # B restarts with the same key and record: its sessions are gone, A's is stale.
    restarted = Discv5Core(b._key, b.local_record, now=net.now, rng=net.rng)
    net.cores[("127.0.0.1", 9002)] = restarted
    net.events[("127.0.0.1", 9001)].clear()
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    assert net.run_until(
        lambda: any(isinstance(e, PongReceived) for e in net.events[("127.0.0.1", 9001)]), 5
    )


def test_handshake_leaves_the_record_out_when_the_peer_has_it() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    b.add_node(a.local_record, net.now)  # B knows A's current record
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: len(net.sent) >= 3, 5)
    handshake = packet.decode_packet(net.sent[2][1].data, b.local_id, packet.WAKU_PROTOCOL_ID)
    assert isinstance(handshake.auth, HandshakeAuth)
    assert handshake.auth.record is None


def test_a_forged_id_signature_is_dropped_and_counted() -> None:
    net = SimNet()
    a, b = net.add(9001), net.add(9002)
    out: list[Event] = a.ping(b.local_record, net.now)
    first = out[0]
    assert isinstance(first, SendDatagram)
    [whoareyou] = b.receive(first.data, ("127.0.0.1", 9001), net.now)
    assert isinstance(whoareyou, SendDatagram)
    challenge = packet.decode_packet(whoareyou.data, a.local_id, packet.WAKU_PROTOCOL_ID)
    ephemeral = Secp256k1PrivateKey.generate()
    ephemeral_pub = ephemeral.public_key.to_bytes()
    secret = crypto.ecdh(b.local_record.get("secp256k1") or b"", ephemeral.to_bytes())
    key, _ = crypto.derive_keys(secret, a.local_id, b.local_id, challenge.message_ad)
    # Signed by another key than the one A's record names.
    forged = crypto.id_sign(
        Secp256k1PrivateKey.generate().to_bytes(), challenge.message_ad, ephemeral_pub, b.local_id
    )
    datagram = packet.encode_handshake(
        dest_id=b.local_id,
        src_id=a.local_id,
        masking_iv=bytes(16),
        nonce=bytes(12),
        key=key,
        plaintext=b"\x01\xc6\x84\x00\x00\x00\x01\x01",
        id_signature=forged,
        ephemeral_pubkey=ephemeral_pub,
        record=a.local_record.to_bytes(),
        protocol_id=packet.WAKU_PROTOCOL_ID,
    )
    before = _metric("waku_discv5_dropped_packets_total", reason="signature")
    assert b.receive(datagram, ("127.0.0.1", 9001), net.now) == []
    assert _metric("waku_discv5_dropped_packets_total", reason="signature") == before + 1
    assert not b._sessions.has_session(a.local_id, ("127.0.0.1", 9001))


def test_unanswered_challenges_and_first_packets_are_forgotten() -> None:
    net = SimNet()
    config = Discv5Config(revalidate_interval=2.0, request_retries=0)
    a, b = net.add(9001, config=config), net.add(9002, config=config)
    net.drop = lambda source, datagram: source == ("127.0.0.1", 9002)  # B's WHOAREYOU is lost
    challenges = _metric("waku_discv5_pending_challenges")
    pending = _metric("waku_discv5_pending_handshakes")
    net.feed(("127.0.0.1", 9001), a.ping(b.local_record, net.now))
    net.run_until(lambda: not net.queue, 1)
    assert _metric("waku_discv5_pending_challenges") == challenges + 1
    assert _metric("waku_discv5_pending_handshakes") == pending + 1
    net.run_for(5)
    assert _metric("waku_discv5_pending_challenges") == challenges
    assert _metric("waku_discv5_pending_handshakes") == pending
