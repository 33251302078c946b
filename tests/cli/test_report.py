"""`pystatus report users` on a data dir holding the synthetic connection log of
tests/node/test_user_report.py: the table, the JSON document and the PNG plot give the
hand-computed answers with the test peer left out; a malformed exclude file is one line
naming the line (exit 2); no log is one line (exit 1)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pystatus.cli.main import app
from pystatus.cli.node_options import _peer_log_path
from pystatus.errors import ConfigError
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.node.datadir import DataDir
from pystatus.node.peer_log import PeerDay, peer_hash
from pystatus.node.peer_log_store import PEER_LOG_FILE, SALT_FILE, PeerLogStore, load_salt
from pystatus.node.user_report import day_date
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from tests.node.test_user_report import BASE, synthetic_log
from tests.p2p.hosts import wait_for, within

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PYSTATUS = str(Path(sys.executable).parent / "pystatus")


def _peer() -> PeerId:
    return PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, PeerId]:
    """A data dir with a salt and the synthetic log; returns it and the test peer's raw id."""
    salt = load_salt(tmp_path / SALT_FILE, create=True)
    tester = _peer()
    hashes = [peer_hash(salt, p) for p in (_peer(), _peer(), _peer(), tester)]
    store = PeerLogStore(tmp_path / PEER_LOG_FILE)
    rows = synthetic_log(*hashes)
    store.write([PeerDay(p, d, d * 86400.0, d * 86400.0, 1, (), "") for d, p in rows])
    store.close()
    return tmp_path, tester


def _args(directory: Path, *extra: str) -> list[str]:
    until = day_date(BASE + 33).isoformat()
    return [
        "report",
        "users",
        "--data-dir",
        str(directory),
        "--since",
        "34d",
        "--until",
        until,
        *extra,
    ]


def _exclude(directory: Path, tester: PeerId) -> Path:
    path = directory / "test-peers.txt"
    path.write_text(f"# CI peers\n{tester}   # the runner\n\n")
    return path


