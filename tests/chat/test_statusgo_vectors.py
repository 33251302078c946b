"""pystatus against status-go v1.1.0's own known answers (``tests/vectors/statusgo/*.json``).

The vectors come from status-go's functions run on fixed keys (``tests/interop/statusgo/
vectors.go``); these tests feed the same fixed inputs to pystatus's public functions and ask
for the same bytes. Where status-go drew a value at random (an ephemeral or ratchet key) and
pystatus offers no way to pass a fixed one in, the test says so and reaches the value through
the lower-level function that takes it, or decrypts and verifies status-go's output instead.
``segmentation.json`` is checked by ``test_segmentation.py``.
"""

from __future__ import annotations

from typing import Any

import coincurve
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from google.protobuf.message import Message

from pystatus.chat import topics, wrapper, x3dh
from pystatus.chat.encryption import NO_INSTALLATION, EncryptionService, shared_secret
from pystatus.chat.mvds import MVDS, SyncMessage, message_id, one_to_one_group_id
from pystatus.chat.proto import chat_message_pb2, contact_pb2, mvds_pb2
from pystatus.chat.proto import encryption_pb2 as encryption_pb
from pystatus.chat.ratchet import (
    Header,
    RatchetState,
    UndecryptableMessage,
    dh,
    kdf_chain,
    kdf_root,
    open_sealed,
    seal,
)
from pystatus.waku.enr import keccak256
from tests.vectors import load_vectors

METADATA = load_vectors("statusgo/application_metadata.json")
X3DH = load_vectors("statusgo/x3dh.json")
RATCHET = load_vectors("statusgo/double_ratchet.json")
TOPICS = load_vectors("statusgo/topics.json")
MVDS_VECTORS = load_vectors("statusgo/mvds.json")

KEYS: dict[str, dict[str, str]] = {
    key["label"]: key
    for group in (METADATA["signer"], X3DH["keys"], RATCHET["keys"], TOPICS["keys"])
    for key in group
}


def _private(label: str) -> bytes:
    return bytes.fromhex(KEYS[label]["private"])


def _public(label: str) -> bytes:
    """Uncompressed, as status-go's crypto.FromECDSAPub."""
    return bytes.fromhex(KEYS[label]["public"])


def _compressed(label: str) -> bytes:
    return bytes.fromhex(KEYS[label]["compressed"])


ALICE, BOB = _private("alice identity"), _private("bob identity")
SIGNED_PRE_KEY = _private("bob signed pre key")
EPH_LABEL = "alice x3dh ephemeral"
EPHEMERAL = _private(EPH_LABEL)


@pytest.mark.parametrize("label", sorted(KEYS))
def test_fixed_keys_are_the_ones_the_vectors_name(label: str) -> None:
    """Every file uses the same keys: keccak256 of a label, and their two public encodings."""
    key = coincurve.PrivateKey(_private(label))
    assert _private(label) == keccak256(b"pystatus statusgo vectors: " + label.encode())
    assert key.public_key.format(compressed=False) == _public(label)
    assert key.public_key.format(compressed=True) == _compressed(label)


# -- application metadata (the signed wrapper) -------------------------------------------------

PAYLOAD_MESSAGES: dict[str, type[Message]] = {
    "CHAT_MESSAGE": chat_message_pb2.ChatMessage,
    "EMOJI_REACTION": chat_message_pb2.EmojiReaction,
    "ACCEPT_CONTACT_REQUEST": contact_pb2.AcceptContactRequest,
}
CASES = pytest.mark.parametrize("case", METADATA["cases"], ids=lambda c: str(c["name"]))


@CASES
def test_payload_fields_serialise_as_status_go_does(case: dict[str, Any]) -> None:
    """pystatus's protobufs carry status-go's field numbers and enum values: the fields
    status-go reports, parsed into pystatus's message (a field it lacked would be refused),
    serialise to status-go's bytes."""
    message = json_format.ParseDict(case["payload_json"], PAYLOAD_MESSAGES[case["type"]]())
    assert message.SerializeToString(deterministic=True).hex() == case["payload"]
    parsed = PAYLOAD_MESSAGES[case["type"]].FromString(bytes.fromhex(case["payload"]))
    assert parsed == message


