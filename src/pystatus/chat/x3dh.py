"""X3DH as status-go runs it: signed pre-key bundles per installation and the shared secret.

A bundle lists, per installation id, a compressed signed pre-key and its version; the
identity key signs keccak256 of the installation ids in sorted order, each followed by its
pre-key and version in decimal, then the bundle's timestamp in decimal when it is not zero.
The shared secret is keccak256(DH1 || DH2 || DH3) with DH the x coordinate of secp256k1 ECDH:
DH1 = ECDH(initiator identity, signed pre-key), DH2 = ECDH(ephemeral, responder identity),
DH3 = ECDH(ephemeral, signed pre-key). There are no one-time pre-keys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import coincurve

from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import dh
from pystatus.errors import ChatError
from pystatus.waku.enr import keccak256
from pystatus.waku.errors import DecodeError
from pystatus.waku.wire import parse

PROTOCOL_VERSION = 1
BUNDLE_LIFETIME_NS = 24 * 3600 * 10**9  # status-go refreshes bundles daily


class InvalidBundle(ChatError):
    """A bundle does not decode, or its signature is not its identity key's."""


def _signature_material(bundle: pb.Bundle) -> bytes:
    material = b""
    for installation_id in sorted(bundle.signed_pre_keys):
        pre_key = bundle.signed_pre_keys[installation_id]
        material += (
            installation_id.encode() + pre_key.signed_pre_key + str(pre_key.version).encode()
        )
    if bundle.timestamp:
        material += str(bundle.timestamp).encode()
    return material


@dataclass(frozen=True, slots=True, repr=False)
class SignedPreKeyPair:
    """This installation's signed pre-key: the private half never leaves the device."""

    private_key: bytes
    version: int = 0

    @property
    def public_key(self) -> bytes:
        return bytes(coincurve.PrivateKey(self.private_key).public_key.format(compressed=True))

    @classmethod
    def generate(cls, version: int = 0) -> SignedPreKeyPair:
        return cls(coincurve.PrivateKey().secret, version)


def build_bundle(
    identity: bytes,
    pre_keys: dict[str, SignedPreKeyPair] | dict[str, tuple[bytes, int]],
    *,
    timestamp_ns: int | None = None,
) -> pb.Bundle:
    """A bundle of ``pre_keys`` (installation id -> our pair, or a paired device's public
    pre-key and version), signed by chat key ``identity``."""
    bundle = pb.Bundle(
        identity=coincurve.PrivateKey(identity).public_key.format(compressed=True),
        timestamp=time.time_ns() if timestamp_ns is None else timestamp_ns,
    )
    for installation_id, pre_key in pre_keys.items():
        public, version = (
            (pre_key.public_key, pre_key.version)
            if isinstance(pre_key, SignedPreKeyPair)
            else pre_key
        )
        entry = bundle.signed_pre_keys[installation_id]
        entry.signed_pre_key = public
        entry.version = version
        entry.protocol_version = PROTOCOL_VERSION
    bundle.signature = coincurve.PrivateKey(identity).sign_recoverable(
        keccak256(_signature_material(bundle)), hasher=None
    )
    return bundle


def verify_bundle(bundle: pb.Bundle) -> bytes:
    """The bundle's identity public key (uncompressed), if the signature is that key's."""
    try:
        identity = coincurve.PublicKey(bundle.identity).format(compressed=False)
        signer = coincurve.PublicKey.from_signature_and_message(
            bundle.signature, keccak256(_signature_material(bundle)), hasher=None
        ).format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise InvalidBundle(f"bundle does not verify: {exc}") from None
    if signer != identity:
        raise InvalidBundle("bundle is not signed by its identity key")
    for installation_id, pre_key in bundle.signed_pre_keys.items():
        try:
            coincurve.PublicKey(pre_key.signed_pre_key)
        except (ValueError, TypeError):
            raise InvalidBundle(f"installation {installation_id!r} has no valid pre-key") from None
    return bytes(identity)


def decode_bundle(data: bytes) -> pb.Bundle:
    try:
        bundle = parse(pb.Bundle(), data, "X3DH bundle")
    except DecodeError as exc:
        raise InvalidBundle(str(exc)) from None
    verify_bundle(bundle)
    return bundle


def _shared(dh1: bytes, dh2: bytes, dh3: bytes) -> bytes:
    return keccak256(dh1 + dh2 + dh3)


def initiate(
    my_identity: bytes, their_identity: bytes, their_signed_pre_key: bytes
) -> tuple[bytes, bytes]:
    """(shared secret, compressed ephemeral public key to send in the X3DH header)."""
    ephemeral = coincurve.PrivateKey()
    secret = _shared(
        dh(my_identity, their_signed_pre_key),
        dh(ephemeral.secret, their_identity),
        dh(ephemeral.secret, their_signed_pre_key),
    )
    return secret, bytes(ephemeral.public_key.format(compressed=True))


def respond(
    my_identity: bytes, my_signed_pre_key: bytes, their_identity: bytes, their_ephemeral: bytes
) -> bytes:
    """The shared secret the initiator computed, from our side."""
    return _shared(
        dh(my_signed_pre_key, their_identity),
        dh(my_identity, their_ephemeral),
        dh(my_signed_pre_key, their_ephemeral),
    )
