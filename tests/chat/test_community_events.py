"""Admins' CommunityEventsMessages (type 67) as status-go v1.1.0 sends and takes them: roles'
rights (roles_authorization.go), members applying a valid admin's events, the control node
applying and republishing, and invalid messages or events refused, typed and counted."""

from __future__ import annotations

import coincurve
import pytest
from prometheus_client import REGISTRY

from pystatus.chat import community_control as control
from pystatus.chat import community_events as events
from pystatus.chat import community_roles as roles
from pystatus.chat.community import (
    Access,
    Community,
    PermissionType,
    Roles,
    member_key,
    open_wrapped_description,
)
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_update_pb2 as upb
from pystatus.chat.wrapper import MessageType, unwrap

EventType = upb.CommunityEvent.EventType
NOW = 1_780_000_000_000


def _key() -> tuple[bytes, bytes, str]:
    k = coincurve.PrivateKey()
    public = k.public_key.format(compressed=False)
    return k.secret, public, member_key(public)


class World:
    def __init__(self) -> None:
        self.owner, owner_pub, self.owner_key = _key()
        self.admin, _, self.admin_key = _key()
        self.member, _, self.member_key = _key()
        self.master, _, self.master_key = _key()
        self.outsider, _, self.outsider_key = _key()
        self.private, community = control.create(owner_pub, "c", NOW, manual_accept=True)
        community = control.add_member(community, self.private, self.admin_key, NOW + 1)
        community = control.set_roles(
            community, self.private, self.admin_key, [Roles.ROLE_ADMIN], NOW + 2
        )
        community = control.add_member(community, self.private, self.member_key, NOW + 3)
        community = control.add_member(
            community, self.private, self.master_key, NOW + 4, roles=[Roles.ROLE_TOKEN_MASTER]
        )
        self.community: Community = community


def _chat(name: str) -> pb.CommunityChat:
    chat = pb.CommunityChat()
    chat.permissions.access = Access.AUTO_ACCEPT
    chat.identity.display_name = name
    return chat


def _rejected(reason: str) -> float:
    value = REGISTRY.get_sample_value("chat_community_events_rejected_total", {"reason": reason})
    return value or 0.0


def _dropped(reason: str) -> float:
    value = REGISTRY.get_sample_value("chat_community_events_dropped_total", {"reason": reason})
    return value or 0.0


# -- rights -----------------------------------------------------------------------------------


def test_rights_by_role_follow_roles_authorization() -> None:
    admin, master, owner = [Roles.ROLE_ADMIN], [Roles.ROLE_TOKEN_MASTER], [Roles.ROLE_OWNER]
    none: list[int] = []
    assert roles.can_perform(admin, EventType.COMMUNITY_CHANNEL_CREATE)
    assert not roles.can_perform(admin, EventType.COMMUNITY_TOKEN_ADD)
    assert roles.can_perform(master, EventType.COMMUNITY_TOKEN_ADD)
    assert not roles.can_perform(none, EventType.COMMUNITY_CHANNEL_CREATE)
    ban = EventType.COMMUNITY_MEMBER_BAN
    assert roles.authorized(admin, none, ban)
    assert not roles.authorized(admin, admin, ban)
    assert roles.authorized(master, admin, ban)
    assert not roles.authorized(master, master, ban)
    assert roles.authorized(owner, master, ban)
    change = EventType.COMMUNITY_MEMBER_TOKEN_PERMISSION_CHANGE
    assert roles.authorized(admin, none, change, PermissionType.BECOME_MEMBER)
    assert not roles.authorized(admin, none, change, PermissionType.BECOME_ADMIN)
    assert roles.authorized(owner, none, change, PermissionType.BECOME_ADMIN)
    assert roles.is_privileged(admin) and not roles.is_privileged(none)


