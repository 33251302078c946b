"""The light-client part of the bandwidth bench, until the Messenger runs over a Transport.

The Messenger still takes a relay node (issue 14 is moving it onto ``chat.transport``), so a
light-client messenger cannot run yet. What a light client's wire would carry for the same
conversation is measured by replaying it: the Waku messages both accounts of a relay run
published (A's texts, B's acknowledgements, in order, byte for byte) go through two
:class:`~pystatus.chat.light.LightTransport` clients of a fresh service node (filter, light
push). Each client listens to every content topic of the conversation, as a messenger does
(1:1 traffic shares the negotiated topic), so each also gets its own messages back by filter.
Not in it: the store queries a light messenger makes to confirm what it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

from bench.bandwidth_report import Measured, Run
from pystatus.chat.light import LightTransport
from pystatus.chat.transport import Received, TransportError
from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.message import WakuMessage, message_hash

IMPL = "pystatus light (replay)"
PUSH_INTERVAL = 0.15
"""Seconds between one client's pushes: under the service node's 10 light-push requests per
second per peer (a chat app sends far fewer)."""
Envelope = tuple[str, WakuMessage]
"""A Waku message and the pubsub topic it was published on."""


class LightAccount:
    """A light client: its node (no relay) and transport, and the hashes it received."""

    def __init__(self, node: WakuNode, transport: LightTransport) -> None:
        self.node = node
        self.transport = transport
        self.hashes: set[bytes] = set()
        self._changed = asyncio.Event()
        transport.on_message(self._on_message)

    def has(self, digest: bytes) -> Callable[[], bool]:
        return lambda: digest in self.hashes

    def _on_message(self, item: Received) -> None:
        self.hashes.add(item.hash)
        self._changed.set()

    async def wait(self, done: Callable[[], bool], deadline: float) -> bool:
        while not done():
            self._changed.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self._changed.wait()
            except TimeoutError:
                return done()
        return True


@contextlib.asynccontextmanager
async def light_account(service: WakuNode) -> AsyncIterator[LightAccount]:
    config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, relay=False)
    async with WakuNode(config) as node:
        addr = service.host.full_addrs()[0]
        transport = LightTransport(
            node.host,
            filter_client=node.filter_client,
            lightpush_client=node.lightpush_client,
            store_client=node.store_client,
            filternodes=[addr],
            lightpushnodes=[addr],
            storenodes=[addr],
        )
        async with transport:
            yield LightAccount(node, transport)


async def _subscribed(service: WakuNode, account: LightAccount, topics: set[Envelope]) -> None:
    server = service.filter_server
    assert server is not None
    wanted = {(pubsub, message.content_topic) for pubsub, message in topics}
    async with asyncio.timeout(30):
        while not wanted <= set(server.subscriptions.criteria_of(account.node.peer_id)):
            await asyncio.sleep(0.05)


async def replay(
    service: WakuNode,
    size: str,
    count: int,
    sent: Sequence[Envelope],
    acks: Sequence[Envelope],
    settle: float,
    limit: float,
) -> Run:
    """``sent`` (A's) then ``acks`` (B's) through two light clients of ``service``: each
    message pushed once the previous one reached its recipient by filter. ``service`` must
    not have seen them (its relay would drop them as duplicates and push none); ``settle``
    and ``limit`` in seconds."""
    run = Run(IMPL, size, count)
    async with light_account(service) as a, light_account(service) as b:
        topics = {(p, m) for p, m in (*sent, *acks)}
        by_topic: dict[str, set[str]] = {}
        for pubsub, message in topics:
            by_topic.setdefault(pubsub, set()).add(message.content_topic)
        for account in (a, b):
            for pubsub, contents in by_topic.items():
                account.transport.listen(pubsub, contents)
            await _subscribed(service, account, topics)
        await asyncio.sleep(settle)
        a_before, b_before = a.node.host.bandwidth(), b.node.host.bandwidth()
        deadline = time.monotonic() + limit
        try:
            for sender, receiver, envelopes in ((a, b, sent), (b, a, acks)):
                for pubsub, message in envelopes:
                    pushed = time.monotonic()
                    digest = message_hash(pubsub, message)
                    await sender.transport.publish(pubsub, message)
                    if not await receiver.wait(receiver.has(digest), deadline):
                        run.failure = "a replayed message did not arrive in time"
                        break
                    await asyncio.sleep(max(0.0, pushed + PUSH_INTERVAL - time.monotonic()))
                if run.failure:
                    break
        except TransportError as exc:
            run.failure = str(exc)
        await asyncio.sleep(settle)
        hashes = {message_hash(p, m) for p, m in sent}
        run.delivered = round(count * len(hashes & b.hashes) / max(1, len(hashes)))
        run.acknowledged = run.delivered if not run.failure else 0
        run.payload = sum(len(m.payload) for _, m in sent)
        run.sender = Measured("pystatus light", a.node.host.bandwidth() - a_before)
        run.receiver = Measured("pystatus light", b.node.host.bandwidth() - b_before)
    return run
