"""The multi-device 1:1 encryption protocol between accounts and their installations."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat.encryption import (
    MAX_INSTALLATIONS,
    NO_INSTALLATION,
    EncryptionError,
    EncryptionService,
    NoBundle,
    NotForThisDevice,
    export_state,
    protocol_version,
    restore_state,
    shared_secret,
)
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.x3dh import BUNDLE_LIFETIME_NS

ALICE = coincurve.PrivateKey().secret
BOB = coincurve.PrivateKey().secret


def _wire(message: pb.ProtocolMessage) -> pb.ProtocolMessage:
    """What the other side parses: the message as bytes on the network."""
    return pb.ProtocolMessage.FromString(message.SerializeToString())


def _pair(*devices: EncryptionService) -> None:
    for device in devices:
        for other in devices:
            if other is not device:
                device.add_bundle(other.own_bundle())


def test_first_contact_reply_and_established_session() -> None:
    alice, bob = EncryptionService(ALICE, "alice-phone"), EncryptionService(BOB, "bob-phone")
    with pytest.raises(NoBundle):
        alice.encrypt(bob.public_key, b"hi")
    alice.add_bundle(_wire_bundle(bob))
    first = _wire(alice.encrypt(bob.public_key, b"hi bob"))
    assert first.direct_message["bob-phone"].HasField("X3DH_header")
    assert bob.decrypt(alice.public_key, first) == b"hi bob"
    assert alice.decrypt(bob.public_key, _wire(bob.encrypt(alice.public_key, b"hi alice"))) == (
        b"hi alice"
    )
    later = _wire(alice.encrypt(bob.public_key, b"again"))
    assert not later.direct_message["bob-phone"].HasField("X3DH_header"), "answered: no X3DH"
    assert bob.decrypt(alice.public_key, later) == b"again"


def _wire_bundle(device: EncryptionService) -> pb.Bundle:
    return pb.Bundle.FromString(device.own_bundle().SerializeToString())


def test_every_device_sees_both_sides() -> None:
    phone, desktop = (
        EncryptionService(ALICE, "alice-phone"),
        EncryptionService(ALICE, "alice-desktop"),
    )
    bob = EncryptionService(BOB, "bob-phone")
    _pair(phone, desktop)
    for device in (phone, desktop):
        bob.add_bundle(device.own_bundle())
    phone.add_bundle(bob.own_bundle())
    sent = _wire(phone.encrypt(bob.public_key, b"from alice's phone"))
    assert set(sent.direct_message) == {"bob-phone", "alice-desktop"}
    assert bob.decrypt(phone.public_key, sent) == b"from alice's phone"
    assert desktop.decrypt(phone.public_key, sent) == b"from alice's phone", "own sent message"
    reply = _wire(bob.encrypt(phone.public_key, b"to every alice"))
    assert set(reply.direct_message) == {"alice-phone", "alice-desktop"}
    assert phone.decrypt(bob.public_key, reply) == b"to every alice"
    assert desktop.decrypt(bob.public_key, reply) == b"to every alice"
    with pytest.raises(NotForThisDevice):
        EncryptionService(BOB, "bob-tablet").decrypt(phone.public_key, sent)


def test_at_most_three_installations_per_identity() -> None:
    bob = EncryptionService(BOB, "bob-phone")
    clock = [1_000]
    devices = []
    for index in range(MAX_INSTALLATIONS + 1):
        device = EncryptionService(ALICE, f"alice-{index}", clock=lambda: clock[0])
        clock[0] += 1
        bob.add_bundle(device.own_bundle())
        devices.append(device)
    assert set(bob.installations[devices[0].public_key]) == {"alice-1", "alice-2", "alice-3"}


def test_sessions_opened_at_once_converge() -> None:
    alice, bob = EncryptionService(ALICE, "alice-phone"), EncryptionService(BOB, "bob-phone")
    alice.add_bundle(bob.own_bundle())
    bob.add_bundle(alice.own_bundle())
    from_alice = _wire(alice.encrypt(bob.public_key, b"a1"))
    from_bob = _wire(bob.encrypt(alice.public_key, b"b1"))
    assert alice.decrypt(bob.public_key, from_bob) == b"b1"
    assert bob.decrypt(alice.public_key, from_alice) == b"a1"
    for index in range(3):
        assert bob.decrypt(alice.public_key, _wire(alice.encrypt(bob.public_key, b"a%d" % index)))
        assert alice.decrypt(bob.public_key, _wire(bob.encrypt(alice.public_key, b"b%d" % index)))


def test_pre_keys_rotate_daily_and_old_ones_still_open_sessions() -> None:
    now = [10**18]
    bob = EncryptionService(BOB, "bob-phone", clock=lambda: now[0])
    alice = EncryptionService(ALICE, "alice-phone")
    alice.add_bundle(bob.own_bundle())
    first_pre_key = bob.current_pre_key.public_key
    now[0] += BUNDLE_LIFETIME_NS + 1
    assert bob.own_bundle().signed_pre_keys["bob-phone"].signed_pre_key != first_pre_key
    late = _wire(alice.encrypt(bob.public_key, b"sent to yesterday's bundle"))
    assert bob.decrypt(alice.public_key, late) == b"sent to yesterday's bundle"


def test_dh_header_without_a_bundle_then_the_negotiated_secret() -> None:
    """status-go's form for a stranger: installation ``none``, a DH header, AES-GCM under the
    ECDH of an ephemeral key and the identity key; the secret is agreed once each device of
    theirs sent an encrypted message at protocol version 1."""
    alice, bob = EncryptionService(ALICE, "alice-phone"), EncryptionService(BOB, "bob-phone")
    first = _wire(alice.encrypt_dh(bob.public_key, b"hello stranger"))
    entry = first.direct_message[NO_INSTALLATION]
    assert len(entry.DH_header.key) == 33 and len(first.direct_message) == 1
    assert bob.decrypt(alice.public_key, first) == b"hello stranger"
    assert list(bob.installations[alice.public_key]) == ["alice-phone"], "its bundle was read"
    # Bob heard from alice's only device at version 1: his answer goes on the negotiated topic.
    secret = shared_secret(BOB, alice.public_key)
    assert bob.negotiated(alice.public_key) == secret == shared_secret(ALICE, bob.public_key)
    assert alice.negotiated(bob.public_key) is None, "alice has not heard from bob yet"
    assert alice.decrypt(bob.public_key, _wire(bob.encrypt(alice.public_key, b"hi"))) == b"hi"
    assert alice.negotiated(bob.public_key) == secret
    assert [s for _, s in alice.secrets()] == [secret]
    tampered = _wire(alice.encrypt_dh(bob.public_key, b"x"))
    tampered.direct_message[NO_INSTALLATION].payload = b"\x00" * 40
    with pytest.raises(EncryptionError):
        bob.decrypt(alice.public_key, tampered)
    restored = restore_state(BOB, export_state(bob))
    assert restored.negotiated(alice.public_key) == secret, "agreement survives a restart"


def test_an_old_device_without_negotiation_keeps_the_partitioned_topic() -> None:
    alice, bob = EncryptionService(ALICE, "alice-phone"), EncryptionService(BOB, "bob-phone")
    message = _wire(alice.encrypt_dh(bob.public_key, b"x"))
    for bundle in message.bundles:
        for entry in bundle.signed_pre_keys.values():
            entry.protocol_version = 0
    assert protocol_version(message) == 0
    bob.add_bundle(alice.own_bundle())  # the device is known, with a valid bundle
    assert bob.decrypt(alice.public_key, message) == b"x"
    assert bob.negotiated(alice.public_key) is None, "a version 0 device never agrees"
    bob.decrypt(alice.public_key, _wire(alice.encrypt_dh(bob.public_key, b"y")))
    assert bob.negotiated(alice.public_key) is not None, "and version 1 does"
