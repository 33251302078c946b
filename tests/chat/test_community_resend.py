"""A request to join that gets no answer is sent again on status-go's schedule (30, 60 and
120 s after the first three sends, four sends in all), on an explicit wall clock; an answer,
cancelling or leaving stops it."""

from __future__ import annotations

import coincurve

from pystatus.chat.community_chats import RESENT, CommunityChats
from pystatus.chat.wrapper import unwrap

NOW = 1_790_000_000_000


def _account() -> CommunityChats:
    key = coincurve.PrivateKey()
    return CommunityChats(key.secret, key.public_key.format(compressed=False))


def _asking(manual: bool = True) -> tuple[CommunityChats, CommunityChats, str, bytes]:
    owner, alice = _account(), _account()
    community, sends = owner.create("Cats", NOW, manual=manual)
    assert alice.request_to_join(community.id, NOW, display_name="alice") == []
    requests = []
    for send in sends:  # the description arrives: the request goes at once
        requests += alice.receive(unwrap(send.wrapped), NOW)[1]
    [request] = requests
    return owner, alice, community.id, request.wrapped


def test_an_unanswered_request_goes_again_30_60_120_s_later_then_stops() -> None:
    _, alice, _, first = _asking()
    before = RESENT._value.get()
    sent_at: list[int] = []
    now = NOW
    while (due := alice.next_deadline()) is not None:
        assert alice.handle_timer(due - 1) == [], "nothing before its time"
        now = due
        again = alice.handle_timer(now)
        assert [s.wrapped for s in again] == [first], "the same request, unchanged"
        sent_at.append(now - NOW)
        assert len(sent_at) < 10, "the resends stop"
    assert sent_at == [30_000, 90_000, 210_000]
    assert alice.handle_timer(now + 3_600_000) == []
    assert RESENT._value.get() == before + 3


def test_an_answer_or_cancelling_stops_the_resends() -> None:
    owner, alice, community_id, request = _asking()
    owner.receive(unwrap(request), NOW + 1)
    for send in owner.decline(community_id, alice.me, NOW + 2):
        alice.receive(unwrap(send.wrapped), NOW + 3)
    assert alice.next_deadline() is None and alice.handle_timer(NOW + 60_000) == []

    owner, alice, community_id, request = _asking(manual=False)
    for send in owner.receive(unwrap(request), NOW + 1)[1]:
        alice.receive(unwrap(send.wrapped), NOW + 2)
    assert alice.joined(community_id)
    assert alice.next_deadline() is None

    _, alice, community_id, _ = _asking()
    alice.cancel_request(community_id, NOW + 1)
    assert alice.next_deadline() is None and alice.handle_timer(NOW + 60_000) == []
