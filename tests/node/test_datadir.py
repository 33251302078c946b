"""pystatus.node.datadir: the lock, the node key and the files' modes, within one process
(the CLI's processes are in tests/cli/test_datadir.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pystatus.node.datadir import (
    LOCK_FILE,
    NODEKEY_FILE,
    DataDirError,
    DataDirInUse,
    DataDirUnusable,
    lock_data_dir,
    write_private,
)

HOLD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from pystatus.node.datadir import lock_data_dir\n"
    "lock_data_dir(Path(sys.argv[1]))\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _holder(directory: Path) -> subprocess.Popen[str]:
    """Another process holding ``directory`` until its stdin closes or it is killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"  # ends early (and fails) if the child dies
    return process


def test_another_process_is_refused_and_named_then_its_death_frees_the_dir(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "data"
    holder = _holder(directory)
    try:
        with pytest.raises(DataDirInUse) as refused:
            lock_data_dir(directory)
        # Named by its program and option names; the script after -c and the dir are not.
        command = f"{Path(sys.executable).name} -c"
        assert str(refused.value) == (
            f"data dir {directory} is in use by pid {holder.pid} (`{command}`)"
        )
        assert refused.value.pid == holder.pid
    finally:
        holder.kill()  # SIGKILL: nothing of the holder's runs, the kernel drops its lock
        holder.communicate(timeout=10)  # reaps it and closes the pipes
    held = lock_data_dir(directory)
    try:
        assert held.held
        assert (directory / LOCK_FILE).read_text().strip() == str(os.getpid())
        assert lock_data_dir(directory) is held  # a process holds a dir once
    finally:
        held.release()
    assert not held.held


def test_node_key_is_made_once_private_and_read_back(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path / "data")
    try:
        first = held.node_key()
        path = tmp_path / "data" / NODEKEY_FILE
        assert _mode(path) == 0o600
        assert held.node_key().public_key.to_bytes() == first.public_key.to_bytes()
        assert len(path.read_text().strip()) == 64
        path.write_text("not a key\n")
        with pytest.raises(DataDirError, match="nodekey is not a secp256k1 secret") as bad:
            held.node_key()
        assert "not a key" not in str(bad.value)
    finally:
        held.release()


def test_older_files_and_directories_are_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    (directory / "account").mkdir(parents=True, mode=0o755)
    (directory / "account").chmod(0o755)
    database = directory / "account" / "chat.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    (directory / "account" / "chat.sqlite3-wal").write_bytes(b"")
    (directory / "account" / "chat.sqlite3-wal").chmod(0o644)
    theirs = directory / "notes.txt"  # not ours: left as it is
    theirs.write_text("")
    theirs.chmod(0o644)
    held = lock_data_dir(directory)
    try:
        assert _mode(directory) == 0o700
        assert _mode(directory / "account") == 0o700
        assert _mode(database) == 0o600
        assert _mode(directory / "account" / "chat.sqlite3-wal") == 0o600
        assert _mode(theirs) == 0o644
        assert _mode(directory / LOCK_FILE) == 0o600
        write_private(directory, "events.seq", "7\n")
        assert _mode(directory / "events.seq") == 0o600
        assert not (directory / "events.seq.tmp").exists()
    finally:
        held.release()


def test_a_file_where_the_dir_should_be_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DataDirUnusable, match="is not a directory"):
        lock_data_dir(tmp_path / "file")
    with pytest.raises(DataDirUnusable, match=r"cannot create it: .*Not a directory"):
        lock_data_dir(tmp_path / "file" / "below")
