"""An operator publishes a node list: `pystatus enrtree build` writes a signed zone file, a DNS
server serves it, `enrtree resolve` reads it back, and `pystatus node --dns-discovery-url`
dials the node it lists."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import dns.zone
import pytest
from typer.testing import CliRunner

from pystatus.cli.main import app
from pystatus.node import NodeConfig, WakuNode
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.enr import Enr
from tests.p2p.hosts import wait_for
from tests.waku.dns_server import TxtServer

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


async def _run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PYSTATUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def _served(zone_file: str, domain: str) -> dict[str, str]:
    zone = dns.zone.from_text(zone_file, origin=domain, relativize=False, check_origin=False)
    return {
        name.to_text(omit_final_dot=True): b"".join(rdata.strings).decode()
        for name, rdataset in zone.iterate_rdatasets("TXT")
        for rdata in rdataset
    }


async def test_build_serve_resolve_and_a_node_dials_the_list(tmp_path: Path) -> None:
    key_file = tmp_path / "tree.key"
    key_file.write_text(Secp256k1PrivateKey.generate().to_bytes().hex())
    others = [Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=9) for _ in range(20)]
    (tmp_path / "enrs.txt").write_text("\n".join(e.to_text() for e in others))
    config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, shards=(32,))
    async with WakuNode(config) as listed:
        built = CliRunner().invoke(app, [
            "enrtree", "build", "--domain", "nodes.example.org", "--key-file", str(key_file),
            "--enr-file", str(tmp_path / "enrs.txt"), "--seq", "3", listed.enr.to_text(),
        ])  # fmt: skip
        assert built.exit_code == 0, built.stderr
        zone_file, said = built.stdout, built.stderr
        url = said.split(": ")[-1].strip()
        assert url.startswith("enrtree://") and url.endswith("@nodes.example.org")
        assert "21 records, seq 3" in said
        async with TxtServer(_served(zone_file, "nodes.example.org")).running() as server:
            code, out, said = await _run(
                "enrtree", "resolve", url, "--name-server", server.address, "--json"
            )
            assert code == 0, said
            resolved = json.loads(out)
            assert resolved["seq"] == 3
            assert {r["peerId"] for r in resolved["records"]} == {
                str(e.peer_id) for e in [*others, listed.enr]
            }

            node = await asyncio.create_subprocess_exec(
                PYSTATUS, "node", "--listen-address=127.0.0.1", "--tcp-port=0",
                "--cluster-id=16", "--shard=32", "--dns-discovery",
                f"--dns-discovery-url={url}", f"--dns-discovery-name-server={server.address}",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            try:
                await wait_for(lambda: bool(listed.host.connections()), timeout=20, what="dialed")
            finally:
                node.terminate()
                await node.wait()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["enrtree", "build", "--domain", "x.org", "--key-file", "KEY", "ENR"], "64 hexadecimal"),
        (["enrtree", "build", "--domain", "x.org", "--key-file", "GOOD"], "no records"),
        (["enrtree", "resolve", "enrtree://x.org"], "enrtree://<key>@<domain>"),
        (["node", "--dns-discovery=true", "--tcp-port=0"], "--dns-discovery-url"),
        (["node", "--dns-discovery-url=enrtree://x.org", "--tcp-port=0"], "DNS discovery"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], said: str) -> None:
    (tmp_path / "bad.key").write_text("not a key")
    (tmp_path / "good.key").write_text(Secp256k1PrivateKey.generate().to_bytes().hex())
    enr = Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=9).to_text()
    files = {"KEY": str(tmp_path / "bad.key"), "GOOD": str(tmp_path / "good.key"), "ENR": enr}
    args = [files.get(a, a) for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert said in result.output
