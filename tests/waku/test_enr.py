"""ENR (EIP-778) with Waku fields: the shared vectors, our own records, js-waku reading them."""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku import rlp
from pystatus.waku.enr import Capabilities, Enr
from pystatus.waku.errors import DecodeError, InvalidEnr
from tests.interop.harness import INTEROP_DIR, node_command
from tests.vectors import load_vectors

VECTORS = load_vectors("waku.json")["enr"]["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["enr"][:16])
def test_shared_vectors(vector: dict[str, object]) -> None:
    record = Enr.from_text(str(vector["enr"]))
    decoded = vector["decoded_by_waku_enr"]
    assert isinstance(decoded, dict)
    assert str(record.peer_id) == decoded["peerId"]
    assert record.ip == decoded["ip"]
    assert record.tcp == decoded.get("tcp")
    assert record.udp == decoded.get("udp")
    assert str(record.seq) == decoded["seq"]
    assert [str(m) for m in record.multiaddrs] == decoded.get("multiaddrs", [])
    assert record.relay_shards is None and decoded["shardInfo"] is None
    assert record.to_text() == vector["enr"]


def _ours() -> Enr:
    return Enr.build(
        Secp256k1PrivateKey.from_bytes(bytes([11] * 32)),
        seq=7,
        ip="10.1.2.3",
        tcp=60000,
        capabilities=Capabilities.RELAY | Capabilities.STORE,
        multiaddrs=[Multiaddr.from_string("/dns4/node.example.org/tcp/8000/wss")],
        cluster_id=1,
        shards=[0, 3, 7],
    )


def test_our_record_round_trips() -> None:
    record = _ours()
    again = Enr.from_text(record.to_text())
    assert again == record
    assert again.ip == "10.1.2.3" and again.tcp == 60000
    assert again.capabilities == Capabilities.RELAY | Capabilities.STORE
    assert again.relay_shards == (1, (0, 3, 7))
    assert [str(a) for a in again.dial_addrs()] == [
        f"/ip4/10.1.2.3/tcp/60000/p2p/{again.peer_id}",
        f"/dns4/node.example.org/tcp/8000/wss/p2p/{again.peer_id}",
    ]


def test_tampering_breaks_the_signature() -> None:
    raw = bytearray(_ours().to_bytes())
    raw[-1] ^= 1
    with pytest.raises(InvalidEnr):
        Enr.from_bytes(bytes(raw))


def test_unsorted_keys_and_oversize_records_are_refused() -> None:
    record = _ours()
    swapped: list[rlp.Item] = [record.signature, rlp.encode_uint(record.seq)]
    for name, value in reversed(record.pairs):
        swapped += [name.encode(), value]
    with pytest.raises(InvalidEnr, match="sorted"):
        Enr.from_bytes(rlp.encode(swapped))
    with pytest.raises(InvalidEnr, match="300"):
        Enr.from_bytes(b"\x00" * 301)


@pytest.mark.interop
def test_js_waku_reads_our_record() -> None:
    record = _ours()
    completed = subprocess.run(
        [*node_command(), str(INTEROP_DIR / "enr_decode.mjs"), record.to_text()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=INTEROP_DIR,
    )
    assert completed.returncode == 0, completed.stderr
    decoded = json.loads(completed.stdout)
    assert decoded["peerId"] == str(record.peer_id)
    assert decoded["seq"] == "7"
    assert (decoded["ip"], decoded["tcp"]) == ("10.1.2.3", 60000)
    assert decoded["waku2"] == {"relay": True, "store": True, "filter": False, "lightPush": False}
    assert decoded["multiaddrs"] == ["/dns4/node.example.org/tcp/8000/wss"]
    assert decoded["shardInfo"] == {"clusterId": 1, "shards": [0, 3, 7]}


@given(st.binary(max_size=320))
def test_fuzz_record_bytes(data: bytes) -> None:
    with contextlib.suppress(InvalidEnr):
        Enr.from_bytes(data)


@given(st.binary(max_size=100))
def test_fuzz_rlp(data: bytes) -> None:
    try:
        item = rlp.decode(data)
    except DecodeError:  # anything else escaping fails the test
        return
    assert rlp.encode(item) == data  # strict decoding accepts canonical forms only
