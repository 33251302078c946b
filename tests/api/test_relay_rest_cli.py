"""nwaku's ``--content-topic`` on ``pystatus node``: repeatable, relays that topic's auto-shard
from the start (issue 15, "Flags nwaku's users pass")."""

from __future__ import annotations

import asyncio

from tests.cli.processes import line_starting, start, stop

CONTENT = "/toychat/2/huilong/proto"  # auto-shards to 3 of 8 (shared vectors)
OTHER = "/waku/2/default-content/proto"  # auto-shards to 1 of 8


async def _run(*flags: str) -> asyncio.subprocess.Process:
    return await start(
        "node",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        "--rest=false",
        "--cluster-id=1",
        "--shard=0",
        *flags,
    )


async def test_content_topic_flags_relay_their_auto_shards_from_the_start() -> None:
    process = await _run(f"--content-topic={CONTENT}", "--content-topic", OTHER)
    try:
        async with asyncio.timeout(20):
            line = await line_starting(process, "relaying ")
        assert line.split() == ["relaying", "/waku/2/rs/1/0", "/waku/2/rs/1/1", "/waku/2/rs/1/3"]
    finally:
        await stop(process)


async def test_a_content_topic_auto_sharding_cannot_place_is_refused_by_name() -> None:
    process = await _run("--content-topic=Hello World!")
    async with asyncio.timeout(20):
        stdout, stderr = await process.communicate()
    assert process.returncode == 2
    said = (stdout + stderr).decode()
    assert "--content-topic" in said and "/app/version/name/encoding" in said, said
