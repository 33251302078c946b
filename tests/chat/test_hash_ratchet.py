"""The hash ratchet (pystatus.chat.hash_ratchet): status-go v1.1.0's vectors, bounds, errors,
key distribution and rotation, and fuzzing of everything that reads bytes from the network."""

from __future__ import annotations

import contextlib

import coincurve
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from pystatus.chat.encryption import EncryptionService
from pystatus.chat.errors import (
    HashRatchetError,
    InvalidGroupMessage,
    SeqNoTooHigh,
    UndecryptableGroupMessage,
    UnknownGroupKey,
)
from pystatus.chat.hash_ratchet import (
    KEY_BUMP_MS,
    MAX_SEQ_NO_DELTA,
    GroupKey,
    HashRatchet,
    MemoryKeyStore,
    key_id,
    keys_to_proto,
    new_key,
    open_rekey,
    parse_private_data_name,
    private_data_name,
    seal_rekey,
)
from pystatus.chat.hash_ratchet_exchange import (
    KeyAction,
    KeyActionType,
    build_key_exchange,
    community_of_group,
    distribute,
    plan_key_action,
    read_key_exchange,
    receive_key_exchange,
)
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.waku.enr import keccak256

# Known answers from status-go v1.1.0 itself: tests/interop/statusgo_hr (HandleHashRatchetKeys,
# BuildHashRatchetMessage, BuildHashRatchetReKeyGroupMessage) fed the key below.
VECTOR_GROUP = bytes.fromhex("02" + "ab" * 32)
VECTOR_KEY = keccak256(b"pystatus hash ratchet vector: key")
VECTOR_TIMESTAMP = 1_700_000_000_010
VECTOR_KEY_ID = bytes.fromhex("051266a7b77fb90a3b3462736b5c01e3e1abbd301ab4e39ba7c1c0c3d43cb8e1")
_HEAD = "120d737461747573676f2d68722d31aa0686010a046e6f6e65127e1a2c"
_TAIL = "b2064d088ad095ff0c10{n:02x}1a2102" + "ab" * 32 + "2220" + VECTOR_KEY_ID.hex()
VECTOR_MESSAGES = {
    1: _HEAD
    + "aba5e00b8b0846629b1b2112c5cf4fdf0bd17e418cbfef463655ae22e94d034b866dfef6ae717cb3dee4aa91"
    + _TAIL.format(n=1),
    2: _HEAD
    + "76faa8316a858278099f9c4981e36a1bb858af147659e24b5cc1058f6062f11694562a61d1307e6033611383"
    + _TAIL.format(n=2),
    3: _HEAD
    + "231397d690be01abd0f0dce7109d161c134aeb5851b6d97b61db9f52381425d3e03632938e2ec51fa222cd8a"
    + _TAIL.format(n=3),
}
VECTOR_MEMBER = keccak256(b"pystatus hash ratchet vector: member")
VECTOR_REKEY_SENDER = bytes.fromhex(
    "042359939f85c1b473df5109dcec20d5be9ae0c7f34b285aab11801ff5521858aa"
    "434cf25a806c9d6709c46df232f25826666475cffaaaeb3814196626ed387bd3"
)
VECTOR_REKEY = (
    "120d737461747573676f2d68722d31aa0689010a046e6f6e651280011a0777726170706564b206741a2102"
    + "ab" * 32
    + "2a4f124d108ad095ffbc31224408bdf4abe90e123cb03b4f6d074e2259f32e4c67c8ae302856e6e01dbb232f"
    "ce7099306f8a73ed87490cb9af259b385b624743fc04cff87f0a5cdd918fb3257b570a280f"
)
NOW_MS = 1_800_000_000_000
GROUP = b"0x02" + b"11" * 32 + b"c0ffee00-0000-4000-8000-000000000001"


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _vector_key() -> GroupKey:
    return GroupKey(VECTOR_GROUP, VECTOR_TIMESTAMP, VECTOR_KEY)


# -- status-go's vectors ---------------------------------------------------------------------


def test_key_id_is_status_gos() -> None:
    assert key_id(VECTOR_GROUP, VECTOR_TIMESTAMP, VECTOR_KEY) == VECTOR_KEY_ID
    assert _vector_key().key_id == VECTOR_KEY_ID
    assert _vector_key().deprecated_key_id == VECTOR_TIMESTAMP & 0xFFFFFFFF