@CASES
def test_wrap_signs_and_encodes_as_status_go(case: dict[str, Any]) -> None:
    """Both sign with RFC 6979 nonces, so the recoverable signature and the wrapper match."""
    assert wrapper.MessageType[case["type"]] == case["type_id"]
    wrapped = wrapper.wrap(bytes.fromhex(case["payload"]), case["type_id"], ALICE)
    assert wrapped.hex() == case["wrapped"]
    assert wrapped[2 : 2 + 65].hex() == case["signature"], "field 1: the 65-byte signature"


@CASES
def test_unwrap_recovers_status_gos_signer_and_message_id(case: dict[str, Any]) -> None:
    wrapped = bytes.fromhex(case["wrapped"])
    message = wrapper.unwrap(wrapped)
    assert message.type == case["type_id"]
    assert message.payload.hex() == case["payload"]
    assert message.author.hex() == case["signer_public"] == KEYS["alice identity"]["public"]
    assert "0x" + message.message_id.hex() == case["message_id"]
    assert (
        "0x" + wrapper.message_id(_compressed("alice identity"), wrapped).hex()
        == (case["message_id"])
    ), "the id is of the uncompressed key, whichever encoding the caller holds"


# -- X3DH ------------------------------------------------------------------------------------

BUNDLE = X3DH["bundle"]


def _bundle() -> encryption_pb.Bundle:
    return x3dh.build_bundle(
        BOB,
        {BUNDLE["installation_id"]: x3dh.SignedPreKeyPair(SIGNED_PRE_KEY, BUNDLE["version"])},
        timestamp_ns=BUNDLE["timestamp"],
    )


def test_bundle_is_built_and_signed_as_status_go_does() -> None:
    bundle = _bundle()
    entry = bundle.signed_pre_keys[BUNDLE["installation_id"]]
    assert bundle.identity.hex() == BUNDLE["identity"] == KEYS["bob identity"]["compressed"]
    assert entry.signed_pre_key.hex() == BUNDLE["signed_pre_key"]
    assert (entry.version, entry.protocol_version) == (
        BUNDLE["version"],
        BUNDLE["protocol_version"],
    )
    assert bundle.timestamp == BUNDLE["timestamp"]
    assert bundle.signature.hex() == BUNDLE["signature"]
    assert bundle.SerializeToString(deterministic=True).hex() == BUNDLE["serialized"]


def test_status_gos_bundle_decodes_and_verifies() -> None:
    bundle = x3dh.decode_bundle(bytes.fromhex(BUNDLE["serialized"]))
    assert x3dh.verify_bundle(bundle) == _public("bob identity")
    assert bundle.signature.hex() == BUNDLE["signature"]
    assert bundle.timestamp == BUNDLE["timestamp"]


def test_a_changed_status_go_bundle_no_longer_verifies() -> None:
    bundle = encryption_pb.Bundle.FromString(bytes.fromhex(BUNDLE["serialized"]))
    bundle.timestamp += 1
    with pytest.raises(x3dh.InvalidBundle):
        x3dh.verify_bundle(bundle)


def test_x3dh_responder_reaches_status_gos_secret() -> None:
    """status-go's PerformPassiveX3DH: bob's side from alice's identity and ephemeral keys."""
    secret = x3dh.respond(BOB, SIGNED_PRE_KEY, _public("alice identity"), _compressed(EPH_LABEL))
    assert secret.hex() == X3DH["x3dh"]["shared_secret"] == RATCHET["shared_key"]


def test_x3dh_initiator_reaches_status_gos_secret() -> None:
    """``x3dh.initiate`` draws its ephemeral key at random and takes none: the initiator's
    side of the vector is reached through ``ratchet.dh`` (which ``initiate`` runs) with the
    fixed ephemeral key, and ``initiate``'s own secret is checked against ``respond``."""
    spk = _compressed("bob signed pre key")
    secret = keccak256(dh(ALICE, spk) + dh(EPHEMERAL, _public("bob identity")) + dh(EPHEMERAL, spk))
    assert secret.hex() == X3DH["x3dh"]["shared_secret"]
    drawn, ephemeral = x3dh.initiate(ALICE, _public("bob identity"), spk)
    assert drawn == x3dh.respond(BOB, SIGNED_PRE_KEY, _public("alice identity"), ephemeral)


