"""`pystatus account` as a user runs it: create, show, restore from the phrase."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PYSTATUS = str(Path(sys.executable).parent / "pystatus")


def _run(*args: str, password: str | None = "correct horse", stdin: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYSTATUS_PASSWORD"}
    if password is not None:
        env["PYSTATUS_PASSWORD"] = password
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [PYSTATUS, "account", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_create_show_restore(tmp_path: Path) -> None:
    created = _run("create", "--data-dir", str(tmp_path / "one"))
    chat_key = re.search(r"chat key\s+(zQ3\w+)", created)
    address = re.search(r"wallet address\s+(0x[0-9a-fA-F]{40})", created)
    assert chat_key and address
    # The phrase is the body of the panel: the lines between its side borders.
    body = [line.strip("│ ") for line in created.splitlines() if line.startswith("│")]
    phrase = " ".join(body)
    assert len(phrase.split()) == 12
    shown = _run("show", "--data-dir", str(tmp_path / "one"), password=None)
    assert chat_key.group(1) in shown and address.group(1) in shown
    restored = _run("restore", "--data-dir", str(tmp_path / "two"), stdin=phrase + "\n")
    assert chat_key.group(1) in restored and address.group(1) in restored
