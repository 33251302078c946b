"""Private groups over real ChatSessions, sans-IO: three accounts on an explicit clock, each
message to the group going to each member over their 1:1 session through MVDS (no sockets,
no sleeps; every Publish is handed to every other session, which drops what is not for it)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import coincurve
import pytest

from pystatus.chat import mvds
from pystatus.chat.actions import Action, Deliver, Publish
from pystatus.chat.content import InvalidContent
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.group import (
    DROPPED,
    GroupChats,
    GroupReceived,
    NotAGroupMember,
    Outgoing,
    outbox_entries,
)
from pystatus.chat.membership import (
    InvalidMembershipUpdate,
    decode_update,
    is_group_chat_id,
    key_text,
)
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, unwrap
from pystatus.errors import ChatError
from pystatus.waku.message import WakuMessage, message_hash

PUBSUB = "/waku/2/rs/16/32"
T0_NS = 1_700_000_000 * 10**9


@dataclass
class Device:
    name: str
    session: ChatSession
    groups: GroupChats
    received: list[GroupReceived] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def key(self) -> bytes:
        return self.session.public_key

    @property
    def hex(self) -> str:
        return key_text(self.key)


class Net:
    def __init__(self, *names: str) -> None:
        self.now = 1000.0
        self.devices: dict[str, Device] = {}
        for i, name in enumerate(names):
            identity = coincurve.PrivateKey().secret
            enc = EncryptionService(identity, name, clock=lambda: self.ns)
            session = ChatSession(
                identity,
                enc,
                config=ReliabilityConfig(resend_interval=30.0, max_sends=3),
                segment_size=1 << 20,
                mvds_state=mvds.MVDS(rng=random.Random(i), resend_interval=30.0, max_sends=3),
            )
            session.listen_own()
            session.set_connected(True, self.now)
            self.devices[name] = Device(name, session, GroupChats(identity, session.public_key))
        self.wire: list[tuple[str, Publish]] = []

    @property
    def ns(self) -> int:
        return T0_NS + int(self.now * 1e9)

    @property
    def ms(self) -> int:
        return self.ns // 10**6

    def send(self, sender: str, outgoing: Outgoing, message_id: str = "m") -> None:
        device = self.devices[sender]
        entries = outbox_entries(device.session, outgoing, message_id, self.ns)
        device.session.queue(entries, self.now)

    def _carry_out(self, device: Device, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Publish):
                self.wire.append((device.name, action))
            elif isinstance(action, Deliver):
                got = device.groups.receive_wrapped(action.wrapped, self.ms)
                if got is not None:
                    device.received.append(got)
                    if got.message is not None:
                        device.texts.append(got.message.text)
                if action.ack is not None:
                    device.session.acknowledge(action.ack, self.now)

    def run(self, seconds: float, *, drop_to: str | None = None) -> None:
        """Advance the clock deadline by deadline, delivering every publish to every other
        device (except to ``drop_to``)."""
        until = self.now + seconds
        while True:
            for device in self.devices.values():
                self._carry_out(device, device.session.handle_timer(self.now, self.ns))
            while self.wire:
                sender, p = self.wire.pop(0)
                message = WakuMessage(
                    p.payload, p.content_topic, version=1, timestamp=p.timestamp_ns
                )
                digest = message_hash(PUBSUB, message)
                for device in self.devices.values():
                    if device.name == sender or device.name == drop_to:
                        continue
                    self._carry_out(device, device.session.receive(message, digest, self.now))
            deadlines = [d.session.next_deadline() for d in self.devices.values()]
            due = min((d for d in deadlines if d is not None), default=None)
            if due is None or due > until:
                self.now = until
                return
            self.now = max(self.now, due)


def text(clock: int, body: str) -> chat_message_pb2.ChatMessage:
    return chat_message_pb2.ChatMessage(
        clock=clock,
        timestamp=clock,
        text=body,
        content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
    )


def say(net: Net, who: str, chat_id: str, body: str) -> Outgoing:
    device = net.devices[who]
    out = device.groups.message(chat_id, text(device.groups.next_clock(net.ms), body))
    net.send(who, out, message_id=body)
    return out


def test_a_group_message_goes_to_each_member_over_mvds_with_every_event() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("friends", [bob.key, carol.key], net.ms)
    assert set(created.recipients) == {bob.key, carol.key}, "everyone but us"
    net.send("alice", created)
    net.run(5.0)
    for device in (bob, carol):
        assert [r.kind for r in device.received] == ["invitation"]
        group = device.groups.get(created.group.chat_id)
        assert group is not None and group.members == (alice.hex, bob.hex, carol.hex)
        assert group.name == "friends" and group.admins == (alice.hex,)

    sent = say(net, "bob", created.group.chat_id, "hello from bob")
    wrapper = unwrap(sent.wrapped)
    assert wrapper.type == MessageType.MEMBERSHIP_UPDATE_MESSAGE
    update = decode_update(wrapper.payload)
    assert update.events == created.group.events, "the whole history rides along"
    assert update.message is not None and update.message.message_type == 3  # PRIVATE_GROUP
    net.run(5.0)
    assert alice.texts == ["hello from bob"] and carol.texts == ["hello from bob"]
    assert bob.session.unacknowledged() == 0, "each member acknowledged over MVDS"


def test_a_removed_member_receives_nothing_after_removal_and_is_not_heard() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("g", [bob.key, carol.key], net.ms)
    chat = created.group.chat_id
    net.send("alice", created)
    net.run(5.0)
    # Carol writes just before her removal; the message reaches Bob only after it.
    early = carol.groups.message(chat, text(carol.groups.next_clock(net.ms), "before"))
    removal = alice.groups.remove_member(chat, carol.key, net.ms + 10)
    assert carol.key in removal.recipients, "the removed member is told"
    net.send("alice", removal)
    net.run(5.0)
    assert carol.groups.get(chat) is not None and not carol.groups.get(chat).is_member(carol.hex)  # type: ignore[union-attr]
    net.send("carol", early, message_id="before")
    net.run(5.0)
    assert bob.texts == ["before"], "written before her removal"

    late = carol.groups.get(chat)
    assert late is not None
    with pytest.raises(NotAGroupMember):
        carol.groups.message(chat, text(net.ms, "after"))
    # A forged late send (her own events, a later clock): dropped by every member.
    dropped = DROPPED.labels("removed")._value.get()
    forged = text(carol.groups.next_clock(net.ms), "after")
    forged.chat_id, forged.message_type = chat, 3  # type: ignore[assignment]
    forced = carol.groups._outgoing(late, forged, late.members)
    net.send("carol", forced, message_id="after")
    net.run(5.0)
    assert bob.texts == ["before"] and alice.texts == ["before"]
    assert DROPPED.labels("removed")._value.get() == dropped + 2

    say(net, "alice", chat, "members only")
    net.run(5.0)
    assert bob.texts[-1] == "members only"
    assert "members only" not in carol.texts
    assert all(r.message is None or r.message.text != "members only" for r in carol.received)


def test_add_and_leave_update_every_member() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("g", [bob.key], net.ms)
    chat = created.group.chat_id
    net.send("alice", created)
    net.run(5.0)
    net.send("bob", bob.groups.add_members(chat, [carol.key], net.ms))
    net.run(5.0)
    assert carol.received[-1].kind == "invitation"
    assert alice.received[-1].added == (carol.hex,)
    net.send("carol", carol.groups.leave(chat, net.ms))
    net.run(5.0)
    for device in (alice, bob):
        group = device.groups.get(chat)
        assert group is not None and group.members == (alice.hex, bob.hex)
        assert device.received[-1].removed == (carol.hex,)
    with pytest.raises(NotAGroupMember):
        bob.groups.remove_member(chat, alice.key, net.ms)  # a member removes only themselves


def test_an_update_for_a_group_that_never_held_us_is_refused() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("g", [bob.key], net.ms)
    with pytest.raises(InvalidMembershipUpdate, match="not_member"):
        carol.groups.receive_wrapped(created.wrapped, net.ms)
    assert carol.groups.get(created.group.chat_id) is None
    # Clocks far in the future are refused as status-go refuses them.
    with pytest.raises(InvalidMembershipUpdate, match="clock"):
        bob.groups.receive_wrapped(created.wrapped, net.ms - 200_000)


def test_admins_added_and_renamed_reach_every_member() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("g", [bob.key, carol.key], net.ms)
    chat = created.group.chat_id
    net.send("alice", created)
    net.run(5.0)
    with pytest.raises(NotAGroupMember):
        bob.groups.add_admins(chat, [carol.key], net.ms)  # only an admin names admins
    net.send("alice", alice.groups.add_admins(chat, [bob.key], net.ms))
    net.run(5.0)
    net.send("bob", bob.groups.rename(chat, "bob's now", net.ms))
    net.run(5.0)
    for device in (alice, bob, carol):
        group = device.groups.get(chat)
        assert group is not None and group.admins == (alice.hex, bob.hex)
        assert group.name == "bob's now"


def test_nothing_of_a_group_goes_out_on_a_public_topic_named_by_it() -> None:
    """A reaction, edit or reply filed under a group's id must not fall through to the
    public-chat path (a topic and key anyone can derive from the id)."""
    net = Net("alice", "bob")
    alice, bob = net.devices["alice"], net.devices["bob"]
    chat = alice.groups.create("g", [bob.key], net.ms).group.chat_id
    assert is_group_chat_id(chat) and not is_group_chat_id("status")
    with pytest.raises(ChatError, match="private group"):
        alice.session.send_public(chat, b"wrapped", net.ns)
    alice.session.send_public("status", b"wrapped", net.ns)


def test_name_colour_and_image_change_in_one_update() -> None:
    net = Net("alice", "bob")
    alice, bob = net.devices["alice"], net.devices["bob"]
    created = alice.groups.create("g", [bob.key], net.ms)
    chat = created.group.chat_id
    net.send("alice", created)
    net.run(5.0)
    edit = bob.groups.edit(chat, net.ms, name="g2", color="#ff0000", image=b"\x89PNG")
    assert [e.type.name for e in edit.group.events[-3:]] == [
        "NAME_CHANGED",
        "COLOR_CHANGED",
        "IMAGE_CHANGED",
    ]
    net.send("bob", edit)
    net.run(5.0)
    group = alice.groups.get(chat)
    assert group is not None
    assert (group.name, group.color, group.image) == ("g2", "#ff0000", b"\x89PNG")
    with pytest.raises(NotAGroupMember):
        alice.groups.edit(chat, net.ms, name="")  # status-go refuses an empty name


def test_an_invalid_message_refuses_the_whole_update() -> None:
    net = Net("alice", "bob", "carol")
    alice, bob, carol = (net.devices[n] for n in ("alice", "bob", "carol"))
    created = alice.groups.create("g", [bob.key], net.ms)
    chat = created.group.chat_id
    net.send("alice", created)
    net.run(5.0)
    added = alice.groups.add_members(chat, [carol.key], net.ms)
    blank = text(alice.groups.next_clock(net.ms), "   ")  # status-go refuses blank text
    bad = alice.groups._outgoing(added.group, blank, added.group.members)
    with pytest.raises(InvalidContent):
        bob.groups.receive_wrapped(bad.wrapped, net.ms)
    group = bob.groups.get(chat)
    assert group is not None and not group.is_member(carol.hex), "its events were not taken"
