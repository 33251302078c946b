"""`pystatus node --chat --relay=false` takes its service nodes from nwaku's flags, each
repeatable, defaulting to the --staticnodes; a bad or missing one is a usage error (exit 2);
with them it chats as a light client."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from pystatus.chat.account import Account
from pystatus.chat.light import LightConfig
from pystatus.chat.messenger import Messenger
from pystatus.cli.node_options import _first_addr, _light_chat
from pystatus.errors import ConfigError
from pystatus.node.config import LightChatConfig
from pystatus.node.light_chat import light_transport
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.lightpush import LightPushRequest, LightPushResponse
from tests.chat.test_light_messenger import FAST, _light_node, _next, _service
from tests.p2p.hosts import wait_for

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PEER_A = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
PEER_B = "16Uiu2HAmDfnNceKANwMR3gqeWScj8hykWZ9H9XFCPFWaFf3SNMca"
A = f"/ip4/127.0.0.1/tcp/60001/p2p/{PEER_A}"
B = f"/ip4/127.0.0.1/tcp/60002/p2p/{PEER_B}"


def _addrs(*texts: str) -> tuple[Multiaddr, ...]:
    return tuple(Multiaddr.from_string(t) for t in texts)


def test_each_kind_repeated_or_defaulting_to_static_nodes() -> None:
    config = _light_chat(True, [A], filternode=[A, B, A], lightpushnode=None, storenode=[B])
    assert config == LightChatConfig(
        filternodes=_addrs(A, B), lightpushnodes=_addrs(A), storenodes=_addrs(B)
    )
    assert _light_chat(False, [A], filternode=[A], lightpushnode=[A], storenode=None) is None
    assert _first_addr([B, A]) == Multiaddr.from_string(B)
    assert _first_addr(None) is None


def test_missing_or_peerless_service_nodes_are_refused() -> None:
    with pytest.raises(ConfigError, match="--filternode and --lightpushnode"):
        _light_chat(True, None, filternode=None, lightpushnode=[A], storenode=None)
    with pytest.raises(ConfigError, match=r"--lightpushnode .* must end in /p2p/"):
        _light_chat(
            True, None, filternode=[A], lightpushnode=["/ip4/127.0.0.1/tcp/1"], storenode=None
        )


async def test_node_without_service_nodes_is_a_usage_error(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--chat=true",
        "--relay=false",
        f"--data-dir={tmp_path}",
        "--tcp-port=0",
        f"--lightpushnode={A}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode == 2
    assert "--filternode and --lightpushnode" in stderr.decode()


async def _line(stream: asyncio.StreamReader, prefix: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


async def test_node_chats_as_a_light_client_over_rest(tmp_path: Path) -> None:
    """`node --chat --relay=false` with repeated service node flags: its REST send goes out by
    light push, and a light-client Messenger's reply comes back by filter."""
    bob_account, _ = Account.create(tmp_path / "bob", "bob password", params=FAST)
    Account.create(tmp_path / "alice" / "account", "alice password", params=FAST)
    async with _service(tmp_path) as service, _light_node(service) as bob_node:
        addr = str(service.host.full_addrs()[0])
        process = await asyncio.create_subprocess_exec(
            PYSTATUS,
            "node",
            "--chat=true",
            "--relay=false",
            f"--data-dir={tmp_path / 'alice'}",
            "--listen-address=127.0.0.1",
            "--tcp-port=0",
            f"--filternode={addr}",
            f"--filternode={addr}",
            f"--lightpushnode={addr}",
            f"--storenode={addr}",
            "--rest=true",
            "--rest-port=0",
            env={**os.environ, "PYSTATUS_PASSWORD": "alice password"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(30):
                chatting = await _line(process.stdout, "chatting as ")
                light = await _line(process.stdout, "as a light client of ")
                rest = await _line(process.stdout, "REST API on ")
            alice_key = chatting.removeprefix("chatting as ")
            assert light == "as a light client of 1 filter, 1 light push and 1 store nodes"
            bob_transport = light_transport(bob_node, config=LightConfig(retry_min=0.5))
            async with (
                Messenger(bob_account, bob_transport, installation_id="bob") as bob,
                httpx.AsyncClient(base_url=rest.removeprefix("REST API on "), timeout=10) as api,
            ):
                events = bob.events()
                await wait_for(bob_transport.connected, what="bob reaches the light-push node")
                sent = await api.post("/chat/v1/messages", json={"to": bob.chat_key, "text": "hi"})
                assert sent.status_code == 200, sent.text
                got = await _next(events)
                assert (got.id, got.text, got.author) == (sent.json()["id"], "hi", alice_key)
                reply = await bob.send(alice_key, "hello from a phone")

                async def alice_has_it() -> bool:
                    for chat in (await api.get("/chat/v1/chats")).json():
                        url = f"/chat/v1/chats/{chat['id']}/messages"
                        if any(m["id"] == reply for m in (await api.get(url)).json()):
                            return True
                    return False

                async with asyncio.timeout(15):
                    while not await alice_has_it():
                        await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                await process.wait()
        assert process.returncode == 0


async def test_chat_send_and_watch_as_light_clients(tmp_path: Path) -> None:
    """Two CLI users chat 1:1 as light clients through one service node: `chat watch --light`
    with the service node as its only --staticnode (filter, light push and store default to
    it), `chat send --light` with the service node flags given."""
    env = {**os.environ, "PYSTATUS_PASSWORD": "chat password", "COLUMNS": "200"}
    Account.create(tmp_path / "alice" / "account", "chat password", params=FAST)
    bob, _ = Account.create(tmp_path / "bob" / "account", "chat password", params=FAST)
    async with _service(tmp_path) as service:
        addr = str(service.host.full_addrs()[0])
        watcher = await asyncio.create_subprocess_exec(
            PYSTATUS,
            "chat",
            "watch",
            "--light",
            f"--staticnode={addr}",
            f"--data-dir={tmp_path / 'bob'}",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert watcher.stdout is not None
            async with asyncio.timeout(30):
                assert bob.chat_key in await _line(watcher.stdout, "watching as ")
            filter_server = service.filter_server
            assert filter_server is not None
            await wait_for(lambda: len(filter_server.subscriptions) == 1, what="watching")
            lightpush = service.lightpush_server
            assert lightpush is not None
            pushers: list[PeerId | None] = []
            serve = lightpush.handle

            async def recorded(request: LightPushRequest, peer: PeerId | None) -> LightPushResponse:
                pushers.append(peer)
                return await serve(request, peer)

            lightpush.handle = recorded  # type: ignore[method-assign]
            sender = await asyncio.create_subprocess_exec(
                PYSTATUS,
                "chat",
                "send",
                "--light",
                f"--to={bob.chat_key}",
                "--text=hello from a light client",
                f"--staticnode={addr}",
                f"--filternode={addr}",
                f"--lightpushnode={addr}",
                f"--storenode={addr}",
                "--wait=stored",
                f"--data-dir={tmp_path / 'alice'}",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            async with asyncio.timeout(60):
                out, err = await sender.communicate()
            assert sender.returncode == 0, err.decode()
            # --wait=stored ends at "stored" or later: bob's acknowledgement (about a second)
            # usually comes first, and then no store is asked (go-waku's message check).
            assert {"stored", "delivered"} & set(err.decode().split())
            message_id = out.decode().split()[-1]
            async with asyncio.timeout(30):
                line = await _line_with(watcher.stdout, "hello from a light client")
                assert message_id in await _line_with(watcher.stdout, "id ")
            assert "hello from a light client" in line
            assert len(filter_server.subscriptions) == 1  # the sender unsubscribed on its way out
            # The commands that act once (here `chat reply`) take --light too; with only
            # --staticnode, filter, light push and store all default to it.
            # Bob is the one subscriber; alice keeps her data dir's node key, so her reply
            # is a push from a peer other than bob's, after those counted here.
            [bob_peer] = filter_server.subscriptions.subscribers()
            before = sum(1 for peer in pushers if peer != bob_peer)
            replier = await asyncio.create_subprocess_exec(
                PYSTATUS,
                "chat",
                "reply",
                "--light",
                message_id,
                "a light reply",
                f"--staticnode={addr}",
                f"--data-dir={tmp_path / 'alice'}",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            async with asyncio.timeout(60):
                out, err = await replier.communicate()
            assert replier.returncode == 0, err.decode()
            # The reply came by light push (bob's acknowledgements are not counted): not over
            # relay.
            assert sum(1 for peer in pushers if peer != bob_peer) > before
            async with asyncio.timeout(30):
                assert "a light reply" in await _line_with(watcher.stdout, "a light reply")
        finally:
            watcher.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                await watcher.wait()
        assert watcher.returncode == 0


async def _line_with(stream: asyncio.StreamReader, text: str) -> str:
    while line := (await stream.readline()).decode():
        if text in line:
            return line.strip()
    raise AssertionError(f"no line with {text!r}")
