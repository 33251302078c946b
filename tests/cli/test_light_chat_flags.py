"""`pystatus node --chat --relay=false` takes its service nodes from nwaku's flags, each
repeatable, defaulting to the --staticnodes; a bad or missing one is a usage error (exit 2)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from pystatus.cli.main import _first_addr, _light_chat
from pystatus.errors import ConfigError
from pystatus.node.config import LightChatConfig
from pystatus.p2p.multiaddr import Multiaddr

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PEER_A = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
PEER_B = "16Uiu2HAmDfnNceKANwMR3gqeWScj8hykWZ9H9XFCPFWaFf3SNMca"
A = f"/ip4/127.0.0.1/tcp/60001/p2p/{PEER_A}"
B = f"/ip4/127.0.0.1/tcp/60002/p2p/{PEER_B}"


def _addrs(*texts: str) -> tuple[Multiaddr, ...]:
    return tuple(Multiaddr.from_string(t) for t in texts)


def test_each_kind_repeated_or_defaulting_to_static_nodes() -> None:
    config = _light_chat(True, [A], filternode=[A, B], lightpushnode=None, storenode=[B])
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
