"""26/WAKU2-PAYLOAD: version 1 payload encryption, symmetric and asymmetric, optionally signed.

The plaintext envelope is ``flags || size || payload || padding || [signature]``: the low two
bits of ``flags`` give the byte length of ``size`` (little-endian), bit 2 says a signature
follows, and random padding brings everything before the signature plus the signature to a
multiple of 256 bytes. The signature is a recoverable secp256k1 signature (r, s, recovery id)
over keccak256 of the envelope before it.

Symmetric encryption is AES-256-GCM, sent as ``ciphertext || tag || iv``. Asymmetric is ECIES
as go-ethereum does it: an ephemeral key, ECDH, the NIST concat KDF over SHA-256, AES-128-CTR
and HMAC-SHA256, sent as ``ephemeral public key || iv || ciphertext || mac``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pystatus.waku.enr import keccak256
from pystatus.waku.errors import LocalWakuError, RemoteWakuError

PAYLOAD_VERSION = 1
PADDING_BLOCK = 256
SIGNATURE_SIZE = 65
SIGNED_FLAG = 0x04
SYMMETRIC_KEY_SIZE = 32
GCM_IV_SIZE = 12
GCM_TAG_SIZE = 16
PUBLIC_KEY_SIZE = 65
CTR_IV_SIZE = 16
MAC_SIZE = 32
MAX_PAYLOAD_SIZE = (1 << 24) - 1

RandomBytes = Callable[[int], bytes]


class PayloadError(RemoteWakuError):
    """An encrypted payload did not decrypt, or its envelope or signature is malformed."""


@dataclass(frozen=True, slots=True)
class DecryptedPayload:
    payload: bytes
    signature: bytes | None = None
    signer: bytes | None = None
    """The signer's uncompressed public key (65 bytes), recovered from the signature."""


def _size_field_length(size: int) -> int:
    return 1 if size < 1 << 8 else 2 if size < 1 << 16 else 3


def encode_envelope(
    payload: bytes, *, signer: bytes | None = None, random_bytes: RandomBytes = secrets.token_bytes
) -> bytes:
    """The plaintext envelope of ``payload``, signed with private key ``signer`` if given."""
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise LocalWakuError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_SIZE}")
    width = _size_field_length(len(payload))
    flags = width | (SIGNED_FLAG if signer is not None else 0)
    head = bytes([flags]) + len(payload).to_bytes(width, "little") + payload
    raw = len(head) + (SIGNATURE_SIZE if signer is not None else 0)
    envelope = head + random_bytes(PADDING_BLOCK - raw % PADDING_BLOCK)
    if signer is None:
        return envelope
    key = coincurve.PrivateKey(signer)
    return envelope + key.sign_recoverable(keccak256(envelope), hasher=None)


def decode_envelope(envelope: bytes) -> DecryptedPayload:
    """The payload (and signer) of a plaintext envelope; raises :class:`PayloadError`."""
    if not envelope:
        raise PayloadError("empty envelope")
    flags = envelope[0]
    width = flags & 0x03
    if width == 0:
        raise PayloadError("envelope flags give no payload size field")
    signed = bool(flags & SIGNED_FLAG)
    end_of_body = len(envelope) - (SIGNATURE_SIZE if signed else 0)
    if end_of_body < 1 + width:
        raise PayloadError("envelope too short for its flags")
    size = int.from_bytes(envelope[1 : 1 + width], "little")
    if 1 + width + size > end_of_body:
        raise PayloadError(f"envelope says {size} payload bytes but holds fewer")
    payload = envelope[1 + width : 1 + width + size]
    if not signed:
        return DecryptedPayload(payload)
    signature = envelope[end_of_body:]
    try:
        signer = coincurve.PublicKey.from_signature_and_message(
            signature, keccak256(envelope[:end_of_body]), hasher=None
        )
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"signature does not recover a key: {exc}") from None
    return DecryptedPayload(payload, signature, signer.format(compressed=False))


