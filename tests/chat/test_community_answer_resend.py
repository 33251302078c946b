"""The control node's answer to a request to join that the transport refused is kept (saved
with the community) and sent again once online at its next start: the member joins (it
waited for ever before). Plus the sans-IO table's schedule, bound and saved form. Two
Messengers over two relay nodes (the restarted control node's descriptions refused, so only
the answer can make her a member); about 3 s of CPU."""

from __future__ import annotations

from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.community import description_content_topic, pubsub_topic
from pystatus.chat.community_answers import DROPPED, AnswerResends
from pystatus.chat.community_chats import Send
from pystatus.chat.community_resend import MAX_RESENDS, RESEND_DELAY_MS
from pystatus.chat.messenger import Messenger
from pystatus.chat.relay_transport import RelayTransport
from pystatus.chat.transport import Published, TransportError
from pystatus.waku.message import WakuMessage
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


def _answer(member: int) -> Send:
    return Send("private", b"answer", pubsub_topic(None), recipient=bytes([4, member]) * 2)


def test_kept_answers_go_again_on_the_request_schedule_within_the_bound() -> None:
    table = AnswerResends(max_kept=2)
    description = Send("description", b"d", pubsub_topic(None), name="0x02")
    assert not table.keep("0x02", [description], 0), "only answers and kicks are kept"
    assert table.keep("0x02", [description, _answer(1)], 0)
    assert table.next_deadline() == RESEND_DELAY_MS
    assert table.handle_timer(RESEND_DELAY_MS - 1) == []
    sends = [len(table.handle_timer(t * RESEND_DELAY_MS)) for t in (1, 3, 7, 15)]
    assert sends == [1, 1, 1, 0] and MAX_RESENDS == 3 and len(table) == 0
    evicted = float(DROPPED.labels("evicted")._value.get())
    for member in (1, 2, 3):
        table.keep("0x02", [_answer(member)], 0)
    assert len(table) == 2 and float(DROPPED.labels("evicted")._value.get()) == evicted + 1
    again = AnswerResends()
    again.restore(table.saved())
    assert len(again) == 2 and again.next_deadline() == 0, "at once, once online"


class _Refusing(RelayTransport):
    """A relay transport whose publishes nothing takes while ``refusing``, nor any on a
    content topic in ``refused_topics``."""

    refusing = False
    refused_topics: frozenset[str] = frozenset()

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        if self.refusing or message.content_topic in self.refused_topics:
            raise TransportError("refused (test)")
        return await super().publish(pubsub_topic, message)


async def test_a_refused_accept_answer_goes_again_at_the_next_start(tmp_path: Path) -> None:
    owner_account, alice_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice")
    )
    async with relay_nodes(2) as nodes:
        assert nodes[0].relay is not None
        refusing = _Refusing(nodes[0].relay)
        owner = Messenger(owner_account, refusing)
        alice = relay_messenger(alice_account, nodes[1])
        await owner.start()
        await alice.start()
        try:
            community_id = await owner.create_community("Cats", manual_accept=True)
            await owner.add_community_channel(community_id, "general")
            await alice.join_community(community_id, display_name="alice")
            await owner.publish_community(community_id)
            await wait_for(
                lambda: bool(owner.community_requests(community_id)), 15, what="the request"
            )
            refusing.refusing = True
            await owner.accept_community_request(community_id, alice.chat_key)
            await owner.stop()
            assert not alice.community_joined(community_id)
            # The description that lists her is refused too: only the answer can tell her.
            again = _Refusing(nodes[0].relay)
            again.refused_topics = frozenset({description_content_topic(community_id)})
            owner = Messenger(owner_account, again)
            await owner.start()
            await wait_for(
                lambda: alice.community_joined(community_id), 15, what="the answer, sent again"
            )
        finally:
            await alice.stop()
            await owner.stop()