def test_status_go_messages_decrypt_in_any_order() -> None:
    ratchet = HashRatchet("py")
    ratchet.add_keys([_vector_key()])
    for n in (3, 1, 2, 3):  # late, then already seen: each is a fixed position on the chain
        opened = ratchet.decrypt(bytes.fromhex(VECTOR_MESSAGES[n]))
        assert (opened.seq_no, opened.plaintext) == (n, f"status-go says {n}".encode())
        assert opened.group_id == VECTOR_GROUP and opened.key_id == VECTOR_KEY_ID


def test_status_go_rekey_message_gives_the_member_its_key() -> None:
    ratchet = HashRatchet("py", identity=VECTOR_MEMBER)
    opened = ratchet.decrypt(bytes.fromhex(VECTOR_REKEY), sender=VECTOR_REKEY_SENDER)
    assert opened.seq_no == 0 and opened.plaintext == b"wrapped"
    (key,) = opened.new_keys
    assert key.group_id == VECTOR_GROUP and ratchet.current_key(VECTOR_GROUP) == key
    # Someone else, or the right member told the wrong sender, learns nothing.
    stranger = HashRatchet("py", identity=coincurve.PrivateKey().secret)
    assert stranger.decrypt(bytes.fromhex(VECTOR_REKEY), sender=VECTOR_REKEY_SENDER).new_keys == ()
    wrong = HashRatchet("py", identity=VECTOR_MEMBER)
    other = coincurve.PrivateKey().public_key.format()
    assert wrong.decrypt(bytes.fromhex(VECTOR_REKEY), sender=other).new_keys == ()


# -- keys ------------------------------------------------------------------------------------


def test_new_key_timestamps_follow_status_go() -> None:
    first = new_key(GROUP, NOW_MS)
    assert first.timestamp == NOW_MS + KEY_BUMP_MS and len(first.key) == 32
    assert new_key(GROUP, NOW_MS, first).timestamp == first.timestamp + 1  # clock not past it
    assert new_key(GROUP, NOW_MS + 100, first).timestamp == NOW_MS + 100 + KEY_BUMP_MS
    assert new_key(GROUP, NOW_MS).key != first.key


@pytest.mark.parametrize(
    ("group", "timestamp", "key"),
    [(GROUP, NOW_MS, b"short"), (b"", NOW_MS, bytes(32)), (GROUP, 0, bytes(32))],
)
def test_bad_keys_are_refused(group: bytes, timestamp: int, key: bytes) -> None:
    with pytest.raises(InvalidGroupMessage):
        GroupKey(group, timestamp, key)


def test_a_key_never_shows_in_its_repr() -> None:
    key = new_key(GROUP, NOW_MS)
    assert key.key.hex() not in repr(key) and repr(key.key) not in repr(key)


def test_store_keeps_the_newest_keys_per_group_and_counts_evictions() -> None:
    store = MemoryKeyStore(keys_per_group=3, max_groups=2)
    ratchet = HashRatchet("py", store=store)
    before = _metric("chat_hash_ratchet_evicted_total", what="key")
    keys = [ratchet.new_key(GROUP, NOW_MS + i * 1000) for i in range(5)]
    assert ratchet.keys_for_member(GROUP) == keys[:1:-1]  # newest first
    assert _metric("chat_hash_ratchet_evicted_total", what="key") == before + 2
    assert store.get(keys[0].key_id) is None
    # An older key arriving late is not kept past the bound either.
    assert store.add(GroupKey(GROUP, NOW_MS - 1, bytes(32))) is False
    groups_before = _metric("chat_hash_ratchet_evicted_total", what="group")
    ratchet.new_key(b"second", NOW_MS)
    ratchet.new_key(b"third", NOW_MS)
    assert store.keys_for_group(GROUP) == []
    assert _metric("chat_hash_ratchet_evicted_total", what="group") == groups_before + 1


# -- messages --------------------------------------------------------------------------------


def test_round_trip_numbers_past_what_was_seen() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    key = alice.new_key(GROUP, NOW_MS)
    bob.add_keys([key])
    for n in range(1, 4):
        message = alice.encrypt(GROUP, f"m{n}".encode())
        header = message.direct_message["none"].HR_header
        assert (header.seq_no, header.key_id, header.group_id) == (n, key.key_id, GROUP)
        assert header.deprecated_key_id == key.deprecated_key_id
        assert bob.decrypt(message).plaintext == f"m{n}".encode()
    reply = bob.encrypt(GROUP, b"bob")  # bob saw 3: he sends 4, as status-go's shared cache does
    assert reply.direct_message["none"].HR_header.seq_no == 4
    assert alice.decrypt(reply.SerializeToString()).plaintext == b"bob"
    assert alice.encrypt(GROUP, b"again").direct_message["none"].HR_header.seq_no == 5


