"""discv5 v5.1 packets (discv5-wire.md, "Packet Encoding"): masked header, the three flags.

``packet = masking-iv || aesctr(dest-id[:16], masking-iv, header) || message``, where
``header = "discv5" || 0x0001 || flag || nonce(12) || authdata-size(2) || authdata``. The
message is AES-GCM sealed with ``ad = masking-iv || header`` (unmasked), so the encoders build
the header first, seal the message, then mask. Decoding validates every length and raises
:class:`PacketError` with a ``reason``; it never raises anything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pystatus.waku.discv5.crypto import aes_ctr, aes_gcm_decrypt, aes_gcm_encrypt
from pystatus.waku.discv5.errors import PacketError

PROTOCOL_ID = b"discv5"
# 33/WAKU2-DISCV5: Waku runs its own discv5 network, isolated from Ethereum's by this
# protocol-id (go-waku's waku/v2/discv5/discover.go; nwaku builds with the same).
WAKU_PROTOCOL_ID = b"d5waku"
VERSION = 1
MIN_PACKET_SIZE = 63
MAX_PACKET_SIZE = 1280
MASKING_IV_SIZE = 16
NONCE_SIZE = 12
STATIC_HEADER_SIZE = 23  # protocol-id 6, version 2, flag 1, nonce 12, authdata-size 2
GCM_TAG_SIZE = 16

FLAG_MESSAGE = 0
FLAG_WHOAREYOU = 1
FLAG_HANDSHAKE = 2

# The "v4" scheme's sizes in the handshake's authdata-head.
V4_SIGNATURE_SIZE = 64
V4_PUBKEY_SIZE = 33


@dataclass(frozen=True, slots=True)
class MessageAuth:
    """authdata of an ordinary message packet (flag 0): the sender's node id."""

    src_id: bytes


@dataclass(frozen=True, slots=True)
class WhoareyouAuth:
    """authdata of a WHOAREYOU (flag 1): a 16-byte id-nonce and the record seq we hold."""

    id_nonce: bytes
    enr_seq: int


@dataclass(frozen=True, slots=True)
class HandshakeAuth:
    """authdata of a handshake packet (flag 2); ``record`` is the raw ENR or ``None``."""

    src_id: bytes
    id_signature: bytes
    ephemeral_pubkey: bytes
    record: bytes | None


Authdata = MessageAuth | WhoareyouAuth | HandshakeAuth


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded datagram: its unmasked ``header`` (static header and authdata) and the sealed
    ``message`` (empty for WHOAREYOU). ``challenge_data``/``message_ad`` is iv || header."""

    masking_iv: bytes
    flag: int
    nonce: bytes
    auth: Authdata
    header: bytes
    message: bytes

    @property
    def message_ad(self) -> bytes:
        return self.masking_iv + self.header


def _header(flag: int, nonce: bytes, authdata: bytes, protocol_id: bytes) -> bytes:
    if len(nonce) != NONCE_SIZE or len(protocol_id) != 6:
        raise ValueError("a discv5 nonce is 12 bytes, a protocol-id 6")
    return (
        protocol_id + struct.pack(">HB", VERSION, flag) + nonce + struct.pack(">H", len(authdata))
    ) + authdata


def _mask(dest_id: bytes, masking_iv: bytes, header: bytes, message: bytes) -> bytes:
    return masking_iv + aes_ctr(dest_id[:16], masking_iv, header) + message


def encode_message(
    *,
    dest_id: bytes,
    src_id: bytes,
    masking_iv: bytes,
    nonce: bytes,
    key: bytes,
    plaintext: bytes,
    protocol_id: bytes = PROTOCOL_ID,
) -> bytes:
    """An ordinary message packet (flag 0) sealing ``plaintext`` (type || RLP) under ``key``."""
    header = _header(FLAG_MESSAGE, nonce, src_id, protocol_id)
    sealed = aes_gcm_encrypt(key, nonce, plaintext, masking_iv + header)
    return _mask(dest_id, masking_iv, header, sealed)


def encode_whoareyou(
    *,
    dest_id: bytes,
    masking_iv: bytes,
    nonce: bytes,
    id_nonce: bytes,
    enr_seq: int,
    protocol_id: bytes = PROTOCOL_ID,
) -> tuple[bytes, bytes]:
    """(packet, challenge-data) of a WHOAREYOU answering the packet whose nonce was ``nonce``."""
    header = _header(FLAG_WHOAREYOU, nonce, id_nonce + struct.pack(">Q", enr_seq), protocol_id)
    return _mask(dest_id, masking_iv, header, b""), masking_iv + header


def encode_handshake(
    *,
    dest_id: bytes,
    src_id: bytes,
    masking_iv: bytes,
    nonce: bytes,
    key: bytes,
    plaintext: bytes,
    id_signature: bytes,
    ephemeral_pubkey: bytes,
    record: bytes | None,
    protocol_id: bytes = PROTOCOL_ID,
) -> bytes:
    """A handshake message packet (flag 2); ``record`` is our ENR when the peer's is stale."""
    authdata = (
        src_id
        + bytes([len(id_signature), len(ephemeral_pubkey)])
        + id_signature
        + ephemeral_pubkey
        + (record or b"")
    )
    header = _header(FLAG_HANDSHAKE, nonce, authdata, protocol_id)
    sealed = aes_gcm_encrypt(key, nonce, plaintext, masking_iv + header)
    return _mask(dest_id, masking_iv, header, sealed)


