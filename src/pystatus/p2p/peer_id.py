"""libp2p peer ids (libp2p/specs peer-ids/peer-ids.md): a multihash of the public key.

Keys whose protobuf form is at most 42 bytes (Ed25519, secp256k1) are inlined with the
identity multihash, so the key can be read back from the id; longer ones are sha2-256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import base58

from pystatus.p2p.crypto.keys import PublicKey, public_key_from_protobuf
from pystatus.p2p.errors import DecodeError
from pystatus.p2p.varint import decode_uvarint, encode_uvarint

_IDENTITY = 0x00
_SHA256 = 0x12
_LIBP2P_KEY_CODEC = 0x72
_MAX_INLINE = 42
_MAX_ID_BYTES = 128


@dataclass(frozen=True, order=True, slots=True)
class PeerId:
    _bytes: bytes

    @classmethod
    def from_public_key(cls, key: PublicKey) -> PeerId:
        encoded = key.to_protobuf()
        if len(encoded) <= _MAX_INLINE:
            return cls(bytes([_IDENTITY]) + encode_uvarint(len(encoded)) + encoded)
        return cls(bytes([_SHA256, 32]) + hashlib.sha256(encoded).digest())

    @classmethod
    def from_bytes(cls, multihash: bytes) -> PeerId:
        if len(multihash) > _MAX_ID_BYTES:
            raise DecodeError("peer id too long")
        code = decode_uvarint(multihash)
        if code is None:
            raise DecodeError("peer id is not a multihash")
        length = decode_uvarint(multihash, code[1])
        if length is None or length[1] + length[0] != len(multihash):
            raise DecodeError("peer id multihash length does not match")
        if code[0] == _SHA256:
            if length[0] != 32:
                raise DecodeError("sha2-256 peer id must hold 32 bytes")
        elif code[0] == _IDENTITY:
            if length[0] > _MAX_INLINE:
                raise DecodeError("identity peer id too long")
            public_key_from_protobuf(multihash[length[1] :])
        else:
            raise DecodeError(f"peer id uses multihash code {code[0]}")
        return cls(bytes(multihash))

    @classmethod
    def from_string(cls, text: str) -> PeerId:
        try:
            if text.startswith(("Qm", "1")):
                return cls.from_bytes(bytes(base58.b58decode(text)))
            if text.startswith("b"):
                body = text[1:].upper()
                raw = base64.b32decode(body + "=" * (-len(body) % 8))
                version = decode_uvarint(raw)
                if version is None or version[0] != 1:
                    raise DecodeError("not a CIDv1")
                codec = decode_uvarint(raw, version[1])
                if codec is None or codec[0] != _LIBP2P_KEY_CODEC:
                    raise DecodeError("CID is not a libp2p-key")
                return cls.from_bytes(raw[codec[1] :])
        except ValueError as exc:
            raise DecodeError(f"bad peer id {text!r}") from exc
        raise DecodeError(f"bad peer id {text!r}")

    def to_bytes(self) -> bytes:
        return self._bytes

    def to_base58(self) -> str:
        return base58.b58encode(self._bytes).decode()

    def to_cid_string(self) -> str:
        raw = encode_uvarint(1) + encode_uvarint(_LIBP2P_KEY_CODEC) + self._bytes
        return "b" + base64.b32encode(raw).decode().lower().rstrip("=")

    def __str__(self) -> str:
        return self.to_base58()

    def __repr__(self) -> str:
        return f"PeerId({self.to_base58()})"

    def extract_public_key(self) -> PublicKey | None:
        if self._bytes[0] != _IDENTITY:
            return None
        length = decode_uvarint(self._bytes, 1)
        if length is None:
            return None
        return public_key_from_protobuf(self._bytes[length[1] :])

    def matches(self, key: PublicKey) -> bool:
        return PeerId.from_public_key(key) == self
