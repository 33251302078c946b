"""LightTransport against real in-process pystatus service nodes (relay + filter + light push +
store) on free ports: messages arrive by filter once each though two nodes push them, sends go
by light push, history comes from the store; a service node stopped fails over with no message
lost; a service node that dropped the connection and forgot us is subscribed at again."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from pystatus.chat.light import LightConfig, LightTransport
from pystatus.chat.light_core import LightClientError
from pystatus.chat.transport import Received, Transport, TransportError
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import StoreQuery
from tests.p2p.hosts import wait_for, within

TOPIC = "/waku/2/rs/16/32"
CONTENT = "/waku/1/0x01020304/rfc26"
FAST = LightConfig(ping_interval=1.0, ping_timeout=1.0, request_timeout=3.0, retry_min=0.5)


def _is_a_transport(light: LightTransport) -> Transport:
    return light  # mypy checks that LightTransport meets the Transport protocol


def _service_config(tmp_path: Path, index: int) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32,),
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store{index}.sqlite3", resume=False),
        filter=FilterConfig(),
        lightpush=True,
    )


def _light_config() -> NodeConfig:
    return NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, relay=False)


def _addr(node: WakuNode) -> Multiaddr:
    return node.host.full_addrs()[0]


_counter = itertools.count()


def _message(text: str) -> WakuMessage:
    return WakuMessage(
        payload=text.encode(), content_topic=CONTENT, timestamp=time.time_ns() + next(_counter)
    )


@contextlib.asynccontextmanager
async def _services(tmp_path: Path, count: int) -> AsyncIterator[list[WakuNode]]:
    """``count`` service nodes, every pair connected, each meshed on the shard."""
    async with contextlib.AsyncExitStack() as stack:
        nodes = [
            await stack.enter_async_context(WakuNode(_service_config(tmp_path, i)))
            for i in range(count)
        ]
        for i, node in enumerate(nodes):
            for other in nodes[i + 1 :]:
                await within(node.connect(_addr(other)))
        await wait_for(
            lambda: all(
                n.relay is not None and n.relay.mesh_size(TOPIC) >= count - 1 for n in nodes
            ),
            timeout=20,
            what="service nodes meshed",
        )
        yield nodes


@contextlib.asynccontextmanager
async def _light(
    filternodes: list[WakuNode],
    lightpushnodes: list[WakuNode],
    storenodes: list[WakuNode],
    config: LightConfig = FAST,
) -> AsyncIterator[tuple[LightTransport, list[Received], WakuNode]]:
    async with WakuNode(_light_config()) as host_node:
        transport = LightTransport(
            host_node.host,
            filter_client=host_node.filter_client,
            lightpush_client=host_node.lightpush_client,
            store_client=host_node.store_client,
            filternodes=[_addr(n) for n in filternodes],
            lightpushnodes=[_addr(n) for n in lightpushnodes],
            storenodes=[_addr(n) for n in storenodes],
            config=config,
        )
        received: list[Received] = []
        transport.on_message(received.append)
        async with transport:
            yield transport, received, host_node


def _holders(services: list[WakuNode], light: WakuNode) -> list[WakuNode]:
    return [
        s
        for s in services
        if s.filter_server is not None
        and (TOPIC, CONTENT) in s.filter_server.subscriptions.criteria_of(light.peer_id)
    ]


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _payloads(received: list[Received]) -> list[bytes]:
    return [r.message.payload for r in received]


async def test_filter_light_push_and_store(tmp_path: Path) -> None:
    async with (
        _services(tmp_path, 2) as services,
        _light(services, services, services) as (
            alice,
            alice_got,
            alice_node,
        ),
        _light(services, services[1:], services) as (bob, bob_got, bob_node),
    ):
        for transport in (alice, bob):
            transport.listen(TOPIC, [CONTENT])
        await wait_for(
            lambda: (
                len(_holders(services, alice_node)) == 2 and len(_holders(services, bob_node)) == 2
            ),
            what="both subscribed at both nodes",
        )
        await wait_for(alice.connected, what="alice reaches a light-push node")
        assert bob.connected()
        duplicates = _metric("chat_light_received_total", result="duplicate")
        listener_errors = _metric("chat_light_listener_errors_total")

        def broken(received: Received) -> None:
            raise RuntimeError("a listener's bug")

        alice.on_message(broken)

        sent = await within(alice.publish(TOPIC, _message("hello bob")))
        assert sent.peers == 1
        await wait_for(lambda: len(bob_got) == 1, what="bob receives by filter")
        assert bob_got[0].hash == sent.hash
        assert bob_got[0].pubsub_topic == TOPIC
        await wait_for(lambda: len(alice_got) == 1, what="alice sees her own message")
        # both nodes pushed it to each of them: delivered once
        reply = await within(bob.publish(TOPIC, _message("hello alice")))
        await wait_for(lambda: len(alice_got) == 2, what="alice receives the reply")
        assert _payloads(alice_got) == [b"hello bob", b"hello alice"]
        assert _payloads(bob_got) == [b"hello bob", b"hello alice"]
        await wait_for(
            lambda: _metric("chat_light_received_total", result="duplicate") >= duplicates + 4,
            what="the second node's copies dropped",
        )
        assert _metric("chat_light_listener_errors_total") == listener_errors + 2

        assert alice.store is not None
        history = await within(
            alice.store.query(
                StoreQuery(include_data=True, pubsub_topic=TOPIC, content_topics=(CONTENT,))
            )
        )
        assert {e.hash for e in history.entries} == {sent.hash, reply.hash}

        alice.unlisten(TOPIC, [CONTENT])
        await wait_for(lambda: not _holders(services, alice_node), what="alice unsubscribed")


async def test_stopped_service_node_fails_over_without_loss(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        services = await stack.enter_async_context(_services(tmp_path, 3))
        first, second, spare = services
        # the receiver subscribes at the first two; the sender pushes to the first, then the
        # second; history from the first, then the spare
        receiver, got, receiver_node = await stack.enter_async_context(
            _light(services, [spare], [spare])
        )
        sender, _, _ = await stack.enter_async_context(
            _light([spare], [first, second], [first, spare])
        )
        receiver.listen(TOPIC, [CONTENT])
        await wait_for(
            lambda: _holders(services, receiver_node) == [first, second],
            what="subscribed at the first two",
        )
        sent = [await within(sender.publish(TOPIC, _message(f"before {i}"))) for i in range(5)]
        await wait_for(lambda: len(got) == 5, what="the first five")

        await first.stop()
        # sends fail over to the second light-push node; subscriptions move to the spare
        sent += [await within(sender.publish(TOPIC, _message(f"after {i}"))) for i in range(5)]
        assert all(p.peers == 1 for p in sent)
        await wait_for(lambda: len(got) == 10, what="every message, none lost")
        assert [r.hash for r in got] == [p.hash for p in sent]
        await wait_for(
            lambda: _holders(services[1:], receiver_node) == [second, spare],
            what="the spare holds the topic",
        )
        assert receiver.plan.is_down(str(first.peer_id))
        assert sender.push_nodes.order(time.monotonic())[0] == str(second.peer_id)
        assert sender.store is not None
        history = await within(
            sender.store.query(
                StoreQuery(include_data=False, pubsub_topic=TOPIC, content_topics=(CONTENT,))
            )
        )
        assert {p.hash for p in sent} <= {e.hash for e in history.entries}
        # no light-push node left: a typed error, not a hang
        await second.stop()
        with pytest.raises(TransportError, match="no light-push node"):
            await within(sender.publish(TOPIC, _message("nobody")), timeout=20)
        assert not sender.connected()


async def test_reconnection_resubscribes(tmp_path: Path) -> None:
    async with (
        _services(tmp_path, 2) as services,
        _light(services, services, services) as (
            light,
            got,
            light_node,
        ),
    ):
        light.listen(TOPIC, [CONTENT])
        await wait_for(lambda: len(_holders(services, light_node)) == 2, what="subscribed")
        service = services[0]
        assert service.filter_server is not None
        # the service node restarts as far as we can tell: it forgets us and drops the link
        service.filter_server.subscriptions.remove(light_node.peer_id)
        await service.host.disconnect(light_node.peer_id)
        await wait_for(
            lambda: service in _holders(services, light_node),
            timeout=15,
            what="subscribed again after reconnecting",
        )
        assert light_node.host.connections(service.peer_id)
        # and what it pushes arrives
        sender = services[1]
        await sender.publish(TOPIC, _message("after reconnect"))
        await wait_for(lambda: _payloads(got) == [b"after reconnect"], what="delivered")


async def test_forgotten_subscription_found_by_ping(tmp_path: Path) -> None:
    async with (
        _services(tmp_path, 1) as services,
        _light(services, services, services) as (
            light,
            got,
            light_node,
        ),
    ):
        light.listen(TOPIC, [CONTENT])
        await wait_for(lambda: len(_holders(services, light_node)) == 1, what="subscribed")
        assert services[0].filter_server is not None
        services[0].filter_server.subscriptions.remove(light_node.peer_id)
        # the next ping (FAST: every second) is answered 404, and we subscribe again
        await wait_for(
            lambda: len(_holders(services, light_node)) == 1, timeout=10, what="resubscribed"
        )
        await services[0].publish(TOPIC, _message("still here"))
        await wait_for(lambda: _payloads(got) == [b"still here"], what="delivered")


async def test_bad_addresses_are_refused(tmp_path: Path) -> None:
    async with WakuNode(_light_config()) as node:
        no_peer = Multiaddr.from_string("/ip4/127.0.0.1/tcp/1")
        with pytest.raises(LightClientError, match="/p2p/"):
            LightTransport(
                node.host,
                filter_client=node.filter_client,
                lightpush_client=node.lightpush_client,
                filternodes=[no_peer],
                lightpushnodes=[no_peer],
            )
        with pytest.raises(LightClientError, match="light-push"):
            LightTransport(
                node.host,
                filter_client=node.filter_client,
                lightpush_client=node.lightpush_client,
                filternodes=[_addr(node)],
                lightpushnodes=[],
            )


async def test_stop_unsubscribes_and_a_restart_subscribes_again(tmp_path: Path) -> None:
    async with (
        _services(tmp_path, 2) as services,
        # pings too rare to find the forgotten subscriptions within the test's waits
        _light(services, services, [], dataclasses.replace(FAST, ping_interval=60.0)) as (
            light,
            got,
            light_node,
        ),
    ):
        light.listen(TOPIC, [CONTENT])
        await wait_for(lambda: len(_holders(services, light_node)) == 2, what="subscribed")
        assert light.store is None
        await light.stop()
        assert all(
            s.filter_server is not None
            and not s.filter_server.subscriptions.criteria_of(light_node.peer_id)
            for s in services
        )
        await light.start()
        await wait_for(lambda: len(_holders(services, light_node)) == 2, timeout=5, what="again")
        await within(light.publish(TOPIC, _message("after restart")))
        await wait_for(lambda: _payloads(got) == [b"after restart"], what="delivered")


async def test_restarted_service_node_is_subscribed_at_again(tmp_path: Path) -> None:
    """The service node restarts on the same key and port: the light client notices the lost
    connection, dials it again after its back-off, and subscribes there anew."""
    config = _service_config(tmp_path, 0)
    async with contextlib.AsyncExitStack() as stack:
        service = await stack.enter_async_context(WakuNode(config))
        light, got, light_node = await stack.enter_async_context(
            _light([service], [service], [service])
        )
        light.listen(TOPIC, [CONTENT])
        await wait_for(lambda: _holders([service], light_node) == [service], what="subscribed")
        port = int(_addr(service).value_for("tcp") or 0)
        await service.stop()
        restarted = await stack.enter_async_context(
            WakuNode(dataclasses.replace(config, tcp_port=port))
        )
        assert restarted.peer_id == service.peer_id
        await wait_for(
            lambda: _holders([restarted], light_node) == [restarted],
            timeout=15,
            what="subscribed at the restarted node",
        )
        # with no relay peer the node cannot publish by light push, but it pushes what it
        # relays itself to its filter subscribers
        await restarted.publish(TOPIC, _message("after restart"))
        await wait_for(lambda: _payloads(got) == [b"after restart"], what="delivered")


async def test_refused_everywhere_then_connected_again_after_back_off(tmp_path: Path) -> None:
    """A service node with no relay peer answers 503: the push fails, connected() turns False,
    and once the back-off is over the node is reached again (connected() True) without a
    send having to try; with a relay peer the next push goes out."""
    async with contextlib.AsyncExitStack() as stack:
        service = await stack.enter_async_context(WakuNode(_service_config(tmp_path, 0)))
        light, _, _ = await stack.enter_async_context(_light([service], [service], []))
        await wait_for(light.connected, what="reached")
        with pytest.raises(TransportError, match="503"):
            await within(light.publish(TOPIC, _message("nobody to relay to")))
        assert not light.connected()
        await wait_for(light.connected, timeout=5, what="reached again after the back-off")
        peer = await stack.enter_async_context(WakuNode(_service_config(tmp_path, 1)))
        await within(peer.connect(_addr(service)))
        await wait_for(
            lambda: service.relay is not None and service.relay.mesh_size(TOPIC) > 0,
            what="the service node has a relay peer",
        )
        sent = await within(light.publish(TOPIC, _message("now relayed")))
        assert sent.peers == 1