def test_dh_header_key_is_status_gos() -> None:
    """The key of a message sent without a bundle, from the sender's and recipient's sides."""
    key = X3DH["dh_header_key"]["key"]
    assert dh(EPHEMERAL, _public("bob identity")).hex() == key
    assert shared_secret(BOB, _compressed(EPH_LABEL)).hex() == key


def test_a_dh_header_message_under_status_gos_key_decrypts() -> None:
    """``encrypt_dh`` draws its ephemeral key and nonce at random, and status-go's DH-form
    ciphertext is not among the vectors (its nonce is random too): the message is sealed here
    under the vectors' key in status-go's layout (AES-256-GCM, ciphertext || tag || 12-byte
    nonce, installation ``none``), and bob's EncryptionService must derive that key from the
    header's ephemeral key and his identity to read it."""
    key = bytes.fromhex(X3DH["dh_header_key"]["key"])
    nonce = bytes(range(12))
    message = encryption_pb.ProtocolMessage(installation_id="alice-device")
    entry = message.direct_message[NO_INSTALLATION]
    entry.DH_header.key = _compressed(EPH_LABEL)
    entry.payload = AESGCM(key).encrypt(nonce, b"hello from the vectors", None) + nonce
    bob = EncryptionService(BOB, "bob-device")
    wire = encryption_pb.ProtocolMessage.FromString(message.SerializeToString())
    assert bob.decrypt(_public("alice identity"), wire) == b"hello from the vectors"


# -- the Double Ratchet ------------------------------------------------------------------------

STEP = RATCHET["initiator_first_step"]
SHARED_KEY = bytes.fromhex(RATCHET["shared_key"])
SPK_PUBLIC = _compressed("bob signed pre key")
MESSAGES: list[dict[str, Any]] = RATCHET["messages"]
MESSAGE_IDS = [f"{i}-{m['from']}" for i, m in enumerate(MESSAGES)]


def _header(message: dict[str, Any]) -> Header:
    return Header(bytes.fromhex(message["header_dh"]), message["header_n"], message["header_pn"])


def _alice() -> RatchetState:
    """``RatchetState.initiator`` with status-go's first ratchet key of alice. ``initiator``
    draws that key at random; this is the state it builds, from the same ``kdf_root`` and
    ``dh`` calls, with the fixed key."""
    private = _private("alice first ratchet key")
    root, chain = kdf_root(SHARED_KEY, dh(private, SPK_PUBLIC))
    return RatchetState(
        root,
        private,
        _compressed("alice first ratchet key"),
        dh_remote=SPK_PUBLIC,
        send_chain=chain,
    )


def _bob_after_alices_messages() -> RatchetState:
    """Bob as status-go had him for his reply: ``RatchetState.responder`` took alice's two
    messages (the responder's ratchet step drew a random key; status-go's fixed ``bob first
    ratchet key`` is put in its place through the ``kdf_root`` and ``dh`` that step runs)."""
    bob = RatchetState.responder(SHARED_KEY, SIGNED_PRE_KEY)
    for message in MESSAGES[:2]:
        bob.decrypt(_header(message["message"]), bytes.fromhex(message["message"]["ciphertext"]))
    alice_ratchet = _compressed("alice first ratchet key")
    root, receiving = kdf_root(SHARED_KEY, dh(SIGNED_PRE_KEY, alice_ratchet))
    assert root.hex() == STEP["root_key"] and receiving.hex() == STEP["chain_key"]
    assert bob.recv_chain is not None and bob.recv_chain.hex() == STEP["chain_key_2"]
    private = _private("bob first ratchet key")
    root, sending = kdf_root(root, dh(private, alice_ratchet))
    fixed = RatchetState(
        root,
        private,
        _compressed("bob first ratchet key"),
        dh_remote=alice_ratchet,
        send_chain=sending,
        recv_chain=bob.recv_chain,
        nr=bob.nr,
        pn=bob.pn,
    )
    assert (fixed.nr, fixed.ns, fixed.pn) == (2, 0, 0)
    return fixed