def test_messages_under_older_kept_keys_still_decrypt() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    old = alice.new_key(GROUP, NOW_MS)
    late = alice.encrypt(GROUP, b"late")
    bob.add_keys([old, alice.new_key(GROUP, NOW_MS + 5)])
    assert bob.decrypt(late).key_id == old.key_id


def test_tampered_and_wrong_key_messages_are_refused_and_counted() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    bob.add_keys([alice.new_key(GROUP, NOW_MS)])
    message = alice.encrypt(GROUP, b"intact")
    entry = message.direct_message["none"]
    entry.payload = bytes([entry.payload[0] ^ 1]) + entry.payload[1:]
    before = _metric("chat_hash_ratchet_errors_total", kind="UndecryptableGroupMessage")
    with pytest.raises(UndecryptableGroupMessage):
        bob.decrypt(message)
    assert _metric("chat_hash_ratchet_errors_total", kind="UndecryptableGroupMessage") == before + 1
    entry.payload = b"\x00" * 10
    with pytest.raises(UndecryptableGroupMessage):
        bob.decrypt(message)
    # A failed message does not move the chain: the next good one still opens.
    assert bob.decrypt(alice.encrypt(GROUP, b"next")).plaintext == b"next"


def test_a_message_too_far_along_the_chain_is_refused_without_walking() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    bob.add_keys([alice.new_key(GROUP, NOW_MS)])
    message = alice.encrypt(GROUP, b"x")
    message.direct_message["none"].HR_header.seq_no = MAX_SEQ_NO_DELTA + 2
    with pytest.raises(SeqNoTooHigh):
        bob.decrypt(message)


def test_a_message_before_its_key_waits_and_opens_when_the_key_comes() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    key = alice.new_key(GROUP, NOW_MS)
    with pytest.raises(UnknownGroupKey) as raised:
        bob.decrypt(alice.encrypt(GROUP, b"early"), context="from alice")
    assert (raised.value.group_id, raised.value.key_id) == (GROUP, key.key_id)
    assert bob.pending == 1
    added, opened = bob.add_keys([key])
    assert added == [key] and bob.pending == 0
    assert [(m.plaintext, c) for m, c in opened] == [(b"early", "from alice")]
    with pytest.raises(UnknownGroupKey):
        HashRatchet("c").encrypt(GROUP, b"no key to send under")


def test_a_message_kept_for_a_missing_key_is_told_to_the_owner() -> None:
    """on_missing names the group of each message kept for a key we lack (the Messenger asks
    the community's control node then), and nothing else."""
    missing: list[bytes] = []
    alice, bob = HashRatchet("a"), HashRatchet("b", on_missing=missing.append)
    key = alice.new_key(GROUP, NOW_MS)
    with pytest.raises(UnknownGroupKey):
        bob.decrypt(alice.encrypt(GROUP, b"early"))
    assert missing == [GROUP]
    bob.add_keys([key])
    assert bob.decrypt(alice.encrypt(GROUP, b"later")).plaintext == b"later"
    with pytest.raises(InvalidGroupMessage):
        bob.decrypt(b"\xff")
    assert missing == [GROUP]


def test_waiting_messages_are_bounded() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b", max_pending=2)
    alice.new_key(GROUP, NOW_MS)
    before = _metric("chat_hash_ratchet_evicted_total", what="pending")
    for n in range(5):
        with pytest.raises(UnknownGroupKey):
            bob.decrypt(alice.encrypt(GROUP, bytes([n])))
    assert bob.pending == 2
    assert _metric("chat_hash_ratchet_evicted_total", what="pending") == before + 3
    _, opened = bob.add_keys(alice.keys_for_member(GROUP))
    assert [m.plaintext for m, _ in opened] == [b"\x03", b"\x04"]


def test_an_older_client_naming_the_key_by_its_deprecated_id_is_read() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    bob.add_keys([alice.new_key(GROUP, NOW_MS)])
    message = alice.encrypt(GROUP, b"old client")
    message.direct_message["none"].HR_header.key_id = b""
    assert bob.decrypt(message).plaintext == b"old client"


