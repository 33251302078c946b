"""A request to join still unanswered when the account stopped goes again at its next start
(status-go keeps raw messages to resend across restarts), so `community join` may say it is
kept when nothing took it (issue 17, item 4); sans-IO, on an explicit wall clock."""

from __future__ import annotations

import coincurve

from pystatus.chat.community_chats import CommunityChats
from pystatus.chat.wrapper import unwrap

NOW = 1_790_000_000_000


def _account() -> CommunityChats:
    key = coincurve.PrivateKey()
    return CommunityChats(key.secret, key.public_key.format(compressed=False))


def test_an_unanswered_request_goes_again_after_a_restart() -> None:
    owner, alice = _account(), _account()
    community, sends = owner.create("Cats", NOW, manual=True)
    alice.request_to_join(community.id, NOW)
    for send in sends:
        alice.receive(unwrap(send.wrapped), NOW)
    saved = alice.saved(community.id)
    assert saved is not None and saved[2] == NOW // 1000
    # restarted: the request is due at once, then on the resend schedule
    again = CommunityChats(alice.identity, alice.public_key)
    again.restore(saved[0], saved[1], requested_clock=saved[2])
    assert again.next_deadline() == 0
    [resent] = again.handle_timer(NOW + 5_000)
    change, _ = owner.receive(unwrap(resent.wrapped), NOW + 5_001)
    assert change is not None and change.kind == "request"
    assert [m for m, _, _ in owner.pending(community.id)] == [alice.me]
    assert again.next_deadline() == NOW + 5_000 + 60_000


def test_a_joined_or_unrequested_community_sends_nothing_at_start() -> None:
    owner = _account()
    community, _ = owner.create("Cats", NOW)
    signer, payload, _ = owner.saved(community.id) or (b"", b"", 0)
    for joined, requested in ((True, NOW // 1000), (False, 0)):
        member = _account()
        member.restore(signer, payload, joined=joined, requested_clock=requested)
        assert member.next_deadline() is None
        assert member.handle_timer(NOW + 3_600_000) == []
