"""RFC 26 payload encryption: the shared vectors, round trips, tampering, fuzzed decoders."""

from __future__ import annotations

import contextlib
from typing import Any

import coincurve
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.waku.errors import LocalWakuError
from pystatus.waku.payload import (
    PayloadError,
    decode_envelope,
    decrypt_asymmetric,
    decrypt_symmetric,
    encode_envelope,
    encrypt_asymmetric,
    encrypt_symmetric,
)
from tests.vectors import load_vectors

VECTORS: list[dict[str, Any]] = load_vectors("waku.json")["payload_encryption"]["vectors"]
KEY = bytes(range(32))
SIGNER = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['kind']}-signed={v['signed']}")
def test_shared_vectors_decrypt(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["waku_payload_hex"])
    if vector["kind"] == "symmetric":
        result = decrypt_symmetric(data, bytes.fromhex(vector["key_hex"]))
    else:
        result = decrypt_asymmetric(data, bytes.fromhex(vector["recipient_private_key_hex"]))
    assert result.payload == vector["plaintext_utf8"].encode()
    envelope = bytes.fromhex(vector["decrypted_envelope_hex"])
    assert len(envelope) == vector["envelope_len"]
    assert decode_envelope(envelope) == result
    if vector["signed"]:
        assert result.signer == bytes.fromhex(vector["expected_signer_public_key_hex"])
    else:
        assert result.signer is None and result.signature is None


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['kind']}-signed={v['signed']}")
def test_our_envelopes_have_the_vectors_layout(vector: dict[str, Any]) -> None:
    signer = bytes.fromhex(vector["signer_private_key_hex"]) if vector["signed"] else None
    plaintext = vector["plaintext_utf8"].encode()
    ours = encode_envelope(plaintext, signer=signer)
    theirs = bytes.fromhex(vector["decrypted_envelope_hex"])
    assert len(ours) == len(theirs)
    head = 2 + len(plaintext)
    assert ours[:head] == theirs[:head], "flags, size and payload agree; padding is random"
    if signer is not None:
        # Deterministic (RFC 6979) signatures: the same key over the same bytes agrees.
        assert decode_envelope(ours).signer == decode_envelope(theirs).signer


@pytest.mark.parametrize("size", [0, 1, 200, 253, 254, 255, 256, 300, 70_000])
@pytest.mark.parametrize("signed", [False, True])
def test_round_trips_pad_to_256(size: int, signed: bool) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    signer = SIGNER if signed else None
    envelope = encode_envelope(payload, signer=signer)
    assert len(envelope) % 256 == 0
    recipient = coincurve.PrivateKey()
    for result in (
        decrypt_symmetric(encrypt_symmetric(payload, KEY, signer=signer), KEY),
        decrypt_asymmetric(
            encrypt_asymmetric(payload, recipient.public_key.format(), signer=signer),
            recipient.secret,
        ),
    ):
        assert result.payload == payload
        expected = coincurve.PrivateKey(SIGNER).public_key.format(compressed=False)
        assert result.signer == (expected if signed else None)


def test_wrong_keys_and_tampering_are_typed_errors() -> None:
    sealed = encrypt_symmetric(b"secret", KEY)
    with pytest.raises(PayloadError):
        decrypt_symmetric(sealed, bytes(32))
    with pytest.raises(PayloadError):
        decrypt_symmetric(bytes([sealed[0] ^ 1]) + sealed[1:], KEY)
    recipient, other = coincurve.PrivateKey(), coincurve.PrivateKey()
    sealed = encrypt_asymmetric(b"secret", recipient.public_key.format())
    with pytest.raises(PayloadError):
        decrypt_asymmetric(sealed, other.secret)
    flipped = sealed[:100] + bytes([sealed[100] ^ 1]) + sealed[101:]
    with pytest.raises(PayloadError):
        decrypt_asymmetric(flipped, recipient.secret)
    with pytest.raises(LocalWakuError):
        encrypt_symmetric(b"x", b"short key")


def test_a_forged_signature_recovers_another_signer() -> None:
    envelope = bytearray(encode_envelope(b"from alice", signer=SIGNER))
    envelope[2] ^= 1  # the first payload byte
    alice = coincurve.PrivateKey(SIGNER).public_key.format(compressed=False)
    with contextlib.suppress(PayloadError):
        assert decode_envelope(bytes(envelope)).signer != alice


@given(st.binary(max_size=1024))
def test_decoders_raise_only_payload_error(data: bytes) -> None:
    for decode in (
        decode_envelope,
        lambda d: decrypt_symmetric(d, KEY),
        lambda d: decrypt_asymmetric(d, SIGNER),
    ):
        with contextlib.suppress(PayloadError):
            decode(data)
