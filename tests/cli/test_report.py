"""`pystatus report users` on a data dir holding the synthetic connection log of
tests/node/test_user_report.py: the table, the JSON document and the PNG plot give the
hand-computed answers with the test peer left out; a malformed exclude file is one line
naming the line (exit 2); no log is one line (exit 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pystatus.cli.main import app
from pystatus.node.peer_log import PeerDay, peer_hash
from pystatus.node.peer_log_store import PEER_LOG_FILE, SALT_FILE, PeerLogStore, load_salt
from pystatus.node.user_report import day_date
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId
from tests.node.test_user_report import BASE, synthetic_log

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
