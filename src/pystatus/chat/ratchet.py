"""The Double Ratchet as status-go runs it (sans-IO; state in, state out).

Status departs from the Signal specification in its primitives, and these choices are what
make a session interoperate: the DH is secp256k1 ECDH (the shared point's x coordinate) with
compressed public keys; the root KDF is HKDF-SHA256 (salt = root key, info
``rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL``) cut into root, chain and (unused) header keys; the chain
KDF is HMAC-SHA256 with inputs 0x0f (next chain key) and 0x10 (message key); a message key is
stretched by HKDF-SHA256 (32 zero bytes of salt, info ``pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh``)
into an AES-256-CTR key, an HMAC key and the IV, and a ciphertext is
``iv || AES-CTR(plaintext) || HMAC-SHA256(ad || iv || ct)``, where the associated data is the
header ``uint32le(n) || uint32le(pn) || ratchet public key``.

Message keys of skipped messages are kept for out-of-order delivery: at most
:data:`MAX_SKIP` per step, :data:`MAX_KEEP` in all (the oldest are forgotten).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import coincurve
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pystatus.errors import ChatError

ROOT_INFO = b"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL"
MESSAGE_INFO = b"pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh"
MAX_SKIP = 1000
MAX_KEEP = 3000
MAX_PREVIOUS = 100
"""Earlier ratchet keys of the peer remembered, to tell a message read before from one this
session cannot read."""
MAC_SIZE = 32
IV_SIZE = 16


class RatchetError(ChatError):
    """A message could not be decrypted by this session."""


class TooManySkipped(RatchetError):
    """The message is further ahead than :data:`MAX_SKIP` messages: refused, state untouched."""


class UndecryptableMessage(RatchetError):
    """Wrong key, altered bytes, or a message already read (its key is gone)."""


class AlreadyRead(UndecryptableMessage):
    """The message is on the current receiving chain, behind it, and its key is not among
    the skipped ones: it was read before (a copy the store brought back), state untouched."""


@dataclass(frozen=True, slots=True)
class Header:
    dh: bytes
    """The sender's current ratchet public key (33 bytes, compressed)."""
    n: int
    pn: int

    def encode(self) -> bytes:
        return struct.pack("<II", self.n, self.pn) + self.dh


def dh(private_key: bytes, public_key: bytes) -> bytes:
    """secp256k1 ECDH: the shared point's x coordinate, 32 bytes (go-ethereum's GenerateShared)."""
    try:
        point = coincurve.PublicKey(public_key).multiply(private_key)
    except (ValueError, TypeError) as exc:
        raise UndecryptableMessage(f"not a usable public key: {exc}") from None
    return bytes(point.format(compressed=False)[1:33])


