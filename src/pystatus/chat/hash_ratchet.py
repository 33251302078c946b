"""The hash ratchet: group keys of encrypted communities and channels, as status-go v1.1.0 runs
it (sans-IO: no clock reads, no I/O; randomness from :mod:`secrets`).

A group (a community: its compressed public key; an encrypted channel: the bytes of the ASCII
string ``0x<community id hex><channel uuid>``) shares a list of keys. Each key is 32 random
bytes with a timestamp (unix milliseconds, bumped by 10 on creation) and is named by its key id,
``keccak256(group_id || uint64_le(timestamp) || key)`` (``protocol/encryption/helpers.go``
generateHashRatchetKeyID). Message number ``n`` (``seq_no``, from 1) of a key is sealed with
AES-256-GCM under ``keccak256^n(key)``, the 12-byte nonce appended after ciphertext and tag
(``eth-node/crypto/crypto.go`` EncryptSymmetric; ``encryptor.go`` EncryptWithHR, DecryptWithHR).
A sender numbers its message one past the highest number it has seen or sent under the key, as
status-go's shared cache does. The message travels as a ``ProtocolMessage`` whose
``encrypted_message`` (our ``direct_message``) holds one entry, ``none``, with an ``HRHeader``
(``protocol.go`` BuildHashRatchetMessage). ``seq_no`` 0 marks a message that carries keys
instead (see :mod:`pystatus.chat.hash_ratchet_exchange`).

Bounds: :class:`~pystatus.chat.hash_ratchet_store.MemoryKeyStore` keeps the newest
``keys_per_group`` keys of each group (older ones evicted, so messages under them no longer
decrypt; status-go keeps every key) and at most ``max_groups`` groups; each key keeps a few
chain positions; messages whose key has not arrived wait in a bounded queue, as status-go keeps
them (``message_sender.go`` HandleMessages, SaveHashRatchetMessage) until the key comes.
Walking more than :data:`MAX_SEQ_NO_DELTA` steps along a chain is refused, as status-go refuses
it.
"""

from __future__ import annotations

import secrets
import struct
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from prometheus_client import Counter, Gauge

from pystatus.chat.errors import (
    HashRatchetError,
    InvalidGroupMessage,
    SeqNoTooHigh,
    UndecryptableGroupMessage,
    UnknownGroupKey,
)
from pystatus.chat.hash_ratchet_store import (
    EVICTED,
    KEYS_PER_GROUP,
    MAX_GROUPS,
    KeyStore,
    MemoryKeyStore,
)
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import RatchetError, dh
from pystatus.waku.enr import keccak256

__all__ = ["KEYS_PER_GROUP", "MAX_GROUPS", "KeyStore", "MemoryKeyStore"]  # re-exported

KEY_LENGTH = 32
"""A group key: 32 random bytes (status-go serialises a fresh secp256k1 private key)."""
KEY_BUMP_MS = 10
"""A new key's timestamp is now + 10 ms, or the previous key's + 1 (helpers.go bumpKeyID)."""
MAX_SEQ_NO_DELTA = 100_000
"""The longest walk along a key's chain to a message (maxHashRatchetSeqNoDelta in encryptor.go)."""
NONCE_LENGTH = 12
TAG_LENGTH = 16
REKEY_ENTRY_LENGTH = NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH
"""One key sealed for one recipient in a RekeyGroup: nonce || ciphertext || tag (60 bytes)."""
NO_INSTALLATION = "none"
HASHES_PER_KEY = 16
"""Chain positions remembered per key (the highest always), so late messages walk little."""
MAX_PENDING = 1_000
"""Messages kept while their key has not arrived."""
MAX_CHAINS = 4_096
"""Keys whose chain positions are remembered (the least recently used forgotten: a later
message under it walks from the key again, and our next send number restarts from what we
see)."""

ERRORS = Counter(
    "chat_hash_ratchet_errors", "Hash ratchet messages or keys refused, by kind", ["kind"]
)
PENDING = Gauge("chat_hash_ratchet_pending", "Group messages waiting for their key")
_HASH_EVICTED = EVICTED.labels("hash")  # on the per-message path: look the child up once


