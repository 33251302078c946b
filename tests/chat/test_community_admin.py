"""Four accounts' :class:`CommunityChats` with their :class:`AdminEvents`, no network: the
control node makes a member admin; the admin adds a channel, accepts a request and bans a
member through CommunityEventsMessages; the control node applies and republishes; members
see the admin's change at once and the control node's description after."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat import community_events as events
from pystatus.chat.community import InvalidCommunity
from pystatus.chat.community_admin import AdminEvents, set_admin
from pystatus.chat.community_chats import CommunityChats, Send
from pystatus.chat.wrapper import MessageType, unwrap

NOW = 1_790_000_000_000


class Account:
    def __init__(self) -> None:
        key = coincurve.PrivateKey()
        self.chats = CommunityChats(key.secret, key.public_key.format(compressed=False))
        self.admin = AdminEvents()
        self.me = self.chats.me

    def deliver(self, sends: list[Send], now: int = NOW) -> list[Send]:
        out: list[Send] = []
        for send in sends:
            message = unwrap(send.wrapped)
            if message.type == MessageType.COMMUNITY_EVENTS_MESSAGE:
                _, more = self.admin.receive(self.chats, message, now)
            else:
                _, more = self.chats.receive(message, now)
            out += more
        return out


def _join(owner: Account, who: Account, community_id: str, t: int) -> list[Send]:
    """``who`` asks, the owner accepts; returns the owner's description to pass around."""
    asked = who.chats.request_to_join(community_id, t, display_name="x")
    owner.deliver(asked, t)
    answers = owner.chats.accept(community_id, who.me, t + 1)
    who.deliver(answers, t + 2)
    assert who.chats.joined(community_id)
    return [s for s in answers if s.route == "description"]


def _world() -> tuple[Account, Account, Account, str, list[Send]]:
    owner, admin, carol = Account(), Account(), Account()
    community, sends = owner.chats.create("Cats", NOW, manual=True)
    for member in (admin, carol):
        member.chats.watch(community.id)
        member.deliver(sends)
    last = _join(owner, admin, community.id, NOW + 10)
    last = _join(owner, carol, community.id, NOW + 20)
    last = set_admin(owner.chats, community.id, admin.me, NOW + 30)
    for member in (admin, carol):
        member.deliver(last)
    return owner, admin, carol, community.id, last


def test_an_admins_channel_reaches_members_and_the_control_node_republishes() -> None:
    owner, admin, carol, cid, _ = _world()
    assert admin.chats.get(cid) is not None
    chat_id, sends = admin.admin.add_channel(admin.chats, cid, "news", NOW + 40)
    assert [s.route for s in sends] == ["description"] and sends[0].name == cid
    channel_id = chat_id[len(cid) :]
    assert channel_id in admin.chats.get(cid).channels  # type: ignore[union-attr]
    carol.deliver(sends)
    assert carol.chats.get(cid).channels[channel_id].name == "news"  # type: ignore[union-attr]
    republished = owner.deliver(sends, NOW + 41)
    assert channel_id in owner.chats.get(cid).channels  # type: ignore[union-attr]
    assert [s.route for s in republished] == ["description"]
    before = carol.chats.get(cid).clock  # type: ignore[union-attr]
    carol.deliver(republished)
    after = carol.chats.get(cid)
    assert after is not None and after.clock > before and channel_id in after.channels
    assert carol.admin.held(carol.chats, cid) == ()


def test_an_admin_accepts_a_request_the_control_node_answers() -> None:
    owner, admin, _, cid, last = _world()
    dave = Account()
    dave.chats.watch(cid)
    dave.deliver(last)
    owner.deliver(dave.chats.request_to_join(cid, NOW + 50, display_name="dave"), NOW + 50)
    assert [m for m, _, _ in owner.chats.pending(cid)] == [dave.me]
    sends = admin.admin.accept(admin.chats, cid, dave.me, NOW + 51)
    answers = owner.deliver(sends, NOW + 52)
    assert owner.chats.pending(cid) == []
    assert any(s.route == "private" and s.recipient == dave.chats.public_key for s in answers)
    dave.deliver(answers, NOW + 53)
    assert dave.chats.joined(cid)


def test_an_admins_ban_takes_effect_at_the_control_node() -> None:
    owner, admin, carol, cid, _ = _world()
    sends = admin.admin.ban(admin.chats, cid, carol.me, NOW + 60)
    carol.deliver(sends)
    assert carol.chats.get(cid).is_member(carol.me)  # type: ignore[union-attr]
    republished = owner.deliver(sends, NOW + 61)
    assert owner.chats.get(cid).is_banned(carol.me)  # type: ignore[union-attr]
    carol.deliver(republished)
    assert not carol.chats.joined(cid)


def test_members_who_are_not_admins_and_the_control_node_send_no_events() -> None:
    owner, _, carol, cid, _ = _world()
    with pytest.raises(events.NotAdmin):
        carol.admin.add_channel(carol.chats, cid, "mine", NOW + 70)
    with pytest.raises(events.NotAdmin):
        owner.admin.add_channel(owner.chats, cid, "mine", NOW + 70)


def test_revoked_admins_events_are_refused() -> None:
    owner, admin, carol, cid, _ = _world()
    revoked = set_admin(owner.chats, cid, admin.me, NOW + 80, admin=False)
    carol.deliver(revoked)
    # The admin did not hear of it yet and still sends, on the old description.
    _, sends = admin.admin.add_channel(admin.chats, cid, "late", NOW + 81)
    with pytest.raises(events.InvalidEvents) as caught:
        carol.deliver(sends)
    assert caught.value.reason in {"not_privileged", "clock_outdated"}
    with pytest.raises(events.InvalidEvents):
        owner.deliver(sends, NOW + 82)


def test_an_admin_holds_requests_shared_with_it_and_answers_with_them() -> None:
    """status-go's requester sends its request to privileged members too (1:1); the admin
    lists it and its accept event carries that request (display name and clock)."""
    owner, admin, carol, cid, last = _world()
    dave = Account()
    dave.chats.watch(cid)
    dave.deliver(last)
    [asked] = dave.chats.request_to_join(cid, NOW + 90, display_name="dave")
    owner.deliver([asked], NOW + 90)
    change = admin.admin.take_request(admin.chats, unwrap(asked.wrapped))
    assert change is not None and (change.kind, change.member) == ("request", dave.me)
    assert [(m, n) for m, _, n in admin.admin.pending(admin.chats, cid)] == [(dave.me, "dave")]
    with pytest.raises(InvalidCommunity):
        carol.admin.take_request(carol.chats, unwrap(asked.wrapped))
    sends = admin.admin.accept(admin.chats, cid, dave.me, NOW + 91)
    decoded = events.decode_message(unwrap(sends[0].wrapped).payload)
    assert decoded.events[0].request is not None
    assert decoded.events[0].request.display_name == "dave"
    assert admin.admin.pending(admin.chats, cid) == []
    dave.deliver(owner.deliver(sends, NOW + 92), NOW + 93)
    assert dave.chats.joined(cid)