def _parse_auth(flag: int, authdata: bytes) -> Authdata:
    if flag == FLAG_MESSAGE:
        if len(authdata) != 32:
            raise PacketError("authdata", "message authdata is 32 bytes")
        return MessageAuth(authdata)
    if flag == FLAG_WHOAREYOU:
        if len(authdata) != 24:
            raise PacketError("authdata", "WHOAREYOU authdata is 24 bytes")
        return WhoareyouAuth(authdata[:16], struct.unpack(">Q", authdata[16:])[0])
    if len(authdata) < 34:
        raise PacketError("authdata", "handshake authdata-head is 34 bytes")
    sig_size, key_size = authdata[32], authdata[33]
    if sig_size != V4_SIGNATURE_SIZE or key_size != V4_PUBKEY_SIZE:
        raise PacketError("authdata", "only the v4 scheme's signature and key sizes are known")
    end = 34 + sig_size + key_size
    if len(authdata) < end:
        raise PacketError("authdata", "handshake authdata shorter than its sizes")
    record = authdata[end:]
    return HandshakeAuth(
        authdata[:32], authdata[34 : 34 + sig_size], authdata[34 + sig_size : end], record or None
    )


def decode_packet(data: bytes, local_id: bytes, protocol_id: bytes = PROTOCOL_ID) -> Packet:
    """Unmask and parse a datagram addressed to ``local_id``; :class:`PacketError` if invalid
    (``protocol`` for another protocol-id: Ethereum's "discv5" and Waku's "d5waku" differ).

    The message stays sealed: which key opens it depends on the session.
    """
    if not MIN_PACKET_SIZE <= len(data) <= MAX_PACKET_SIZE:
        raise PacketError("size", f"{len(data)} bytes is outside 63..1280")
    masking_iv = data[:MASKING_IV_SIZE]
    key = local_id[:16]
    static = aes_ctr(key, masking_iv, data[MASKING_IV_SIZE : MASKING_IV_SIZE + STATIC_HEADER_SIZE])
    if static[:6] != protocol_id:
        raise PacketError("protocol", "not a discv5 packet for us")
    version, flag = struct.unpack_from(">HB", static, 6)
    if version != VERSION:
        raise PacketError("protocol", f"version {version}")
    if flag not in (FLAG_MESSAGE, FLAG_WHOAREYOU, FLAG_HANDSHAKE):
        raise PacketError("flag", f"unknown flag {flag}")
    nonce = static[9:21]
    (authdata_size,) = struct.unpack_from(">H", static, 21)
    header_end = MASKING_IV_SIZE + STATIC_HEADER_SIZE + authdata_size
    if header_end > len(data):
        raise PacketError("header", "authdata-size runs past the packet")
    # CTR is a stream: unmasking the whole header again from the start keeps the counter right.
    header = aes_ctr(key, masking_iv, data[MASKING_IV_SIZE:header_end])
    auth = _parse_auth(flag, header[STATIC_HEADER_SIZE:])
    message = data[header_end:]
    if flag == FLAG_WHOAREYOU and message:
        raise PacketError("header", "WHOAREYOU carries no message")
    if flag != FLAG_WHOAREYOU and len(message) < GCM_TAG_SIZE:
        raise PacketError("header", "message shorter than its tag")
    return Packet(masking_iv, flag, nonce, auth, header, message)


def open_message(packet: Packet, key: bytes) -> bytes:
    """The plaintext (type || RLP) of a message or handshake packet; ``decrypt`` if wrong key."""
    return aes_gcm_decrypt(key, packet.nonce, packet.message, packet.message_ad)