def key_id(group_id: bytes, timestamp: int, key: bytes) -> bytes:
    """keccak256(group_id || uint64_le(timestamp) || key), 32 bytes (generateHashRatchetKeyID)."""
    return keccak256(group_id + struct.pack("<Q", timestamp & 0xFFFF_FFFF_FFFF_FFFF) + key)


@dataclass(frozen=True, slots=True)
class GroupKey:
    """One key of a group. ``timestamp`` is unix milliseconds (wall clock) as its creator set it."""

    group_id: bytes
    timestamp: int
    key: bytes = field(repr=False)
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_LENGTH:
            raise InvalidGroupMessage(f"a group key is {len(self.key)} bytes, not {KEY_LENGTH}")
        if not self.group_id:
            raise InvalidGroupMessage("a group key without a group id")
        if not 0 < self.timestamp < 2**64:
            raise InvalidGroupMessage("a group key's timestamp is not a positive uint64")
        object.__setattr__(self, "key_id", key_id(self.group_id, self.timestamp, self.key))

    @property
    def deprecated_key_id(self) -> int:
        """The low 32 bits of the timestamp, which older clients used as the key's name."""
        return self.timestamp & 0xFFFF_FFFF


def new_key(group_id: bytes, now_ms: int, current: GroupKey | None = None) -> GroupKey:
    """A fresh key for ``group_id`` (status-go's GenerateNext): timestamp ``now_ms`` (unix
    milliseconds, wall clock) + 10, or one past ``current``'s when that is not older."""
    if current is not None and current.timestamp >= now_ms:
        timestamp = current.timestamp + 1
    else:
        timestamp = now_ms + KEY_BUMP_MS
    return GroupKey(group_id, timestamp, secrets.token_bytes(KEY_LENGTH))


def seal(key: bytes, plaintext: bytes) -> bytes:
    """AES-256-GCM: ciphertext || tag || 12-byte nonce (EncryptSymmetric)."""
    nonce = secrets.token_bytes(NONCE_LENGTH)
    return AESGCM(key).encrypt(nonce, plaintext, None) + nonce


def unseal(key: bytes, data: bytes) -> bytes:
    """The inverse of :func:`seal`; :class:`UndecryptableGroupMessage` if it does not open."""
    if len(data) < NONCE_LENGTH + TAG_LENGTH:
        raise UndecryptableGroupMessage("a group message is too short")
    try:
        return AESGCM(key).decrypt(data[-NONCE_LENGTH:], data[:-NONCE_LENGTH], None)
    except InvalidTag:
        raise UndecryptableGroupMessage("a group message does not authenticate") from None


def rekey_slot(public_key: bytes) -> int:
    """Where a RekeyGroup holds a recipient's key: bytes 1..4 of the uncompressed public key,
    read little-endian (helpers.go publicKeyMostRelevantBytes)."""
    uncompressed = coincurve.PublicKey(public_key).format(compressed=False)
    return int(struct.unpack("<I", uncompressed[1:5])[0])


def seal_rekey(identity: bytes, recipients: Iterable[bytes], key: GroupKey) -> pb.RekeyGroup:
    """``key`` sealed for each recipient under the ECDH x coordinate of the sender's identity
    and theirs, AES-256-GCM with the nonce first (helpers.go buildGroupRekeyMessage); two
    recipients sharing a slot get their entries concatenated."""
    rekey = pb.RekeyGroup(timestamp=key.timestamp)
    for recipient in recipients:
        nonce = secrets.token_bytes(NONCE_LENGTH)
        sealed = nonce + AESGCM(dh(identity, recipient)).encrypt(nonce, key.key, None)
        slot = rekey_slot(recipient)
        rekey.keys[slot] = rekey.keys.get(slot, b"") + sealed
    return rekey


