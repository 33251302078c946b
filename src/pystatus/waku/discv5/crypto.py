"""The "v4" identity scheme's cryptography for discv5 (discv5-theory.md, "Handshake Steps" and
"Identity-Specific Cryptography in the Handshake"; discv5-wire.md "Notation").

Pure functions over bytes: node ids, ECDH (33-byte compressed point, not the x coordinate
alone), session key derivation with HKDF-SHA256, the id-signature, AES-GCM for messages and
AES-CTR for header masking. Errors of the libraries are translated to :class:`PacketError`.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import coincurve
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pystatus.waku.discv5.errors import PacketError
from pystatus.waku.enr import Enr, keccak256

KDF_INFO_PREFIX = b"discovery v5 key agreement"
ID_SIGNATURE_TEXT = b"discovery v5 identity proof"


# Ids are asked for again and again (every record of every NODES answer): remember them, bounded.
@lru_cache(maxsize=8192)
def node_id_of_key(public_key: bytes) -> bytes:
    """The 32-byte v4 node id: keccak256 of the 64-byte uncompressed key (x || y).

    ``public_key`` is a compressed (33) or uncompressed (65) secp256k1 key; raises
    :class:`PacketError` (``record``) when it is not a point on the curve.
    """
    try:
        point = coincurve.PublicKey(public_key).format(compressed=False)
    except (ValueError, TypeError):
        raise PacketError("record", "invalid secp256k1 public key") from None
    return keccak256(point[1:])


def node_id(record: Enr) -> bytes:
    """The node id of a v4 record (its ``secp256k1`` field); :class:`PacketError` if absent."""
    raw = record.get("secp256k1")
    if raw is None:
        raise PacketError("record", "record lacks its secp256k1 key")
    return node_id_of_key(raw)


def log_distance(a: bytes, b: bytes) -> int:
    """log2 of the XOR distance of two 32-byte ids, 0 for equal ids, else 1..256."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length()


def ecdh(public_key: bytes, secret: bytes) -> bytes:
    """33 bytes: the compressed shared point ``y-parity || x`` (discv5-theory.md)."""
    try:
        point = coincurve.PublicKey(public_key).multiply(secret)
    except (ValueError, TypeError):
        raise PacketError("authdata", "invalid ephemeral or static public key") from None
    return bytes(point.format(compressed=True))


def derive_keys(
    secret: bytes, initiator_id: bytes, recipient_id: bytes, challenge_data: bytes
) -> tuple[bytes, bytes]:
    """(initiator-key, recipient-key), 16 bytes each, from the ECDH ``secret``.

    HKDF-SHA256 with salt = challenge-data and info = "discovery v5 key agreement" ||
    node-id-A || node-id-B, 32 bytes of output split in two.
    """
    key_data = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=challenge_data,
        info=KDF_INFO_PREFIX + initiator_id + recipient_id,
    ).derive(secret)
    return key_data[:16], key_data[16:]


def _id_signature_digest(challenge_data: bytes, ephemeral_pubkey: bytes, dest_id: bytes) -> bytes:
    return hashlib.sha256(ID_SIGNATURE_TEXT + challenge_data + ephemeral_pubkey + dest_id).digest()


def id_sign(
    static_secret: bytes, challenge_data: bytes, ephemeral_pubkey: bytes, dest_id: bytes
) -> bytes:
    """The 64-byte ``r || s`` id-signature proving the initiator's identity key."""
    digest = _id_signature_digest(challenge_data, ephemeral_pubkey, dest_id)
    # A recoverable signature without its recovery byte is the plain r || s, low-s normalised.
    return bytes(coincurve.PrivateKey(static_secret).sign_recoverable(digest, hasher=None))[:64]


def id_verify(
    public_key: bytes,
    signature: bytes,
    challenge_data: bytes,
    ephemeral_pubkey: bytes,
    dest_id: bytes,
) -> bool:
    """Whether ``signature`` (64 bytes r || s) is the id-signature of ``public_key``."""
    if len(signature) != 64:
        return False
    digest = _id_signature_digest(challenge_data, ephemeral_pubkey, dest_id)
    try:
        der = cdata_to_der(deserialize_compact(signature))
        return bool(coincurve.PublicKey(public_key).verify(der, digest, hasher=None))
    except (ValueError, TypeError):
        return False


def aes_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """AES-128-GCM: ciphertext with its 16-byte tag appended."""
    return AESGCM(key).encrypt(nonce, plaintext, ad)


def aes_gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    """Inverse of :func:`aes_gcm_encrypt`; :class:`PacketError` (``decrypt``) on a bad tag."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, ad)
    except (InvalidTag, ValueError):
        raise PacketError("decrypt", "message does not authenticate") from None


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CTR, its own inverse: masks and unmasks packet headers."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()
