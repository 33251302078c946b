"""libp2p identity keys (libp2p/specs peer-ids/peer-ids.md): secp256k1 and Ed25519.

secp256k1 signatures are DER-encoded ECDSA over SHA-256 with low S, as go- and js-libp2p make
and accept them; Ed25519 signatures are plain RFC 8032. The protobuf form is written by hand
(field 1 then field 2) because the spec demands a deterministic encoding.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from enum import IntEnum

import coincurve
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey as _Ed25519Private,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey as _Ed25519Public,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from google.protobuf.message import DecodeError as ProtobufDecodeError

from pystatus.errors import ConfigError
from pystatus.p2p.errors import DecodeError
from pystatus.p2p.proto import crypto_pb2
from pystatus.p2p.varint import encode_uvarint


class KeyType(IntEnum):
    RSA = 0
    Ed25519 = 1
    Secp256k1 = 2
    ECDSA = 3


def _encode_key(key_type: KeyType, data: bytes) -> bytes:
    return b"\x08" + encode_uvarint(int(key_type)) + b"\x12" + encode_uvarint(len(data)) + data


class PublicKey(ABC):
    key_type: KeyType

    @abstractmethod
    def to_bytes(self) -> bytes: ...

    @abstractmethod
    def verify(self, data: bytes, signature: bytes) -> bool: ...

    def to_protobuf(self) -> bytes:
        return _encode_key(self.key_type, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PublicKey)
            and other.key_type == self.key_type
            and other.to_bytes() == self.to_bytes()
        )

    def __hash__(self) -> int:
        return hash((self.key_type, self.to_bytes()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_bytes().hex()}>"


class PrivateKey(ABC):
    key_type: KeyType

    @property
    @abstractmethod
    def public_key(self) -> PublicKey: ...

    @abstractmethod
    def sign(self, data: bytes) -> bytes: ...

    @abstractmethod
    def to_bytes(self) -> bytes: ...

    def to_protobuf(self) -> bytes:
        return _encode_key(self.key_type, self.to_bytes())

    def __repr__(self) -> str:
        # Never the secret: only which public key it belongs to.
        return f"<{type(self).__name__} for {self.public_key.to_bytes().hex()}>"


class Secp256k1PublicKey(PublicKey):
    key_type = KeyType.Secp256k1

    def __init__(self, key: coincurve.PublicKey) -> None:
        self._key = key
        self._compressed = key.format(compressed=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> Secp256k1PublicKey:
        try:
            return cls(coincurve.PublicKey(data))
        except (ValueError, TypeError) as exc:
            raise DecodeError("invalid secp256k1 public key") from exc

    def to_bytes(self) -> bytes:
        return self._compressed

    def uncompressed(self) -> bytes:
        return bytes(self._key.format(compressed=False))

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            return bool(self._key.verify(signature, hashlib.sha256(data).digest(), hasher=None))
        except (ValueError, TypeError):
            return False


class Secp256k1PrivateKey(PrivateKey):
    key_type = KeyType.Secp256k1

    def __init__(self, key: coincurve.PrivateKey) -> None:
        self._key = key
        self._public = Secp256k1PublicKey(key.public_key)

    @classmethod
    def generate(cls) -> Secp256k1PrivateKey:
        return cls(coincurve.PrivateKey())

    @classmethod
    def from_bytes(cls, secret: bytes) -> Secp256k1PrivateKey:
        if len(secret) != 32:
            raise DecodeError("a secp256k1 secret is 32 bytes")
        try:
            return cls(coincurve.PrivateKey(secret))
        except (ValueError, TypeError) as exc:
            raise DecodeError("secret is not a valid secp256k1 scalar") from exc

    @classmethod
    def from_hex(cls, text: str) -> Secp256k1PrivateKey:
        try:
            return cls.from_bytes(bytes.fromhex(text.removeprefix("0x")))
        except ValueError as exc:
            raise DecodeError("not hex") from exc

    @property
    def public_key(self) -> Secp256k1PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return bytes(self._key.sign(hashlib.sha256(data).digest(), hasher=None))

    def sign_recoverable(self, digest: bytes) -> bytes:
        """65-byte r || s || v over a 32-byte digest (ENR, payload signatures)."""
        return bytes(self._key.sign_recoverable(digest, hasher=None))

    def ecdh(self, public_key: bytes) -> bytes:
        """The raw x coordinate of the shared point (not hashed)."""
        point = coincurve.PublicKey(public_key).multiply(self._key.secret)
        return bytes(point.format(compressed=True)[1:])

    def to_bytes(self) -> bytes:
        return bytes(self._key.secret)


class Ed25519PublicKey(PublicKey):
    key_type = KeyType.Ed25519

    def __init__(self, key: _Ed25519Public) -> None:
        self._key = key
        self._raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> Ed25519PublicKey:
        if len(data) != 32:
            raise DecodeError("an Ed25519 public key is 32 bytes")
        try:
            return cls(_Ed25519Public.from_public_bytes(data))
        except ValueError as exc:
            raise DecodeError("invalid Ed25519 public key") from exc

    def to_bytes(self) -> bytes:
        return self._raw

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class Ed25519PrivateKey(PrivateKey):
    key_type = KeyType.Ed25519

    def __init__(self, key: _Ed25519Private) -> None:
        self._key = key
        self._public = Ed25519PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> Ed25519PrivateKey:
        return cls(_Ed25519Private.generate())

    @classmethod
    def from_bytes(cls, seed: bytes) -> Ed25519PrivateKey:
        # libp2p's protobuf form is seed || public key (64 bytes); a bare seed is 32.
        if len(seed) == 64:
            seed = seed[:32]
        if len(seed) != 32:
            raise DecodeError("an Ed25519 seed is 32 bytes")
        return cls(_Ed25519Private.from_private_bytes(seed))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def to_bytes(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def to_protobuf(self) -> bytes:
        return _encode_key(self.key_type, self.to_bytes() + self._public.to_bytes())


def _parse(message: crypto_pb2.PublicKey | crypto_pb2.PrivateKey, data: bytes) -> None:
    try:
        message.ParseFromString(data)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"malformed key protobuf: {exc}") from exc


def public_key_from_protobuf(data: bytes) -> PublicKey:
    message = crypto_pb2.PublicKey()
    _parse(message, data)
    if int(message.Type) == KeyType.Secp256k1:
        return Secp256k1PublicKey.from_bytes(message.Data)
    if int(message.Type) == KeyType.Ed25519:
        return Ed25519PublicKey.from_bytes(message.Data)
    raise DecodeError(f"unsupported key type {message.Type}")


def private_key_from_protobuf(data: bytes) -> PrivateKey:
    message = crypto_pb2.PrivateKey()
    _parse(message, data)
    if int(message.Type) == KeyType.Secp256k1:
        return Secp256k1PrivateKey.from_bytes(message.Data)
    if int(message.Type) == KeyType.Ed25519:
        return Ed25519PrivateKey.from_bytes(message.Data)
    raise DecodeError(f"unsupported key type {message.Type}")


_NODEKEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")


def load_nodekey(hex_text: str) -> Secp256k1PrivateKey:
    """nwaku's ``--nodekey``: a secp256k1 secret as 64 hex characters."""
    text = hex_text.strip()
    if not _NODEKEY.fullmatch(text):
        raise ConfigError("--nodekey must be 64 hexadecimal characters (a secp256k1 secret)")
    try:
        return Secp256k1PrivateKey.from_hex(text)
    except DecodeError as exc:
        raise ConfigError("--nodekey is not a valid secp256k1 secret") from exc
