"""Distributing hash ratchet keys and rotating them, as status-go v1.1.0 does (sans-IO).

Keys reach members in 1:1 messages over the Double Ratchet (``protocol/encryption/protocol.go``
BuildHashRatchetKeyExchangeMessage): the payload is the serialised ``HRKeys``, encrypted for
each of the member's installations as any 1:1 message, and every entry of the
``ProtocolMessage`` carries an ``HRHeader`` with ``seq_no`` 0 and the group id. status-go also
copies the keys into that header, in the clear inside the Waku envelope; status-go's
HandleMessage reads them from the decrypted payload when the header has none, so by default we
leave them out of the header and the keys get the Double Ratchet's forward secrecy
(``keys_in_header=True`` sends status-go's exact form). Without a bundle of the member the
message goes under a DH header, as status-go's EncryptPayload does then.

When keys rotate (``protocol/communities/community_encryption_key_action.go``): a community or
channel that becomes encrypted gets a key sent to every member; a member added gets the kept
keys; a member removed or banned, or a new control node, makes a new key, sent to the members
that remain and to no one else. status-go v1.1.0 (RekeyCompatibility) sends that new key both
in 1:1 messages and in a public message on the group's topic whose ``RekeyGroup`` seals it for
each remaining member (``message_sender.go`` sendCommunity, dispatchCommunityChatMessage).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import coincurve
from google.protobuf.message import DecodeError

from pystatus.chat.encryption import NO_INSTALLATION, EncryptionService, NoBundle
from pystatus.chat.errors import InvalidGroupMessage
from pystatus.chat.hash_ratchet import (
    ERRORS,
    GroupKey,
    GroupMessage,
    HashRatchet,
    keys_from_proto,
    keys_to_proto,
    seal_rekey,
)
from pystatus.chat.proto import encryption_pb2 as pb

COMMUNITY_ID_LENGTH = 2 + 2 * 33
"""A community id as text: ``0x`` and the compressed public key's hex."""


def community_of_group(group_id: bytes) -> str:
    """The community id (``0x02...``) a group id belongs to: the community's own group is its
    compressed public key (33 bytes); a channel's is the ASCII of ``<community id><channel
    id>`` (status-go's messenger.go and communities_key_distributor.go). ``""`` for neither."""
    if len(group_id) == 33 and group_id[0] in (2, 3):
        return "0x" + group_id.hex()
    if group_id[:2] == b"0x" and len(group_id) > COMMUNITY_ID_LENGTH:
        prefix = group_id[:COMMUNITY_ID_LENGTH].decode("ascii", "replace")
        try:
            bytes.fromhex(prefix[2:])
        except ValueError:
            return ""
        return prefix.lower()
    return ""


def build_key_exchange(
    encryption: EncryptionService,
    recipient: bytes,
    group_id: bytes,
    keys: Iterable[GroupKey],
    *,
    keys_in_header: bool = False,
) -> pb.ProtocolMessage:
    """The 1:1 message that gives ``recipient`` (a public key) the group's ``keys``
    (BuildHashRatchetKeyExchangeMessage). Send it as any 1:1 message (negotiated or partitioned
    topic). Raises what :meth:`EncryptionService.encrypt` raises."""
    hr_keys = keys_to_proto(keys)
    if not hr_keys.keys:
        raise InvalidGroupMessage("a key exchange without keys")
    payload = hr_keys.SerializeToString()
    try:
        message = encryption.encrypt(recipient, payload)
    except NoBundle:
        message = encryption.encrypt_dh(recipient, payload)
    for entry in message.direct_message.values():
        entry.HR_header.seq_no = 0
        entry.HR_header.group_id = group_id
        if keys_in_header:
            entry.HR_header.keys.CopyFrom(hr_keys)
    return message