def test_a_waiting_message_that_still_finds_no_key_waits_on() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    key = alice.new_key(GROUP, NOW_MS)
    message = alice.encrypt(GROUP, b"x")
    message.direct_message["none"].HR_header.group_id = b"another group"  # names our key id
    with pytest.raises(UnknownGroupKey):
        bob.decrypt(message, context="c")
    added, opened = bob.add_keys([key])
    assert added == [key] and opened == [] and bob.pending == 1


def test_a_rekey_message_hands_back_what_its_key_opened() -> None:
    control = coincurve.PrivateKey()
    member = HashRatchet("m", identity=coincurve.PrivateKey().secret)
    assert member.identity is not None
    sender = HashRatchet("c")
    key = sender.new_key(GROUP, NOW_MS)
    with pytest.raises(UnknownGroupKey):
        member.decrypt(sender.encrypt(GROUP, b"early"), context="ctx")
    rekey = pb.ProtocolMessage()
    entry = rekey.direct_message["none"]
    entry.HR_header.group_id = GROUP
    entry.HR_header.keys.rekey_group.CopyFrom(
        seal_rekey(control.secret, [coincurve.PrivateKey(member.identity).public_key.format()], key)
    )
    opened = member.decrypt(rekey, sender=control.public_key.format())
    assert opened.new_keys == (key,)
    assert [(m.plaintext, c) for m, c in opened.opened] == [(b"early", "ctx")]


def test_sealed_parts_without_a_header() -> None:
    alice, bob = HashRatchet("a"), HashRatchet("b")
    bob.add_keys([alice.new_key(GROUP, NOW_MS)])
    key, seq_no, data = alice.seal_for_group(GROUP, b"members")
    name = private_data_name(key.key_id, seq_no)
    assert parse_private_data_name(name) == (key.key_id, 1)
    assert bob.open_sealed(*parse_private_data_name(name), data) == b"members"
    with pytest.raises(UndecryptableGroupMessage):
        bob.open_sealed(key.key_id, 2, data)
    for seq_no in (0, 2**32):
        with pytest.raises(InvalidGroupMessage):
            bob.open_sealed(key.key_id, seq_no, data)
    with pytest.raises(UnknownGroupKey):
        bob.open_sealed(bytes(32), 1, data)
    assert bob.pending == 0  # nothing of a sealed part is kept


@pytest.mark.parametrize(
    "name", ["", "ab" * 32, "zz" * 32 + "1", "ab" * 32 + "x", "ab" * 32 + "\u0661"]
)
def test_bad_private_data_names_are_typed_errors(name: str) -> None:
    with pytest.raises(InvalidGroupMessage):
        parse_private_data_name(name)


# -- key distribution and rotation -----------------------------------------------------------


def _pair() -> tuple[EncryptionService, EncryptionService]:
    a = EncryptionService(coincurve.PrivateKey().secret, "a-device")
    b = EncryptionService(coincurve.PrivateKey().secret, "b-device")
    a.add_bundle(b.own_bundle())
    b.add_bundle(a.own_bundle())
    return a, b


@pytest.mark.parametrize("keys_in_header", [False, True])
def test_key_exchange_over_the_double_ratchet(keys_in_header: bool) -> None:
    a, b = _pair()
    control, member = HashRatchet("a-device"), HashRatchet("b-device")
    keys = [control.new_key(GROUP, NOW_MS), control.new_key(GROUP, NOW_MS + 1)]
    message = build_key_exchange(a, b.public_key, GROUP, keys, keys_in_header=keys_in_header)
    entry = message.direct_message["b-device"]
    assert entry.HasField("DR_header") and entry.HR_header.seq_no == 0
    assert entry.HR_header.group_id == GROUP
    assert entry.HR_header.HasField("keys") is keys_in_header
    if not keys_in_header:  # nothing of the keys outside the Double Ratchet's ciphertext
        assert all(k.key not in message.SerializeToString() for k in keys)
    plaintext = b.decrypt(a.public_key, message)
    added, _ = receive_key_exchange(member, message, plaintext, a.public_key)
    assert {k.key_id for k in added} == {k.key_id for k in keys}
    assert member.decrypt(control.encrypt(GROUP, b"hi")).plaintext == b"hi"


