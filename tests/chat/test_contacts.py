"""Contact requests, display names, edits, deletes, pins and pictures between two pystatus
messengers over a line of in-process nodes, as status-go v1.1.0 does them."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from pystatus.chat.account import Account
from pystatus.chat.content import (
    DEFAULT_CONTACT_REQUEST_TEXT,
    ChatMessageType,
    ContactRequestMachine,
    ContentType,
    build_chat_message,
    build_delete,
    build_edit,
    default_contact_request_id,
    parse_accept_contact_request,
)
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write
from pystatus.errors import ChatError
from pystatus.node import WakuNode
from tests.chat.messenger_helpers import FAST, node_config
from tests.chat.test_messenger import _line_of_nodes, _messenger
from tests.p2p.hosts import wait_for

PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(300)


def _accounts(tmp_path: Path) -> tuple[Account, Account]:
    alice, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    bob, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    return alice, bob


async def _until(
    events: AsyncIterator[ChatEvent], wanted: Callable[[ChatEvent], bool], what: str
) -> ChatEvent:
    """The first event ``wanted`` (others skipped), within a deadline."""
    try:
        async with asyncio.timeout(15):
            while not wanted(event := await anext(events)):
                pass
            return event
    except TimeoutError:
        raise AssertionError(f"no {what} within 15 s") from None


def _kind(kind: str, **fields: object) -> Callable[[ChatEvent], bool]:
    return lambda e: e.kind == kind and all(getattr(e, k) == v for k, v in fields.items())


async def _state(messenger: Messenger, chat_key: str) -> str:
    return (await messenger.contact(chat_key)).state


async def _befriend(alice: Messenger, bob: Messenger) -> str:
    """Alice asks, Bob accepts; both see a mutual contact. Returns the request's id."""
    bob_events, alice_events = bob.events(), alice.events()
    request = await alice.send_contact_request(bob.chat_key, "hi, it's alice")
    await _until(bob_events, _kind("contact_request", id=request), "contact request")
    await bob.accept_contact_request(alice.chat_key)
    await _until(alice_events, _kind("contact", contact_state="mutual"), "acceptance")
    return request