def test_the_control_node_and_plain_members_send_no_events() -> None:
    w = World()
    create = EventType.COMMUNITY_CHANNEL_CREATE
    assert roles.may_send_event(w.community, w.admin_key, create)
    assert not roles.may_send_event(w.community, w.community.control_node, create)
    assert not roles.may_send_event(w.community, w.owner_key, create, controls=True)
    assert not roles.may_send_event(w.community, w.member_key, create)
    assert roles.admins(w.community) == sorted([w.admin_key, w.master_key])
    with pytest.raises(events.NotAdmin):
        events.admin_send(w.community, (), w.member, events.channel_create(5, "ch", _chat("x")))


# -- an admin's channel, seen by a member and by the control node ------------------------------


def test_admin_channel_reaches_member_and_control_node_republishes() -> None:
    w = World()
    wrapped, mine = events.admin_send(
        w.community, (), w.admin, events.channel_create(NOW, "ch-1", _chat("news"))
    )
    assert "ch-1" in mine.community.channels  # the admin sees its change at once
    message = unwrap(wrapped)
    assert message.type == MessageType.COMMUNITY_EVENTS_MESSAGE
    assert int(MessageType.COMMUNITY_EVENTS_MESSAGE) == 67

    seen = events.process(w.community, message.payload, message.author)
    assert seen.community.channels["ch-1"].name == "news"
    assert w.member_key in seen.community.channels["ch-1"].members
    assert len(seen.held) == 1 and seen.community.clock == w.community.clock

    done = events.process(
        w.community, message.payload, message.author, private_key=w.private, now_ms=NOW + 10
    )
    assert done.held == () and done.applied
    republished = open_wrapped_description(done.community.wrapped, known_clock=w.community.clock)
    assert republished.clock > w.community.clock
    assert republished.channels["ch-1"].name == "news"
    # The same events again are outdated at the control node (its applied clocks).
    again = events.process(
        done.community,
        message.payload,
        message.author,
        private_key=w.private,
        applied=done.applied,
        now_ms=NOW + 20,
    )
    assert again.dropped == ("outdated",)


def test_admin_events_accumulate_until_the_next_description() -> None:
    w = World()
    _, first = events.admin_send(
        w.community, (), w.admin, events.category_create(NOW, "cat", "Talk")
    )
    chat = _chat("lounge")
    chat.category_id = "cat"
    wrapped, _ = events.admin_send(
        first.community,
        first.held,
        w.admin,
        events.channel_create(NOW + 1, "ch-2", chat),
        signed=w.community,
    )
    message = unwrap(wrapped)
    decoded = events.decode_message(message.payload)
    assert len(decoded.events) == 2 and decoded.base == w.community.wrapped
    seen = events.process(w.community, message.payload, message.author)
    assert seen.community.categories == {"cat": "Talk"}
    assert seen.community.channels["ch-2"].category_id == "cat"


def test_accepting_a_request_goes_to_the_control_node() -> None:
    w = World()
    _, _, joiner = _key()
    request = pb.CommunityRequestToJoin(clock=1, display_name="j")
    event = events.request_decision(NOW, joiner, request, accept=True)
    assert not event.member_to_action and joiner in event.acceptedRequestsToJoin  # as status-go
    wrapped, _ = events.admin_send(w.community, (), w.admin, event)
    message = unwrap(wrapped)
    done = events.process(
        w.community, message.payload, message.author, private_key=w.private, now_ms=NOW + 5
    )
    assert done.accepted[joiner].display_name == "j" and not done.rejected


def test_ban_changes_only_the_control_nodes_description() -> None:
    w = World()
    ban = events.member_event(NOW, EventType.COMMUNITY_MEMBER_BAN, w.member_key)
    wrapped, _ = events.admin_send(w.community, (), w.admin, ban)
    message = unwrap(wrapped)
    seen = events.process(w.community, message.payload, message.author)
    assert seen.community.is_member(w.member_key)
    done = events.process(
        w.community, message.payload, message.author, private_key=w.private, now_ms=NOW + 5
    )
    assert not done.community.is_member(w.member_key)
    assert done.community.is_banned(w.member_key)


# -- refused ----------------------------------------------------------------------------------


def _signed_message(w: World, author: bytes, event: upb.CommunityEvent, base: bytes) -> bytes:
    signed = events.sign_event(event, author)
    return events.encode_message(w.community.id, base, [signed])


