"""`pystatus store query` against a real store node: a table, or JSON with full hashes;
a query refused before dialing is a usage error (exit 2); an offline peer is one line
naming it and why (refused, timed out, no route, ...), exit 1."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from pystatus.archive.base import ArchivedMessage
from pystatus.cli.store import failure_reason, parse_time
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.p2p.errors import DialError, NegotiationError
from pystatus.waku.message import WakuMessage
from pystatus.waku.store import REQUEST_TIMEOUT, StoreError

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
TOPIC = "/waku/2/rs/1/0"
NOBODY_ID = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"


def test_times_parse_as_nanoseconds_or_iso() -> None:
    assert parse_time("1700000000000000000") == 1_700_000_000 * 10**9
    assert parse_time("2023-11-14T22:13:20") == 1_700_000_000 * 10**9
    assert parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000 * 10**9
    assert parse_time(None) is None


async def test_query_pages_through_and_prints_a_table(tmp_path: Path) -> None:
    config = NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=1,
        shards=(0,),
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/s.sqlite3"),
    )
    async with WakuNode(config) as node:
        assert node.store is not None
        now = time.time_ns()
        await node.store.archive.insert(
            [
                ArchivedMessage.of(
                    TOPIC,
                    WakuMessage(f"hello {i}".encode(), "/app/1/c/proto", timestamp=now + i),
                    now,
                )
                for i in range(45)
            ]
        )
        process = await asyncio.create_subprocess_exec(
            PYSTATUS,
            "store",
            "query",
            "--peer",
            str(node.host.full_addrs()[0]),
            "--pubsub-topic",
            TOPIC,
            "--content-topic",
            "/app/1/c/proto",
            "--page-size",
            "10",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"COLUMNS": "200", "PATH": str(Path(sys.executable).parent)},
        )
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        output = stdout.decode()
        assert "45 messages" in output
        assert "hello 0" in output and "hello 44" in output

        process = await asyncio.create_subprocess_exec(
            PYSTATUS,
            "store",
            "query",
            "--json",
            "--peer",
            str(node.host.full_addrs()[0]),
            "--pubsub-topic",
            TOPIC,
            "--content-topic",
            "/app/1/c/proto",
            "--page-size",
            "10",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"COLUMNS": "80", "PATH": str(Path(sys.executable).parent)},
        )
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    messages = json.loads(stdout)["messages"]
    assert len(messages) == 45
    assert [base64.b64decode(m["message"]["payload"]) for m in messages] == [
        f"hello {i}".encode() for i in range(45)
    ]
    assert all(len(m["hash"]) == 66 and m["pubsubTopic"] == TOPIC for m in messages)
    assert messages[0]["message"]["timestamp"] == now


async def test_invalid_query_is_refused_before_dialing() -> None:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "store",
        "query",
        "--peer",
        "/ip4/127.0.0.1/tcp/1/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ",
        # A hash look-up takes no content filter (a pubsub topic alone is a fine query).
        "--hash",
        "0x" + "00" * 32,
        "--content-topic",
        "/app/1/a/proto",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode == 2, "a usage error, found before dialing"
    assert "content filters" in stderr.decode()


async def test_bad_times_and_hashes_are_usage_errors() -> None:
    peer = "/ip4/127.0.0.1/tcp/1/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
    for args in (["--start-time", "yesterday"], ["--hash", "0xzz"], ["--hash", "0x12"]):
        process = await asyncio.create_subprocess_exec(
            PYSTATUS,
            "store",
            "query",
            "--peer",
            peer,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
        assert process.returncode == 2, (args, stderr.decode())
        assert "Traceback" not in stderr.decode()


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_offline_peer_is_one_line_naming_it_and_why() -> None:
    peer = f"/ip4/127.0.0.1/tcp/{_closed_port()}/p2p/{NOBODY_ID}"
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "store",
        "query",
        "--peer",
        peer,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80"},
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode == 1
    assert out == b""
    assert err.decode().splitlines() == [
        f"error: store query to {peer} failed: connection refused (nothing listens there)"
    ]


def _dial_error(cause: BaseException) -> DialError:
    try:
        raise DialError("dial failed: the transport's words") from cause
    except DialError as exc:
        return exc


def test_failure_reasons_come_from_the_causes_not_the_text() -> None:
    def oserror(code: int) -> OSError:
        return OSError(code, "Connect call failed ('192.0.2.1', 9)")

    assert failure_reason(_dial_error(TimeoutError())) == "timed out connecting"
    assert failure_reason(_dial_error(oserror(errno.EHOSTUNREACH))) == "no route to host"
    assert failure_reason(_dial_error(oserror(errno.ENETUNREACH))) == "no route to the network"
    assert failure_reason(_dial_error(oserror(errno.ECONNREFUSED))).startswith("connection refused")
    unresolved = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert failure_reason(_dial_error(unresolved)) == "host name not resolved"
    assert failure_reason(_dial_error(NegotiationError("na"))) == (
        "it does not serve the store protocol"
    )
    assert failure_reason(TimeoutError()) == f"no answer within {REQUEST_TIMEOUT:g} s"
    assert failure_reason(StoreError(503, "busy")).startswith("the store answered")
