"""Requests to join a control node shares with its admins (issue 17, status-go v1.1.0's
CommunityPrivilegedUserSyncMessage, type 72): decoded and checked, fuzzed; and over relays an
admin lists the pending requests the control node shared, drops a rejected one, and refuses
one signed by someone else (:mod:`pystatus.chat.community_privileged_sync`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat.account import Account
from pystatus.chat.community import REJECTED, InvalidCommunity, member_key
from pystatus.chat.community_chats import Send, _private
from pystatus.chat.community_privileged_sync import (
    ALL_SYNC,
    EDIT_SHARED_ADDRESSES,
    REJECT,
    decode_privileged_sync,
)
from pystatus.chat.keys import chat_key_text
from pystatus.chat.messenger import Messenger
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_privileged_sync_pb2 as spb
from pystatus.chat.wrapper import MessageType, wrap
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.chat.test_community_moderation_messenger import _next, _three
from tests.p2p.hosts import wait_for

REQUESTER = coincurve.PrivateKey().public_key.format(compressed=False)
REQUESTER_KEY = member_key(REQUESTER)
COMMUNITY = coincurve.PrivateKey().public_key.format(compressed=True)


def _sync(kind: int, community: bytes = COMMUNITY, state: int = 1) -> bytes:
    message = spb.CommunityPrivilegedUserSyncMessage(clock=5, type=kind, community_id=community)  # type: ignore[arg-type]
    if kind == ALL_SYNC:
        message.sync_requests_to_join.append(
            spb.SyncCommunityRequestsToJoin(
                public_key=REQUESTER_KEY, clock=4, community_id=community, state=state
            )
        )
    elif kind != EDIT_SHARED_ADDRESSES:
        message.request_to_join[REQUESTER_KEY].CopyFrom(
            pb.CommunityRequestToJoin(clock=4, community_id=community)
        )
    return message.SerializeToString()


def test_decodes_shared_and_decided_requests() -> None:
    shared = decode_privileged_sync(_sync(ALL_SYNC))
    assert shared.community_id == "0x" + COMMUNITY.hex()
    assert [(k, r.clock) for k, r in shared.shared] == [(REQUESTER_KEY, 4)]
    assert decode_privileged_sync(_sync(ALL_SYNC, state=3)).shared == ()  # accepted already
    assert decode_privileged_sync(_sync(REJECT)).decided == (REQUESTER_KEY,)


@pytest.mark.parametrize(
    "payload",
    [
        _sync(ALL_SYNC, community=b"\x02" * 5),
        spb.CommunityPrivilegedUserSyncMessage(
            type=REJECT, community_id=COMMUNITY
        ).SerializeToString(),
        spb.CommunityPrivilegedUserSyncMessage(
            type=ALL_SYNC, community_id=COMMUNITY
        ).SerializeToString(),
        spb.CommunityPrivilegedUserSyncMessage(type=9, community_id=COMMUNITY).SerializeToString(),  # type: ignore[arg-type]
        b"\xff\xff",
    ],
    # Named, not shown: the payloads hold a key made at import, so their bytes differ in each
    # xdist worker, and workers that collect different ids refuse to run.
    ids=[
        "short-community-id",
        "reject-no-request",
        "all-sync-no-requests",
        "type-9",
        "no-protobuf",
    ],
)
def test_malformed_ones_are_refused(payload: bytes) -> None:
    with pytest.raises(InvalidCommunity):
        decode_privileged_sync(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_privileged_sync_decoder_parses_or_raises(data: bytes) -> None:
    with contextlib.suppress(InvalidCommunity):
        decode_privileged_sync(data)


async def _send(sender: Messenger, signer: bytes, to: Messenger, payload: bytes) -> None:
    wrapped = wrap(payload, MessageType.COMMUNITY_PRIVILEGED_USER_SYNC_MESSAGE, signer)
    send: Send = _private(wrapped, member_key(to.session.public_key))
    await sender._perform(sender._community_sends([send]))


async def test_an_admin_lists_shared_requests_and_drops_decided_ones(tmp_path: Path) -> None:
    async with _three(tmp_path) as (owner, alice, bob, community_id, _):
        await owner.set_community_admin(community_id, alice.chat_key)

        def admin() -> bool:
            view = alice.community(community_id)
            return view is not None and view.is_privileged(member_key(alice.session.public_key))

        await wait_for(admin, timeout=15, what="alice an admin")
        key = owner._communities.private_key(community_id)
        assert key is not None
        cid = bytes.fromhex(community_id[2:])
        # bob, no control node, shares a request: refused, counted
        refused = float(REJECTED.labels("signer")._value.get())
        await _send(bob, bob._identity, alice, _sync(ALL_SYNC, cid))
        await wait_for(
            lambda: REJECTED.labels("signer")._value.get() > refused,
            timeout=15,
            what="the forged share refused",
        )
        assert alice.community_requests(community_id) == []
        # the control node shares a pending request: alice lists it
        await _send(owner, key, alice, _sync(ALL_SYNC, cid))
        await wait_for(
            lambda: bool(alice.community_requests(community_id)),
            timeout=15,
            what="the shared request listed",
        )
        assert [r[0] for r in alice.community_requests(community_id)] == [chat_key_text(REQUESTER)]
        # then rejects it: alice no longer lists it
        await _send(owner, key, alice, _sync(REJECT, cid))
        await wait_for(
            lambda: not alice.community_requests(community_id),
            timeout=15,
            what="the rejected request dropped",
        )


async def test_a_pystatus_control_node_shares_requests_with_a_new_admin(tmp_path: Path) -> None:
    accounts = [
        Account.create(tmp_path / n, "sync password", params=FAST)[0]
        for n in ("owner", "alice", "bob")
    ]
    async with relay_nodes(2) as nodes:
        owner, alice, bob = (relay_messenger(a, nodes[min(i, 1)]) for i, a in enumerate(accounts))
        for m in (owner, alice, bob):
            await m.start()
        try:
            owner_events, alice_events = owner.events(), alice.events()
            community_id = await owner.create_community("Cats", manual_accept=True)
            await alice.join_community(community_id, display_name="alice")
            await owner.publish_community(community_id)
            await _next(owner_events, "community", "request")
            await owner.accept_community_request(community_id, alice.chat_key)
            await _next(alice_events, "community", "joined")
            await bob.join_community(community_id, display_name="bob")
            await owner.publish_community(community_id)
            await wait_for(
                lambda: bool(owner.community_requests(community_id)),
                timeout=15,
                what="bob's request at the control node",
            )
            assert alice.community_requests(community_id) == []
            # made admin, alice is sent the pending request (type 72, ALL_SYNC)
            await owner.set_community_admin(community_id, alice.chat_key)
            await wait_for(
                lambda: [r[0] for r in alice.community_requests(community_id)] == [bob.chat_key],
                timeout=15,
                what="bob's request shared with alice",
            )
            # the control node declines it: alice is told (REJECT) and drops it
            await owner.decline_community_request(community_id, bob.chat_key)
            await wait_for(
                lambda: not alice.community_requests(community_id),
                timeout=15,
                what="the declined request dropped at alice",
            )
        finally:
            for m in (bob, alice, owner):
                await m.stop()