def test_key_exchange_without_a_bundle_goes_under_a_dh_header() -> None:
    a = EncryptionService(coincurve.PrivateKey().secret, "a-device")
    b = EncryptionService(coincurve.PrivateKey().secret, "b-device")
    key = new_key(GROUP, NOW_MS)
    message = build_key_exchange(a, b.public_key, GROUP, [key])
    assert message.direct_message["none"].HasField("DH_header")
    plaintext = b.decrypt(a.public_key, message)
    assert read_key_exchange("b-device", message, plaintext) == [key]


def test_an_ordinary_one_to_one_message_carries_no_keys() -> None:
    a, b = _pair()
    message = a.encrypt(b.public_key, b"hello")
    assert read_key_exchange("b-device", message, b.decrypt(a.public_key, message)) == []


def test_a_bad_key_exchange_is_a_typed_error() -> None:
    message = pb.ProtocolMessage()
    message.direct_message["none"].HR_header.group_id = GROUP
    with pytest.raises(InvalidGroupMessage):
        read_key_exchange("x", message, b"\xff\xff not HRKeys")
    bad = keys_to_proto([new_key(GROUP, NOW_MS)])
    bad.keys[0].key = b"short"
    message.direct_message["none"].HR_header.keys.CopyFrom(bad)
    with pytest.raises(InvalidGroupMessage):
        read_key_exchange("x", message, b"")


def test_rekey_group_seals_for_each_recipient_only() -> None:
    sender = coincurve.PrivateKey()
    members = [coincurve.PrivateKey() for _ in range(3)]
    key = new_key(GROUP, NOW_MS)
    rekey = seal_rekey(sender.secret, [m.public_key.format() for m in members[:2]], key)
    for m in members[:2]:
        assert open_rekey(m.secret, sender.public_key.format(), GROUP, rekey) == key
    assert open_rekey(members[2].secret, sender.public_key.format(), GROUP, rekey) is None
    # Two recipients in one slot share the entry: each still finds its own.
    slot = next(iter(rekey.keys))
    rekey.keys[slot] = rekey.keys[slot] + next(v for k, v in rekey.keys.items() if k != slot)
    assert open_rekey(members[0].secret, sender.public_key.format(), GROUP, rekey) == key


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (dict(was_encrypted=False, is_encrypted=False), KeyAction(KeyActionType.NONE)),
        (
            dict(was_encrypted=False, is_encrypted=True),
            KeyAction(KeyActionType.ADD, frozenset({"0xa", "0xb"})),
        ),
        (
            dict(was_encrypted=True, is_encrypted=False),
            KeyAction(KeyActionType.REMOVE, frozenset({"0xa", "0xb"})),
        ),
        (
            dict(was_encrypted=True, is_encrypted=True, added=["0xb"]),
            KeyAction(KeyActionType.SEND_TO_MEMBERS, frozenset({"0xb"})),
        ),
        (
            dict(was_encrypted=True, is_encrypted=True, removed=["0xc"], added=["0xb"]),
            KeyAction(KeyActionType.REKEY, frozenset({"0xa", "0xb"}), frozenset({"0xc"})),
        ),
        (
            dict(was_encrypted=True, is_encrypted=True, control_node_changed=True),
            KeyAction(KeyActionType.REKEY, frozenset({"0xa", "0xb"})),
        ),
        (dict(was_encrypted=True, is_encrypted=True), KeyAction(KeyActionType.NONE)),
    ],
)
def test_key_actions_follow_status_go(change: dict[str, object], expected: KeyAction) -> None:
    args: dict[str, object] = {"control_node_changed": False, "members": ["0xa", "0xb"]}
    args.update(change)
    assert plan_key_action(**args) == expected  # type: ignore[arg-type]


