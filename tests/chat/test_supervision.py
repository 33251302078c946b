"""The Messenger never fails silently: listeners contained, background failures surfaced,
queues bounded. Over an in-memory transport (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.events import ChatEvent, MessageEvent, ReactionEvent, StatusEvent
from pystatus.chat.history import StoreSource
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, MessengerFailed
from pystatus.chat.supervisor import NotRunning
from pystatus.chat.transport import Published, Received, TransportError
from pystatus.chat.watchers import LISTENER_ERRORS, STREAM_DROPPED, EventStream
from pystatus.waku.message import WakuMessage, message_hash
from tests.p2p.hosts import wait_for

FAST = ScryptParams(n=1 << 10)


class MemoryTransport:
    """Two or more of these joined: what one publishes every other receives."""

    def __init__(self, hub: list[MemoryTransport]) -> None:
        self.store: StoreSource | None = None
        self.hub = hub
        hub.append(self)
        self.topics: set[str] = set()
        self.callbacks: list[Callable[[Received], None]] = []
        self.published = 0
        self.refuse = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def listen(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.topics.update(content_topics)

    def unlisten(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.topics.difference_update(content_topics)

    def on_message(self, callback: Callable[[Received], None]) -> None:
        self.callbacks.append(callback)

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        if self.refuse:
            raise TransportError("nobody took it")
        self.published += 1
        digest = message_hash(pubsub_topic, message)
        for peer in self.hub:
            if peer is not self and message.content_topic in peer.topics:
                for callback in peer.callbacks:
                    callback(Received(pubsub_topic, message, digest))
        return Published(digest, len(self.hub) - 1)

    def connected(self) -> bool:
        return True

    def store_verdict(self, asked: Collection[bytes], found: Collection[bytes]) -> None:
        pass


def _account(tmp_path: Path, name: str) -> Account:
    return Account.create(tmp_path / name, "password1", params=FAST)[0]


async def _next(events: EventStream, what: Callable[[ChatEvent], bool]) -> ChatEvent:
    async with asyncio.timeout(10):
        async for event in events:
            if what(event):
                return event
    raise AssertionError("stream ended")


async def test_a_listener_that_raises_is_contained_and_counted(tmp_path: Path) -> None:
    hub: list[MemoryTransport] = []
    alice = Messenger(_account(tmp_path, "alice"), MemoryTransport(hub), installation_id="a")
    bob = Messenger(_account(tmp_path, "bob"), MemoryTransport(hub), installation_id="b")
    async with alice, bob:
        calls: list[ChatEvent] = []

        def broken(event: ChatEvent) -> None:
            calls.append(event)
            raise RuntimeError("a bug in someone's listener")

        bob.add_listener(broken)
        events = bob.events()
        before = LISTENER_ERRORS._value.get()
        await alice.send(bob.chat_key, "one")
        await _next(events, lambda e: e.text == "one")
        await alice.send(bob.chat_key, "two")
        await _next(events, lambda e: e.text == "two")  # the writer lives on
        assert LISTENER_ERRORS._value.get() >= before + 2
        assert [e.text for e in calls if e.kind == "message"] == ["one", "two"]
        await wait_for(lambda: not alice.unacknowledged(), timeout=10, what="acknowledged")


async def test_a_background_failure_surfaces_in_send_and_stop(tmp_path: Path) -> None:
    hub: list[MemoryTransport] = []
    alice = Messenger(_account(tmp_path, "alice"), MemoryTransport(hub), installation_id="a")
    bob = _account(tmp_path, "bob")
    await alice.start()
    events = alice.events()

    def explode(now: float, now_ns: int) -> list[object]:
        raise RuntimeError("the core hit a bug")

    alice.session.handle_timer = explode  # type: ignore[assignment,method-assign]
    alice._wake.set()
    await wait_for(lambda: alice._supervisor.failure is not None, timeout=10, what="failed")
    with pytest.raises(MessengerFailed, match="the core hit a bug"):
        await alice.send(bob.chat_key, "hello")
    with pytest.raises(MessengerFailed):
        async with asyncio.timeout(5):
            await events.__anext__()  # streams end with the failure, never hang
    with pytest.raises(MessengerFailed) as stopped:
        await alice.stop()
    assert isinstance(stopped.value.__cause__, RuntimeError)


async def test_a_writer_failure_fails_the_send_waiting_on_it(tmp_path: Path) -> None:
    alice = Messenger(_account(tmp_path, "alice"), MemoryTransport([]), installation_id="a")
    await alice.start()

    async def broken(batch: object) -> list[bool]:
        raise RuntimeError("a bug below the writer")

    alice.database.commit = broken  # type: ignore[method-assign]
    with pytest.raises(MessengerFailed, match="a bug below the writer"):
        async with asyncio.timeout(10):  # raises, never hangs
            await alice.send(_account(tmp_path, "bob").chat_key, "hello")
    with pytest.raises(MessengerFailed):
        await alice.stop()


async def test_calls_before_start_raise(tmp_path: Path) -> None:
    alice = Messenger(_account(tmp_path, "alice"), MemoryTransport([]))
    with pytest.raises(NotRunning):
        await alice.send(_account(tmp_path, "bob").chat_key, "too early")


def test_a_slow_watcher_loses_the_oldest_events_counted() -> None:
    stream = EventStream(capacity=3)
    before = STREAM_DROPPED._value.get()
    for n in range(5):
        stream.put(ChatEvent(str(n), "c", "a", "t", n, 0, "", False))
    assert stream.qsize() == 3
    assert STREAM_DROPPED._value.get() == before + 2

    async def first() -> str:
        return (await stream.__anext__()).id

    assert asyncio.run(first()) == "2"


async def test_leave_public_chat_stops_listening(tmp_path: Path) -> None:
    hub: list[MemoryTransport] = []
    transport = MemoryTransport(hub)
    async with Messenger(_account(tmp_path, "alice"), transport) as alice:
        await alice.join_public_chat("status")
        listening = set(transport.topics)
        assert ("status", "public", "status") in await alice.chats()
        await alice.leave_public_chat("status")
        assert len(transport.topics) == len(listening) - 1
        assert all(c[0] != "status" for c in await alice.chats())


async def test_a_public_message_that_never_left_is_published_at_the_next_start(
    tmp_path: Path,
) -> None:
    hub: list[MemoryTransport] = []
    alice_account = _account(tmp_path, "alice")
    offline = MemoryTransport(hub)
    offline.refuse = True
    async with Messenger(alice_account, offline, installation_id="a") as alice:
        message_id = await alice.send_public("status", "anyone?")
        assert alice.status(message_id) == "pending"
    hub.remove(offline)
    async with (
        Messenger(_account(tmp_path, "bob"), MemoryTransport(hub), installation_id="b") as bob,
    ):
        await bob.join_public_chat("status")
        events = bob.events()
        async with Messenger(alice_account, MemoryTransport(hub), installation_id="a") as alice:
            got = await _next(events, lambda e: e.kind == "message")
            assert (got.id, got.text) == (message_id, "anyone?")
            await wait_for(lambda: alice.status(message_id) == "sent", timeout=10, what="sent")


async def test_events_are_typed_by_kind(tmp_path: Path) -> None:
    hub: list[MemoryTransport] = []
    alice = Messenger(_account(tmp_path, "alice"), MemoryTransport(hub), installation_id="a")
    bob = Messenger(_account(tmp_path, "bob"), MemoryTransport(hub), installation_id="b")
    async with alice, bob:
        events = alice.events()
        sent = await alice.send(bob.chat_key, "hi")
        mine = await _next(events, lambda e: e.kind == "status" and e.status == "delivered")
        assert isinstance(mine, StatusEvent) and mine.id == sent
        [found] = await alice.search("hi")
        assert isinstance(found, MessageEvent) and found.id == sent and found.kind == "message"


async def test_what_was_asked_for_leaves_before_stop_returns(tmp_path: Path) -> None:
    hub: list[MemoryTransport] = []
    bob = Messenger(_account(tmp_path, "bob"), MemoryTransport(hub), installation_id="b")
    async with bob:
        events = bob.events()
        alice_transport = MemoryTransport(hub)
        alice = Messenger(_account(tmp_path, "alice"), alice_transport, installation_id="a")
        await alice.start()
        chat_id = await alice.add_contact(bob.chat_key)
        await alice.react(chat_id, "0x" + "ab" * 32, 2)  # published when react() returns
        before = alice_transport.published
        alice.advertise_contact_code()  # queued for the core
        await alice.stop()
        assert alice_transport.published > before, "flushed by stop()"
        got = await _next(events, lambda e: e.kind == "reaction")
        assert isinstance(got, ReactionEvent) and got.reaction == 2
