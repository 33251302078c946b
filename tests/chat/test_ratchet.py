"""X3DH bundles and the Double Ratchet: a session end to end, out of order, forward secrecy,
replays and tampering, the skipped-key bounds, and the decoders under fuzzing."""

from __future__ import annotations

import contextlib
import random

import coincurve
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.chat import x3dh
from pystatus.chat.ratchet import (
    MAX_SKIP,
    Header,
    RatchetError,
    RatchetState,
    TooManySkipped,
    UndecryptableMessage,
    kdf_chain,
    kdf_root,
    open_sealed,
    seal,
)
from pystatus.chat.x3dh import InvalidBundle, SignedPreKeyPair

ALICE = coincurve.PrivateKey()
BOB = coincurve.PrivateKey()


def _session() -> tuple[RatchetState, RatchetState]:
    """Alice starts a session from Bob's bundle, as status-go's X3DH does."""
    bob_pre_key = SignedPreKeyPair.generate()
    bundle = x3dh.decode_bundle(
        x3dh.build_bundle(BOB.secret, {"bob-phone": bob_pre_key}).SerializeToString()
    )
    signed = bundle.signed_pre_keys["bob-phone"].signed_pre_key
    secret, ephemeral = x3dh.initiate(ALICE.secret, bundle.identity, signed)
    bob_secret = x3dh.respond(
        BOB.secret, bob_pre_key.private_key, ALICE.public_key.format(), ephemeral
    )
    assert secret == bob_secret and len(secret) == 32
    return RatchetState.initiator(secret, signed), RatchetState.responder(
        bob_secret, bob_pre_key.private_key
    )


def test_a_conversation_both_ways() -> None:
    alice, bob = _session()
    with pytest.raises(RatchetError):
        bob.encrypt(b"too early")  # the responder hears first
    for round_ in range(5):
        for index in range(3):
            text = b"a%d.%d" % (round_, index)
            assert bob.decrypt(*alice.encrypt(text)) == text
        for index in range(2):
            text = b"b%d.%d" % (round_, index)
            assert alice.decrypt(*bob.encrypt(text)) == text


def test_out_of_order_and_lost_messages() -> None:
    alice, bob = _session()
    sent = [alice.encrypt(b"m%d" % i) for i in range(50)]
    order = list(range(50))
    random.Random(7).shuffle(order)
    for index in order[:40]:  # ten never arrive
        assert bob.decrypt(*sent[index]) == b"m%d" % index
    assert alice.decrypt(*bob.encrypt(b"reply")) == b"reply"
    for index in order[40:]:  # late ones still open after a ratchet step
        assert bob.decrypt(*sent[index]) == b"m%d" % index


def test_replays_and_tampering_are_refused_without_harm() -> None:
    alice, bob = _session()
    header, sealed = alice.encrypt(b"once")
    assert bob.decrypt(header, sealed) == b"once"
    with pytest.raises(UndecryptableMessage):
        bob.decrypt(header, sealed)
    header, sealed = alice.encrypt(b"intact")
    with pytest.raises(UndecryptableMessage):
        bob.decrypt(header, sealed[:-1] + bytes([sealed[-1] ^ 1]))
    with pytest.raises(UndecryptableMessage):
        bob.decrypt(Header(header.dh, header.n, header.pn + 1), sealed)  # header is authenticated
    assert bob.decrypt(header, sealed) == b"intact", "failed attempts left the state unchanged"


def test_too_many_skipped_messages_are_refused() -> None:
    alice, bob = _session()
    for _ in range(MAX_SKIP + 1):
        alice.encrypt(b"lost")
    header, sealed = alice.encrypt(b"far ahead")
    with pytest.raises(TooManySkipped):
        bob.decrypt(header, sealed)
    assert len(bob.skipped) == 0


def test_forward_secrecy_todays_state_cannot_read_yesterday() -> None:
    alice, bob = _session()
    yesterday = [alice.encrypt(b"yesterday %d" % i) for i in range(3)]
    for message in yesterday:
        bob.decrypt(*message)
    alice.decrypt(*bob.encrypt(b"ack"))
    bob.decrypt(*alice.encrypt(b"today"))
    leaked = bob.copy()  # an attacker copies Bob's whole session state today
    for message in yesterday:
        with pytest.raises(UndecryptableMessage):
            leaked.decrypt(*message)


def test_bundles_verify_and_forgeries_do_not() -> None:
    pre_keys = {"phone": SignedPreKeyPair.generate(), "desktop": SignedPreKeyPair.generate(1)}
    bundle = x3dh.build_bundle(ALICE.secret, pre_keys)
    assert x3dh.verify_bundle(bundle) == ALICE.public_key.format(compressed=False)
    forged = x3dh.build_bundle(ALICE.secret, pre_keys)
    forged.signed_pre_keys["phone"].signed_pre_key = SignedPreKeyPair.generate().public_key
    with pytest.raises(InvalidBundle):
        x3dh.verify_bundle(forged)
    impostor = x3dh.build_bundle(BOB.secret, pre_keys)
    impostor.identity = ALICE.public_key.format()
    with pytest.raises(InvalidBundle):
        x3dh.verify_bundle(impostor)


def test_kdfs_are_deterministic_and_distinct() -> None:
    root, chain = kdf_root(bytes(32), bytes(range(32)))
    assert kdf_root(bytes(32), bytes(range(32))) == (root, chain) and root != chain
    next_chain, message_key = kdf_chain(chain)
    assert next_chain != message_key != chain
    sealed = seal(message_key, b"hello", b"ad")
    assert len(sealed) == 16 + 5 + 32
    assert open_sealed(message_key, sealed, b"ad") == b"hello"
    with pytest.raises(UndecryptableMessage):
        open_sealed(message_key, sealed, b"other ad")


@given(st.binary(max_size=400))
def test_bundle_decoder_raises_only_invalid_bundle(data: bytes) -> None:
    with contextlib.suppress(InvalidBundle):
        x3dh.decode_bundle(data)


@given(st.binary(max_size=33), st.integers(0, 2**32 - 1), st.binary(max_size=200))
def test_decrypt_raises_only_ratchet_errors(dh: bytes, n: int, sealed: bytes) -> None:
    _, bob = SESSION
    with contextlib.suppress(RatchetError):
        bob.copy().decrypt(Header(dh, n, 0), sealed)


SESSION = _session()
