"""Two accounts' :class:`CommunityChats` exchanging what each sends, with no network: requests
to join (open and by approval), answers, read-only channels, bans, leaving."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat.community import (
    CONTROL_PUBSUB_TOPIC,
    InvalidCommunity,
    community_key,
    member_key,
)
from pystatus.chat.community_chats import (
    DROPPED,
    CommunityChats,
    CommunityNotAllowed,
    ReadOnlyChannel,
    Send,
)
from pystatus.chat.wrapper import MessageType, unwrap

NOW = 1_790_000_000_000


def _account() -> CommunityChats:
    key = coincurve.PrivateKey()
    return CommunityChats(key.secret, key.public_key.format(compressed=False))


def _deliver(to: CommunityChats, sends: list[Send], now: int = NOW) -> list[Send]:
    out: list[Send] = []
    for send in sends:
        _, more = to.receive(unwrap(send.wrapped), now)
        out += more
    return out


def _dropped(reason: str) -> float:
    return float(DROPPED.labels(reason)._value.get())


def test_join_by_approval_post_and_read_only() -> None:
    owner, alice = _account(), _account()
    community, sends = owner.create("Cats", NOW, manual=True)
    general, sends2 = owner.add_channel(community.id, "general", NOW + 1)
    news, sends3 = owner.add_channel(community.id, "news", NOW + 2, read_only=True)
    assert [s.route for s in sends + sends2 + sends3] == ["description"] * 3
    # alice asks before she has the description: the request waits for it
    assert alice.request_to_join(community.id, NOW, display_name="alice") == []
    requests = _deliver(alice, sends3)
    assert [(s.route, s.pubsub_topic) for s in requests] == [("control", CONTROL_PUBSUB_TOPIC)]
    assert requests[0].recipient == community_key(community.id)
    change, out = owner.receive(unwrap(requests[0].wrapped), NOW + 3)
    assert change is not None
    assert (change.kind, change.member, change.display_name) == ("request", alice.me, "alice")
    assert out == []
    assert [p[0] for p in owner.pending(community.id)] == [alice.me]
    answers = owner.accept(community.id, alice.me, NOW + 4)
    assert [s.route for s in answers] == ["description", "private"]
    assert answers[1].recipient == alice.public_key
    assert owner.pending(community.id) == []
    change, _ = alice.receive(unwrap(answers[1].wrapped), NOW + 5)
    assert change is not None and change.kind == "joined"
    assert alice.joined(community.id)
    alice.receive(unwrap(answers[0].wrapped), NOW + 5)
    # posts: the ordinary channel yes, the read-only one refused before sending
    assert alice.check_post(general) == "/waku/2/rs/16/32"
    with pytest.raises(ReadOnlyChannel):
        alice.check_post(news)
    assert owner.check_post(news)
    # on receipt: alice's post in the read-only channel is dropped by every member
    before = _dropped("not_allowed")
    assert owner.take_post(general, alice.public_key, MessageType.CHAT_MESSAGE)
    assert not owner.take_post(news, alice.public_key, MessageType.CHAT_MESSAGE)
    assert alice.take_post(news, owner.public_key, MessageType.CHAT_MESSAGE)
    assert _dropped("not_allowed") == before + 1


def test_open_community_accepts_at_once_and_bans() -> None:
    owner, alice, bob = _account(), _account(), _account()
    community, sends = owner.create("Dogs", NOW)
    general, sends = owner.add_channel(community.id, "general", NOW + 1)
    alice.watch(community.id)
    _deliver(alice, sends)
    request = alice.request_to_join(community.id, NOW + 2)
    change, answers = owner.receive(unwrap(request[0].wrapped), NOW + 3)
    assert change is not None and change.kind == "accepted"
    assert [s.route for s in answers] == ["description", "private"]
    _deliver(alice, answers)
    assert alice.joined(community.id)
    # bob, not a member, is dropped by alice
    assert not alice.take_post(general, bob.public_key, MessageType.CHAT_MESSAGE)
    # the ban: a new description and a kick to alice
    banned = owner.ban(community.id, alice.me, NOW + 4)
    assert [s.route for s in banned] == ["description", "private"]
    change, _ = alice.receive(unwrap(banned[0].wrapped), NOW + 5)
    assert change is not None and change.kind == "banned"
    assert not alice.joined(community.id)
    with pytest.raises(CommunityNotAllowed):
        alice.check_post(general)
    assert not owner.take_post(general, alice.public_key, MessageType.CHAT_MESSAGE)
    # a banned key asking again is refused
    again = alice.request_to_join(community.id, NOW + 6)
    with pytest.raises(InvalidCommunity, match="banned"):
        owner.receive(unwrap(again[0].wrapped), NOW + 7)


def test_leave_cancel_and_forged_answers() -> None:
    owner, alice, mallory = _account(), _account(), _account()
    community, sends = owner.create("Birds", NOW, manual=True)
    alice.watch(community.id)
    _deliver(alice, sends)
    request = alice.request_to_join(community.id, NOW)
    owner.receive(unwrap(request[0].wrapped), NOW)
    cancel = alice.cancel_request(community.id, NOW + 1)
    change, _ = owner.receive(unwrap(cancel[0].wrapped), NOW + 2)
    assert change is not None and change.kind == "cancelled"
    assert owner.pending(community.id) == []
    # an answer signed by someone else than the control node is refused
    alice.request_to_join(community.id, NOW + 3)
    from pystatus.chat import community_requests

    forged = community_requests.response(
        mallory.identity, community.description, community.id, True, NOW
    )
    with pytest.raises(InvalidCommunity, match="signer"):
        alice.receive(unwrap(forged), NOW + 4)
    # accepted, then alice leaves: the owner removes her and publishes
    request = alice.request_to_join(community.id, NOW + 5)
    owner.receive(unwrap(request[0].wrapped), NOW + 5)
    _deliver(alice, owner.accept(community.id, alice.me, NOW + 6))
    leave = alice.leave(community.id, NOW + 7)
    change, out = owner.receive(unwrap(leave[0].wrapped), NOW + 8)
    assert change is not None and change.kind == "left"
    assert not owner.get(community.id).is_member(alice.me)  # type: ignore[union-attr]
    assert [s.route for s in out] == ["description"]
    with pytest.raises(CommunityNotAllowed):
        owner.leave(community.id, NOW)


def test_descriptions_of_unfollowed_communities_are_dropped_and_saved_state_restores() -> None:
    owner, stranger = _account(), _account()
    community, sends = owner.create("Fish", NOW)
    before = _dropped("unwatched")
    change, _ = stranger.receive(unwrap(sends[0].wrapped), NOW)
    assert change is None
    assert _dropped("unwatched") == before + 1
    saved = owner.saved(community.id)
    assert saved is not None
    signer, payload, _ = saved
    again = _account()
    key = owner.private_key(community.id)
    restored = again.restore(signer, payload, private_key=key, joined=True)
    assert restored.id == community.id
    assert again.controls(community.id)
    assert restored.wrapped  # signed again, ready to publish
    assert member_key(owner.public_key) in restored.members