async def test_request_accept_mutual_and_names_on_both_sides(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with _line_of_nodes(3) as (alice_node, _, bob_node):
        async with (
            _messenger(alice_account, alice_node, "alice-phone") as alice,
            _messenger(bob_account, bob_node, "bob-phone") as bob,
        ):
            await alice.set_display_name("Alice Liddell")
            await bob.set_display_name("Bob Builder")
            bob_events, alice_events = bob.events(), alice.events()

            request = await alice.send_contact_request(bob.chat_key, "hi, it's alice")
            assert await _state(alice, bob.chat_key) == "sent"
            got = await _until(bob_events, _kind("contact_request"), "contact request")
            assert (got.id, got.text, got.author) == (request, "hi, it's alice", alice.chat_key)
            assert got.display_name == "Alice Liddell"
            news = await _until(bob_events, _kind("contact"), "contact event")
            assert (news.author, news.contact_state) == (alice.chat_key, "received")
            [pending] = await bob.requests()
            assert (pending.chat_key, pending.request_id) == (alice.chat_key, request)
            assert pending.display_name == "Alice Liddell", "the name came with the request"
            alice_chat = next(c for c in await bob.database.chats() if c.name == alice.chat_key)
            assert not alice_chat.active, "a stranger's request sits in requests"

            await bob.accept_contact_request(alice.chat_key)
            assert await _state(bob, alice.chat_key) == "mutual"
            assert await bob.requests() == []
            await _until(alice_events, _kind("contact", contact_state="mutual"), "acceptance")
            assert (await alice.contact(bob.chat_key)).mutual
            await wait_for(
                lambda: alice._contact_book._cache[bob.chat_key].display_name == "Bob Builder",
                what="Bob's name from the chat identity sent with his acceptance",
            )
            chats = {c.name: c.active for c in await bob.database.chats()}
            assert chats[alice.chat_key], "accepting brings the chat out of requests"

            # Once contacts, a new name travels in a contact update.
            await alice.set_display_name("Alice in Wonderland")
            renamed = await _until(
                bob_events, _kind("contact", display_name="Alice in Wonderland"), "new name"
            )
            assert renamed.contact_state == "mutual"
        async with _messenger(bob_account, bob_node, "ignored: restored") as bob_again:
            [alice_seen] = await bob_again.contacts()
            assert (alice_seen.chat_key, alice_seen.state, alice_seen.mutual) == (
                alice.chat_key,
                "mutual",
                True,
            )
            assert alice_seen.display_name == "Alice in Wonderland"
            assert bob_again.display_name == "Bob Builder"


async def test_decline_then_requests_are_dropped(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        bob_events = bob.events()
        await alice.send_contact_request(bob.chat_key, "hi, it's alice")
        await _until(bob_events, _kind("contact_request"), "contact request")
        await bob.decline_contact_request(alice.chat_key)
        assert await _state(bob, alice.chat_key) == "dismissed"
        assert await bob.requests() == []
        with pytest.raises(ChatError):
            await bob.decline_contact_request(alice.chat_key)

        # Nothing is sent on a decline; another request from Alice is dropped, as in status-go.
        again = await alice.send_contact_request(bob.chat_key, "please?")
        after = await alice.send(bob.chat_key, "never mind")
        await _until(bob_events, _kind("message", id=after), "the message after the request")
        history = await bob.history("0x" + alice_account.keys.chat_public_key.hex())
        assert again not in {m.id for m in history}
        assert await _state(alice, bob.chat_key) == "sent"
        assert await _state(bob, alice.chat_key) == "dismissed"


async def test_retract_undoes_a_contact_on_both_sides(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        await _befriend(alice, bob)
        bob_events = bob.events()
        await alice.retract_contact_request(bob.chat_key)
        assert await _state(alice, bob.chat_key) == "none"
        news = await _until(bob_events, _kind("contact", author=alice.chat_key), "retraction")
        assert news.contact_state == "none"
        assert not (await bob.contact(alice.chat_key)).mutual
        with pytest.raises(ChatError):
            await alice.retract_contact_request(bob.chat_key)


def _dropped() -> float:
    return REGISTRY.get_sample_value("chat_dropped_messages_total", {"reason": "invalid"}) or 0.0


async def test_edit_delete_and_pin_seen_on_the_other_side(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        bob_events, alice_events = bob.events(), alice.events()
        sent = await alice.send(bob.chat_key, "helo")
        got = await _until(bob_events, _kind("message", id=sent), "message")
        chat = got.chat_id

        await alice.edit(sent, "hello")
        edit = await _until(bob_events, _kind("edit", id=sent), "edit")
        assert (edit.text, edit.author, edit.chat_id, edit.edited) == (
            "hello",
            alice.chat_key,
            chat,
            True,
        )
        [shown] = await bob.history(chat)
        assert (shown.text, shown.edited) == ("hello", True)
        alice_chat = "0x" + bob_account.keys.chat_public_key.hex()
        [mine] = await alice.history(alice_chat)
        assert (mine.text, mine.edited) == ("hello", True)
        with pytest.raises(ChatError):
            await bob.edit(sent, "not yours")

        # Someone else's edit is dropped (handleEditMessage: not the right author).
        before = _dropped()
        forged = build_edit(bob._tick(), chat, sent, "forged", ChatMessageType.ONE_TO_ONE)
        write = Write()
        bob._dispatch(chat, MessageType.EDIT_MESSAGE, forged, write)
        await bob._commit_and_queue(write)
        await wait_for(lambda: _dropped() > before, what="the forged edit dropped")
        assert (await bob.history(chat))[0].text == "hello"
        assert (await alice.history(alice_chat))[0].text == "hello"

        await bob.pin(sent)
        pin = await _until(alice_events, _kind("pin", id=sent), "pin")
        assert (pin.pinned, pin.author, pin.chat_id) == (True, bob.chat_key, alice_chat)
        assert (await alice.history(alice_chat))[0].pinned
        assert await alice.pinned(alice_chat) == [sent]
        await bob.pin(sent, pinned=False)
        await _until(alice_events, _kind("pin", id=sent, pinned=False), "unpin")
        assert await alice.pinned(alice_chat) == []

        await alice.delete(sent)
        gone = await _until(bob_events, _kind("delete", id=sent), "delete")
        assert (gone.deleted, gone.author) == (True, alice.chat_key)
        [shown] = await bob.history(chat)
        assert (shown.deleted, shown.text) == (True, "")
        with pytest.raises(ChatError):
            await alice.edit(sent, "too late")

        # The same in a public chat (there without data sync).
        await bob.join_public_chat("pystatus-edits")
        await alice.join_public_chat("pystatus-edits")
        posted = await alice.send_public("pystatus-edits", "public helo")
        await _until(bob_events, _kind("message", id=posted), "public message")
        await alice.edit(posted, "public hello")
        edit = await _until(bob_events, _kind("edit", id=posted), "public edit")
        assert (edit.text, edit.chat_id) == ("public hello", "pystatus-edits")
        await bob.pin(posted)
        await _until(alice_events, _kind("pin", id=posted), "public pin")
        await alice.delete(posted)
        await _until(bob_events, _kind("delete", id=posted), "public delete")
        [shown] = await bob.history("pystatus-edits")
        assert (shown.deleted, shown.edited, shown.pinned) == (True, True, True)


async def test_a_strangers_message_lands_in_requests(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        alice_events = alice.events()
        await bob.set_display_name("Bob Builder")
        sent = await bob.send(alice.chat_key, "hi, we have not met")
        got = await _until(alice_events, _kind("message", id=sent), "stranger's message")
        assert got.display_name == "Bob Builder"
        [request] = await alice.requests()
        assert (request.chat_key, request.state, request.display_name) == (
            bob.chat_key,
            "none",
            "Bob Builder",
        )
        chats = {c.name: c.active for c in await alice.database.chats()}
        assert chats == {bob.chat_key: False}
        assert {c.name: c.active for c in await bob.database.chats()} == {alice.chat_key: True}

        await alice.send(bob.chat_key, "hello stranger")  # writing to them takes it out
        assert await alice.requests() == []
        assert {c.name: c.active for c in await alice.database.chats()} == {bob.chat_key: True}


async def test_pictures_show_as_image(tmp_path: Path) -> None:
    alice_account, bob_account = _accounts(tmp_path)
    async with (
        _line_of_nodes(3) as (alice_node, _, bob_node),
        _messenger(alice_account, alice_node, "alice-phone") as alice,
        _messenger(bob_account, bob_node, "bob-phone") as bob,
    ):
        bob_events = bob.events()
        plain = await alice.send_image(bob.chat_key, PNG)
        got = await _until(bob_events, _kind("message", id=plain), "picture")
        assert (got.text, got.content_type) == ("[image]", ContentType.IMAGE)
        captioned = await alice.send_image(bob.chat_key, PNG, "the view")
        got = await _until(bob_events, _kind("message", id=captioned), "captioned picture")
        assert got.text == "[image] the view"
        assert [m.text for m in await bob.history(got.chat_id)] == ["[image]", "[image] the view"]
        with pytest.raises(ChatError):
            await alice.send_image(bob.chat_key, b"not a picture")
        await alice.edit(captioned, "the view from here")
        edit = await _until(bob_events, _kind("edit", id=captioned), "caption edit")
        assert (edit.text, edit.content_type) == ("[image] the view from here", ContentType.IMAGE)


def _signed(account: Account, payload: bytes, kind: MessageType) -> tuple[bytes, str]:
    wrapped = wrap(payload, kind, account.keys.chat)
    return wrapped, "0x" + wrapper_message_id(account.keys.chat_public_key, wrapped).hex()


async def test_edits_and_deletes_that_come_first_wait_for_their_message(tmp_path: Path) -> None:
    """status-go keeps an edit or delete whose message it has not got yet, and applies it when
    the message arrives (checkForEdits, checkForDeletes); only the author's count."""
    alice_account, bob_account = _accounts(tmp_path)
    alice_key = alice_account.keys.chat_public_key
    bob_chat = "0x" + bob_account.keys.chat_public_key.hex()
    async with WakuNode(node_config()) as node, _messenger(bob_account, node, "bob") as bob:
        events = bob.events()

        def receive(wrapped: bytes) -> None:
            bob._handle_wrapped(alice_key, wrapped, None, None)

        one, two = (
            _signed(
                alice_account,
                build_chat_message(clock, clock, bob_chat, ChatMessageType.ONE_TO_ONE, text),
                MessageType.CHAT_MESSAGE,
            )
            for clock, text in ((100, "helo"), (101, "oops"))
        )
        edit = build_edit(102, bob_chat, one[1], "hello", ChatMessageType.ONE_TO_ONE)
        receive(_signed(alice_account, edit, MessageType.EDIT_MESSAGE)[0])
        delete = build_delete(103, bob_chat, two[1], ChatMessageType.ONE_TO_ONE)
        receive(_signed(alice_account, delete, MessageType.DELETE_MESSAGE)[0])
        # Bob's own "edit" of Alice's message waits too, and is never applied.
        forged = build_edit(104, bob_chat, one[1], "forged", ChatMessageType.ONE_TO_ONE)
        bob._handle_wrapped(
            bob_account.keys.chat_public_key,
            _signed(bob_account, forged, MessageType.EDIT_MESSAGE)[0],
            None,
            None,
        )
        receive(one[0])
        got = await _until(events, _kind("message", id=one[1]), "the edited message")
        assert (got.text, got.edited) == ("hello", True)
        receive(two[0])
        got = await _until(events, _kind("message", id=two[1]), "the deleted message")
        assert (got.text, got.deleted) == ("", True)
        assert [
            (m.text, m.edited, m.deleted) for m in await bob.history("0x" + alice_key.hex())
        ] == [
            ("hello", True, False),
            ("", False, True),
        ]


async def test_a_request_learnt_from_a_contact_update_is_made_up(tmp_path: Path) -> None:
    """A contact update whose propagated state says they asked us: status-go makes up the
    request message (default id and text), and accepting names that id."""
    alice_account, bob_account = _accounts(tmp_path)
    alice_key = alice_account.keys.chat_public_key
    async with WakuNode(node_config()) as node, _messenger(bob_account, node, "bob") as bob:
        events = bob.events()
        alice_view = ContactRequestMachine("0x" + bob_account.keys.chat_public_key.hex())
        alice_view.on_sent_request(10)
        update = alice_view.contact_update(11, display_name="Alice Liddell")
        bob._handle_wrapped(
            alice_key, _signed(alice_account, update, MessageType.CONTACT_UPDATE)[0], None, None
        )
        request_id = default_contact_request_id("0x" + alice_key.hex())
        got = await _until(events, _kind("contact_request"), "the made-up request")
        assert (got.id, got.text, got.author) == (
            request_id,
            DEFAULT_CONTACT_REQUEST_TEXT,
            alice_account.chat_key,
        )
        news = await _until(events, _kind("contact"), "the contact event")
        assert (news.contact_state, news.display_name) == ("received", "Alice Liddell")
        [pending] = await bob.requests()
        assert (pending.chat_key, pending.request_id) == (alice_account.chat_key, request_id)

        await bob.accept_contact_request(alice_account.chat_key)
        sent = [unwrap(o.message.body) for o in bob._mvds.outgoing()]
        [accept] = [m for m in sent if m.type == MessageType.ACCEPT_CONTACT_REQUEST]
        assert parse_accept_contact_request(accept.payload).id == request_id
        assert (await bob.contact(alice_account.chat_key)).mutual
