"""The Noise XX handshake with the libp2p payload, as a sans-IO state machine.

Both sides feed received bytes to :meth:`NoiseHandshake.receive_data` and send whatever
:meth:`NoiseHandshake.data_to_send` hands back, until :attr:`NoiseHandshake.complete`. Each
handshake message travels with a 2-byte big-endian length prefix. The identity key is bound to
the Noise static key by a signature over ``"noise-libp2p-static-key:" + static public key``.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError as ProtobufDecodeError

from pystatus.p2p.crypto.keys import PrivateKey, PublicKey, public_key_from_protobuf
from pystatus.p2p.errors import DecodeError, HandshakeError, LocalProtocolError
from pystatus.p2p.noise.cipher import TAG_LEN, CipherState, SymmetricState
from pystatus.p2p.noise.transport import NoiseTransport
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.proto import noise_pb2

NOISE_PROTOCOL_ID = "/noise"
PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"
SIGNATURE_PREFIX = b"noise-libp2p-static-key:"
DH_LEN = 32
LENGTH_PREFIX = 2


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _dh(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        # A low-order point gives an all-zero secret, which cryptography refuses.
        raise HandshakeError("noise peer sent an invalid X25519 key") from None


class NoiseHandshake:
    """One side of a libp2p Noise XX handshake."""

    def __init__(
        self,
        *,
        identity: PrivateKey,
        initiator: bool,
        expected_peer: PeerId | None = None,
        static_key: X25519PrivateKey | None = None,
    ) -> None:
        self._identity = identity
        self._initiator = initiator
        self._expected_peer = expected_peer
        self._static = static_key or X25519PrivateKey.generate()
        self._ephemeral = X25519PrivateKey.generate()
        self._remote_ephemeral = b""
        self._remote_static = b""
        self._symmetric = SymmetricState(PROTOCOL_NAME)
        self._symmetric.mix_hash(b"")  # the empty prologue
        self._inbound = bytearray()
        self._outbound = bytearray()
        self._step = 0  # handshake messages processed so far, sent or received
        self._remote_key: PublicKey | None = None
        self._remote_peer: PeerId | None = None
        self._transport: NoiseTransport | None = None
        if initiator:
            self._write_message_1()

    @property
    def complete(self) -> bool:
        return self._transport is not None

    @property
    def remote_peer_id(self) -> PeerId:
        if self._remote_peer is None:
            raise LocalProtocolError("the noise handshake has not authenticated the peer yet")
        return self._remote_peer

    @property
    def remote_public_key(self) -> PublicKey:
        if self._remote_key is None:
            raise LocalProtocolError("the noise handshake has not authenticated the peer yet")
        return self._remote_key

    def data_to_send(self) -> bytes:
        out = bytes(self._outbound)
        self._outbound.clear()
        return out

    def receive_data(self, data: bytes) -> None:
        """Take bytes from the peer; bytes after the last handshake message are kept."""
        self._inbound += data
        while not self.complete:
            message = self._take_message()
            if message is None:
                return
            if self._initiator:
                self._read_message_2(message)
                self._write_message_3()
            elif self._step == 0:
                self._read_message_1(message)
                self._write_message_2()
            else:
                self._read_message_3(message)

    def into_transport(self) -> NoiseTransport:
        """The transport-phase cipher pair; leftover bytes are already decrypted into it."""
        if self._transport is None:
            raise LocalProtocolError("the noise handshake is not complete")
        return self._transport

    # -- framing -------------------------------------------------------------------------

    def _take_message(self) -> bytes | None:
        if len(self._inbound) < LENGTH_PREFIX:
            return None
        length = int.from_bytes(self._inbound[:LENGTH_PREFIX], "big")
        end = LENGTH_PREFIX + length
        if len(self._inbound) < end:
            return None
        message = bytes(self._inbound[LENGTH_PREFIX:end])
        del self._inbound[:end]
        return message

    def _send(self, message: bytes) -> None:
        self._outbound += len(message).to_bytes(LENGTH_PREFIX, "big") + message
        self._step += 1

    # -- the three XX messages -----------------------------------------------------------

    def _write_message_1(self) -> None:
        ephemeral = _public_bytes(self._ephemeral)
        self._symmetric.mix_hash(ephemeral)
        self._send(ephemeral + self._symmetric.encrypt_and_hash(b""))

    def _read_message_1(self, message: bytes) -> None:
        if len(message) < DH_LEN:
            raise HandshakeError("noise message 1 is too short")
        self._remote_ephemeral = message[:DH_LEN]
        self._symmetric.mix_hash(self._remote_ephemeral)
        self._symmetric.decrypt_and_hash(message[DH_LEN:])  # an XX message 1 payload is unused
        self._step += 1

    def _write_message_2(self) -> None:
        ephemeral = _public_bytes(self._ephemeral)
        self._symmetric.mix_hash(ephemeral)
        self._symmetric.mix_key(_dh(self._ephemeral, self._remote_ephemeral))
        static = self._symmetric.encrypt_and_hash(_public_bytes(self._static))
        self._symmetric.mix_key(_dh(self._static, self._remote_ephemeral))
        payload = self._symmetric.encrypt_and_hash(self._payload())
        self._send(ephemeral + static + payload)

    def _read_message_2(self, message: bytes) -> None:
        if len(message) < DH_LEN + DH_LEN + TAG_LEN + TAG_LEN:
            raise HandshakeError("noise message 2 is too short")
        self._remote_ephemeral = message[:DH_LEN]
        self._symmetric.mix_hash(self._remote_ephemeral)
        self._symmetric.mix_key(_dh(self._ephemeral, self._remote_ephemeral))
        static_end = DH_LEN + DH_LEN + TAG_LEN
        self._remote_static = self._decrypt(message[DH_LEN:static_end])
        self._symmetric.mix_key(_dh(self._ephemeral, self._remote_static))
        self._verify_payload(self._decrypt(message[static_end:]))
        self._step += 1

    def _write_message_3(self) -> None:
        static = self._symmetric.encrypt_and_hash(_public_bytes(self._static))
        self._symmetric.mix_key(_dh(self._static, self._remote_ephemeral))
        payload = self._symmetric.encrypt_and_hash(self._payload())
        self._send(static + payload)
        send, receive = self._symmetric.split()
        self._finish(send=send, receive=receive)

    def _read_message_3(self, message: bytes) -> None:
        if len(message) < DH_LEN + TAG_LEN + TAG_LEN:
            raise HandshakeError("noise message 3 is too short")
        self._remote_static = self._decrypt(message[: DH_LEN + TAG_LEN])
        self._symmetric.mix_key(_dh(self._ephemeral, self._remote_static))
        self._verify_payload(self._decrypt(message[DH_LEN + TAG_LEN :]))
        self._step += 1
        receive, send = self._symmetric.split()
        self._finish(send=send, receive=receive)

    def _finish(self, *, send: CipherState, receive: CipherState) -> None:
        transport = NoiseTransport(send=send, receive=receive)
        leftover = bytes(self._inbound)
        self._inbound.clear()
        if leftover:
            transport.receive_early(leftover)
        self._transport = transport

    # -- the libp2p payload --------------------------------------------------------------

    def _decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return self._symmetric.decrypt_and_hash(ciphertext)
        except DecodeError:
            raise HandshakeError("noise handshake message failed authentication") from None

    def _payload(self) -> bytes:
        signature = self._identity.sign(SIGNATURE_PREFIX + _public_bytes(self._static))
        payload = noise_pb2.NoiseHandshakePayload(
            identity_key=self._identity.public_key.to_protobuf(), identity_sig=signature
        )
        return payload.SerializeToString()

    def _verify_payload(self, data: bytes) -> None:
        payload = noise_pb2.NoiseHandshakePayload()
        try:
            payload.ParseFromString(data)
        except ProtobufDecodeError:
            raise HandshakeError("noise handshake payload is not a valid protobuf") from None
        if not payload.identity_key or not payload.identity_sig:
            raise HandshakeError("noise handshake payload lacks the identity key or signature")
        try:
            key = public_key_from_protobuf(payload.identity_key)
        except DecodeError as exc:
            raise HandshakeError(f"noise handshake identity key: {exc}") from None
        if not key.verify(SIGNATURE_PREFIX + self._remote_static, payload.identity_sig):
            raise HandshakeError("noise handshake identity signature does not verify")
        peer = PeerId.from_public_key(key)
        if self._expected_peer is not None and peer != self._expected_peer:
            raise HandshakeError(f"dialed {self._expected_peer} but the peer proved to be {peer}")
        self._remote_key = key
        self._remote_peer = peer