def test_initiator_first_step_keys_are_status_gos() -> None:
    """EthereumCrypto's DH, KdfRK and KdfCK for alice's first ratchet step. ``header_key``,
    the third 32 bytes of KdfRK, is not checked: status-go does not encrypt headers and
    ``kdf_root`` does not return it."""
    dh_out = dh(_private("alice first ratchet key"), SPK_PUBLIC)
    root, chain = kdf_root(SHARED_KEY, dh_out)
    chain_1, message_0 = kdf_chain(chain)
    chain_2, message_1 = kdf_chain(chain_1)
    got = {
        "dh_out": dh_out,
        "root_key": root,
        "chain_key": chain,
        "message_key_0": message_0,
        "chain_key_1": chain_1,
        "message_key_1": message_1,
        "chain_key_2": chain_2,
    }
    assert {name: value.hex() for name, value in got.items()} == {n: STEP[n] for n in got}
    assert dh(SIGNED_PRE_KEY, _compressed("alice first ratchet key")) == dh_out


@pytest.mark.parametrize("index", [0, 1])
def test_seal_with_status_gos_message_key_gives_its_ciphertext(index: int) -> None:
    """The sealing is deterministic (the IV comes from the message key)."""
    message = MESSAGES[index]["message"]
    key = bytes.fromhex(STEP[f"message_key_{index}"])
    sealed = seal(
        key, bytes.fromhex(message["plaintext"]), bytes.fromhex(message["header_encoded"])
    )
    assert sealed.hex() == message["ciphertext"]
    opened = open_sealed(
        key, bytes.fromhex(message["ciphertext"]), bytes.fromhex(message["header_encoded"])
    )
    assert opened.hex() == message["plaintext"]


@pytest.mark.parametrize("entry", MESSAGES, ids=MESSAGE_IDS)
def test_header_encoding_is_status_gos(entry: dict[str, Any]) -> None:
    message = entry["message"]
    assert _header(message).encode().hex() == message["header_encoded"]
    assert bytes.fromhex(message["plaintext"]).decode() == message["plaintext_utf8"]


@pytest.mark.parametrize("index", range(len(MESSAGES)), ids=MESSAGE_IDS)
def test_ratchet_encrypts_as_status_go(index: int) -> None:
    """Each message from the sender's state at status-go's fixed ratchet keys (see
    :func:`_alice` and :func:`_bob_after_alices_messages`)."""
    entry = MESSAGES[index]
    sender = _alice() if entry["from"] == "alice" else _bob_after_alices_messages()
    earlier = [m for m in MESSAGES[:index] if m["from"] == entry["from"]]
    for message in earlier:
        sender.encrypt(bytes.fromhex(message["message"]["plaintext"]))
    header, ciphertext = sender.encrypt(bytes.fromhex(entry["message"]["plaintext"]))
    assert header == _header(entry["message"])
    assert ciphertext.hex() == entry["message"]["ciphertext"]


@pytest.mark.parametrize("index", range(len(MESSAGES)), ids=MESSAGE_IDS)
def test_ratchet_decrypts_status_gos_messages(index: int) -> None:
    """Bob is ``RatchetState.responder`` as is; alice is :func:`_alice` (her only random
    key, drawn at session start, is status-go's fixed one); every message in order."""
    alice, bob = _alice(), RatchetState.responder(SHARED_KEY, SIGNED_PRE_KEY)
    for entry in MESSAGES[: index + 1]:
        message = entry["message"]
        receiver = bob if entry["from"] == "alice" else alice
        plaintext = receiver.decrypt(_header(message), bytes.fromhex(message["ciphertext"]))
        assert plaintext.decode() == message["plaintext_utf8"]


