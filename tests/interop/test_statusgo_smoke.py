"""A real status-go v1.1.0 account (tests/interop/statusgo) peered only with a pystatus node.

The pystatus node relays the Status cluster's shards (16/32 for 1:1 and public chats, 16/64
for community control messages); the status-go peer is given its multiaddr and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.relay import RelayedMessage
from tests.interop.statusgo_peer import StatusGoPeer, require_statusgo
from tests.p2p.hosts import wait_for, within

pytestmark = [pytest.mark.interop, pytest.mark.slow]

CLUSTER = 16
CHAT_SHARD = f"/waku/2/rs/{CLUSTER}/32"
COMMUNITY_SHARD = f"/waku/2/rs/{CLUSTER}/64"
RFC26_TOPIC = re.compile(r"^/waku/1/0x[0-9a-f]{8}/rfc26$")

# What go-waku (as status-go v1.1.0 pins it) logs when it drops a relay peer whose metadata
# lists no shards in field 3 (packed), the only field it reads.
GOWAKU_METADATA_REFUSAL = "invalid shard count"


def _config(*, serve_light: bool = False) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=CLUSTER,
        shards=(32, 64),
        filter=FilterConfig() if serve_light else None,
        lightpush=serve_light,
    )


def _refused_by_gowaku(peer: StatusGoPeer) -> str | None:
    """The line of the status-go log where go-waku dropped us over our metadata, if any."""
    if peer.data_dir is None:
        return None
    try:
        log = (peer.data_dir / "statusgo.log").read_text(errors="replace")
    except OSError:
        return None
    for line in log.splitlines():
        if "disconnecting from peer" in line and GOWAKU_METADATA_REFUSAL in line:
            return line.strip()
    return None


async def _first(inbox: AsyncIterator[RelayedMessage], topic: str) -> RelayedMessage:
    async for item in inbox:
        if item.pubsub_topic == topic and RFC26_TOPIC.match(item.message.content_topic):
            return item
    raise AssertionError("relay subscription ended")


async def test_statusgo_peer_joins_a_pystatus_relay_node() -> None:
    require_statusgo()
    async with WakuNode(_config()) as ours:
        assert ours.relay is not None
        relay = ours.relay
        inbox = relay.subscribe(CHAT_SHARD)
        addr = str(ours.host.full_addrs()[0])
        async with StatusGoPeer(waku_nodes=[addr], display_name="smoke") as peer:
            assert peer.public_key.startswith("0x04") and len(peer.public_key) == 132
            assert peer.compressed_key.startswith("zQ3")
            assert peer.installation_id
            assert peer.ready["pubsubTopic"] == CHAT_SHARD
            theirs = PeerId.from_string(peer.peer_id).to_bytes()

            def subscribed() -> bool:
                connected = any(p.to_bytes() == theirs for p in ours.host.connected_peers())
                return connected and theirs in relay.router.topic_peers(CHAT_SHARD)

            try:
                await wait_for(subscribed, 30, what="status-go connected and on 16/32")
                assert theirs in relay.router.topic_peers(COMMUNITY_SHARD)
                await peer.wait_event(
                    lambda e: e.get("event") == "peer" and e.get("connected") is True, 30
                )
                # A public chat message from status-go reaches us over relay on 16/32: the
                # connection holds past go-waku's metadata check and carries Status traffic.
                await peer.request("join_public", name="pystatus-smoke")
                sent = await peer.request("send_public", name="pystatus-smoke", text="hello")
                got = await within(_first(inbox, CHAT_SHARD), 30)
            except (AssertionError, TimeoutError):
                refusal = _refused_by_gowaku(peer)
                if refusal is None:
                    raise
                pytest.fail(
                    "go-waku dropped the pystatus node over its metadata: it reads shards "
                    "from WakuMetadataResponse field 3 (repeated uint32, packed) and drops a "
                    f"relay peer that lists none there. status-go log: {refusal}"
                )
            assert sent["messageId"].startswith("0x")
            assert got.message.version == 1
            assert got.message.timestamp is not None and got.message.timestamp > 0


async def test_statusgo_light_client_uses_pystatus_filter_and_light_push() -> None:
    require_statusgo()
    # A second relay node: light push is refused (503) by a node with no relay peer to send to.
    async with WakuNode(_config(serve_light=True)) as ours, WakuNode(_config()) as other:
        assert ours.relay is not None and ours.filter_server is not None
        await within(other.connect(str(ours.host.full_addrs()[0])))
        await wait_for(lambda: ours.relay is not None and ours.relay.mesh_size(CHAT_SHARD) > 0, 20)
        subscriptions = ours.filter_server.subscriptions
        inbox = ours.relay.subscribe(CHAT_SHARD)
        addr = str(ours.host.full_addrs()[0])
        async with StatusGoPeer(waku_nodes=[addr], light=True, display_name="light") as peer:
            theirs = PeerId.from_string(peer.peer_id)

            # status-go's filter manager subscribes its chats' content topics (its partitioned
            # and contact-code topics at least) on the Status shard.
            def filtering() -> bool:
                criteria = subscriptions.criteria_of(theirs)
                return any(
                    topic == CHAT_SHARD and RFC26_TOPIC.match(content)
                    for topic, content in criteria
                )

            await wait_for(filtering, 30, what="status-go filter subscription on 16/32")
            # It does not relay: what it sends comes by light push and we relay it.
            assert all(p != theirs for p in ours.relay.relay_peers())
            await peer.request("join_public", name="pystatus-smoke-light")
            sent = await peer.request("send_public", name="pystatus-smoke-light", text="hi")
            got = await within(_first(inbox, CHAT_SHARD), 30)
            assert sent["messageId"].startswith("0x")
            assert got.message.version == 1
            await peer.wait_event(
                lambda e: (
                    e.get("event") == "status"
                    and e.get("messageId") == sent["messageId"]
                    and e.get("outgoingStatus") == "sent"
                ),
                30,
            )