# -- symmetric ---------------------------------------------------------------------------------


def encrypt_symmetric(
    payload: bytes,
    key: bytes,
    *,
    signer: bytes | None = None,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> bytes:
    if len(key) != SYMMETRIC_KEY_SIZE:
        raise LocalWakuError("a symmetric key is 32 bytes")
    envelope = encode_envelope(payload, signer=signer, random_bytes=random_bytes)
    iv = random_bytes(GCM_IV_SIZE)
    return AESGCM(key).encrypt(iv, envelope, None) + iv


def decrypt_symmetric(data: bytes, key: bytes) -> DecryptedPayload:
    if len(key) != SYMMETRIC_KEY_SIZE:
        raise LocalWakuError("a symmetric key is 32 bytes")
    if len(data) < GCM_TAG_SIZE + GCM_IV_SIZE:
        raise PayloadError("symmetric payload shorter than its tag and iv")
    iv, sealed = data[-GCM_IV_SIZE:], data[:-GCM_IV_SIZE]
    try:
        envelope = AESGCM(key).decrypt(iv, sealed, None)
    except InvalidTag:
        raise PayloadError("symmetric payload does not decrypt with this key") from None
    return decode_envelope(envelope)


# -- asymmetric (ECIES) ------------------------------------------------------------------------


def _shared_keys(private_key: coincurve.PrivateKey, public_key: bytes) -> tuple[bytes, bytes]:
    """(AES-128 key, MAC key) from ECDH: the concat KDF of the shared point's x coordinate."""
    shared = coincurve.PublicKey(public_key).multiply(private_key.secret)
    secret_x = shared.format(compressed=False)[1:33]
    derived = hashlib.sha256(struct.pack(">I", 1) + secret_x).digest()
    return derived[:16], hashlib.sha256(derived[16:32]).digest()


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    context = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return context.update(data) + context.finalize()


def encrypt_asymmetric(
    payload: bytes,
    recipient: bytes,
    *,
    signer: bytes | None = None,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> bytes:
    """Encrypt for the holder of ``recipient`` (a secp256k1 public key, either form)."""
    try:
        recipient_key = coincurve.PublicKey(recipient)
    except (ValueError, TypeError) as exc:
        raise LocalWakuError(f"not a secp256k1 public key: {exc}") from None
    envelope = encode_envelope(payload, signer=signer, random_bytes=random_bytes)
    ephemeral = coincurve.PrivateKey(random_bytes(32))
    encryption_key, mac_key = _shared_keys(ephemeral, recipient_key.format(compressed=False))
    iv = random_bytes(CTR_IV_SIZE)
    ciphertext = _aes_ctr(encryption_key, iv, envelope)
    mac = hmac.new(mac_key, iv + ciphertext, hashlib.sha256).digest()
    return ephemeral.public_key.format(compressed=False) + iv + ciphertext + mac


def decrypt_asymmetric(data: bytes, private_key: bytes) -> DecryptedPayload:
    if len(data) < PUBLIC_KEY_SIZE + CTR_IV_SIZE + MAC_SIZE:
        raise PayloadError("asymmetric payload shorter than its key, iv and mac")
    ephemeral = data[:PUBLIC_KEY_SIZE]
    iv = data[PUBLIC_KEY_SIZE : PUBLIC_KEY_SIZE + CTR_IV_SIZE]
    ciphertext, mac = data[PUBLIC_KEY_SIZE + CTR_IV_SIZE : -MAC_SIZE], data[-MAC_SIZE:]
    try:
        encryption_key, mac_key = _shared_keys(coincurve.PrivateKey(private_key), ephemeral)
    except (ValueError, TypeError):
        raise PayloadError("asymmetric payload carries no valid ephemeral key") from None
    expected = hmac.new(mac_key, iv + ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise PayloadError("asymmetric payload is not for this key, or was altered")
    return decode_envelope(_aes_ctr(encryption_key, iv, ciphertext))
