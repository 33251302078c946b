"""Multiaddr text and binary forms (multiformats/multiaddr), and dialable TCP endpoints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.errors import DecodeError, DialError
from pystatus.p2p.multiaddr import Multiaddr, tcp_endpoint

PEER = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"


@pytest.mark.parametrize(
    ("text", "hex_bytes"),
    [
        ("/ip4/127.0.0.1/tcp/60000", "047f00000106ea60"),
        ("/ip4/127.0.0.1/tcp/8000/ws", "047f000001061f40dd03"),
        ("/ip6/::1/tcp/443/wss", "29" + "00" * 15 + "01" + "0601bb" + "de03"),
        (
            "/dns4/node-01.example.org/tcp/30303",
            "36136e6f64652d30312e6578616d706c652e6f7267" + "06765f",
        ),
        ("/dns6/example.org/tcp/1/ws", "370b6578616d706c652e6f7267" + "060001dd03"),
    ],
)
def test_known_binary_forms(text: str, hex_bytes: str) -> None:
    addr = Multiaddr.from_string(text)
    assert addr.to_bytes().hex() == hex_bytes
    assert str(Multiaddr.from_bytes(bytes.fromhex(hex_bytes))) == text


def test_p2p_component_and_ipfs_alias() -> None:
    addr = Multiaddr.from_string(f"/ip4/1.2.3.4/tcp/1/ipfs/{PEER}")
    assert str(addr) == f"/ip4/1.2.3.4/tcp/1/p2p/{PEER}"
    assert str(addr.peer_id) == PEER
    assert str(addr.decapsulate_p2p()) == "/ip4/1.2.3.4/tcp/1"
    assert Multiaddr.from_bytes(addr.to_bytes()) == addr


def test_tcp_endpoints() -> None:
    plain = tcp_endpoint(Multiaddr.from_string(f"/ip4/10.0.0.1/tcp/60000/p2p/{PEER}"))
    assert (plain.host, plain.port, plain.family, plain.websocket) == (
        "10.0.0.1",
        60000,
        "ip4",
        None,
    )
    ws = tcp_endpoint(Multiaddr.from_string("/dns4/example.org/tcp/8000/ws"))
    assert (ws.host, ws.websocket) == ("example.org", "ws")
    assert tcp_endpoint(Multiaddr.from_string("/dns4/example.org/tcp/443/wss")).websocket == "wss"
    with pytest.raises(DialError):
        tcp_endpoint(Multiaddr.from_string("/ip4/1.2.3.4/udp/1/quic-v1"))


@pytest.mark.parametrize(
    "text",
    ["", "ip4/1.2.3.4", "/ip4/300.1.1.1", "/ip4", "/tcp/70000", "/foo/1", "/ip4/1.2.3.4/tcp/x"],
)
def test_bad_text_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        Multiaddr.from_string(text)


addresses = st.builds(
    lambda a, p, ws: f"/ip4/{a}/tcp/{p}" + ("/ws" if ws else ""),
    st.ip_addresses(v=4),
    st.integers(0, 65535),
    st.booleans(),
)


@given(addresses)
def test_round_trip(text: str) -> None:
    addr = Multiaddr.from_string(text)
    assert str(addr) == text
    assert Multiaddr.from_bytes(addr.to_bytes()) == addr


@given(st.binary(max_size=100))
def test_fuzz_binary_decoder(data: bytes) -> None:
    try:
        addr = Multiaddr.from_bytes(data)
    except DecodeError:
        return
    assert Multiaddr.from_bytes(addr.to_bytes()) == addr
    str(addr)