def test_json_gives_the_known_answers(data_dir: tuple[Path, PeerId]) -> None:
    directory, tester = data_dir
    exclude = _exclude(directory, tester)
    result = CliRunner().invoke(app, _args(directory, "--exclude-file", str(exclude), "--json"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["excluded_peers"] == 1 and document["window_days"] == 30
    days = {d["date"]: (d["dau"], d["mau"], d["dau_mau"]) for d in document["days"]}
    assert len(days) == 34
    on = {offset: days[day_date(BASE + offset).isoformat()] for offset in (0, 2, 3, 4, 31, 33)}
    assert on == {
        0: (1, 1, 1.0),
        2: (2, 3, 0.6667),
        3: (1, 3, 0.3333),
        4: (0, 3, 0.0),
        31: (1, 2, 0.5),
        33: (0, 1, 0.0),
    }
    without = CliRunner().invoke(app, _args(directory, "--json"))
    assert json.loads(without.stdout)["days"][4]["mau"] == 4, "the test peer counts unless left out"


def test_the_table_and_the_plot(data_dir: tuple[Path, PeerId], tmp_path: Path) -> None:
    directory, tester = data_dir
    exclude = _exclude(directory, tester)
    png = tmp_path / "users.png"
    result = CliRunner().invoke(
        app, _args(directory, "--exclude-file", str(exclude), "--png", str(png))
    )
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[1]: line
        for line in result.stdout.splitlines()
        if re.search(r"\d{4}-\d\d-\d\d", line)
    }
    assert re.search(r"\b2\s.*\b3\s.*0\.67", lines[day_date(BASE + 2).isoformat()])
    assert re.search(r"\b0\s.*\b3\s.*0\.00", lines[day_date(BASE + 4).isoformat()])
    assert "1 test peer left out" in " ".join(result.stdout.split())
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert png.stat().st_size > 10_000


def test_a_malformed_exclude_file_names_its_line(data_dir: tuple[Path, PeerId]) -> None:
    directory, tester = data_dir
    bad = directory / "bad.txt"
    bad.write_text(f"{tester}\n# fine\n16Uiu2-not-base58\n")
    result = CliRunner().invoke(app, _args(directory, "--exclude-file", str(bad)))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1
    assert "bad.txt, line 3" in errors[0] and "16Uiu2-not-base58" in errors[0]
    assert result.stdout == ""


def test_no_log_and_no_salt_are_one_line_each(
    tmp_path: Path, data_dir: tuple[Path, PeerId]
) -> None:
    result = CliRunner().invoke(app, _args(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "no peer log at" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    directory, tester = data_dir
    (directory / SALT_FILE).unlink()
    exclude = _exclude(directory, tester)
    result = CliRunner().invoke(app, _args(directory, "--exclude-file", str(exclude)))
    assert result.exit_code == 1
    assert "no salt at" in result.stderr


# -- the node's flag, end to end ----------------------------------------------------------------


async def _start_node(directory: Path, *flags: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """``pystatus node`` on loopback with ``directory`` as data dir; it and its banner up to
    the relay line (the peer log's line, when on, comes after it)."""
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        "--data-dir",
        str(directory),
        "--listen-address",
        "127.0.0.1",
        "--tcp-port=0",
        "--cluster-id=1",
        "--shard=0",
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    banner = []
    async with asyncio.timeout(20):
        while line := (await process.stdout.readline()).decode():
            banner.append(line.strip())
            if line.startswith("relaying "):
                break
    return process, banner


async def _stop(process: asyncio.subprocess.Process) -> str:
    """Ctrl-C, then the rest of what it printed; killed if it does not stop in time."""
    try:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            stdout, _ = await process.communicate()
        assert process.returncode == 0
        return stdout.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_relay_node_logs_by_default_and_the_report_counts_its_visitor(
    tmp_path: Path,
) -> None:
    """A ``pystatus node`` process (a few seconds to start) with a visitor, then the report."""
    process, banner = await _start_node(tmp_path)
    try:
        addr = next(
            line.removeprefix("listening on ")
            for line in banner
            if line.startswith("listening on ")
        )
        config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=1, shards=(0,))
        async with WakuNode(config) as visitor:
            await within(visitor.connect(addr))
            # The node holds the connection once it has answered the visitor's identify.
            await wait_for(
                lambda: any(i.protocols for i in visitor.peer_manager.book.peers() if i.connected),
                10,
                "identified",
            )
    finally:
        rest = await _stop(process)
    assert f"peer log {tmp_path / PEER_LOG_FILE} (salted peer ids)" in rest.splitlines()
    result = CliRunner().invoke(
        app, ["report", "users", "--data-dir", str(tmp_path), "--since", "1d", "--json"]
    )
    assert result.exit_code == 0, result.output
    (today,) = json.loads(result.stdout)["days"]
    assert (today["dau"], today["mau"]) == (1, 1)
    assert stat.S_IMODE((tmp_path / SALT_FILE).stat().st_mode) == 0o600


def test_the_peer_log_is_on_for_relay_and_store_nodes_with_a_data_dir(tmp_path: Path) -> None:
    held = DataDir(tmp_path)
    relay = NodeConfig()
    light = NodeConfig(relay=False)
    store = NodeConfig(relay=False, store=StoreConfig(db_url="sqlite:///x"))
    assert _peer_log_path(None, relay, held) == tmp_path / PEER_LOG_FILE
    assert _peer_log_path(None, store, held) == tmp_path / PEER_LOG_FILE
    assert _peer_log_path(None, light, held) is None
    assert _peer_log_path(True, light, held) == tmp_path / PEER_LOG_FILE
    assert _peer_log_path(False, relay, held) is None
    assert _peer_log_path(None, relay, held, chat=True) is None, "a person's chat node"
    assert _peer_log_path(True, relay, held, chat=True) == tmp_path / PEER_LOG_FILE
    assert _peer_log_path(None, relay, None) is None, "no data dir: nowhere to keep it"
    with pytest.raises(ConfigError, match="give --data-dir"):
        _peer_log_path(True, light, None)


def test_peer_log_flag_values() -> None:
    result = CliRunner().invoke(app, ["node", "--peer-log=maybe", "--tcp-port=0"])
    assert result.exit_code == 2
    assert "--peer-log takes true or false" in result.output
    result = CliRunner().invoke(app, ["node", "--peer-log=true", "--relay=false", "--tcp-port=0"])
    assert result.exit_code == 1
    assert "--peer-log keeps its log in the data dir" in result.output