def _hkdf(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(secret)


def kdf_root(root_key: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
    """(new root key, new chain key)."""
    out = _hkdf(dh_out, root_key, ROOT_INFO, 96)
    return out[:32], out[32:64]


def kdf_chain(chain_key: bytes) -> tuple[bytes, bytes]:
    """(next chain key, message key)."""
    return (
        hmac.new(chain_key, b"\x0f", hashlib.sha256).digest(),
        hmac.new(chain_key, b"\x10", hashlib.sha256).digest(),
    )


def _message_keys(message_key: bytes) -> tuple[bytes, bytes, bytes]:
    out = _hkdf(message_key, bytes(32), MESSAGE_INFO, 80)
    return out[:32], out[32:64], out[64:80]


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    context = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return context.update(data) + context.finalize()


def seal(message_key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    encryption_key, auth_key, iv = _message_keys(message_key)
    body = iv + _ctr(encryption_key, iv, plaintext)
    return body + hmac.new(auth_key, associated + body, hashlib.sha256).digest()


def open_sealed(message_key: bytes, sealed: bytes, associated: bytes) -> bytes:
    if len(sealed) < IV_SIZE + MAC_SIZE:
        raise UndecryptableMessage("ciphertext shorter than its iv and mac")
    encryption_key, auth_key, _ = _message_keys(message_key)
    body, mac = sealed[:-MAC_SIZE], sealed[-MAC_SIZE:]
    if not hmac.compare_digest(hmac.new(auth_key, associated + body, hashlib.sha256).digest(), mac):
        raise UndecryptableMessage("message authentication failed")
    return _ctr(encryption_key, body[:IV_SIZE], body[IV_SIZE:])


def _new_key_pair() -> tuple[bytes, bytes]:
    key = coincurve.PrivateKey()
    return key.secret, key.public_key.format(compressed=True)


@dataclass(slots=True)
class RatchetState:
    """One side of a session. Copy-on-decrypt: a failed decryption leaves it as it was."""

    root_key: bytes
    dh_private: bytes
    dh_public: bytes
    dh_remote: bytes | None = None
    send_chain: bytes | None = None
    recv_chain: bytes | None = None
    ns: int = 0
    nr: int = 0
    pn: int = 0
    skipped: OrderedDict[tuple[bytes, int], bytes] = field(default_factory=OrderedDict)
    previous_remotes: list[bytes] = field(default_factory=list)
    """The peer's earlier ratchet keys (the newest last, at most :data:`MAX_PREVIOUS`): a
    message on one of those chains whose key is not among the skipped ones was read before."""

    @classmethod
    def initiator(cls, shared_secret: bytes, their_ratchet_key: bytes) -> RatchetState:
        """The side that ran X3DH actively: it may send at once."""
        private, public = _new_key_pair()
        root, chain = kdf_root(shared_secret, dh(private, their_ratchet_key))
        return cls(root, private, public, dh_remote=their_ratchet_key, send_chain=chain)

    @classmethod
    def responder(cls, shared_secret: bytes, signed_pre_key: bytes) -> RatchetState:
        """The side whose signed pre-key was used: it receives first."""
        public = coincurve.PrivateKey(signed_pre_key).public_key.format(compressed=True)
        return cls(shared_secret, signed_pre_key, public)

    def export(self) -> dict[str, object]:
        """The state as JSON-ready values (secret: store it sealed)."""

        def hex_or_none(value: bytes | None) -> str | None:
            return value.hex() if value is not None else None

        return {
            "rk": self.root_key.hex(),
            "dhs": self.dh_private.hex(),
            "dhr": hex_or_none(self.dh_remote),
            "cks": hex_or_none(self.send_chain),
            "ckr": hex_or_none(self.recv_chain),
            "ns": self.ns,
            "nr": self.nr,
            "pn": self.pn,
            "skipped": [[dh.hex(), n, key.hex()] for (dh, n), key in self.skipped.items()],
            "prev": [key.hex() for key in self.previous_remotes],
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> RatchetState:
        def bytes_or_none(value: str | None) -> bytes | None:
            return bytes.fromhex(value) if value is not None else None

        private = bytes.fromhex(data["dhs"])
        state = cls(
            bytes.fromhex(data["rk"]),
            private,
            bytes(coincurve.PrivateKey(private).public_key.format(compressed=True)),
            dh_remote=bytes_or_none(data["dhr"]),
            send_chain=bytes_or_none(data["cks"]),
            recv_chain=bytes_or_none(data["ckr"]),
            ns=int(data["ns"]),
            nr=int(data["nr"]),
            pn=int(data["pn"]),
        )
        for dh_hex, n, key in data["skipped"]:
            state.skipped[(bytes.fromhex(dh_hex), int(n))] = bytes.fromhex(key)
        # Absent from states saved before it was kept.
        state.previous_remotes = [bytes.fromhex(k) for k in data.get("prev", [])]
        return state

    def copy(self) -> RatchetState:
        clone = RatchetState(**{name: getattr(self, name) for name in self.__slots__})
        clone.skipped = OrderedDict(self.skipped)
        clone.previous_remotes = list(self.previous_remotes)
        return clone

    # -- sending ----------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, associated: bytes = b"") -> tuple[Header, bytes]:
        if self.send_chain is None:
            raise RatchetError("this session has not received a message yet: it cannot send")
        self.send_chain, message_key = kdf_chain(self.send_chain)
        header = Header(self.dh_public, self.ns, self.pn)
        self.ns += 1
        return header, seal(message_key, plaintext, associated + header.encode())

    # -- receiving --------------------------------------------------------------------------

    def decrypt(self, header: Header, ciphertext: bytes, associated: bytes = b"") -> bytes:
        """Decrypt, updating this state only if the message authenticates."""
        ad = associated + header.encode()
        skipped_key = self.skipped.get((header.dh, header.n))
        if skipped_key is not None:
            plaintext = open_sealed(skipped_key, ciphertext, ad)
            del self.skipped[(header.dh, header.n)]
            return plaintext
        if header.dh == self.dh_remote and header.n < self.nr:
            raise AlreadyRead(f"message {header.n} of this chain was read already")
        if header.dh in self.previous_remotes:
            raise AlreadyRead(f"message {header.n} of an earlier chain was read already")
        trial = self.copy()
        if header.dh != trial.dh_remote:
            trial._skip(header.pn)
            trial._dh_ratchet(header.dh)
        trial._skip(header.n)
        if trial.recv_chain is None:
            raise UndecryptableMessage("no receiving chain for this message")
        trial.recv_chain, message_key = kdf_chain(trial.recv_chain)
        trial.nr += 1
        plaintext = open_sealed(message_key, ciphertext, ad)
        self._adopt(trial)
        return plaintext

    def _adopt(self, other: RatchetState) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(other, name))
        while len(self.skipped) > MAX_KEEP:
            self.skipped.popitem(last=False)

    def _skip(self, until: int) -> None:
        if until < self.nr:
            return  # an old message whose key was used or forgotten: fails to authenticate
        if until - self.nr > MAX_SKIP:
            raise TooManySkipped(f"{until - self.nr} messages skipped, more than {MAX_SKIP}")
        if self.recv_chain is None or self.dh_remote is None:
            return
        while self.nr < until:
            self.recv_chain, message_key = kdf_chain(self.recv_chain)
            self.skipped[(self.dh_remote, self.nr)] = message_key
            self.nr += 1

    def _dh_ratchet(self, their_key: bytes) -> None:
        if self.dh_remote is not None:
            self.previous_remotes = [*self.previous_remotes, self.dh_remote][-MAX_PREVIOUS:]
        self.pn, self.ns, self.nr = self.ns, 0, 0
        self.dh_remote = their_key
        self.root_key, self.recv_chain = kdf_root(self.root_key, dh(self.dh_private, their_key))
        self.dh_private, self.dh_public = _new_key_pair()
        self.root_key, self.send_chain = kdf_root(self.root_key, dh(self.dh_private, their_key))
