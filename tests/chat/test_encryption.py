"""The multi-device 1:1 encryption protocol between accounts and their installations."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat.encryption import (
    MAX_INSTALLATIONS,
    EncryptionService,
    NoBundle,
    NotForThisDevice,
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
