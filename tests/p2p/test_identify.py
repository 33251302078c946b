"""The identify message: encoding, bounded decoding of peer-supplied fields, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.errors import DecodeError
from pystatus.p2p.identify import MAX_IDENTIFY_SIZE, decode_identify, encode_identify
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.proto import identify_pb2


def test_round_trip_drops_p2p_suffix_from_listen_addrs() -> None:
    key = Secp256k1PrivateKey.generate()
    listen = Multiaddr.from_string(
        "/ip4/1.2.3.4/tcp/60000/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
    )
    observed = Multiaddr.from_string("/ip4/5.6.7.8/tcp/1234")
    data = encode_identify(
        public_key=key.public_key,
        listen_addrs=[listen],
        protocols=["/ipfs/ping/1.0.0", "/vac/waku/relay/2.0.0"],
        observed_addr=observed,
        agent_version="pystatus/test",
    )
    info = decode_identify(data)
    assert info.public_key == key.public_key
    assert info.listen_addrs == (listen.decapsulate_p2p(),)
    assert info.observed_addr == observed
    assert info.protocols == ("/ipfs/ping/1.0.0", "/vac/waku/relay/2.0.0")
    assert info.agent_version == "pystatus/test"
    assert info.protocol_version == "ipfs/0.1.0"


def test_undecodable_addresses_are_skipped_and_counted() -> None:
    message = identify_pb2.Identify(listenAddrs=[b"\xff\xff", b"\x04\x7f\x00\x00\x01\x06\x00\x01"])
    info = decode_identify(message.SerializeToString())
    assert [str(a) for a in info.listen_addrs] == ["/ip4/127.0.0.1/tcp/1"]
    assert info.skipped_addrs == 1


def test_oversize_and_overfull_messages_are_refused() -> None:
    with pytest.raises(DecodeError, match="too large"):
        decode_identify(b"\x00" * (MAX_IDENTIFY_SIZE + 1))
    message = identify_pb2.Identify(protocols=[f"/p/{i}" for i in range(1000)])
    with pytest.raises(DecodeError, match="protocols"):
        decode_identify(message.SerializeToString())


@given(st.binary(max_size=400))
def test_fuzz_decoder(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_identify(data)
