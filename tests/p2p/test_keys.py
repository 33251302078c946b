"""Identity keys and peer ids, checked against values js-libp2p 2.8 (@libp2p/crypto) produced."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.errors import ConfigError
from pystatus.p2p.crypto.keys import (
    Ed25519PrivateKey,
    Secp256k1PrivateKey,
    load_nodekey,
    private_key_from_protobuf,
    public_key_from_protobuf,
)
from pystatus.p2p.errors import DecodeError
from pystatus.p2p.peer_id import PeerId

# From @libp2p/crypto privateKeyFromRaw(32 bytes of 0x0b) and
# generateKeyPairFromSeed('Ed25519', bytes 0..31), signing "hello".
JS_VECTORS = {
    "secp256k1": {
        "key": lambda: Secp256k1PrivateKey.from_bytes(bytes([11] * 32)),
        "peer_id": "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ",
        "cid": "bafzaajiiaijccasvfrrqwzfvjp2qeegj4jj5hc6ussohfyrionia6yufyk7n4mjkqq",
        "public_protobuf": "08021221"
        "02552c630b64b54bf50210c9e253d38bd4949c72e22873500f6285c2bede312a84",
        "signature": "3045022100b5204e624b253f5638b7b2d5c1a8d6de7f48c24856e273a36be00b4764f6c8f7"
        "02202de7f20cde6641d0f3d140121960bcc1fe9069d466d8dd5edf60e397f30dcbd8",
    },
    "ed25519": {
        "key": lambda: Ed25519PrivateKey.from_bytes(bytes(range(32))),
        "peer_id": "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB",
        "cid": "bafzaajaiaejcaa5ba677htqqxyoxbxiy45f4bglh4tldbg5fbvpr3xegmqjfkmny",
        "public_protobuf": "08011220"
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
        "signature": "e1a7fca94a835127885b99e2eba733d6ee5bf5dc463ed8385eb6f1dcaa1117c0"
        "f151750a10f46f5b3796a91203578f702c85c67c334b5689a516284d499f710f",
    },
}


@pytest.mark.parametrize("name", sorted(JS_VECTORS))
def test_matches_js_libp2p(name: str) -> None:
    vector = JS_VECTORS[name]
    key = vector["key"]()  # type: ignore[operator]
    peer_id = PeerId.from_public_key(key.public_key)
    assert str(peer_id) == vector["peer_id"]
    assert peer_id.to_cid_string() == vector["cid"]
    assert key.public_key.to_protobuf().hex() == vector["public_protobuf"]
    signature = bytes.fromhex(str(vector["signature"]))
    assert key.sign(b"hello") == signature  # both schemes are deterministic
    assert key.public_key.verify(b"hello", signature)
    assert not key.public_key.verify(b"hellO", signature)
    assert public_key_from_protobuf(bytes.fromhex(str(vector["public_protobuf"]))) == (
        key.public_key
    )


@pytest.mark.parametrize("name", sorted(JS_VECTORS))
def test_peer_id_text_forms_parse_back(name: str) -> None:
    vector = JS_VECTORS[name]
    from_base58 = PeerId.from_string(str(vector["peer_id"]))
    from_cid = PeerId.from_string(str(vector["cid"]))
    assert from_base58 == from_cid
    key = vector["key"]()  # type: ignore[operator]
    assert from_base58.extract_public_key() == key.public_key
    assert from_base58.matches(key.public_key)


@pytest.mark.parametrize("key_type", [Secp256k1PrivateKey, Ed25519PrivateKey])
def test_private_key_protobuf_round_trip(key_type: type[Secp256k1PrivateKey]) -> None:
    key = key_type.generate()
    again = private_key_from_protobuf(key.to_protobuf())
    assert again.public_key == key.public_key


def test_secp256k1_signatures_are_low_s() -> None:
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    key = Secp256k1PrivateKey.generate()
    for index in range(20):
        der = key.sign(index.to_bytes(4, "big"))
        r_length = der[3]
        s_start = 4 + r_length + 2
        s = int.from_bytes(der[s_start:], "big")
        assert s <= order // 2


def test_nodekey_loading() -> None:
    secret = "0b" * 32
    assert str(PeerId.from_public_key(load_nodekey(secret).public_key)) == str(
        JS_VECTORS["secp256k1"]["peer_id"]
    )
    assert load_nodekey("0x" + secret).to_bytes() == bytes([11] * 32)
    for bad in ("", "zz" * 32, "0b" * 31, "00" * 32):
        with pytest.raises(ConfigError) as excinfo:
            load_nodekey(bad)
        assert bad[8:] not in str(excinfo.value) or not bad  # the secret is never echoed back


def test_private_key_repr_hides_the_secret() -> None:
    key = Secp256k1PrivateKey.from_bytes(bytes([11] * 32))
    assert "0b0b0b" not in repr(key)


@given(st.binary(max_size=80))
def test_fuzz_public_key_protobuf(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        public_key_from_protobuf(data)


@given(st.binary(max_size=80))
def test_fuzz_peer_id_bytes(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        PeerId.from_bytes(data)


@given(st.text(max_size=80))
def test_fuzz_peer_id_text(text: str) -> None:
    with contextlib.suppress(DecodeError):
        PeerId.from_string(text)
