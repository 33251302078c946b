"""ENR auto-update: our record follows the address most peers' PONGs report."""

from __future__ import annotations

import asyncio

import pytest

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import Discv5Config, Discv5Service
from pystatus.waku.discv5.autoupdate import EndpointVote, record_with_endpoint
from pystatus.waku.discv5.errors import Discv5LocalError
from pystatus.waku.enr import Capabilities, Enr

LOOPBACK = ("127.0.0.1", 0)


def test_vote_needs_a_clear_majority_of_live_votes() -> None:
    vote = EndpointVote(threshold=2, ttl=10.0)
    vote.insert(b"a", ("1.2.3.4", 30303), 0.0)
    assert vote.majority(0.0) is None  # one vote is not enough
    vote.insert(b"b", ("1.2.3.4", 30303), 1.0)
    assert vote.majority(1.0) == ("1.2.3.4", 30303)
    vote.insert(b"c", ("5.6.7.8", 1), 2.0)
    vote.insert(b"d", ("5.6.7.8", 1), 2.0)
    assert vote.majority(2.0) is None  # a tie names nothing
    vote.insert(b"a", ("5.6.7.8", 1), 3.0)  # one vote per peer: a changed its mind
    assert vote.majority(3.0) == ("5.6.7.8", 1)
    assert vote.majority(12.5) is None  # every vote is now over 10 s old


def test_record_with_endpoint_keeps_the_other_fields_and_bumps_seq() -> None:
    key = Secp256k1PrivateKey.generate()
    record = Enr.build(
        key,
        seq=4,
        ip="10.0.0.1",
        tcp=60000,
        udp=9000,
        capabilities=Capabilities.RELAY,
        cluster_id=16,
        shards=[32],
    )
    updated = record_with_endpoint(record, key, ("203.0.113.7", 9001))
    assert (updated.seq, updated.ip, updated.udp, updated.tcp) == (5, "203.0.113.7", 9001, 60000)
    assert updated.relay_shards == (16, (32,))
    assert updated.capabilities == Capabilities.RELAY
    with pytest.raises(Discv5LocalError):
        record_with_endpoint(record, Secp256k1PrivateKey.generate(), ("203.0.113.7", 9001))


async def test_service_record_follows_what_peers_see() -> None:
    fast = Discv5Config(refresh_interval=0.5, revalidate_interval=0.1)
    boot = Discv5Service(Secp256k1PrivateKey.generate(), bind=LOOPBACK, config=fast)
    await boot.start()
    peers = [
        Discv5Service(
            Secp256k1PrivateKey.generate(), bind=LOOPBACK, bootstrap=[boot.local_enr], config=fast
        )
        for _ in range(3)
    ]
    for peer in peers:
        await peer.start()
    key = Secp256k1PrivateKey.generate()
    # Our record names an address nobody sees us at; the PONGs all say 127.0.0.1.
    me = Discv5Service(
        key,
        lambda ip, port: Enr.build(key, ip="127.0.0.2", udp=port),
        bind=LOOPBACK,
        bootstrap=[boot.local_enr],
        config=fast,
        enr_auto_update=True,
    )
    await me.start()
    try:

        async def updated() -> None:
            while me.local_enr.ip != "127.0.0.1":
                await asyncio.sleep(0.05)

        await asyncio.wait_for(updated(), 20)
        assert me.local_enr.seq == 2
        assert me.local_enr.udp is not None
    finally:
        for service in [me, *peers, boot]:
            await service.stop()
