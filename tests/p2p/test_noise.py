"""Noise XX: the handshake between two sans-IO cores, its failure modes, and frame fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Ed25519PrivateKey, PrivateKey, Secp256k1PrivateKey
from pystatus.p2p.errors import DecodeError, HandshakeError, LocalProtocolError, P2PError
from pystatus.p2p.noise import NoiseHandshake, NoiseTransport
from pystatus.p2p.noise.transport import MAX_PLAINTEXT
from pystatus.p2p.peer_id import PeerId


def _run(initiator: NoiseHandshake, responder: NoiseHandshake, extra: bytes = b"") -> None:
    responder.receive_data(initiator.data_to_send())  # message 1
    initiator.receive_data(responder.data_to_send())  # message 2
    responder.receive_data(initiator.data_to_send() + extra)  # message 3 (+ early data)


def _pair(
    initiator_key: PrivateKey | None = None, responder_key: PrivateKey | None = None
) -> tuple[NoiseHandshake, NoiseHandshake]:
    initiator_key = initiator_key or Secp256k1PrivateKey.generate()
    responder_key = responder_key or Ed25519PrivateKey.generate()
    initiator = NoiseHandshake(identity=initiator_key, initiator=True)
    responder = NoiseHandshake(identity=responder_key, initiator=False)
    return initiator, responder


def _transports() -> tuple[NoiseTransport, NoiseTransport]:
    initiator, responder = _pair()
    _run(initiator, responder)
    return initiator.into_transport(), responder.into_transport()


@pytest.mark.parametrize("key_type", [Secp256k1PrivateKey, Ed25519PrivateKey])
def test_handshake_authenticates_both_identities(key_type: type[PrivateKey]) -> None:
    initiator_key = key_type.generate()  # type: ignore[attr-defined]
    responder_key = key_type.generate()  # type: ignore[attr-defined]
    initiator = NoiseHandshake(
        identity=initiator_key,
        initiator=True,
        expected_peer=PeerId.from_public_key(responder_key.public_key),
    )
    responder = NoiseHandshake(identity=responder_key, initiator=False)
    _run(initiator, responder)
    assert initiator.complete and responder.complete
    assert initiator.remote_peer_id == PeerId.from_public_key(responder_key.public_key)
    assert responder.remote_peer_id == PeerId.from_public_key(initiator_key.public_key)
    assert responder.remote_public_key == initiator_key.public_key


def test_transport_round_trip_both_directions() -> None:
    a, b = _transports()
    assert b.receive_data(a.encrypt(b"hello")) == [b"hello"]
    assert a.receive_data(b.encrypt(b"world")) == [b"world"]


def test_large_plaintext_is_split_into_frames() -> None:
    a, b = _transports()
    data = bytes(range(256)) * 1000
    frames = b.receive_data(a.encrypt(data))
    assert len(frames) == -(-len(data) // MAX_PLAINTEXT)
    assert b"".join(frames) == data


def test_frames_reassemble_from_single_bytes() -> None:
    a, b = _transports()
    wire = a.encrypt(b"one") + a.encrypt(b"two")
    got: list[bytes] = []
    for i in range(len(wire)):
        got += b.receive_data(wire[i : i + 1])
    assert got == [b"one", b"two"]


def test_data_after_message_3_is_kept_as_pending_plaintext() -> None:
    initiator, responder = _pair()
    responder.receive_data(initiator.data_to_send())
    initiator.receive_data(responder.data_to_send())
    transport = initiator.into_transport()
    responder.receive_data(initiator.data_to_send() + transport.encrypt(b"early"))
    assert responder.into_transport().pending_plaintext() == [b"early"]


def test_expected_peer_mismatch_fails() -> None:
    stranger = PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)
    initiator = NoiseHandshake(
        identity=Secp256k1PrivateKey.generate(), initiator=True, expected_peer=stranger
    )
    responder = NoiseHandshake(identity=Secp256k1PrivateKey.generate(), initiator=False)
    responder.receive_data(initiator.data_to_send())
    with pytest.raises(HandshakeError, match="proved to be"):
        initiator.receive_data(responder.data_to_send())


def test_signature_over_another_static_key_is_rejected() -> None:
    """A peer that signs a static key other than the one it uses is refused."""
    initiator, responder = _pair()
    # The responder signs for one static key but the handshake runs with another.
    honest_payload = responder._payload()
    responder._static = X25519PrivateKey.generate()
    responder._payload = lambda: honest_payload  # type: ignore[method-assign]
    responder.receive_data(initiator.data_to_send())
    with pytest.raises(HandshakeError, match="signature"):
        initiator.receive_data(responder.data_to_send())


def test_tampered_message_2_is_rejected() -> None:
    initiator, responder = _pair()
    responder.receive_data(initiator.data_to_send())
    message = bytearray(responder.data_to_send())
    message[-1] ^= 1
    with pytest.raises(HandshakeError):
        initiator.receive_data(bytes(message))


def test_tampered_transport_frame_is_rejected() -> None:
    a, b = _transports()
    frame = bytearray(a.encrypt(b"payload"))
    frame[5] ^= 0xFF
    with pytest.raises(DecodeError):
        b.receive_data(bytes(frame))


def test_transport_before_completion_is_a_local_error() -> None:
    initiator, _ = _pair()
    with pytest.raises(LocalProtocolError):
        initiator.into_transport()
    with pytest.raises(LocalProtocolError):
        _ = initiator.remote_peer_id


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_responder_message_1(data: bytes) -> None:
    responder = NoiseHandshake(identity=Secp256k1PrivateKey.generate(), initiator=False)
    with contextlib.suppress(P2PError):
        responder.receive_data(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_initiator_message_2(data: bytes) -> None:
    initiator = NoiseHandshake(identity=Secp256k1PrivateKey.generate(), initiator=True)
    initiator.data_to_send()
    with contextlib.suppress(P2PError):
        initiator.receive_data(len(data).to_bytes(2, "big") + data)
    assert not initiator.complete


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_transport_frames(data: bytes) -> None:
    _, b = _transports()
    with contextlib.suppress(DecodeError):
        b.receive_data(data)