def open_rekey(
    identity: bytes, sender: bytes, group_id: bytes, rekey: pb.RekeyGroup
) -> GroupKey | None:
    """Our key in a RekeyGroup from ``sender`` (helpers.go decryptGroupRekeyMessage), or None
    when it holds nothing for us. Typed errors for a zero timestamp or a bad key length."""
    if rekey.timestamp == 0:
        raise InvalidGroupMessage("a rekey message without a timestamp")
    public = coincurve.PrivateKey(identity).public_key.format(compressed=False)
    entries = rekey.keys.get(rekey_slot(public))
    if not entries:
        return None
    try:
        shared = dh(identity, sender)
    except RatchetError as exc:
        raise InvalidGroupMessage(f"a rekey message from a bad key: {exc}") from None
    for start in range(0, len(entries) - REKEY_ENTRY_LENGTH + 1, REKEY_ENTRY_LENGTH):
        entry = entries[start : start + REKEY_ENTRY_LENGTH]
        try:
            material = AESGCM(shared).decrypt(entry[:NONCE_LENGTH], entry[NONCE_LENGTH:], None)
        except InvalidTag:
            continue  # another recipient's entry in the same slot
        return GroupKey(group_id, rekey.timestamp, material)
    return None


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """A decrypted hash ratchet message. ``seq_no`` 0: a message that carried keys
    (``new_keys``, those we had not held), its payload as sent."""

    group_id: bytes
    key_id: bytes
    seq_no: int
    plaintext: bytes
    new_keys: tuple[GroupKey, ...] = ()
    opened: tuple[tuple[GroupMessage, object], ...] = ()
    """Messages that waited for ``new_keys``, now decrypted, each with its context."""


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message kept until its key arrives; ``context`` is the caller's (e.g. the sender)."""

    key_id: bytes
    message: bytes
    context: object


class _Chain:
    """Positions along one key's chain: seq_no -> keccak256^seq_no(key)."""

    __slots__ = ("highest", "positions")

    def __init__(self, key: bytes) -> None:
        self.positions: OrderedDict[int, bytes] = OrderedDict({0: key})
        self.highest = 0

    def message_key(self, seq_no: int) -> bytes:
        known = self.positions.get(seq_no)
        if known is not None:
            self.positions.move_to_end(seq_no)
            return known
        start = max(s for s in self.positions if s < seq_no)
        if seq_no - start > MAX_SEQ_NO_DELTA:
            raise SeqNoTooHigh(f"seq_no {seq_no} is over {MAX_SEQ_NO_DELTA} past {start}")
        digest = self.positions[start]
        for _ in range(seq_no - start):
            digest = keccak256(digest)
        return digest

    def remember(self, seq_no: int, digest: bytes) -> None:
        self.positions[seq_no] = digest
        self.highest = max(self.highest, seq_no)
        while len(self.positions) > HASHES_PER_KEY:
            # Keep the key itself (position 0) and the highest: the sender's next step.
            victim = next(s for s in self.positions if s not in (0, self.highest))
            del self.positions[victim]
            _HASH_EVICTED.inc()


