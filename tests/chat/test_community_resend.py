"""Our failed post in an encrypted community's channel is sent again by Messenger.resend,
sealed under the channel's current hash ratchet key (it raised on a channel's chat id before),
and an unconfirmed one is published again, sealed, at start (only plain ones were). A member
that lost the key holds each copy unread (``no_group_key``): the copy went under the key, not
in the clear. Two Messengers over two relay nodes; about 3 s of CPU."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.community_keys import group_id
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.relay_transport import RelayTransport
from pystatus.chat.reliability import DROPPED
from pystatus.chat.transport import Published, TransportError
from pystatus.waku.message import WakuMessage
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str, message_id: str) -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and event.id == message_id:
                return event


def _no_key() -> float:
    return float(DROPPED.labels("no_group_key")._value.get())


async def _encrypted_pair(owner: Messenger, alice: Messenger) -> tuple[str, bytes]:
    """The owner's encrypted community with alice accepted and holding its key: (a channel's
    chat id, the community's group id)."""
    community_id = await owner.create_community("Vault", manual_accept=True, encrypted=True)
    general = await owner.add_community_channel(community_id, "general")
    community = owner.community(community_id)
    assert community is not None
    group = group_id(community)
    await alice.join_community(community_id, display_name="alice")
    await owner.publish_community(community_id)
    await wait_for(lambda: bool(owner.community_requests(community_id)), 15, what="the request")
    await owner.accept_community_request(community_id, alice.chat_key)
    ratchet = alice.session.hash_ratchet
    assert ratchet is not None
    await wait_for(lambda: ratchet.current_key(group) is not None, 15, what="the key")
    return general, group


async def test_a_failed_channel_post_is_resent_sealed(tmp_path: Path) -> None:
    owner_account, alice_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice")
    )
    async with relay_nodes(2) as nodes:
        owner = relay_messenger(owner_account, nodes[0])
        alice = relay_messenger(alice_account, nodes[1])
        await owner.start()
        await alice.start()
        try:
            owner_events = owner.events()
            general, group = await _encrypted_pair(owner, alice)
            post = await alice.send_community(general, "sealed")
            await _next(owner_events, "message", post)
            assert alice.session.tracker.failed(post)  # as when nothing took it
            owner_ratchet = owner.session.hash_ratchet
            assert owner_ratchet is not None
            owner_ratchet.store.forget_group(group)
            held = _no_key()
            await alice.resend(post)
            await wait_for(lambda: _no_key() > held, 15, what="the copy held: no key")
            assert alice.session.tracker.status(post) != DeliveryStatus.FAILED
        finally:
            await alice.stop()
            await owner.stop()


class _Refusing(RelayTransport):
    """A relay transport whose publishes nothing takes while ``refusing``."""

    refusing = False

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        if self.refusing:
            raise TransportError("refused (test)")
        return await super().publish(pubsub_topic, message)


async def test_an_unconfirmed_channel_post_is_republished_sealed_at_start(
    tmp_path: Path,
) -> None:
    owner_account, alice_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice")
    )
    async with relay_nodes(2) as nodes:
        owner = relay_messenger(owner_account, nodes[0])
        assert nodes[1].relay is not None
        refusing = _Refusing(nodes[1].relay)
        alice = Messenger(alice_account, refusing)
        await owner.start()
        await alice.start()
        try:
            general, group = await _encrypted_pair(owner, alice)
            refusing.refusing = True
            post = await alice.send_community(general, "sealed")
            stored = await alice.message(post)
            assert stored is not None and stored.status == "pending"
            await alice.stop()
            owner_ratchet = owner.session.hash_ratchet
            assert owner_ratchet is not None
            owner_ratchet.store.forget_group(group)
            held = _no_key()
            alice = relay_messenger(alice_account, nodes[1])
            await alice.start()
            await wait_for(lambda: _no_key() > held, 15, what="the republished copy: no key")
        finally:
            await alice.stop()
            await owner.stop()
