"""The hash ratchet in a ChatSession's receive path (pystatus.chat.receiving): keys over 1:1
messages, channel messages under them on the channel's public topic, messages that came
before their key, keys from someone the authority refuses, and the keys saved across a restart.
Driven by hand, as tests/chat/test_session.py drives sessions: no sockets, no clock reads;
then a Messenger on one node, for how messenger_community sets the ratchet up."""

from __future__ import annotations

from pathlib import Path

import coincurve
import pytest
from prometheus_client import REGISTRY

from pystatus.chat import topics
from pystatus.chat.account import Account
from pystatus.chat.actions import Action, Commit, Deliver
from pystatus.chat.community import community_key
from pystatus.chat.database import Batch
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.errors import InvalidGroupMessage
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import build_key_exchange
from pystatus.chat.hash_ratchet_state import STATE_NAME, export_state, restore_state
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.chat.writes import Write
from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric

PUBSUB = "/waku/2/rs/16/32"
NOW = 1000.0
NOW_NS = 1_700_000_000 * 10**9
NOW_MS = NOW_NS // 10**6
COMMUNITY = "0x02" + "77" * 32
CHAT = COMMUNITY + "c0ffee00-0000-4000-8000-000000000001"
GROUP = CHAT.encode()
"""An encrypted channel's group id: its chat id's bytes (status-go's messenger.go)."""


def _session(name: str) -> ChatSession:
    identity = coincurve.PrivateKey().secret
    session = ChatSession(
        identity, EncryptionService(identity, name, clock=lambda: NOW_NS), segment_size=1 << 20
    )
    session.listen_own()
    session.set_connected(True, NOW)
    return session


def _receive(session: ChatSession, payload: bytes, content_topic: str) -> list[Action]:
    message = WakuMessage(payload, content_topic, version=1, timestamp=NOW_NS)
    return session.receive(message, message_hash(PUBSUB, message), NOW)


def _dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("chat_dropped_messages_total", {"reason": reason}) or 0.0


class Channel:
    """A control node (alice) with a channel key, and a member (bob) whose session reads it."""

    def __init__(self, *, authorised: bool = True) -> None:
        self.alice, self.bob = _session("alice"), _session("bob")
        self.alice.encryption.add_bundle(self.bob.encryption.own_bundle())
        self.bob.encryption.add_bundle(self.alice.encryption.own_bundle())
        self.control = HashRatchet("alice")
        self.key = self.control.new_key(GROUP, NOW_MS)
        alice_key = self.alice.public_key
        self.bob.hash_ratchet = HashRatchet(
            "bob",
            identity=self.bob.identity,
            authority=lambda group, sender: authorised and sender == alice_key,
        )
        self.bob.watch_public(CHAT)

    def send_keys(self) -> list[Action]:
        message = build_key_exchange(self.alice.encryption, self.bob.public_key, GROUP, [self.key])
        sealed = encrypt_asymmetric(
            message.SerializeToString(), self.bob.public_key, signer=self.alice.identity
        )
        return _receive(self.bob, sealed, topics.partitioned_content_topic(self.bob.public_key))

    def post(self, text: bytes) -> tuple[bytes, list[Action]]:
        wrapped = wrap(text, MessageType.CHAT_MESSAGE, self.alice.identity)
        protocol = self.control.encrypt_for_group(GROUP, wrapped)
        sealed = encrypt_symmetric(
            protocol, topics.public_chat_key(CHAT), signer=self.alice.identity
        )
        return wrapped, _receive(self.bob, sealed, topics.public_chat_content_topic(CHAT))


def _delivered(actions: list[Action]) -> list[tuple[bytes | None, bytes, str | None]]:
    return [(a.sender, a.wrapped, a.public_chat) for a in actions if isinstance(a, Deliver)]


def _saved_keys(actions: list[Action]) -> bytes | None:
    for action in actions:
        if isinstance(action, Commit):
            for name, value in action.sync_state:
                if name == STATE_NAME:
                    return value
    return None


