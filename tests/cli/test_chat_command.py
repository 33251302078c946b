"""`pystatus chat ...` as users run them, through a `pystatus node` relay: send (stdin, key
forms, --json, a timeout that gives the id), watch (full keys, times), contact requests,
public chats, reply, react and history."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from pystatus.chat.account import Account
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.keystore import ScryptParams

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "chat password"

# One relay node serves the module's tests (each test chats from data dirs and keys of its
# own, and the relay keeps nothing a test reads), so its start-up is paid once.
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _line(stream: asyncio.StreamReader, prefix: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


async def _line_with(stream: asyncio.StreamReader, text: str) -> str:
    while line := (await stream.readline()).decode():
        if text in line:
            return line.strip()
    raise AssertionError(f"no line with {text!r}")


async def _watching(watcher: asyncio.subprocess.Process, *, json_lines: bool = False) -> None:
    """Until ``chat watch`` says it is watching (within 30 s)."""
    assert watcher.stdout is not None
    async with asyncio.timeout(30):
        if json_lines:
            await _json_line(watcher, kind="watching")
        else:
            await _line(watcher.stdout, "watching as ")


async def _start(*args: str, stdin: int | None = None) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        PYSTATUS,
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def relay_addr() -> AsyncIterator[str]:
    """The multiaddr of a `pystatus node` relay on the Status shard, stopped after the module."""
    node = await _start(
        "node", "--listen-address=127.0.0.1", "--tcp-port=0", "--cluster-id=16", "--shard=32"
    )
    drain: asyncio.Task[None] | None = None
    try:
        assert node.stdout is not None and node.stderr is not None
        async with asyncio.timeout(20):
            line = await _line(node.stdout, "listening on ")
        # Nobody reads the node's output from here on: keep its pipes from filling up.
        drain = asyncio.get_running_loop().create_task(_drain(node))
        yield line.removeprefix("listening on ")
    finally:
        await _stop(node)
        if drain is not None:
            await drain


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None and process.stderr is not None
    await asyncio.gather(process.stdout.read(), process.stderr.read())


async def test_send_reaches_a_watcher(tmp_path: Path, relay_addr: str) -> None:
    fast = ScryptParams(n=1 << 10)
    alice, _ = Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    watcher = None
    try:
        watcher = await _start(
            "chat", "watch", "--staticnode", relay_addr, "--data-dir", str(tmp_path / "bob")
        )
        assert watcher.stdout is not None
        async with asyncio.timeout(30):
            assert bob.chat_key in await _line(watcher.stdout, "watching as ")
        # The text on stdin, the recipient as status-go's 0x04 hex key, the result as JSON.
        bob_hex = "0x" + public_key_from_chat_key_text(bob.chat_key).hex()
        sender = await _start(
            "chat",
            "send",
            "--to",
            bob_hex,
            "--json",
            "--staticnode",
            relay_addr,
            "--data-dir",
            str(tmp_path / "alice"),
            stdin=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            out, err = await sender.communicate(b"hello from the terminal\n")
        assert sender.returncode == 0, err.decode()
        assert "sent" in err.decode().split(), "the status it reached is shown"
        sent = json.loads(out)
        message_id = sent["id"]
        assert message_id.startswith("0x") and len(message_id) == 66
        assert sent["to"] == bob.chat_key and sent["timedOut"] is False
        async with asyncio.timeout(20):
            line = await _line_with(watcher.stdout, "hello from the terminal")
            assert alice.chat_key in line, "the author's full key"
            assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line), "a timestamp"
            assert message_id in await _line(watcher.stdout, "  id ")

        # A reply and a reaction find the message's 1:1 chat from its id alone.
        as_alice = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"))
        out_text, _ = await _run("chat", "reply", message_id, "and again", *as_alice)
        reply_id = out_text.strip()
        out_text, _ = await _run("chat", "react", message_id, "love", "--json", *as_alice)
        assert json.loads(out_text)["chatId"] == "0x" + bob_hex[2:]
        async with asyncio.timeout(20):
            line = await _line_with(watcher.stdout, "and again")
            assert f"[reply to {message_id}]" in line
            assert reply_id in await _line(watcher.stdout, "  id ")
            assert "[reaction ❤️]" in await _line_with(watcher.stdout, "[reaction")
        await _stop(watcher)
        assert watcher.returncode == 0

        # Bob is gone: "delivered" cannot come. The id is printed, with the hint.
        late = await _start(
            "chat",
            "send",
            "--to",
            bob.chat_key,
            "--text",
            "are you there?",
            "--wait",
            "delivered",
            "--timeout",
            "2",
            "--staticnode",
            relay_addr,
            "--data-dir",
            str(tmp_path / "alice"),
        )
        async with asyncio.timeout(30):
            out, err = await late.communicate()
        assert late.returncode == 1
        late_id = out.decode().strip()
        assert late_id.startswith("0x") and late_id != message_id
        assert "not delivered within 2 s" in err.decode()
        assert "do not send it twice" in err.decode() and late_id in err.decode()

        out_text, _ = await _run(
            "chat", "history", bob.chat_key, "--json", "--data-dir", str(tmp_path / "alice")
        )
        history = json.loads(out_text)["messages"]
        assert [m["id"] for m in history] == [message_id, reply_id, late_id], "newest last"
        assert history[0]["text"] == "hello from the terminal" and history[0]["outgoing"]
        assert history[0]["time"].endswith("Z") and history[0]["timestamp"] > 0

        # Bob never added alice: her messages are no contact request (status-go files them
        # in an inactive chat), and both lists show her the same way, with her newest text.
        as_bob = ("--data-dir", str(tmp_path / "bob"))
        out_text, _ = await _run("chat", "requests", "--json", *as_bob)
        [waiting] = json.loads(out_text)["requests"]
        assert waiting["chatKey"] == alice.chat_key and waiting["kind"] == "message"
        assert "and again" in waiting["requestText"] and waiting["state"] == "none"
        out_text, _ = await _run("chat", "contacts", "--requests", "--json", *as_bob)
        assert json.loads(out_text)["contacts"] == [waiting]
        out_text, _ = await _run("chat", "requests", *as_bob)
        assert "(a message; no contact request)" in out_text and "and again" in out_text
    finally:
        if watcher is not None:
            await _stop(watcher)


async def _run(*args: str) -> tuple[str, str]:
    process = await _start(*args)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_contact_request_accept_and_list(tmp_path: Path, relay_addr: str) -> None:
    fast = ScryptParams(n=1 << 10)
    alice, _ = Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    watcher = None

    def as_(who: str) -> tuple[str, ...]:
        return ("--staticnode", relay_addr, "--data-dir", str(tmp_path / who))

    try:
        watcher = await _start("chat", "watch", *as_("bob"))
        assert watcher.stdout is not None
        await _watching(watcher)
        await _run("chat", "name", "Alice Liddell", *as_("alice"))
        out, _ = await _run("chat", "request", bob.chat_key, "--text", "hi bob", *as_("alice"))
        request_id = out.strip().splitlines()[-1]
        async with asyncio.timeout(20):
            line = await _line_with(watcher.stdout, "[contact request] hi bob")
            assert "Alice Liddell" in line and alice.chat_key in line
            assert request_id in await _line(watcher.stdout, "  id ")
            line = await _line_with(watcher.stdout, " contact ")
            assert alice.chat_key in line and line.endswith("received")
        await _stop(watcher)
        watcher = await _start("chat", "watch", *as_("alice"))
        assert watcher.stdout is not None
        async with asyncio.TaskGroup() as group:
            listing = group.create_task(
                _run("chat", "requests", "--json", "--data-dir", str(tmp_path / "bob"))
            )
            group.create_task(_watching(watcher))
        [waiting] = json.loads(listing.result()[0])["requests"]
        assert waiting["chatKey"] == alice.chat_key and waiting["requestText"] == "hi bob"
        out, _ = await _run("chat", "requests", "accept", alice.chat_key, *as_("bob"))
        assert out.strip() == "mutual"
        async with asyncio.timeout(20):
            line = await _line_with(watcher.stdout, " contact ")
            assert line.endswith(f"{bob.chat_key}: mutual")
        out, _ = await _run("chat", "contacts", "--data-dir", str(tmp_path / "bob"))
        assert out.split() == [alice.chat_key, "mutual", "Alice", "Liddell"]
    finally:
        if watcher is not None:
            await _stop(watcher)


async def test_an_act_once_command_to_someone_offline_succeeds_once_sent(
    tmp_path: Path, relay_addr: str
) -> None:
    # Bob is offline: the request is published and kept for resend, which is all the
    # Status app's "sent" tick promises; only --wait-delivered waits for bob's device.
    fast = ScryptParams(n=1 << 10)
    Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    bob, _ = Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    alice = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"))
    started = asyncio.get_running_loop().time()
    out, err = await _run("chat", "request", bob.chat_key, "--text", "hi", "--json", *alice)
    assert asyncio.get_running_loop().time() - started < 20, "it waited for an acknowledgement"
    document = json.loads(out)
    assert document["sent"] and not document["acknowledged"]
    out, err = await _run("chat", "request", bob.chat_key, "--text", "hi again", *alice)
    assert "delivered when the recipient comes online" in err
    waiting = await _start(
        "chat", "request", bob.chat_key, "--text", "and?", "--wait-delivered", "--timeout=1", *alice
    )
    async with asyncio.timeout(60):
        _, err_bytes = await waiting.communicate()
    assert waiting.returncode == 1
    assert "not acknowledged within 1 s" in err_bytes.decode()


async def _json_line(process: asyncio.subprocess.Process, **wanted: object) -> dict[str, object]:
    assert process.stdout is not None and process.stderr is not None
    while line := await process.stdout.readline():
        document = json.loads(line)
        assert isinstance(document, dict)
        if all(document.get(k) == v for k, v in wanted.items()):
            return document
    # Ended: say why.
    raise AssertionError(f"no JSON line with {wanted}: {(await process.stderr.read()).decode()}")


async def test_public_chat_reply_react_and_history(tmp_path: Path, relay_addr: str) -> None:
    fast = ScryptParams(n=1 << 10)
    alice_account, _ = Account.create(tmp_path / "alice" / "account", PASSWORD, params=fast)
    Account.create(tmp_path / "bob" / "account", PASSWORD, params=fast)
    watcher = None
    try:
        alice = ("--staticnode", relay_addr, "--data-dir", str(tmp_path / "alice"))
        watcher = await _start(
            "chat",
            "watch",
            "--json",
            "--public-chat",
            " #PYSTATUS-test",
            "--staticnode",
            relay_addr,
            "--data-dir",
            str(tmp_path / "bob"),
        )
        await _watching(watcher, json_lines=True)
        out, _ = await _run("chat", "public", "join", "#Pystatus-Test", *alice)
        assert out.strip() == "pystatus-test", "named as the app names it"
        out, _ = await _run("chat", "public", "send", "pystatus-test", "hello all", *alice)
        first = out.strip()
        async with asyncio.timeout(20):
            seen = await _json_line(watcher, kind="message", id=first)
        assert seen["author"] == alice_account.chat_key and seen["text"] == "hello all"
        assert seen["chatId"] == "pystatus-test" and seen["chat"] == "#pystatus-test"
        assert str(seen["time"]).endswith("Z") and not seen["outgoing"]
        await _stop(watcher)
        out, _ = await _run("chat", "reply", first, "a reply", "--json", *alice)
        reply = json.loads(out)
        assert reply["responseTo"] == first and reply["chatId"] == "pystatus-test"
        out, _ = await _run("chat", "react", first, "👍", "--json", *alice)
        assert json.loads(out)["reaction"] == 2

        data_dir = ("--data-dir", str(tmp_path / "alice"))
        out, _ = await _run("chat", "history", "#PYSTATUS-TEST", "--json", *data_dir)
        messages = json.loads(out)["messages"]
        assert [(m["id"], m["text"]) for m in messages] == [
            (first, "hello all"),
            (reply["id"], "a reply"),
        ]
        assert messages[1]["responseTo"] == first
        out, _ = await _run("chat", "history", "pystatus-test", *data_dir)
        assert f"[#pystatus-test] me: [reply to {first}] a reply" in out

        # An id this account never saw: a runtime failure, not a usage error.
        unknown = await _start("chat", "reply", "0x" + "00" * 32, "hi", *alice)
        async with asyncio.timeout(60):
            _, err = await unknown.communicate()
        assert unknown.returncode == 1 and "no message" in err.decode()

        # Resend is for a message that failed; this one did not.
        resend = await _start("chat", "resend", first, *alice)
        async with asyncio.timeout(60):
            _, err = await resend.communicate()
        assert resend.returncode == 1 and "has not failed" in err.decode()

        leave = await _start("chat", "public", "leave", "pystatus-test", *alice)
        async with asyncio.timeout(60):
            left, err = await leave.communicate()
        assert leave.returncode == 0, err.decode()
        assert left.decode().strip() == "pystatus-test"
    finally:
        if watcher is not None:
            await _stop(watcher)