def test_ratchet_decrypts_status_gos_messages_out_of_order() -> None:
    bob = RatchetState.responder(SHARED_KEY, SIGNED_PRE_KEY)
    for message in (MESSAGES[1]["message"], MESSAGES[0]["message"]):
        plaintext = bob.decrypt(_header(message), bytes.fromhex(message["ciphertext"]))
        assert plaintext.hex() == message["plaintext"]


def test_a_changed_status_go_header_does_not_decrypt() -> None:
    """The header is the associated data: a different n changes the MAC's input."""
    bob = RatchetState.responder(SHARED_KEY, SIGNED_PRE_KEY)
    message = MESSAGES[0]["message"]
    with pytest.raises(UndecryptableMessage, match="authentication"):
        bob.decrypt(
            Header(bytes.fromhex(message["header_dh"]), 0, 1),
            bytes.fromhex(message["ciphertext"]),
        )


# -- topics and symmetric keys -----------------------------------------------------------------

TOPIC_LIST: list[dict[str, str]] = TOPICS["topics"]
TOPIC_IDS = [f"{t['kind']}-{t.get('of', t['name'])}".replace(" ", "_") for t in TOPIC_LIST]
NAMES = {
    "partitioned": topics.partitioned_topic_name,
    "personal_discovery": topics.personal_topic_name,
    "contact_code": topics.contact_code_topic_name,
}
CONTENT_TOPICS = {
    "partitioned": topics.partitioned_content_topic,
    "personal_discovery": topics.personal_content_topic,
    "contact_code": topics.contact_code_content_topic,
}


@pytest.mark.parametrize("vector", TOPIC_LIST, ids=TOPIC_IDS)
def test_topic_and_content_topic_of_each_name(vector: dict[str, str]) -> None:
    topic = topics.topic_of(vector["name"])
    assert topic.hex() == vector["topic"]
    assert topics.content_topic(topic) == vector["content_topic"]


@pytest.mark.parametrize(
    "vector", [t for t in TOPIC_LIST if t["kind"] in NAMES], ids=lambda t: f"{t['kind']}-{t['of']}"
)
@pytest.mark.parametrize("encoding", ["public", "compressed"])
def test_names_derived_from_a_public_key(vector: dict[str, str], encoding: str) -> None:
    """Partitioned, personal discovery and contact-code names, from either key encoding."""
    key = bytes.fromhex(KEYS[vector["of"]][encoding])
    assert NAMES[vector["kind"]](key) == vector["name"]
    assert CONTENT_TOPICS[vector["kind"]](key) == vector["content_topic"]


@pytest.mark.parametrize(
    "vector", [t for t in TOPIC_LIST if t["kind"] == "public_chat"], ids=lambda t: t["name"]
)
def test_public_chat_content_topic(vector: dict[str, str]) -> None:
    assert topics.public_chat_content_topic(vector["name"]) == vector["content_topic"]


@pytest.mark.parametrize(
    "vector",
    [t for t in TOPIC_LIST if "sym_key" in t],
    ids=lambda t: f"{t['kind']}-{t['name'][:24]}",
)
def test_symmetric_key_of_each_name(vector: dict[str, str]) -> None:
    """status-go's Waku.AddSymKeyFromPassword: contact codes, public chats, negotiated."""
    assert topics.public_chat_key(vector["name"]).hex() == vector["sym_key"]


NEGOTIATED = TOPICS["negotiated_secret"]
NEGOTIATED_TOPIC = next(t for t in TOPIC_LIST if t["kind"] == "negotiated")


@pytest.mark.parametrize(
    ("me", "them"), [("alice identity", "bob identity"), ("bob identity", "alice identity")]
)
def test_negotiated_secret_topic_and_key(me: str, them: str) -> None:
    for their_key in (_public(them), _compressed(them)):
        secret = shared_secret(_private(me), their_key)
        assert secret.hex() == NEGOTIATED["secret"] == NEGOTIATED_TOPIC["name"]
        assert topics.negotiated_content_topic(secret) == NEGOTIATED_TOPIC["content_topic"]
        assert topics.negotiated_key(secret).hex() == NEGOTIATED_TOPIC["sym_key"]


