"""Chat benchmarks: log-in with a large history, per-message crypto cost, end-to-end rate.

- Log-in: unlock the keystore and open the chat database holding 100,000 messages, then read
  what a first screen shows (chats by activity, the newest page of the top chat).
- Crypto: RFC 26 asymmetric encrypt+sign and decrypt+recover of a 1 KiB payload, beside npm's
  @waku/message-encryption doing the same in the same command; and the Double Ratchet step.
- End to end: two accounts, each in its own process with its own node, linked on loopback;
  one sends 1:1 messages (up to 50 in flight), the other's Messenger stores each; the rate at
  which the recipient has them all.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import coincurve

from pystatus.chat.account import Account
from pystatus.chat.database import ChatDatabase, StoredMessage
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.ratchet import RatchetState
from pystatus.node import NodeConfig, WakuNode
from pystatus.waku.payload import decrypt_asymmetric, encrypt_asymmetric

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "interop"
PASSWORD = "benchmark password"


@dataclass(frozen=True)
class ChatResult:
    messages_stored: int
    login_ms: float
    unlock_ms: float
    ecies_encrypt_us: float
    ecies_decrypt_us: float
    js_ecies_encrypt_us: float
    js_ecies_decrypt_us: float
    ratchet_us: float
    e2e_msgs_per_s: float


async def _login(directory: Path, messages: int) -> tuple[float, float]:
    account, _ = Account.create(directory, PASSWORD)
    database = ChatDatabase(directory / "chat.sqlite3", account.keys.database)
    await database.open()
    chats = 100
    for chat in range(chats):
        await database.upsert_chat(f"chat-{chat}", "public", f"chat-{chat}")
    batch = []
    for index in range(messages):
        batch.append(
            StoredMessage(
                f"0x{index:064x}",
                f"chat-{index % chats}",
                account.chat_key,
                index + 1,
                1_700_000_000_000 + index,
                secrets.token_bytes(200),
            )
        )
        if len(batch) == 5000:
            await database.add_messages(batch)
            batch = []
    await database.add_messages(batch)
    await database.close()
    started = time.perf_counter()
    unlocked = Account.unlock(directory, PASSWORD)
    unlocked_at = time.perf_counter()
    database = ChatDatabase(directory / "chat.sqlite3", unlocked.keys.database)
    await database.open()
    await database.max_clock()
    await database.contacts()
    top = (await database.chats())[0]
    page = await database.history(top.id, 50)
    finished = time.perf_counter()
    await database.close()
    assert len(page) == 50
    return (finished - started) * 1000, (unlocked_at - started) * 1000


def _ecies(rounds: int) -> tuple[float, float, float]:
    """µs per RFC 26 asymmetric encrypt+sign, per decrypt+recover, per ratchet round trip."""
    recipient, signer = coincurve.PrivateKey(), coincurve.PrivateKey()
    payload = secrets.token_bytes(1024)
    started = time.perf_counter()
    sealed = [
        encrypt_asymmetric(payload, recipient.public_key.format(), signer=signer.secret)
        for _ in range(rounds)
    ]
    encrypted = time.perf_counter()
    for item in sealed:
        decrypt_asymmetric(item, recipient.secret)
    decrypted = time.perf_counter()
    pre_key = coincurve.PrivateKey()
    secret = secrets.token_bytes(32)
    alice = RatchetState.initiator(secret, pre_key.public_key.format())
    bob = RatchetState.responder(secret, pre_key.secret)
    ratchet_started = time.perf_counter()
    for _ in range(rounds):
        bob.decrypt(*alice.encrypt(payload))
    ratchet_done = time.perf_counter()
    per = 1e6 / rounds
    return (
        (encrypted - started) * per,
        (decrypted - encrypted) * per,
        (ratchet_done - ratchet_started) * per,
    )


def _js_ecies(rounds: int) -> tuple[float, float]:
    command = [
        "node",
        "--import",
        str(INTEROP / "polyfill.mjs"),
        str(INTEROP / "bench_payload.mjs"),
        str(rounds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=INTEROP, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"js payload benchmark failed: {done.stderr[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return float(data["encrypt_us"]), float(data["decrypt_us"])


def _node_config() -> NodeConfig:
    return NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, shards=(32, 64))


async def _e2e(directory: Path, count: int) -> float:
    sender_account, _ = Account.create(directory / "sender", PASSWORD)
    Account.create(directory / "receiver", PASSWORD)
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.chat_peer",
        str(directory / "receiver"),
        PASSWORD,
        str(count),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert peer.stdout is not None
    try:
        hello = json.loads(await peer.stdout.readline())
        async with WakuNode(_node_config()) as node:
            await node.connect(hello["addr"])
            assert node.relay is not None
            relay = node.relay
            async with asyncio.timeout(30):
                while not all(relay.mesh_size(t) > 0 for t in relay.topics):
                    await asyncio.sleep(0.05)
            async with Messenger(sender_account, RelayTransport(relay)) as alice:
                events = alice.events()
                await alice.send(hello["chatKey"], "hello")
                async with asyncio.timeout(30):
                    await anext(events)  # the reply: the ratchet is set up both ways
                started = time.perf_counter()
                for first in range(0, count, 50):
                    await asyncio.gather(
                        *(
                            alice.send(hello["chatKey"], f"message {i}")
                            for i in range(first, min(count, first + 50))
                        )
                    )
                async with asyncio.timeout(300):
                    done = json.loads(await peer.stdout.readline())
                finished = time.perf_counter()
                assert done["received"] == count
        return count / (finished - started)
    finally:
        if peer.returncode is None:
            peer.kill()
        await peer.wait()


async def run_chat(messages: int = 100_000, rounds: int = 500, e2e: int = 2000) -> ChatResult:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        login_ms, unlock_ms = await _login(directory / "login", messages)
        encrypt_us, decrypt_us, ratchet_us = _ecies(rounds)
        js_encrypt_us, js_decrypt_us = _js_ecies(rounds)
        rate = await _e2e(directory / "e2e", e2e)
    return ChatResult(
        messages,
        login_ms,
        unlock_ms,
        encrypt_us,
        decrypt_us,
        js_encrypt_us,
        js_decrypt_us,
        ratchet_us,
        rate,
    )
