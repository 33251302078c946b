"""`pystatus node --preset`: a network by name sets the cluster, shards, message size and the
DNS tree the node asks for (a local DNS server stands in for the internet's)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from pystatus.cli.main import app
from pystatus.waku.enr import Enr
from tests.p2p.hosts import wait_for
from tests.waku.dns_server import TxtServer

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


async def _lines_until(stream: asyncio.StreamReader, prefix: str, seen: list[str]) -> str:
    while line := (await stream.readline()).decode():
        seen.append(line)
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r} in {seen}")


@pytest.mark.parametrize(
    ("preset", "relaying", "tree"),
    [
        ("status.prod", "/waku/2/rs/16/32 /waku/2/rs/16/64", "boot.prod.status.nodes.status.im"),
        ("twn", " ".join(f"/waku/2/rs/1/{i}" for i in range(8)), "sandbox.waku.nodes.status.im"),
    ],
)
async def test_a_preset_sets_the_network_and_asks_for_its_tree(
    preset: str, relaying: str, tree: str
) -> None:
    async with TxtServer({}).running() as dns:
        process = await asyncio.create_subprocess_exec(
            PYSTATUS, "node", f"--preset={preset}", "--listen-address=127.0.0.1",
            "--tcp-port=0", "--rest", "--rest-port=0",
            f"--dns-discovery-name-server={dns.address}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None and process.stderr is not None
            seen: list[str] = []
            async with asyncio.timeout(20):
                assert await _lines_until(process.stdout, "relaying ", seen) == (
                    f"relaying {relaying}"
                )
                rest = await _lines_until(process.stdout, "REST API on ", seen)
            async with httpx.AsyncClient(base_url=rest.removeprefix("REST API on ")) as api:
                info = (await api.get("/debug/v1/info")).json()
            cluster = int(relaying.split("/")[4])
            assert Enr.from_text(info["enrUri"]).relay_shards[0] == cluster  # type: ignore[index]
            await wait_for(lambda: tree in dns.queries, timeout=10, what=f"{tree} asked")
        finally:
            process.terminate()
            _, stderr = await process.communicate()
        said = stderr.decode()
        assert ("RLN" in said) == (preset == "twn"), said


def test_an_unknown_preset_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["node", "--preset=mainnet", "--tcp-port=0"])
    assert result.exit_code == 2
    assert "twn, status.prod, status.staging" in result.output
