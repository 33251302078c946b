"""Two accounts chat over a network of three pystatus nodes: 1:1 (first contact, then the
ratchet), a public chat, and a second device of one account seeing both sides; hostile
public chat traffic is counted and dropped."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from pystatus.chat import topics
from pystatus.chat.account import Account
from pystatus.chat.messenger import ChatEvent, Messenger, RelayTransport
from pystatus.chat.proto import chat_message_pb2, mvds_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.node import WakuNode
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric
from tests.chat.messenger_helpers import FAST, node_config
from tests.p2p.hosts import wait_for, within


@contextlib.asynccontextmanager
async def _line_of_nodes(count: int) -> AsyncIterator[list[WakuNode]]:
    async with contextlib.AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(WakuNode(node_config())) for _ in range(count)]
        middle = nodes[1]
        for node in nodes:
            if node is not middle:
                await within(node.connect(middle.host.full_addrs()[0]))

        def meshed() -> bool:
            return all(
                node.relay is not None
                and all(node.relay.mesh_size(t) > 0 for t in node.relay.topics)
                for node in nodes
            )

        await wait_for(meshed, timeout=20, what="every shard meshed")
        yield nodes


def _messenger(account: Account, node: WakuNode, device: str) -> Messenger:
    assert node.relay is not None
    return Messenger(account, RelayTransport(node.relay), installation_id=device)


async def _next(events: AsyncIterator[ChatEvent]) -> ChatEvent:
    """The next message or reaction (delivery status news skipped)."""
    async with asyncio.timeout(10):
        while (event := await anext(events)).kind == "status":
            pass
        return event


async def test_one_to_one_public_and_second_device(tmp_path: Path) -> None:
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    alice2_account = Account.unlock(tmp_path / "alice", "alice password")
    alice2_account = Account(tmp_path / "alice-desktop", alice2_account.keys)
    async with (
        _line_of_nodes(4) as (alice_node, _, bob_node, alice2_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
        _messenger(alice2_account, alice2_node, "alice-desktop") as alice2,
    ):
        alice.pair(alice2)
        bob_events, alice_events, alice2_events = bob.events(), alice.events(), alice2.events()

        first = await alice.send(bob.chat_key, "hello bob")
        got = await _next(bob_events)
        assert (got.id, got.text, got.author, got.outgoing) == (
            first,
            "hello bob",
            alice.chat_key,
            False,
        )
        mirrored = await _next(alice2_events)
        assert (mirrored.text, mirrored.outgoing) == ("hello bob", True), "own device sees it"

        reply = await bob.send(alice.chat_key, "hi alice", response_to=first)
        for events in (alice_events, alice2_events):
            got = await _next(events)
            assert (got.id, got.text, got.response_to) == (reply, "hi alice", first)

        again = await alice.send(bob.chat_key, "ratcheted now")
        assert (await _next(bob_events)).id == again
        sessions = alice.encryption.sessions
        assert any(session and not session[0].x3dh_ephemeral for session in sessions.values())

        await bob.join_public_chat("pystatus-test")
        await alice.join_public_chat("pystatus-test")
        posted = await alice.send_public("pystatus-test", "hello everyone")
        got = await _next(bob_events)
        assert (got.id, got.chat_id, got.text) == (posted, "pystatus-test", "hello everyone")

        bob_chat = next(c for c in await alice.chats() if c[2] == bob.chat_key)
        history = await alice.history(bob_chat[0])
        assert [m.text for m in history] == ["hello bob", "hi alice", "ratcheted now"]
        assert [m.outgoing for m in history] == [True, False, True]
        desktop_history = await alice2.history(bob_chat[0])
        assert [m.text for m in desktop_history] == ["hello bob", "hi alice", "ratcheted now"]

    database = (tmp_path / "alice" / "chat.sqlite3").read_bytes()
    assert b"hello bob" not in database and b"ratcheted now" not in database


async def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        bob_events = bob.events()
        async with _messenger(alice_account, alice_node, "alice-phone") as alice:
            alice_events = alice.events()
            await alice.send(bob.chat_key, "before")
            await _next(bob_events)
            await bob.send(alice.chat_key, "reply")
            await _next(alice_events)
        async with _messenger(alice_account, alice_node, "ignored: restored") as restarted:
            assert restarted.installation_id == "alice-phone"
            events = restarted.events()
            await bob.send(restarted.chat_key, "while you were away: nothing, you were here")
            assert (await _next(events)).text.startswith("while you were away")
            sent = await restarted.send(bob.chat_key, "after the restart")
            got = await _next(bob_events)
            assert (got.id, got.text) == (sent, "after the restart")
            session = next(iter(restarted.encryption.sessions.values()))[0]
            assert session.x3dh_ephemeral is None, "the established session came back"


async def test_devices_find_each_other_over_the_network_and_reactions_travel(
    tmp_path: Path,
) -> None:
    phone_account, phrase = Account.create(tmp_path / "phone", "alice password", params=FAST)
    desktop_account = Account.restore(tmp_path / "desktop", phrase, "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    async with (
        _line_of_nodes(4) as (phone_node, _, bob_node, desktop_node),
        _messenger(phone_account, phone_node, "alice-phone") as phone,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
        _messenger(desktop_account, desktop_node, "alice-desktop") as desktop,
    ):
        # No pair() call: the desktop announces itself and the phone answers.
        own = phone.encryption.public_key
        await wait_for(
            lambda: (
                "alice-desktop" in phone.encryption.installations.get(own, {})
                and "alice-phone" in desktop.encryption.installations.get(own, {})
            ),
            what="devices paired over the network",
        )
        bob_events, desktop_events = bob.events(), desktop.events()
        request = await phone.send_contact_request(bob.chat_key, "hi, it's alice")
        got = await _next(bob_events)
        assert (got.id, got.kind) == (request, "contact_request")
        assert (await _next(desktop_events)).kind == "contact_request"

        await bob.react(got.chat_id, request, 2)
        phone_events = phone.events()
        reaction = await _next(phone_events)
        assert (reaction.kind, reaction.id, reaction.reaction) == ("reaction", request, 2)
        assert await phone.reactions(request) == [(bob.chat_key, 2)]
        await bob.react(got.chat_id, request, 2, retract=True)
        assert (await _next(phone_events)).reaction == -2
        assert await phone.reactions(request) == []


def _dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("chat_dropped_messages_total", {"reason": reason}) or 0.0


async def test_malformed_public_messages_are_counted_and_the_chat_goes_on(
    tmp_path: Path,
) -> None:
    """Anyone can sign and encrypt for a public chat: what they send must not stop it."""
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    mallory = secrets.token_bytes(32)
    chat = "pystatus-bad-input"
    topic = topics.public_chat_content_topic(chat)

    def protocol(public_message: bytes) -> bytes:
        return pb.ProtocolMessage(
            installation_id="x", public_message=public_message
        ).SerializeToString()

    hostile = [
        b"\xff\xff\xff",  # not a ProtocolMessage
        protocol(b"\x0a\x03abc"),  # not a wrapped message
        protocol(b""),  # no public message at all
        pb.ProtocolMessage(
            bundles=[pb.Bundle(identity=b"\x02" + b"\x00" * 32)], public_message=b"x"
        ).SerializeToString(),  # a bundle whose identity is no key
    ]
    async with (
        _line_of_nodes(3) as (alice_node, mallory_node, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        await bob.join_public_chat(chat)
        await alice.join_public_chat(chat)
        bob_events = bob.events()
        assert mallory_node.relay is not None
        before = _dropped("undecodable") + _dropped("invalid")
        for payload in hostile:
            mallory_node.relay.publish(
                topics.status_pubsub_topic(topic),
                WakuMessage(
                    encrypt_symmetric(payload, topics.public_chat_key(chat), signer=mallory),
                    topic,
                    version=1,
                    timestamp=time.time_ns(),
                ),
            )
        await wait_for(
            lambda: _dropped("undecodable") + _dropped("invalid") >= before + 2 * len(hostile),
            timeout=10,
            what="hostile messages counted by both readers",
        )
        posted = await alice.send_public(chat, "still here")
        got = await _next(bob_events)
        assert (got.id, got.text) == (posted, "still here")
        assert _dropped("undecodable") + _dropped("invalid") == before + 2 * len(hostile)


async def test_chat_reader_takes_arbitrary_signed_bytes(tmp_path: Path) -> None:
    """Public chat and 1:1 envelopes holding anything: typed, counted drops only."""
    account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    signer = secrets.token_bytes(32)
    chat = "pystatus-fuzz"
    public_topic, key = topics.public_chat_content_topic(chat), topics.public_chat_key(chat)
    bob_key = account.keys.chat_public_key
    own_topic = topics.partitioned_content_topic(bob_key)
    async with WakuNode(node_config()) as node, _messenger(account, node, "bob-phone") as bob:
        await bob.join_public_chat(chat)

        def in_protocol_message(content: bytes) -> bytes:
            return pb.ProtocolMessage(public_message=content).SerializeToString()

        def signed(content: bytes, kind: MessageType) -> bytes:
            return in_protocol_message(wrap(content, kind, signer))

        def in_mvds(content: bytes, kind: MessageType) -> bytes:
            body = wrap(content, kind, signer)
            batch = mvds_pb2.Payload(messages=[mvds_pb2.Message(group_id=b"g", body=body)])
            return in_protocol_message(batch.SerializeToString())

        contents = st.binary(max_size=400)
        kinds = st.sampled_from([MessageType.CHAT_MESSAGE, MessageType.EMOJI_REACTION])

        @settings(max_examples=300, deadline=None)
        @given(
            contents
            | st.binary(min_size=1, max_size=400).map(in_protocol_message)
            | st.builds(signed, contents, kinds)
            | st.builds(in_mvds, contents, kinds),
            st.booleans(),
        )
        def read(payload: bytes, one_to_one: bool) -> None:
            if one_to_one:
                topic, sealed = own_topic, encrypt_asymmetric(payload, bob_key, signer=signer)
            else:
                topic, sealed = public_topic, encrypt_symmetric(payload, key, signer=signer)
            # Anything but a typed, counted drop escapes and fails the test.
            bob._open_envelope(WakuMessage(sealed, topic, version=1, timestamp=time.time_ns()))

        read()


async def test_a_bad_message_in_an_mvds_batch_spares_the_rest(tmp_path: Path) -> None:
    account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    signer = secrets.token_bytes(32)
    bob_key = account.keys.chat_public_key
    text = chat_message_pb2.ChatMessage(
        clock=1,
        timestamp=1,
        text="the good one",
        chat_id="0x" + bob_key.hex(),
        message_type=chat_message_pb2.ONE_TO_ONE,
        content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
    )
    bodies = [
        wrap(b"\xff\xff\xff", MessageType.CHAT_MESSAGE, signer),
        wrap(text.SerializeToString(), MessageType.CHAT_MESSAGE, signer),
    ]
    batch = mvds_pb2.Payload(
        messages=[mvds_pb2.Message(group_id=b"g", timestamp=1, body=body) for body in bodies]
    )
    protocol = pb.ProtocolMessage(public_message=batch.SerializeToString())
    sealed = encrypt_asymmetric(protocol.SerializeToString(), bob_key, signer=signer)
    topic = topics.partitioned_content_topic(bob_key)
    async with WakuNode(node_config()) as node, _messenger(account, node, "bob-phone") as bob:
        events = bob.events()
        bob._open_envelope(WakuMessage(sealed, topic, version=1, timestamp=time.time_ns()))
        assert (await _next(events)).text == "the good one"


async def test_large_messages_travel_in_status_go_segments(tmp_path: Path) -> None:
    """Past 3/4 of the message limit a payload is split into status-go's segments (with
    Reed-Solomon parity from 8 segments on) and put back together on the other side; a small
    limit here stands in for the Status network's 1 MiB. Texts stop at 4,096 characters
    (status-go drops longer ones): the large payloads are a picture and a text of 4-byte
    characters."""
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    limit = 8 * 1024
    picture = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(96_000)  # 16 segments and parity
    text = "\U0001f600" * 4096  # 16 KiB: 3 segments
    async with _line_of_nodes(3) as (alice_node, _, bob_node):
        assert alice_node.relay is not None and bob_node.relay is not None
        alice = Messenger(
            alice_account,
            RelayTransport(alice_node.relay),
            installation_id="a",
            max_message_size=limit,
        )
        bob = Messenger(
            bob_account, RelayTransport(bob_node.relay), installation_id="b", max_message_size=limit
        )

        def segments(kind: str) -> float:
            value = REGISTRY.get_sample_value("chat_segments_received_total", {"kind": kind})
            late = REGISTRY.get_sample_value(
                "chat_segments_dropped_total", {"reason": "already_completed"}
            )
            # Parity that arrives after the data segments completed the payload is dropped.
            return (value or 0.0) + ((late or 0.0) if kind == "parity" else 0.0)

        data_before, parity_before = segments("data"), segments("parity")
        async with alice, bob:
            bob_events, alice_events = bob.events(), alice.events()
            await bob.join_public_chat("big")
            sent = await alice.send_image(bob.chat_key, picture)
            got = await _next(bob_events)
            assert (got.id, got.text) == (sent, "[image]")
            stored = await bob.database.message(sent)
            assert stored is not None
            assert chat_message_pb2.ChatMessage.FromString(stored.body).image.payload == picture
            await alice.join_public_chat("big")
            posted = await bob.send_public("big", text)
            got = await _next(alice_events)
            assert (got.id, got.text) == (posted, text)
        assert segments("data") - data_before >= 16, "both messages went in segments"
        assert segments("parity") - parity_before >= 2, "with Reed-Solomon parity"