class HashRatchet:
    """One account's hash ratchet: keys, chain positions, messages waiting for keys.

    ``identity`` (our chat private key) is needed only to read RekeyGroup messages.
    ``authority(group_id, sender)`` says whether ``sender`` (a public key) may give keys for
    ``group_id``; keys from anyone else are ignored and counted (``unauthorised_keys``).
    Without it keys are taken from anyone, as status-go takes them (HandleHashRatchetKeys
    checks no sender): then anyone who can message us could make us send under their key.
    ``on_missing(group_id)`` is told of each message kept for a key we lack, so the owner can
    ask for keys (:mod:`pystatus.chat.community_keys` rate-limits that); ``on_keys(group_id)``
    of each group that gained keys, once they are kept (what waited for them can be read);
    ``on_refused(keys)`` of keys a 1:1 message brought that ``authority`` refused.
    """

    def __init__(
        self,
        installation_id: str,
        *,
        identity: bytes | None = None,
        store: KeyStore | None = None,
        max_pending: int = MAX_PENDING,
        authority: Callable[[bytes, bytes], bool] | None = None,
        on_missing: Callable[[bytes], None] | None = None,
        on_keys: Callable[[bytes], None] | None = None,
        on_refused: Callable[[list[GroupKey]], None] | None = None,
    ) -> None:
        self.installation_id = installation_id
        self.identity = identity
        self.authority = authority
        self.on_missing = on_missing
        self.on_keys = on_keys
        self.on_refused = on_refused
        self.store: KeyStore = store if store is not None else MemoryKeyStore()
        self._chains: OrderedDict[bytes, _Chain] = OrderedDict()
        self._pending: deque[PendingMessage] = deque()
        self.max_pending = max_pending
        self.changes = 0
        """Bumped whenever the keys change, so :func:`export_state` is saved only then (chain
        positions are not saved: after a restart they are walked again from the key; see
        :mod:`pystatus.chat.hash_ratchet_state`)."""

    # -- keys -------------------------------------------------------------------------------

    def current_key(self, group_id: bytes) -> GroupKey | None:
        """The group's key with the highest timestamp, the one messages are sent under."""
        keys = self.store.keys_for_group(group_id)
        return keys[0] if keys else None

    def new_key(self, group_id: bytes, now_ms: int) -> GroupKey:
        """Make and keep a new key for ``group_id`` (``now_ms``: unix milliseconds)."""
        key = new_key(group_id, now_ms, self.current_key(group_id))
        self.store.add(key)
        self.changes += 1
        return key

    def keys_for_member(self, group_id: bytes) -> list[GroupKey]:
        """The keys a member is sent (status-go's GetKeysForGroup): every kept key, newest first."""
        return self.store.keys_for_group(group_id)

    def add_keys(
        self, keys: Iterable[GroupKey]
    ) -> tuple[list[GroupKey], list[tuple[GroupMessage, object]]]:
        """Keep ``keys``; returns those that were new, and the waiting messages they open
        (each with its context). A waiting message that still fails is dropped and counted."""
        added = [key for key in keys if self.store.add(key)]
        self.changes += bool(added)
        if self.on_keys is not None:
            for group_id in dict.fromkeys(key.group_id for key in added):
                self.on_keys(group_id)
        if not added or not self._pending:
            return added, []
        ids = {key.key_id for key in added}
        opened: list[tuple[GroupMessage, object]] = []
        # Taken out first: a message that still finds no key goes back in through decrypt.
        waiting, self._pending = self._pending, deque()
        for pending in waiting:
            if pending.key_id not in ids:
                self._pending.append(pending)
                continue
            try:
                opened.append(
                    (self.decrypt(pending.message, context=pending.context), pending.context)
                )
            except HashRatchetError:
                continue  # counted by decrypt
        PENDING.set(len(self._pending))
        return added, opened

    def may_give_keys(self, group_id: bytes, sender: bytes | None) -> bool:
        """Whether keys for ``group_id`` from ``sender`` are taken (see ``authority``);
        a refusal is counted."""
        if self.authority is None:
            return True
        if sender is not None and self.authority(group_id, sender):
            return True
        ERRORS.labels("unauthorised_keys").inc()
        return False

    # -- messages ---------------------------------------------------------------------------

    def encrypt(self, group_id: bytes, plaintext: bytes) -> pb.ProtocolMessage:
        """``plaintext`` under the group's current key (BuildHashRatchetMessage).
        :class:`UnknownGroupKey` when we hold no key of the group."""
        key, seq_no, sealed = self.seal_for_group(group_id, plaintext)
        message = pb.ProtocolMessage(installation_id=self.installation_id)
        entry = message.direct_message[NO_INSTALLATION]
        entry.HR_header.deprecated_key_id = key.deprecated_key_id
        entry.HR_header.seq_no = seq_no
        entry.HR_header.group_id = group_id
        entry.HR_header.key_id = key.key_id
        entry.payload = sealed
        return message

    def seal_for_group(self, group_id: bytes, plaintext: bytes) -> tuple[GroupKey, int, bytes]:
        """``plaintext`` under the group's current key without a header (status-go's
        EncryptWithHashRatchet, which sealed parts of community descriptions use): the key,
        the seq_no used and the sealed bytes. :class:`UnknownGroupKey` without a key."""
        key = self.current_key(group_id)
        if key is None:
            raise UnknownGroupKey("no key for this group", group_id=group_id, key_id=b"")
        chain = self._chain(key)
        seq_no = chain.highest + 1
        if seq_no >= 2**32:
            raise SeqNoTooHigh("the key's seq_no is exhausted: rotate the group key")
        digest = keccak256(chain.message_key(chain.highest))
        chain.remember(seq_no, digest)
        return key, seq_no, seal(digest, plaintext)

    def open_sealed(self, key_id: bytes, seq_no: int, data: bytes) -> bytes:
        """The inverse of :meth:`seal_for_group` (DecryptWithHashRatchet), counted on failure:
        :class:`UnknownGroupKey` (nothing is kept), :class:`UndecryptableGroupMessage`,
        :class:`SeqNoTooHigh`, or :class:`InvalidGroupMessage` for seq_no 0 or past uint32
        (status-go hands seq_no 0 back unopened; a sealed part is never numbered 0)."""
        try:
            if not 0 < seq_no < 2**32:
                raise InvalidGroupMessage(f"seq_no {seq_no} is not a sealed message's")
            key = self.store.get(key_id)
            if key is None:
                raise UnknownGroupKey("no such key", group_id=b"", key_id=key_id)
            chain = self._chain(key)
            digest = chain.message_key(seq_no)
            plaintext = unseal(digest, data)
            chain.remember(seq_no, digest)
            return plaintext
        except HashRatchetError as exc:
            ERRORS.labels(type(exc).__name__).inc()
            raise

    def encrypt_for_group(self, group_id: bytes, plaintext: bytes) -> bytes:
        """:meth:`encrypt`, serialised: the bytes to wrap in the Waku payload."""
        return self.encrypt(group_id, plaintext).SerializeToString()

    def decrypt(
        self,
        message: bytes | pb.ProtocolMessage,
        *,
        sender: bytes | None = None,
        context: object = None,
    ) -> GroupMessage:
        """Open a hash ratchet message. ``sender`` (its envelope's signer) is needed only for a
        rekey message. Raises :class:`UnknownGroupKey` (the message is kept, with ``context``,
        until :meth:`add_keys` brings its key), :class:`InvalidGroupMessage`,
        :class:`UndecryptableGroupMessage` or :class:`SeqNoTooHigh`; each is counted."""
        try:
            return self._decrypt(message, sender, context)
        except HashRatchetError as exc:
            ERRORS.labels(type(exc).__name__).inc()
            raise

    def _decrypt(
        self, message: bytes | pb.ProtocolMessage, sender: bytes | None, context: object
    ) -> GroupMessage:
        if isinstance(message, bytes):
            raw = message
            try:
                parsed = pb.ProtocolMessage.FromString(message)
            except (DecodeError, ValueError) as exc:
                raise InvalidGroupMessage(f"not a ProtocolMessage: {exc}") from None
        else:
            parsed, raw = message, message.SerializeToString()
        entry = parsed.direct_message.get(self.installation_id)
        if entry is None:
            entry = parsed.direct_message.get(NO_INSTALLATION)
        if entry is None or not entry.HasField("HR_header"):
            raise InvalidGroupMessage("no hash ratchet header")
        header = entry.HR_header
        if header.seq_no == 0:
            return self._key_message(header, entry.payload, sender)
        key = self.store.get(header.key_id) if header.key_id else None
        if key is None and header.deprecated_key_id:
            # Older clients name the key by the low 32 bits of its timestamp only.
            key = next(
                (
                    k
                    for k in self.store.keys_for_group(header.group_id)
                    if k.deprecated_key_id == header.deprecated_key_id
                ),
                None,
            )
        if key is None or key.group_id != header.group_id:
            self._wait(PendingMessage(header.key_id, raw, context))
            if self.on_missing is not None:
                self.on_missing(header.group_id)
            raise UnknownGroupKey(
                "no key for this message yet", group_id=header.group_id, key_id=header.key_id
            )
        chain = self._chain(key)
        digest = chain.message_key(header.seq_no)
        plaintext = unseal(digest, entry.payload)
        chain.remember(header.seq_no, digest)  # only once it authenticated
        return GroupMessage(header.group_id, key.key_id, header.seq_no, plaintext)

    def _key_message(
        self, header: pb.HRHeader, payload: bytes, sender: bytes | None
    ) -> GroupMessage:
        """seq_no 0: keys in the clear (a 1:1 key exchange's header) and our sealed key in a
        RekeyGroup (the public rekey message); its payload is not encrypted by the ratchet."""
        if not header.group_id:
            raise InvalidGroupMessage("a key message without a group id")
        keys = list(keys_from_proto(header.group_id, header.keys))
        if not self.may_give_keys(header.group_id, sender):
            keys = []
        elif header.keys.HasField("rekey_group") and self.identity is not None and sender:
            mine = open_rekey(self.identity, sender, header.group_id, header.keys.rekey_group)
            if mine is not None:
                keys.append(mine)
        added, opened = self.add_keys(keys)
        current = self.current_key(header.group_id)
        return GroupMessage(
            header.group_id,
            current.key_id if current else b"",
            0,
            payload,
            tuple(added),
            tuple(opened),
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _wait(self, pending: PendingMessage) -> None:
        self._pending.append(pending)
        while len(self._pending) > self.max_pending:
            self._pending.popleft()
            EVICTED.labels("pending").inc()
        PENDING.set(len(self._pending))

    def _chain(self, key: GroupKey) -> _Chain:
        chain = self._chains.get(key.key_id)
        if chain is None:
            chain = self._chains[key.key_id] = _Chain(key.key)
        self._chains.move_to_end(key.key_id)
        while len(self._chains) > MAX_CHAINS:
            self._chains.popitem(last=False)
            EVICTED.labels("chain").inc()
        return chain


def keys_from_proto(group_id: bytes, keys: pb.HRKeys) -> Iterable[GroupKey]:
    """The keys of an ``HRKeys`` (HandleHashRatchetKeys): a zero timestamp means an older
    client that sent only ``deprecated_key_id``. Bad keys raise :class:`InvalidGroupMessage`."""
    for entry in keys.keys:
        timestamp = entry.timestamp or entry.deprecated_key_id
        yield GroupKey(group_id, timestamp, entry.key)


def private_data_name(key_id: bytes, seq_no: int) -> str:
    """The ``private_data`` map key of a sealed part of a community description: the key
    id's lowercase hex, then seq_no in decimal (communities/manager.go,
    encryptCommunityDescriptionImpl)."""
    return key_id.hex() + str(seq_no)


def parse_private_data_name(name: str) -> tuple[bytes, int]:
    """(key id, seq_no) from :func:`private_data_name`'s form (decryptCommunityDescription);
    :class:`InvalidGroupMessage` when it is not that."""
    digits = name[64:]
    if len(name) <= 64 or not digits.isdigit() or not digits.isascii():
        raise InvalidGroupMessage("a private data name is not key id hex and a seq_no")
    try:
        return bytes.fromhex(name[:64]), int(digits)
    except ValueError:
        raise InvalidGroupMessage("a private data name's key id is not hex") from None


def keys_to_proto(keys: Iterable[GroupKey]) -> pb.HRKeys:
    """``HRKeys`` listing ``keys`` (status-go's GetHRKeys)."""
    out = pb.HRKeys()
    for key in keys:
        out.keys.add(deprecated_key_id=key.deprecated_key_id, key=key.key, timestamp=key.timestamp)
    return out
