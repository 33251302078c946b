"""The Noise framework's CipherState and SymmetricState for 25519/ChaChaPoly/SHA256."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from pystatus.p2p.errors import DecodeError

HASH_LEN = 32
TAG_LEN = 16
MAX_NONCE = 2**64 - 1


def _hkdf(chaining_key: bytes, ikm: bytes) -> tuple[bytes, bytes]:
    temp_key = hmac.digest(chaining_key, ikm, "sha256")
    out1 = hmac.digest(temp_key, b"\x01", "sha256")
    out2 = hmac.digest(temp_key, out1 + b"\x02", "sha256")
    return out1, out2


class CipherState:
    """A key and a counter nonce; with no key, messages pass through unencrypted."""

    __slots__ = ("_aead", "_nonce")

    def __init__(self, key: bytes | None = None) -> None:
        self._aead = ChaCha20Poly1305(key) if key is not None else None
        self._nonce = 0

    @property
    def has_key(self) -> bool:
        return self._aead is not None

    def _next_nonce(self) -> bytes:
        if self._nonce >= MAX_NONCE:
            # Nonce reuse would void ChaChaPoly's guarantees; the connection must end.
            raise DecodeError("noise nonce space exhausted")
        nonce = b"\x00\x00\x00\x00" + self._nonce.to_bytes(8, "little")
        self._nonce += 1
        return nonce

    def encrypt(self, associated_data: bytes, plaintext: bytes) -> bytes:
        if self._aead is None:
            return plaintext
        return self._aead.encrypt(self._next_nonce(), plaintext, associated_data)

    def decrypt(self, associated_data: bytes, ciphertext: bytes) -> bytes:
        if self._aead is None:
            return ciphertext
        try:
            return self._aead.decrypt(self._next_nonce(), ciphertext, associated_data)
        except InvalidTag:
            raise DecodeError("noise message failed authentication") from None


class SymmetricState:
    __slots__ = ("_chaining_key", "_cipher", "handshake_hash")

    def __init__(self, protocol_name: bytes) -> None:
        if len(protocol_name) <= HASH_LEN:
            digest = protocol_name.ljust(HASH_LEN, b"\x00")
        else:
            digest = hashlib.sha256(protocol_name).digest()
        self.handshake_hash = digest
        self._chaining_key = digest
        self._cipher = CipherState()

    def mix_hash(self, data: bytes) -> None:
        self.handshake_hash = hashlib.sha256(self.handshake_hash + data).digest()

    def mix_key(self, input_key_material: bytes) -> None:
        self._chaining_key, temp_key = _hkdf(self._chaining_key, input_key_material)
        self._cipher = CipherState(temp_key)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self._cipher.encrypt(self.handshake_hash, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = self._cipher.decrypt(self.handshake_hash, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    @property
    def has_key(self) -> bool:
        return self._cipher.has_key

    def split(self) -> tuple[CipherState, CipherState]:
        first, second = _hkdf(self._chaining_key, b"")
        return CipherState(first), CipherState(second)