def test_keys_then_channel_messages() -> None:
    channel = Channel()
    actions = channel.send_keys()
    assert _delivered(actions) == []  # the keys are no content
    saved = _saved_keys(actions)
    assert saved is not None
    wrapped, actions = channel.post(b"in the channel")
    assert _delivered(actions) == [(channel.alice.public_key, wrapped, CHAT)]
    # After a restart the saved keys read the channel again.
    restarted = HashRatchet("bob")
    assert restore_state(restarted, saved) == 1
    assert restarted.current_key(GROUP) == channel.key


def test_a_message_before_its_key_is_delivered_when_the_key_comes() -> None:
    channel = Channel()
    before = _dropped("no_group_key")
    wrapped, actions = channel.post(b"early")
    assert _delivered(actions) == [] and _dropped("no_group_key") == before + 1
    assert _delivered(channel.send_keys()) == [(channel.alice.public_key, wrapped, CHAT)]


def test_keys_from_someone_the_authority_refuses_are_not_taken() -> None:
    channel = Channel(authorised=False)
    refused = REGISTRY.get_sample_value(
        "chat_hash_ratchet_errors_total", {"kind": "unauthorised_keys"}
    )
    assert _saved_keys(channel.send_keys()) is None
    assert (
        REGISTRY.get_sample_value("chat_hash_ratchet_errors_total", {"kind": "unauthorised_keys"})
        == (refused or 0.0) + 1
    )
    assert channel.bob.hash_ratchet is not None
    assert channel.bob.hash_ratchet.current_key(GROUP) is None


def test_without_a_hash_ratchet_channel_messages_are_dropped_and_counted() -> None:
    channel = Channel()
    channel.bob.hash_ratchet = None
    before = _dropped("no_group_key")
    _, actions = channel.post(b"unreadable")
    assert _delivered(actions) == [] and _dropped("no_group_key") == before + 1


@pytest.mark.parametrize(
    "data", [b"", b"{}", b'{"version": 2, "keys": []}', b'{"version": 1, "keys": [["zz", 1, ""]]}']
)
def test_damaged_key_state_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(InvalidGroupMessage):
        restore_state(HashRatchet("x"), data)


def test_key_state_round_trips() -> None:
    ratchet = HashRatchet("x")
    keys = [ratchet.new_key(GROUP, NOW_MS), ratchet.new_key(b"other", NOW_MS)]
    restored = HashRatchet("x")
    assert restore_state(restored, export_state(ratchet)) == 2
    assert [restored.current_key(k.group_id) for k in keys] == keys


async def test_a_messenger_reads_group_keys_from_control_nodes_and_keeps_them(
    tmp_path: Path,
) -> None:
    """messenger_community gives the session a hash ratchet whose authority is the
    community's control node, and restores its keys at the next start (about 2 s)."""
    account = Account.create(tmp_path / "owner", "password", params=ScryptParams(n=1 << 10))[0]
    config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, shards=(32, 64))
    async with WakuNode(config) as node:
        assert node.relay is not None
        owner = Messenger(account, RelayTransport(node.relay))
        await owner.start()
        try:
            community_id = await owner.create_community("Keys")
            ratchet = owner.session.hash_ratchet
            assert ratchet is not None and ratchet.authority is not None
            control = coincurve.PublicKey(community_key(community_id)).format(compressed=False)
            stranger = coincurve.PrivateKey().public_key.format(compressed=False)
            community_group = bytes.fromhex(community_id[2:])
            channel_group = (community_id + "c0ffee00-0000-4000-8000-000000000001").encode()
            for group in (community_group, channel_group):
                assert ratchet.authority(group, control)
                assert not ratchet.authority(group, stranger)
            assert not ratchet.authority(GROUP, control)  # another community's channel
            key = ratchet.new_key(channel_group, NOW_MS)
            await owner._commit(Write(extra=Batch(sync_state={STATE_NAME: export_state(ratchet)})))
        finally:
            await owner.stop()
        again = Messenger(account, RelayTransport(node.relay))
        await again.start()
        try:
            assert again.session.hash_ratchet is not None
            assert again.session.hash_ratchet.current_key(channel_group) == key
        finally:
            await again.stop()
