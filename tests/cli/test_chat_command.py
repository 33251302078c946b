"""`pystatus chat send|watch` as users run them, through a `pystatus node` relay."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "chat password"


async def _line(stream: asyncio.StreamReader, prefix: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


async def _start(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        PYSTATUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_send_reaches_a_watcher(tmp_path: Path) -> None:
    fast = ScryptParams(n=1 << 10)
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    node = await _start(
        "node", "--listen-address=127.0.0.1", "--tcp-port=0", "--cluster-id=16", "--shard=32"
    )
    watcher = None
    try:
        assert node.stdout is not None
        async with asyncio.timeout(20):
            relay_addr = (await _line(node.stdout, "listening on ")).removeprefix("listening on ")
        watcher = await _start(
            "chat", "watch", "--staticnode", relay_addr, "--data-dir", str(tmp_path / "bob")
        )
        assert watcher.stdout is not None
        async with asyncio.timeout(30):
            assert bob.chat_key in await _line(watcher.stdout, "watching as ")
        sender = await _start(
            "chat",
            "send",
            "--to",
            bob.chat_key,
            "--text",
            "hello from the terminal",
            "--staticnode",
            relay_addr,
            "--data-dir",
            str(tmp_path / "alice"),
        )
        async with asyncio.timeout(30):
            out, err = await sender.communicate()
        assert sender.returncode == 0, err.decode()
        assert "sent" in err.decode().split(), "the status it reached is shown"
        message_id = out.decode().strip().splitlines()[-1]
        assert message_id.startswith("0x") and len(message_id) == 66
        async with asyncio.timeout(20):
            line = await _line(watcher.stdout, "0x")
            assert "hello from the terminal" in line
            assert message_id in await _line(watcher.stdout, "  id ")
        await _stop(watcher)
        assert watcher.returncode == 0
    finally:
        if watcher is not None:
            await _stop(watcher)
        await _stop(node)


async def _run(*args: str) -> tuple[str, str]:
    process = await _start(*args)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_contact_request_accept_and_list(tmp_path: Path) -> None:
    fast = ScryptParams(n=1 << 10)
    alice, _ = Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    node = await _start(
        "node", "--listen-address=127.0.0.1", "--tcp-port=0", "--cluster-id=16", "--shard=32"
    )
    watcher = None
    try:
        assert node.stdout is not None
        async with asyncio.timeout(20):
            relay_addr = (await _line(node.stdout, "listening on ")).removeprefix("listening on ")

        def as_(who: str) -> tuple[str, ...]:
            return ("--staticnode", relay_addr, "--data-dir", str(tmp_path / who))

        watcher = await _start("chat", "watch", *as_("bob"))
        assert watcher.stdout is not None
        async with asyncio.timeout(30):
            await _line(watcher.stdout, "watching as ")
        await _run("chat", "name", "Alice Liddell", *as_("alice"))
        out, _ = await _run("chat", "request", bob.chat_key, "--text", "hi bob", *as_("alice"))
        request_id = out.strip().splitlines()[-1]
        async with asyncio.timeout(20):
            assert "[contact request] hi bob" in await _line(watcher.stdout, "0x")
            assert request_id in await _line(watcher.stdout, "  id ")
            assert "received" in await _line(watcher.stdout, "contact ")
        await _stop(watcher)

        watcher = await _start("chat", "watch", *as_("alice"))
        assert watcher.stdout is not None
        async with asyncio.timeout(30):
            await _line(watcher.stdout, "watching as ")
        out, _ = await _run("chat", "accept", alice.chat_key, *as_("bob"))
        assert out.strip() == "mutual"
        async with asyncio.timeout(20):
            assert f"contact {bob.chat_key}: mutual" in await _line(watcher.stdout, "contact ")
        out, _ = await _run("chat", "contacts", "--data-dir", str(tmp_path / "bob"))
        assert out.split() == [alice.chat_key, "mutual", "Alice", "Liddell"]
    finally:
        if watcher is not None:
            await _stop(watcher)
        await _stop(node)
