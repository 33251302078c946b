"""1:1 encryption across devices, as status-go's encryption protocol does it (sans-IO).

Every installation (device) of an account publishes a signed bundle with its own signed
pre-key. A message to a person is encrypted once per installation of theirs and once per
*other* installation of the sender's own account, each with its own Double Ratchet session,
and all of them travel together in one ``ProtocolMessage`` keyed by installation id, along
with the sender's bundle. A session opened by X3DH carries the X3DH header on every message
until the other side has answered on it. At most :data:`MAX_INSTALLATIONS` installations per
identity are kept: the most recently bundled.

Without a bundle of the recipient, status-go encrypts under the installation id ``none`` with
a DH header: AES-256-GCM (ciphertext || tag || 12-byte nonce) under the x coordinate of the ECDH
of a fresh ephemeral key and the recipient's identity key; bundle adverts (an empty payload)
and pairing messages take the same form (``protocol/encryption/encryptor.go``
encryptWithDH/DecryptWithDH).

Negotiated secret: once a device of theirs sent us an encrypted message whose bundle says
``protocol_version`` >= 1, that device has "agreed"; when every device we encrypt for has,
status-go sends on the topic and key derived from the static ECDH of the two identity keys
(``protocol/encryption/sharedsecret/sharedsecret.go``, ``protocol/encryption/protocol.go``).

The caller says who sent a message: Status transports sign the payload envelope with the
sender's chat key, and that signature is where the identity comes from.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from prometheus_client import Counter

from pystatus.chat import x3dh
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import AlreadyRead, Header, RatchetError, RatchetState, dh
from pystatus.errors import ChatError

MAX_INSTALLATIONS = 3
SESSIONS_PER_DEVICE = 3
KEPT_PRE_KEYS = 3
"""Signed pre-keys a device keeps answering X3DH with after rotating (three days' worth)."""
NO_INSTALLATION = "none"
"""status-go's installation id for a message encrypted with a DH header."""
NEGOTIATION_VERSION = 1
"""The bundle protocol version from which status-go negotiates a shared secret."""
MAX_SECRETS = 10_000
MAX_IDENTITIES = 10_000
"""People whose installations (bundles) are kept; the least recently heard from is forgotten,
with its sessions (anyone writing in a public chat sends a bundle)."""
MAX_SESSIONS = 3 * MAX_IDENTITIES
"""Ratchet sessions (per person and device) kept; the least recently used is forgotten."""

EVICTED = Counter("chat_encryption_evicted", "Encryption state forgotten at a bound", ["what"])
"""Identities whose negotiated secret and agreed devices are kept (the oldest forgotten)."""
NONCE_LENGTH = 12


def shared_secret(identity: bytes, their_public_key: bytes) -> bytes:
    """The negotiated secret: the x coordinate of the ECDH of two identity keys (32 bytes)."""
    return dh(identity, their_public_key)


def _encrypt_dh(key: bytes, payload: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_LENGTH)
    return AESGCM(key).encrypt(nonce, payload, None) + nonce


def _decrypt_dh(key: bytes, data: bytes) -> bytes:
    if len(data) < NONCE_LENGTH + 16:
        raise EncryptionError("a DH-encrypted payload is too short")
    try:
        return AESGCM(key).decrypt(data[-NONCE_LENGTH:], data[:-NONCE_LENGTH], None)
    except InvalidTag:
        raise EncryptionError("a DH-encrypted payload does not authenticate") from None


def protocol_version(message: pb.ProtocolMessage) -> int:
    """The sending device's protocol version as status-go reads it (getProtocolVersion): from
    the first bundle that lists pre-keys, the entry of the message's installation id."""
    if not message.installation_id:
        return 0
    for bundle in message.bundles:
        if not bundle.signed_pre_keys:
            continue
        entry = bundle.signed_pre_keys.get(message.installation_id)
        return entry.protocol_version if entry is not None else 0
    return 0


class EncryptionError(ChatError):
    """A protocol message could not be encrypted or decrypted."""


class NotForThisDevice(EncryptionError):
    """The message carries nothing encrypted for this installation."""


class NoSession(EncryptionError):
    """This device holds no ratchet session that opens the message (its state was lost, or
    another process on the same data dir moved it on): it cannot read it."""


class NoBundle(EncryptionError):
    """No bundle of the recipient is known: nothing to start a session from."""


def _identity_key(public_key: bytes) -> bytes:
    """Sessions and bundles are indexed by the uncompressed public key."""
    return bytes(coincurve.PublicKey(public_key).format(compressed=False))


@dataclass(slots=True)
class _Session:
    state: RatchetState
    pre_key_id: bytes
    """The responder's signed pre-key this session was opened against."""
    x3dh_ephemeral: bytes | None = None
    """While set, our messages carry the X3DH header (we opened it; no answer yet)."""


@dataclass(slots=True)
class _Installation:
    signed_pre_key: bytes
    version: int
    bundled_at: int


@dataclass(slots=True)
class EncryptionService:
    identity: bytes
    """This account's chat private key."""
    installation_id: str
    clock: Callable[[], int] = time.time_ns
    pre_keys: dict[bytes, x3dh.SignedPreKeyPair] = field(default_factory=dict)
    """Our signed pre-keys by public key: the current one and those peers may still use."""
    current_pre_key: x3dh.SignedPreKeyPair = field(default_factory=x3dh.SignedPreKeyPair.generate)
    installations: dict[bytes, dict[str, _Installation]] = field(default_factory=dict)
    sessions: dict[tuple[bytes, str], list[_Session]] = field(default_factory=dict)
    """Per device, newest first: two people who open sessions at once each keep both until
    one of them carries a message."""
    bundle_made_at: int = 0
    agreed: dict[bytes, set[str]] = field(default_factory=dict)
    """Per identity, their devices that have agreed on the negotiated secret."""
    changes: int = 0
    """Bumped by every call that may change what :func:`export_state` writes, so the state
    is saved only when it changed."""
    secrets_changed: int = 0
    """Bumped whenever someone joins :meth:`secrets` (callers re-read it only then)."""
    _secrets: dict[bytes, bytes] = field(default_factory=dict)
    """Negotiated secrets computed so far (an ECDH each), by identity."""
    _bundle: pb.Bundle | None = None
    """The last signed bundle, reused until a pre-key or a paired device changes."""

    def __post_init__(self) -> None:
        self.public_key = bytes(
            coincurve.PrivateKey(self.identity).public_key.format(compressed=False)
        )
        self.pre_keys[self.current_pre_key.public_key] = self.current_pre_key

    public_key: bytes = b""
    """Ours, uncompressed (derived from ``identity``)."""

    # -- bundles ------------------------------------------------------------------------------

    def own_bundle(self) -> pb.Bundle:
        """Our signed bundle, with a new pre-key once the current one is a day old."""
        now = self.clock()
        if self.bundle_made_at and now - self.bundle_made_at > x3dh.BUNDLE_LIFETIME_NS:
            self.current_pre_key = x3dh.SignedPreKeyPair.generate(self.current_pre_key.version + 1)
            self.pre_keys[self.current_pre_key.public_key] = self.current_pre_key
            while len(self.pre_keys) > KEPT_PRE_KEYS:
                oldest = min(self.pre_keys, key=lambda k: self.pre_keys[k].version)
                del self.pre_keys[oldest]
            self.bundle_made_at = 0
        if self._bundle is not None and self.bundle_made_at:
            return self._bundle
        if not self.bundle_made_at:
            self.bundle_made_at = now
            self.changes += 1
        # Our paired devices share our identity key, so our bundle speaks for them too.
        pre_keys: dict[str, tuple[bytes, int]] = {
            name: (device.signed_pre_key, device.version)
            for name, device in self.installations.get(self.public_key, {}).items()
        }
        pre_keys[self.installation_id] = (
            self.current_pre_key.public_key,
            self.current_pre_key.version,
        )
        self._bundle = x3dh.build_bundle(self.identity, pre_keys, timestamp_ns=now)
        return self._bundle

    def add_bundle(self, bundle: pb.Bundle) -> bytes:
        """Learn the installations of a verified bundle; returns its identity key. The
        state counts as changed only when an installation is new or newer."""
        identity = x3dh.verify_bundle(bundle)
        if identity == self.public_key:
            self._bundle = None  # our bundle lists our paired devices: sign it again
        known = self.installations.pop(identity, {})
        self.installations[identity] = known  # most recently heard from last
        for installation_id, pre_key in bundle.signed_pre_keys.items():
            if identity == self.public_key and installation_id == self.installation_id:
                continue
            current = known.get(installation_id)
            if current is None or current.bundled_at < bundle.timestamp:
                self.changes += 1
                known[installation_id] = _Installation(
                    pre_key.signed_pre_key, pre_key.version, bundle.timestamp
                )
        while len(known) > MAX_INSTALLATIONS:
            oldest = min(known, key=lambda name: known[name].bundled_at)
            del known[oldest]
            self.sessions.pop((identity, oldest), None)
        while len(self.installations) > MAX_IDENTITIES:
            forgotten = next(i for i in self.installations if i != self.public_key)
            for name in self.installations.pop(forgotten):
                self.sessions.pop((forgotten, name), None)
            self.changes += 1
            EVICTED.labels("identity").inc()
        return identity

    # -- encrypting ---------------------------------------------------------------------------

    def encrypt(self, recipient: bytes, payload: bytes) -> pb.ProtocolMessage:
        """``payload`` for every installation of ``recipient`` and our own other ones."""
        self.changes += 1
        recipient = _identity_key(recipient)
        targets = [(recipient, name) for name in self.installations.get(recipient, {})]
        if recipient != self.public_key:
            targets += [
                (self.public_key, name) for name in self.installations.get(self.public_key, {})
            ]
        if not any(identity == recipient for identity, _ in targets):
            raise NoBundle("no bundle of the recipient is known yet")
        message = pb.ProtocolMessage(installation_id=self.installation_id)
        message.bundles.append(self.own_bundle())
        self._secret_touched(recipient)
        for identity, installation_id in targets:
            session = self._session_to(identity, installation_id)
            header, ciphertext = session.state.encrypt(payload)
            entry = message.direct_message[installation_id]
            entry.DR_header.key = header.dh
            entry.DR_header.n = header.n
            entry.DR_header.pn = header.pn
            entry.DR_header.id = session.pre_key_id
            entry.payload = ciphertext
            if session.x3dh_ephemeral is not None:
                entry.X3DH_header.key = session.x3dh_ephemeral
                entry.X3DH_header.id = session.pre_key_id
        return message

    def encrypt_dh(
        self, recipient: bytes, payload: bytes, *, negotiate: bool = True
    ) -> pb.ProtocolMessage:
        """``payload`` under the installation ``none`` with a DH header, as status-go sends to
        someone whose bundle it lacks; ``negotiate=False`` for bundle adverts and pairing
        messages (status-go's BuildDHMessage), which set up no negotiated topic."""
        self.changes += 1
        recipient = _identity_key(recipient)
        if negotiate:
            # status-go reaches this through BuildEncryptedMessage, which still hands out the
            # shared secret: the sender listens on the negotiated topic from now on.
            self._secret_touched(recipient)
        ephemeral = coincurve.PrivateKey()
        message = pb.ProtocolMessage(installation_id=self.installation_id)
        message.bundles.append(self.own_bundle())
        entry = message.direct_message[NO_INSTALLATION]
        entry.DH_header.key = ephemeral.public_key.format(compressed=True)
        entry.payload = _encrypt_dh(dh(ephemeral.secret, recipient), payload)
        return message

    def negotiated(self, recipient: bytes) -> bytes | None:
        """The negotiated secret to send to ``recipient`` under, once every device of theirs
        we encrypt for has agreed (status-go's SharedSecret.Agreed), else None."""
        recipient = _identity_key(recipient)
        devices = set(self.installations.get(recipient, {}))
        if not devices or not devices <= self.agreed.get(recipient, set()):
            return None
        return self._secret(recipient)

    def secrets(self) -> list[tuple[bytes, bytes]]:
        """(identity, negotiated secret) of everyone we exchanged encrypted messages with:
        status-go listens on each of their negotiated topics."""
        return [(i, self._secret(i)) for i in self.agreed if i != self.public_key]

    def _secret(self, identity: bytes) -> bytes:
        secret = self._secrets.get(identity)
        if secret is None:
            secret = self._secrets[identity] = shared_secret(self.identity, identity)
        return secret

    def _secret_touched(self, identity: bytes) -> None:
        if identity in self.agreed:
            self.agreed[identity] = self.agreed.pop(identity)  # most recent last
            return
        self.agreed[identity] = set()
        self.secrets_changed += 1
        while len(self.agreed) > MAX_SECRETS:
            forgotten = next(iter(self.agreed))
            del self.agreed[forgotten]
            self._secrets.pop(forgotten, None)

    def _session_to(self, identity: bytes, installation_id: str) -> _Session:
        for session in self.sessions.get((identity, installation_id), []):
            if session.state.send_chain is not None:
                return session
        installation = self.installations[identity][installation_id]
        secret, ephemeral = x3dh.initiate(self.identity, identity, installation.signed_pre_key)
        session = _Session(
            RatchetState.initiator(secret, installation.signed_pre_key),
            installation.signed_pre_key,
            ephemeral,
        )
        self._remember((identity, installation_id), session)
        return session

    def _remember(self, key: tuple[bytes, str], session: _Session) -> None:
        known = [s for s in self.sessions.pop(key, []) if s is not session]
        self.sessions[key] = [session, *known][:SESSIONS_PER_DEVICE]  # most recent last
        while len(self.sessions) > MAX_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
            EVICTED.labels("session").inc()

    # -- decrypting ---------------------------------------------------------------------------

    def decrypt(self, sender: bytes, message: pb.ProtocolMessage) -> bytes:
        """Our part of ``message`` from ``sender`` (the identity its envelope's signature gave)."""
        self.changes += 1
        sender = _identity_key(sender)
        for bundle in message.bundles:
            try:
                if _identity_key(bundle.identity) == sender:
                    self.add_bundle(bundle)
            except (ChatError, ValueError):
                continue  # a bad bundle does not stop the message it came with
        if self.installation_id not in message.direct_message:
            if NO_INSTALLATION not in message.direct_message:
                raise NotForThisDevice(f"nothing for installation {self.installation_id}")
            plaintext = self._decrypt_dh(message.direct_message[NO_INSTALLATION])
            self._agree(sender, message)
            return plaintext
        entry = message.direct_message[self.installation_id]
        key = (sender, message.installation_id)
        candidates = list(self.sessions.get(key, []))
        if entry.HasField("X3DH_header") and not any(
            s.pre_key_id == entry.X3DH_header.id and s.x3dh_ephemeral is None for s in candidates
        ):
            candidates.insert(0, self._accept(sender, entry.X3DH_header))
        if not candidates:
            raise NoSession("no session with this device and no X3DH header to open one")
        header = Header(entry.DR_header.key, entry.DR_header.n, entry.DR_header.pn)
        failure: RatchetError | None = None
        for session in candidates:
            try:
                plaintext = session.state.decrypt(header, entry.payload)
            except RatchetError as exc:
                # A copy of what one session read already says more than another's failure.
                failure = exc if failure is None or isinstance(exc, AlreadyRead) else failure
                continue
            session.x3dh_ephemeral = None  # they answered: the session is established
            self._remember(key, session)
            self._agree(sender, message)
            return plaintext
        assert failure is not None
        raise failure

    def _decrypt_dh(self, entry: pb.DirectMessageProtocol) -> bytes:
        if not entry.HasField("DH_header"):
            raise EncryptionError("a message for installation none without a DH header")
        try:
            key = dh(self.identity, entry.DH_header.key)
        except RatchetError as exc:
            raise EncryptionError(f"a DH header with a bad key: {exc}") from None
        return _decrypt_dh(key, entry.payload)

    def _agree(self, sender: bytes, message: pb.ProtocolMessage) -> None:
        """status-go's HandleMessage: a device at protocol version >= 1 that sent us an
        encrypted message has agreed on the negotiated secret."""
        self._secret_touched(sender)
        if protocol_version(message) >= NEGOTIATION_VERSION and message.installation_id:
            self.agreed[sender].add(message.installation_id)

    def _accept(self, sender: bytes, header: pb.X3DHHeader) -> _Session:
        pre_key = self.pre_keys.get(header.id)
        if pre_key is None:
            raise NoSession("the message used a pre-key this device does not have")
        secret = x3dh.respond(self.identity, pre_key.private_key, sender, header.key)
        return _Session(RatchetState.responder(secret, pre_key.private_key), header.id)


# -- persistence --------------------------------------------------------------------------------


def export_state(service: EncryptionService) -> dict[str, Any]:
    """Everything a device must keep to go on after a restart (secret: store it sealed)."""
    return {
        "installation_id": service.installation_id,
        "pre_keys": [[p.private_key.hex(), p.version] for p in service.pre_keys.values()],
        "current_pre_key": service.current_pre_key.public_key.hex(),
        "bundle_made_at": service.bundle_made_at,
        "agreed": [
            [identity.hex(), sorted(devices)] for identity, devices in service.agreed.items()
        ],
        "installations": [
            [identity.hex(), name, i.signed_pre_key.hex(), i.version, i.bundled_at]
            for identity, devices in service.installations.items()
            for name, i in devices.items()
        ],
        "sessions": [
            [
                identity.hex(),
                name,
                s.pre_key_id.hex(),
                s.x3dh_ephemeral.hex() if s.x3dh_ephemeral is not None else None,
                s.state.export(),
            ]
            for (identity, name), sessions in service.sessions.items()
            for s in sessions
        ],
    }


def restore_state(identity: bytes, data: dict[str, Any]) -> EncryptionService:
    pairs = [x3dh.SignedPreKeyPair(bytes.fromhex(k), int(v)) for k, v in data["pre_keys"]]
    by_public = {pair.public_key: pair for pair in pairs}
    current = by_public[bytes.fromhex(data["current_pre_key"])]
    service = EncryptionService(identity, str(data["installation_id"]), current_pre_key=current)
    service.pre_keys = by_public
    service.bundle_made_at = int(data["bundle_made_at"])
    for identity_hex, devices in data.get("agreed", []):  # absent before version 2 of the state
        service.agreed[bytes.fromhex(identity_hex)] = {str(d) for d in devices}
    service.secrets_changed = len(service.agreed)
    for identity_hex, name, pre_key, version, bundled_at in data["installations"]:
        service.installations.setdefault(bytes.fromhex(identity_hex), {})[name] = _Installation(
            bytes.fromhex(pre_key), int(version), int(bundled_at)
        )
    for identity_hex, name, pre_key_id, ephemeral, state in data["sessions"]:
        service.sessions.setdefault((bytes.fromhex(identity_hex), name), []).append(
            _Session(
                RatchetState.restore(state),
                bytes.fromhex(pre_key_id),
                bytes.fromhex(ephemeral) if ephemeral is not None else None,
            )
        )
    return service