def test_negotiated_secret_from_encryption_services() -> None:
    """Once both devices agreed (protocol version 1 bundles), each side's EncryptionService
    hands out status-go's secret."""
    alice, bob = EncryptionService(ALICE, "alice-device"), EncryptionService(BOB, "bob-device")
    first = alice.encrypt_dh(bob.public_key, b"hi")
    assert bob.decrypt(alice.public_key, first) == b"hi"
    assert alice.decrypt(bob.public_key, bob.encrypt(alice.public_key, b"hello")) == b"hello"
    assert bob.negotiated(_public("alice identity")) == bytes.fromhex(NEGOTIATED["secret"])
    assert alice.negotiated(_public("bob identity")) == bytes.fromhex(NEGOTIATED["secret"])
    assert NEGOTIATED["chat_id"] == "0x" + KEYS["bob identity"]["public"] + "-negotiated"


def test_pubsub_topics_are_status_gos() -> None:
    """1:1, contact-code, personal and public-chat traffic goes to the default shard."""
    pubsub = TOPICS["pubsub_topics"]
    for vector in TOPIC_LIST:
        assert topics.status_pubsub_topic(vector["content_topic"]) == pubsub["default"]
    assert pubsub["non_protected"] == (
        f"/waku/2/rs/{topics.STATUS_CLUSTER}/{topics.NON_PROTECTED_SHARD}"
    )


# -- MVDS --------------------------------------------------------------------------------------

MVDS_MESSAGE = MVDS_VECTORS["message"]
GROUP = bytes.fromhex(MVDS_VECTORS["group_id"])
SYNC = SyncMessage(GROUP, MVDS_MESSAGE["timestamp"], bytes.fromhex(MVDS_MESSAGE["body"]))


@pytest.mark.parametrize("encoding", ["public", "compressed"])
def test_one_to_one_group_id_from_either_side(encoding: str) -> None:
    alice = bytes.fromhex(KEYS["alice identity"][encoding])
    bob = bytes.fromhex(KEYS["bob identity"][encoding])
    assert one_to_one_group_id(alice, bob).hex() == MVDS_VECTORS["group_id"]
    assert one_to_one_group_id(bob, alice).hex() == MVDS_VECTORS["group_id"]
    assert MVDS_MESSAGE["group_id"] == MVDS_VECTORS["group_id"]


def test_mvds_message_id() -> None:
    assert MVDS_MESSAGE["body"] == METADATA["cases"][0]["wrapped"]
    assert message_id(GROUP, MVDS_MESSAGE["timestamp"], SYNC.body).hex() == MVDS_MESSAGE["id"]
    assert SYNC.id.hex() == MVDS_MESSAGE["id"]


def test_mvds_payload_bytes() -> None:
    with_message = mvds_pb2.Payload()
    with_message.messages.add(group_id=GROUP, timestamp=SYNC.timestamp, body=SYNC.body)
    with_ack = mvds_pb2.Payload(acks=[SYNC.id])
    assert with_message.SerializeToString().hex() == MVDS_VECTORS["payload_with_message"]
    assert with_ack.SerializeToString().hex() == MVDS_VECTORS["payload_with_ack"]


def test_mvds_sends_and_acknowledges_status_gos_payloads() -> None:
    """The MVDS engine's own payloads, both ways: the message out, the acknowledgement back."""
    alice, bob = MVDS(), MVDS()
    assert alice.send(SYNC, ["bob"], 0.0) == SYNC.id
    sent = alice.tick(0.0)
    assert sent.payloads["bob"].hex() == MVDS_VECTORS["payload_with_message"]
    assert sent.carried["bob"] == [SYNC.id]
    (received,) = bob.receive("alice", bytes.fromhex(MVDS_VECTORS["payload_with_message"]))
    assert received == SYNC
    bob.acknowledge("alice", received.id)
    assert bob.tick(10.0).payloads["alice"].hex() == MVDS_VECTORS["payload_with_ack"]
    alice.receive("bob", bytes.fromhex(MVDS_VECTORS["payload_with_ack"]))
    assert alice.acknowledged == [(SYNC.id, "bob")] and alice.pending(SYNC.id) == []
