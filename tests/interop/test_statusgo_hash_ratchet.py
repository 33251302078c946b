"""pystatus's hash ratchet against status-go v1.1.0's protocol/encryption package, run in
`tests/interop/statusgo_hr` (a small Go program of ours; `make statusgo` builds it).

No network and no messenger: the Go side is status-go's ``encryption.Protocol`` on its own
SQLite database, so these check the wire forms alone, in both directions: group messages,
keys sent over a real Double Ratchet session opened from our X3DH bundle, the public rekey
message, and a rotation the removed member cannot follow.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import coincurve
import pytest
import pytest_asyncio

from pystatus.chat import community_control as control
from pystatus.chat import topics
from pystatus.chat.community import COMMUNITY_CHAT, member_key
from pystatus.chat.community_keys import CommunityKeys, group_id, seal_post
from pystatus.chat.content.messages import parse_chat_message
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.hash_ratchet import (
    GroupKey,
    HashRatchet,
    parse_private_data_name,
    private_data_name,
)
from pystatus.chat.hash_ratchet_exchange import (
    KeyAction,
    KeyActionType,
    build_key_exchange,
    build_rekey_message,
    distribute,
    receive_key_exchange,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.wrapper import MessageType, message_id, unwrap, wrap
from pystatus.waku.payload import decrypt_symmetric
from tests.interop.json_lines import JsonLinesError, JsonLinesProcess

pytestmark = [pytest.mark.interop, pytest.mark.asyncio(loop_scope="module")]

HR_DIR = Path(__file__).resolve().parent / "statusgo_hr"
BINARY = HR_DIR / "bin" / "statusgo-hr"
NOW_MS = 1_800_000_000_000


def _community() -> bytes:
    """A fresh community id (its compressed public key) as a group id: one status-go process
    serves the whole module, so no two tests share a group."""
    return coincurve.PrivateKey().public_key.format(compressed=True)


def _channel() -> bytes:
    """An encrypted channel's group id: the chat id's ASCII bytes, as status-go's messenger
    makes it (community id hex and the channel's uuid)."""
    return ("0x" + _community().hex() + "c0ffee00-0000-4000-8000-000000000001").encode()


def require_statusgo_hr() -> Path:
    """The built program; else skip with the reason, or fail when PYSTATUS_REQUIRE_PEERS=1."""
    reason = ""
    if not BINARY.is_file():
        reason = (
            "statusgo-hr not built: run `make statusgo`"
            if shutil.which("go")
            else "statusgo-hr not built and Go is not on PATH"
        )
    else:
        built = BINARY.stat().st_mtime
        sources = [*HR_DIR.glob("*.go"), HR_DIR / "go.mod", HR_DIR / "go.sum"]
        if any(p.stat().st_mtime > built for p in sources if p.exists()):
            reason = "statusgo-hr is older than its sources: run `make statusgo`"
    if not reason:
        return BINARY
    if os.environ.get("PYSTATUS_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (PYSTATUS_REQUIRE_PEERS=1)")
    pytest.skip(reason)


class StatusGoHR(JsonLinesProcess):
    name = "statusgo-hr"

    def __init__(self, binary: Path) -> None:
        super().__init__(ready_timeout=30.0, stop_grace=5.0)
        self._binary = binary

    def _argv(self) -> Sequence[str]:
        return [str(self._binary)]

    @property
    def public_key(self) -> bytes:
        return bytes.fromhex(str(self.ready["public_key"]))


async def _handle(go: StatusGoHR, sender: bytes, message: pb.ProtocolMessage) -> dict[str, object]:
    return await go.request(
        "handle", sender=sender.hex(), message=message.SerializeToString().hex()
    )


async def _go_keys(go: StatusGoHR, group: bytes) -> list[GroupKey]:
    reply = await go.request("keys", group_id=group.hex())
    return [GroupKey(group, int(k["timestamp"]), bytes.fromhex(k["key"])) for k in reply["keys"]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def go() -> AsyncIterator[StatusGoHR]:
    async with StatusGoHR(require_statusgo_hr()) as peer:
        yield peer


def _account(name: str) -> tuple[bytes, EncryptionService, HashRatchet]:
    """A fresh account with a unique installation id: status-go names a Double Ratchet
    session by its own pre-key and the other side's installation id alone (persistence.go
    GetRatchetInfo), so two accounts of one installation id would share a session there."""
    identity = coincurve.PrivateKey().secret
    name = f"{name}-{uuid.uuid4()}"
    return identity, EncryptionService(identity, name), HashRatchet(name, identity=identity)


async def _pair(go: StatusGoHR, encryption: EncryptionService) -> None:
    """Bundles both ways, as a contact request or a first 1:1 message would carry them."""
    await go.request("add_bundle", bundle=encryption.own_bundle().SerializeToString().hex())
    reply = await go.request("bundle")
    encryption.add_bundle(pb.Bundle.FromString(bytes.fromhex(str(reply["bundle"]))))


@pytest.mark.parametrize("make_group", [_community, _channel], ids=["community", "channel"])
async def test_status_go_group_messages_decrypt_here_and_ours_there(
    go: StatusGoHR, make_group: Callable[[], bytes]
) -> None:
    group = make_group()
    await go.request("new_key", group_id=group.hex())
    (key,) = await _go_keys(go, group)
    reply = await go.request("keys", group_id=group.hex())
    assert reply["keys"][0]["key_id"] == key.key_id.hex()
    ours = HashRatchet("py-1")
    ours.add_keys([key])
    for n in range(1, 4):
        sent = await go.request("encrypt", group_id=group.hex(), payload=f"go {n}".encode().hex())
        opened = ours.decrypt(bytes.fromhex(str(sent["message"])))
        assert (opened.plaintext, opened.seq_no, opened.key_id) == (
            f"go {n}".encode(),
            n,
            key.key_id,
        )
    sender = coincurve.PrivateKey().public_key.format(compressed=False)
    for n in range(3):
        message = ours.encrypt(group, f"py {n}".encode())
        assert message.direct_message["none"].HR_header.seq_no == 4 + n  # past what we saw
        reply = await _handle(go, sender, message)
        assert bytes.fromhex(str(reply["payload"])) == f"py {n}".encode()


async def test_keys_from_status_go_over_the_double_ratchet(go: StatusGoHR) -> None:
    """status-go's key exchange (GetKeyExMessageSpecs) to our X3DH bundle opens here."""
    _identity, encryption, ours = _account("py-member")
    community = _community()
    await _pair(go, encryption)
    await go.request("new_key", group_id=community.hex())
    reply = await go.request(
        "key_exchange", group_id=community.hex(), recipient=encryption.public_key.hex()
    )
    message = pb.ProtocolMessage.FromString(bytes.fromhex(str(reply["message"])))
    entry = message.direct_message[encryption.installation_id]
    assert entry.HasField("DR_header") and entry.HR_header.seq_no == 0
    plaintext = encryption.decrypt(go.public_key, message)
    added, _ = receive_key_exchange(ours, message, plaintext, go.public_key)
    assert [k.key_id for k in added] == [k.key_id for k in await _go_keys(go, community)]
    sent = await go.request("encrypt", group_id=community.hex(), payload=b"after keys".hex())
    assert ours.decrypt(bytes.fromhex(str(sent["message"]))).plaintext == b"after keys"


@pytest.mark.parametrize("keys_in_header", [False, True], ids=["payload-only", "status-go-form"])
async def test_our_key_exchange_opens_in_status_go(go: StatusGoHR, keys_in_header: bool) -> None:
    _identity, encryption, ours = _account("py-control")
    channel = _channel()
    await _pair(go, encryption)
    key = ours.new_key(channel, NOW_MS)
    message = build_key_exchange(
        encryption, go.public_key, channel, [key], keys_in_header=keys_in_header
    )
    assert "none" not in message.direct_message  # a real Double Ratchet session, not DH
    reply = await _handle(go, encryption.public_key, message)
    assert reply["hash_ratchet"] == [{"group_id": channel.hex(), "key_id": key.key_id.hex()}]
    sent = await go.request("encrypt", group_id=channel.hex(), payload=b"under your key".hex())
    opened = ours.decrypt(bytes.fromhex(str(sent["message"])))
    assert (opened.plaintext, opened.key_id) == (b"under your key", key.key_id)


async def test_rekey_messages_both_ways(go: StatusGoHR) -> None:
    identity, encryption, ours = _account("py-rekey")
    community, channel = _community(), _channel()
    # Ours to status-go: the public RekeyGroup message seals the new key for it.
    key = ours.new_key(community, NOW_MS)
    public = build_rekey_message(ours, identity, [go.public_key], key, b"wrapped")
    reply = await _handle(go, encryption.public_key, public)
    assert bytes.fromhex(str(reply["payload"])) == b"wrapped"
    assert reply["hash_ratchet"] == [{"group_id": community.hex(), "key_id": key.key_id.hex()}]
    # status-go's to us, under a key of its own.
    await go.request("new_key", group_id=channel.hex())
    reply = await go.request(
        "rekey_group",
        group_id=channel.hex(),
        payload=b"theirs".hex(),
        recipients=[encryption.public_key.hex(), coincurve.PrivateKey().public_key.format().hex()],
    )
    opened = ours.decrypt(bytes.fromhex(str(reply["message"])), sender=go.public_key)
    assert opened.seq_no == 0 and opened.plaintext == b"theirs"
    assert [k.key_id for k in opened.new_keys] == [k.key_id for k in await _go_keys(go, channel)]


async def test_a_removed_member_cannot_read_after_rotation(go: StatusGoHR) -> None:
    """A control node of ours rotates after a ban: status-go (kept) reads on, the banned
    pystatus member holds only the old key and reads nothing new."""
    _identity, encryption, control = _account("py-control")
    _, banned_encryption, banned = _account("py-banned")
    community = _community()
    await _pair(go, encryption)
    encryption.add_bundle(banned_encryption.own_bundle())
    members = {"0x" + go.public_key.hex(), "0x" + banned_encryption.public_key.hex()}
    first = distribute(
        control, encryption, community, KeyAction(KeyActionType.ADD, frozenset(members)), NOW_MS
    )
    assert first.key is not None and first.public is None
    for recipient, message in first.direct.items():
        if recipient == go.public_key:
            await _handle(go, encryption.public_key, message)
        else:
            plaintext = banned_encryption.decrypt(encryption.public_key, message)
            receive_key_exchange(banned, message, plaintext, encryption.public_key)
    before = control.encrypt(community, b"before the ban")
    assert banned.decrypt(before).plaintext == b"before the ban"

    banned_hex = "0x" + banned_encryption.public_key.hex()
    rekey = KeyAction(
        KeyActionType.REKEY, frozenset(members - {banned_hex}), frozenset({banned_hex})
    )
    second = distribute(control, encryption, community, rekey, NOW_MS + 60_000)
    assert set(second.direct) == {go.public_key} and second.public is not None
    assert second.key is not None and second.key.key_id != first.key.key_id
    assert banned.decrypt(second.public, sender=encryption.public_key).new_keys == ()
    reply = await _handle(go, encryption.public_key, second.direct[go.public_key])
    assert reply["hash_ratchet"][0]["key_id"] == second.key.key_id.hex()  # type: ignore[index]

    after = control.encrypt(community, b"after the ban")
    assert bytes.fromhex(str((await _handle(go, encryption.public_key, after))["payload"])) == (
        b"after the ban"
    )
    with pytest.raises(UnknownGroupKey):
        banned.decrypt(after)
    sent = await go.request("encrypt", group_id=community.hex(), payload=b"go after".hex())
    with pytest.raises(UnknownGroupKey):
        banned.decrypt(bytes.fromhex(str(sent["message"])))
    assert control.decrypt(bytes.fromhex(str(sent["message"]))).plaintext == b"go after"


async def test_status_go_refuses_a_tampered_group_message(go: StatusGoHR) -> None:
    ours = HashRatchet("py-1")
    community = _community()
    key = ours.new_key(community, NOW_MS)
    await go.request(
        "add_key", group_id=community.hex(), key=key.key.hex(), timestamp=key.timestamp
    )
    message = ours.encrypt(community, b"intact")
    payload = bytearray(message.direct_message["none"].payload)
    payload[0] ^= 1
    message.direct_message["none"].payload = bytes(payload)
    with pytest.raises(JsonLinesError, match="authentication failed"):
        await _handle(go, coincurve.PrivateKey().public_key.format(), message)


async def test_sealed_description_parts_both_ways(go: StatusGoHR) -> None:
    """A community description's private data (EncryptWithHashRatchet, no header), named
    key id hex + seq_no as communities/manager.go names it."""
    community = _community()
    await go.request("new_key", group_id=community.hex())
    ours = HashRatchet("py-1")
    ours.add_keys(await _go_keys(go, community))
    for n in range(1, 3):
        sealed = await go.request(
            "seal", group_id=community.hex(), payload=f"part {n}".encode().hex()
        )
        key_id, seq_no = parse_private_data_name(str(sealed["name"]))
        assert seq_no == n
        assert ours.open_sealed(key_id, seq_no, bytes.fromhex(str(sealed["data"]))) == (
            f"part {n}".encode()
        )
    key, seq_no, data = ours.seal_for_group(community, b"ours")
    assert seq_no == 3
    assert private_data_name(key.key_id, seq_no) == key.key_id.hex() + "3"
    reply = await go.request("open", key_id=key.key_id.hex(), seq_no=seq_no, data=data.hex())
    assert bytes.fromhex(str(reply["payload"])) == b"ours"


async def test_an_encrypted_community_of_ours_with_status_go_as_member(go: StatusGoHR) -> None:
    """Our control node's own key distribution (community_keys) reaches status-go over a real
    Double Ratchet session; our post, as the Messenger seals it for the channel's topic, is
    read by status-go's StatusMessage layers; status-go's post under that key is read here;
    after status-go is banned the rotated key never reaches it and it cannot read on."""
    owner_identity, encryption, ours = _account("py-owner")
    await _pair(go, encryption)
    private, community = control.create(
        encryption.public_key, "Vault", NOW_MS, manual_accept=True, encrypted=True
    )
    channel_id, community = control.add_channel(community, private, "general", NOW_MS)
    chat_id = community.id + channel_id
    keys = CommunityKeys(owner_identity)
    first = keys.control_change(community, ours, encryption, NOW_MS)
    assert first is not None and first.key is not None and first.direct == {}
    go_member = member_key(go.public_key)
    community = control.add_member(community, private, go_member, NOW_MS + 1)
    admitted = keys.control_change(community, ours, encryption, NOW_MS + 1)
    assert admitted is not None and set(admitted.direct) == {go.public_key}
    message = admitted.direct[go.public_key]
    assert "none" not in message.direct_message  # a real Double Ratchet session, not DH
    reply = await _handle(go, encryption.public_key, message)
    assert reply["hash_ratchet"] == [
        {"group_id": group_id(community).hex(), "key_id": first.key.key_id.hex()}
    ]

    # ours, as sent on the wire, read by status-go's messenger layers
    post = chat_message_pb2.ChatMessage(
        clock=NOW_MS,
        timestamp=NOW_MS,
        text="from pystatus",
        chat_id=chat_id,
        message_type=COMMUNITY_CHAT,  # type: ignore[arg-type]
        content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
    )
    wrapped = wrap(post.SerializeToString(), MessageType.CHAT_MESSAGE, owner_identity)
    (part,) = seal_post(ours, owner_identity, community, chat_id, wrapped, 1 << 20)
    assert part.content_topic == topics.public_chat_content_topic(chat_id)
    envelope = decrypt_symmetric(part.payload, topics.public_chat_key(chat_id))
    assert envelope.signer == encryption.public_key
    read = await go.request(
        "receive_post", sender=encryption.public_key.hex(), message=envelope.payload.hex()
    )
    assert (read["text"], read["chat_id"], read["type"], read["message_type"]) == (
        "from pystatus",
        chat_id,
        MessageType.CHAT_MESSAGE,
        COMMUNITY_CHAT,
    )
    assert read["author"] == encryption.public_key.hex()
    assert read["message_id"] == message_id(encryption.public_key, wrapped).hex()

    # status-go's post under the key it was sent, read here
    sent = await go.request(
        "send_post", group_id=group_id(community).hex(), chat_id=chat_id, text="from status-go"
    )
    opened = ours.decrypt(bytes.fromhex(str(sent["message"])))
    unwrapped = unwrap(opened.plaintext)
    theirs = parse_chat_message(unwrapped.payload)
    assert unwrapped.author == go.public_key and unwrapped.type == MessageType.CHAT_MESSAGE
    assert (theirs.text, theirs.chat_id, int(theirs.message_type)) == (
        "from status-go",
        chat_id,
        COMMUNITY_CHAT,
    )
    assert community.can_post(go_member, channel_id, MessageType.CHAT_MESSAGE)

    # banned: the new key goes to no one (status-go was the only other member)
    community = control.ban(community, private, go_member, NOW_MS + 2)
    rotated = keys.control_change(community, ours, encryption, NOW_MS + 2)
    assert rotated is not None and rotated.key is not None and rotated.direct == {}
    assert rotated.key.key_id != first.key.key_id
    (part,) = seal_post(ours, owner_identity, community, chat_id, wrapped, 1 << 20)
    envelope = decrypt_symmetric(part.payload, topics.public_chat_key(chat_id))
    with pytest.raises(JsonLinesError):
        await go.request(
            "receive_post", sender=encryption.public_key.hex(), message=envelope.payload.hex()
        )