def test_a_plain_members_message_is_refused_and_counted() -> None:
    w = World()
    payload = _signed_message(
        w, w.member, events.channel_create(NOW, "x", _chat("x")), w.community.wrapped
    )
    before = _rejected("not_privileged")
    member_pub = coincurve.PrivateKey(w.member).public_key.format(compressed=False)
    with pytest.raises(events.InvalidEvents) as caught:
        events.process(w.community, payload, member_pub)
    assert caught.value.reason == "not_privileged"
    assert _rejected("not_privileged") == before + 1


def test_events_on_a_stale_description_are_refused() -> None:
    w = World()
    old = w.community
    newer = control.resign(old, w.private, NOW + 100)
    payload = _signed_message(w, w.admin, events.channel_create(NOW, "x", _chat("x")), old.wrapped)
    admin_pub = coincurve.PrivateKey(w.admin).public_key.format(compressed=False)
    with pytest.raises(events.InvalidEvents) as caught:
        events.process(newer, payload, admin_pub)
    assert caught.value.reason == "clock_outdated"
    # The control node judges old-based events by its applied clocks and takes them.
    done = events.process(newer, payload, admin_pub, private_key=w.private, now_ms=NOW + 200)
    assert "x" in done.community.channels


def test_a_base_not_signed_by_the_control_node_is_refused() -> None:
    w = World()
    forged = control.create(
        coincurve.PrivateKey(w.admin).public_key.format(compressed=False), "f", NOW
    )[1]
    payload = _signed_message(
        w, w.admin, events.channel_create(NOW, "x", _chat("x")), forged.wrapped
    )
    admin_pub = coincurve.PrivateKey(w.admin).public_key.format(compressed=False)
    with pytest.raises(events.InvalidEvents) as caught:
        events.process(w.community, payload, admin_pub)
    assert caught.value.reason == "base"


def test_bad_signatures_and_unauthorized_events_are_dropped() -> None:
    w = World()
    admin_pub = coincurve.PrivateKey(w.admin).public_key.format(compressed=False)
    good = events.sign_event(events.channel_create(NOW, "ok", _chat("ok")), w.admin)
    tampered = events.sign_event(events.channel_create(NOW, "t", _chat("t")), w.admin)
    tampered_payload = events.channel_create(NOW, "evil", _chat("evil")).SerializeToString()
    unsigned = events.Event(NOW, tampered.type, tampered.event, tampered.payload, b"\x00" * 10, "")
    by_outsider = events.sign_event(events.channel_create(NOW, "o", _chat("o")), w.outsider)
    ban_admin = events.sign_event(
        events.member_event(NOW, EventType.COMMUNITY_MEMBER_BAN, w.master_key), w.admin
    )
    message = upb.CommunityEventsMessage(
        community_id=bytes.fromhex(w.community.id[2:]),
        events_base_community_description=w.community.wrapped,
    )
    for e in (good, unsigned, by_outsider, ban_admin):
        message.signed_events.add(signature=e.signature, payload=e.payload)
    # A payload changed after signing recovers another key: not a member.
    message.signed_events.add(signature=tampered.signature, payload=tampered_payload)
    before = {r: _dropped(r) for r in ("signature", "not_member", "not_authorized")}
    done = events.process(w.community, message.SerializeToString(), admin_pub)
    assert set(done.community.channels) == {"ok"}
    assert sorted(done.dropped) == ["not_authorized", "not_member", "not_member", "signature"]
    assert _dropped("signature") == before["signature"] + 1
    assert _dropped("not_member") == before["not_member"] + 2
    assert _dropped("not_authorized") == before["not_authorized"] + 1


def test_undecodable_message_is_typed() -> None:
    w = World()
    admin_pub = coincurve.PrivateKey(w.admin).public_key.format(compressed=False)
    with pytest.raises(events.InvalidEvents) as caught:
        events.process(w.community, b"\xff\xff\xff", admin_pub)
    assert caught.value.reason == "decode"