def test_a_banned_member_gets_no_new_key_and_cannot_read_on() -> None:
    control_enc = EncryptionService(coincurve.PrivateKey().secret, "control")
    members = {
        name: (
            EncryptionService(secret := coincurve.PrivateKey().secret, name),
            HashRatchet(name, identity=secret),
        )
        for name in ("kept", "banned")
    }
    for enc, _ in members.values():
        control_enc.add_bundle(enc.own_bundle())
    hexes = {name: "0x" + enc.public_key.hex() for name, (enc, _) in members.items()}
    control = HashRatchet("control", identity=control_enc.identity)

    def deliver(direct: dict[bytes, pb.ProtocolMessage] | object) -> None:
        assert isinstance(direct, dict)
        for enc, ratchet in members.values():
            if enc.public_key in direct:
                message = direct[enc.public_key]
                receive_key_exchange(
                    ratchet,
                    message,
                    enc.decrypt(control_enc.public_key, message),
                    control_enc.public_key,
                )

    first = distribute(
        control,
        control_enc,
        GROUP,
        plan_key_action(
            was_encrypted=False,
            is_encrypted=True,
            control_node_changed=False,
            members=[*hexes.values(), "0x" + control_enc.public_key.hex()],
        ),
        NOW_MS,
    )
    assert set(first.direct) == {enc.public_key for enc, _ in members.values()}  # not ourselves
    deliver(dict(first.direct))
    action = plan_key_action(
        was_encrypted=True,
        is_encrypted=True,
        control_node_changed=False,
        members=[hexes["kept"]],
        removed=[hexes["banned"]],
    )
    second = distribute(control, control_enc, GROUP, action, NOW_MS + 1000)
    assert set(second.direct) == {members["kept"][0].public_key}
    assert second.public is not None and second.key is not None
    deliver(dict(second.direct))
    banned = members["banned"][1]
    assert banned.decrypt(second.public, sender=control_enc.public_key).new_keys == ()
    after = control.encrypt(GROUP, b"after the ban")
    assert members["kept"][1].decrypt(after).plaintext == b"after the ban"
    with pytest.raises(UnknownGroupKey):
        banned.decrypt(after)


def test_the_community_of_a_group_id() -> None:
    community = "0x02" + "ab" * 32
    assert community_of_group(bytes.fromhex(community[2:])) == community
    assert community_of_group((community + "c0ffee00-0000-4000-8000-000000000001").encode()) == (
        community
    )
    for other in (b"", b"0x02", (("0x02" + "zz" * 32) + "x").encode(), b"\x04" + bytes(32)):
        assert community_of_group(other) == ""


# -- fuzzing: parse or raise the layer's typed error -----------------------------------------


def _valid_message() -> tuple[HashRatchet, bytes]:
    ratchet = HashRatchet("fuzz", identity=VECTOR_MEMBER)
    ratchet.add_keys([_vector_key()])
    return ratchet, bytes.fromhex(VECTOR_MESSAGES[2])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_decrypt_arbitrary_bytes(data: bytes) -> None:
    ratchet, _ = _valid_message()
    with contextlib.suppress(HashRatchetError):
        ratchet.decrypt(data, sender=VECTOR_REKEY_SENDER)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_decrypt_mutated_messages(data: st.DataObject) -> None:
    ratchet, valid = _valid_message()
    source = data.draw(st.sampled_from([valid, bytes.fromhex(VECTOR_REKEY)]))
    index = data.draw(st.integers(0, len(source) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = source[:index] + bytes([value]) + source[index + 1 :]
    with contextlib.suppress(HashRatchetError):
        ratchet.decrypt(mutated, sender=VECTOR_REKEY_SENDER)


@settings(max_examples=200, deadline=None)
@given(
    group=st.binary(max_size=40),
    seq=st.integers(0, 2**32 - 1),
    key_id_=st.binary(max_size=40),
    keys=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=40), st.integers(0, 2**64 - 1)),
        max_size=3,
    ),
    rekey=st.dictionaries(st.integers(0, 2**32 - 1), st.binary(max_size=130), max_size=3),
    rekey_ts=st.integers(0, 2**64 - 1),
    payload=st.binary(max_size=80),
)
def test_fuzz_structured_headers(
    group: bytes,
    seq: int,
    key_id_: bytes,
    keys: list[tuple[int, bytes, int]],
    rekey: dict[int, bytes],
    rekey_ts: int,
    payload: bytes,
) -> None:
    ratchet, _ = _valid_message()
    message = pb.ProtocolMessage()
    entry = message.direct_message["none"]
    entry.HR_header.group_id = group
    entry.HR_header.seq_no = seq
    entry.HR_header.key_id = key_id_
    for deprecated, key, timestamp in keys:
        entry.HR_header.keys.keys.add(deprecated_key_id=deprecated, key=key, timestamp=timestamp)
    if rekey:
        entry.HR_header.keys.rekey_group.timestamp = rekey_ts
        for slot, sealed in rekey.items():
            entry.HR_header.keys.rekey_group.keys[slot] = sealed
    entry.payload = payload
    with contextlib.suppress(HashRatchetError):
        ratchet.decrypt(message, sender=VECTOR_REKEY_SENDER)
    with contextlib.suppress(HashRatchetError):
        read_key_exchange("fuzz", message, payload)