def read_key_exchange(
    installation_id: str, message: pb.ProtocolMessage, plaintext: bytes
) -> list[GroupKey]:
    """The keys a decrypted 1:1 message carries for our installation (HandleMessage: an
    ``HRHeader`` with ``seq_no`` 0; keys from the header, else from the decrypted payload), or
    ``[]`` when it is no key exchange. Malformed keys raise :class:`InvalidGroupMessage`."""
    entry = message.direct_message.get(installation_id)
    if entry is None:
        entry = message.direct_message.get(NO_INSTALLATION)
    if entry is None or not entry.HasField("HR_header") or entry.HR_header.seq_no != 0:
        return []
    header = entry.HR_header
    try:
        if not header.group_id:
            raise InvalidGroupMessage("a key exchange without a group id")
        if header.HasField("keys"):
            hr_keys = header.keys
        else:
            try:
                hr_keys = pb.HRKeys.FromString(plaintext)
            except (DecodeError, ValueError) as exc:
                raise InvalidGroupMessage(f"a key exchange payload is not HRKeys: {exc}") from None
        return list(keys_from_proto(header.group_id, hr_keys))
    except InvalidGroupMessage:
        ERRORS.labels("InvalidKeyExchange").inc()
        raise


def carries_only_keys(installation_id: str, message: pb.ProtocolMessage, plaintext: bytes) -> bool:
    """Whether a decrypted 1:1 message is a key exchange whose payload is the keys themselves
    (BuildHashRatchetKeyExchangeMessage), not a wrapped message sent beside keys
    (BuildHashRatchetKeyExchangeMessageWithPayload): such a payload is no content to read."""
    entry = message.direct_message.get(installation_id)
    if entry is None:
        entry = message.direct_message.get(NO_INSTALLATION)
    if entry is None or not entry.HasField("HR_header") or entry.HR_header.seq_no != 0:
        return False
    if not entry.HR_header.HasField("keys"):
        return True
    try:
        payload_keys = pb.HRKeys.FromString(plaintext)
    except (DecodeError, ValueError):
        return False
    return [(k.key, k.timestamp) for k in payload_keys.keys] == [
        (k.key, k.timestamp) for k in entry.HR_header.keys.keys
    ]


def receive_key_exchange(
    ratchet: HashRatchet, message: pb.ProtocolMessage, plaintext: bytes, sender: bytes
) -> tuple[list[GroupKey], list[tuple[GroupMessage, object]]]:
    """Keep the keys a decrypted 1:1 message from ``sender`` carries, when the ratchet's
    authority lets ``sender`` give them; (keys that were new, waiting group messages they
    opened as (GroupMessage, context)). Call it after :meth:`EncryptionService.decrypt`."""
    keys = read_key_exchange(ratchet.installation_id, message, plaintext)
    if not keys:
        return [], []
    if not ratchet.may_give_keys(keys[0].group_id, sender):
        if ratchet.on_refused is not None:
            ratchet.on_refused(keys)  # may yet be proven the group's (community_private_data)
        return [], []
    return ratchet.add_keys(keys)


def build_rekey_message(
    ratchet: HashRatchet,
    identity: bytes,
    recipients: Iterable[bytes],
    key: GroupKey,
    payload: bytes = b"",
) -> pb.ProtocolMessage:
    """The public message on the group's topic that seals ``key`` for each of ``recipients``
    (BuildHashRatchetReKeyGroupMessage); ``payload`` travels beside it unencrypted by the
    ratchet (status-go puts the wrapped message there)."""
    message = pb.ProtocolMessage(installation_id=ratchet.installation_id)
    entry = message.direct_message[NO_INSTALLATION]
    entry.HR_header.seq_no = 0
    entry.HR_header.group_id = key.group_id
    entry.HR_header.keys.rekey_group.CopyFrom(seal_rekey(identity, recipients, key))
    entry.payload = payload
    return message


# -- when keys change ---------------------------------------------------------------------------


class KeyActionType(enum.Enum):
    """community_encryption_key_action.go EncryptionKeyActionType."""

    NONE = 0
    ADD = 1
    """The group became encrypted: a first key, to every member."""
    REMOVE = 2
    """The group is no longer encrypted."""
    REKEY = 3
    """A member left or was banned, or the control node changed: a new key for those left."""
    SEND_TO_MEMBERS = 4
    """New members: the kept keys, to them only."""


@dataclass(frozen=True, slots=True)
class KeyAction:
    type: KeyActionType
    members: frozenset[str] = frozenset()
    """Who is sent keys: member public keys, as the community description names them."""
    removed: frozenset[str] = field(default=frozenset())


def plan_key_action(
    *,
    was_encrypted: bool,
    is_encrypted: bool,
    control_node_changed: bool,
    members: Iterable[str],
    added: Iterable[str] = (),
    removed: Iterable[str] = (),
) -> KeyAction:
    """What a change of a community or channel means for its keys (evaluateEncryptionKeyAction).
    ``members`` are those after the change; a removed member is never among the recipients."""
    everyone = frozenset(members)
    gone = frozenset(removed)
    if control_node_changed and is_encrypted:
        return KeyAction(KeyActionType.REKEY, everyone - gone)
    if is_encrypted and not was_encrypted:
        return KeyAction(KeyActionType.ADD, everyone - gone)
    if was_encrypted and not is_encrypted:
        return KeyAction(KeyActionType.REMOVE, everyone)
    if not is_encrypted:
        return KeyAction(KeyActionType.NONE)
    if gone:
        return KeyAction(KeyActionType.REKEY, everyone - gone, gone)
    new = frozenset(added)
    if new:
        return KeyAction(KeyActionType.SEND_TO_MEMBERS, new)
    return KeyAction(KeyActionType.NONE)


@dataclass(frozen=True, slots=True)
class KeyDistribution:
    """What to send for a key action: 1:1 messages by recipient, and the public rekey
    message for the group's topic (None unless the action was a rekey)."""

    key: GroupKey | None
    direct: Mapping[bytes, pb.ProtocolMessage]
    public: pb.ProtocolMessage | None = None


def distribute(
    ratchet: HashRatchet,
    encryption: EncryptionService,
    group_id: bytes,
    action: KeyAction,
    now_ms: int,
    *,
    keys_in_header: bool = False,
) -> KeyDistribution:
    """Carry out ``action`` for ``group_id`` (the control node's CommunitiesKeyDistributor):
    make a key when it asks for one (``now_ms``: unix milliseconds, wall clock) and build the
    messages that send it. ADD and SEND_TO_MEMBERS send every kept key; REKEY sends only the
    new one, 1:1 and in the public rekey message. Recipients are hex public keys
    (``0x04...``), as the community description names members; our own key is skipped."""
    if action.type in (KeyActionType.NONE, KeyActionType.REMOVE):
        return KeyDistribution(None, {})
    key = ratchet.current_key(group_id)
    if action.type is KeyActionType.REKEY or key is None:
        key = ratchet.new_key(group_id, now_ms)
    keys = [key] if action.type is KeyActionType.REKEY else ratchet.keys_for_member(group_id)
    ours = coincurve.PrivateKey(encryption.identity).public_key.format(compressed=False)
    recipients = [r for r in (_public_key(m) for m in sorted(action.members)) if r != ours]
    direct = {
        r: build_key_exchange(encryption, r, group_id, keys, keys_in_header=keys_in_header)
        for r in recipients
    }
    public = None
    if action.type is KeyActionType.REKEY:
        public = build_rekey_message(ratchet, encryption.identity, recipients, key)
    return KeyDistribution(key, direct, public)


def _public_key(member: str) -> bytes:
    text = member[2:] if member.startswith("0x") else member
    try:
        return bytes(coincurve.PublicKey(bytes.fromhex(text)).format(compressed=False))
    except ValueError as exc:
        raise InvalidGroupMessage(f"a member is not a public key: {exc}") from None
