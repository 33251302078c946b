"""One process per data dir, as users meet it: real `pystatus` processes on one data dir, one
killed with SIGKILL and the dir used again, unusable data dirs, the node's peer id across
restarts, and /chat/v1/events numbers across a restart."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.node.datadir import LOCK_FILE, NODEKEY_FILE

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "datadir password"
FAST = ScryptParams(n=1 << 10)
AT_ONCE = 30.0
"""Seconds any one command here may take before it counts as hung. Refused commands take about
1.5 s (starting Python and importing pystatus); the generous bound is for a machine shared by
several test runs. That they stop before doing anything is shown by what they print."""
LANES = 2
"""Commands run side by side where a test runs several: as many as CI's machine has cores,
so that each still ends well within :data:`AT_ONCE` (mostly Python's start-up, CPU-bound)."""
T = TypeVar("T")
NOBODY = "/ip4/127.0.0.1/tcp/9/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
NODEKEY = "0b" * 32
NODEKEY_PEER = "16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"


def _env(password: str = PASSWORD) -> dict[str, str]:
    return {**os.environ, "PYSTATUS_PASSWORD": password}


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PYSTATUS,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )


async def _line(process: asyncio.subprocess.Process, prefix: str, deadline: float = 60) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(deadline):
        while line := (await process.stdout.readline()).decode():
            if line.startswith(prefix):
                return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """Ctrl-C, then SIGKILL if it lingers; its exit code and what it printed on stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def _run(
    *args: str,
    command: list[str] | None = None,
    preexec: Callable[[], None] | None = None,
    password: str = PASSWORD,
) -> tuple[int, str, str]:
    """Run a command to its end within :data:`AT_ONCE`; exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        *(command or [PYSTATUS]),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(password),
        preexec_fn=preexec,
    )
    try:
        async with asyncio.timeout(AT_ONCE):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def _together(*runs: Awaitable[T]) -> list[T]:
    """Independent commands (each a :func:`_run`), :data:`LANES` at a time; results in order.
    The first failure cancels the rest (each kills its process on the way out)."""
    lanes = asyncio.Semaphore(LANES)

    async def one(run: Awaitable[T]) -> T:
        async with lanes:
            return await run

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(run)) for run in runs]
    return [task.result() for task in tasks]


async def _run_all(commands: list[tuple[str, ...]]) -> list[tuple[int, str, str]]:
    return await _together(*(_run(*args) for args in commands))


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _flat(text: str) -> str:
    """Text with the line breaks a console of fixed width may put in, taken out."""
    return " ".join(text.split())


def _account(data_dir: Path) -> Account:
    account, _ = Account.create(data_dir / "account", PASSWORD, params=FAST)
    return account


def _chat(command: str, data_dir: Path) -> tuple[str, ...]:
    return ("chat", command, f"--data-dir={data_dir}", f"--staticnode={NOBODY}")


def _node(data_dir: Path, *more: str) -> tuple[str, ...]:
    return ("node", f"--data-dir={data_dir}", "--listen-address=127.0.0.1", "--tcp-port=0", *more)


async def test_a_second_process_is_refused_and_a_killed_one_leaves_no_lock(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "alice"
    _account(data_dir)
    bob = _account(tmp_path / "bob")
    holder = await _start(*_node(data_dir, "--chat"))
    try:
        peer_id = (await _line(holder, "pystatus ")).rsplit(" ", 1)[-1]
        in_use = (
            f"data dir {data_dir} is in use by pid {holder.pid} (`pystatus node --data-dir"
            " --listen-address --tcp-port --chat`)"
        )
        ours = [
            _node(data_dir),
            _node(data_dir, "--chat"),
            ("account", "create", f"--data-dir={data_dir}"),
            ("account", "restore", f"--data-dir={data_dir}"),
        ]
        chats = [
            _chat("watch", data_dir),
            (*_chat("send", data_dir), "--to", bob.chat_key, "--text", "hello"),
            ("chat", "contacts", f"--data-dir={data_dir}"),
        ]
        # `account show` reads the keystore's public part only: no lock wanted.
        show = ("account", "show", f"--data-dir={data_dir}")
        results = await _run_all([*ours, *chats, show])
        for args, (code, _, stderr) in zip(ours + chats, results, strict=False):
            assert code == 1, (args, stderr)
            if args in ours:
                assert _one_line(stderr) == f"error: {in_use}", args
            else:  # pystatus.cli.chat prints errors through its own console
                assert "Traceback" not in stderr and in_use in _flat(stderr), (args, stderr)
        code, stdout, _ = results[-1]
        assert code == 0 and "chat key" in stdout
    finally:
        holder.kill()  # SIGKILL: no clean-up of ours runs
        await holder.communicate()
    again = await _start(*_node(data_dir, "--chat"))
    try:
        assert (await _line(again, "pystatus ")).endswith(f" peer id {peer_id}")
    finally:
        assert (await _stop(again))[0] == 0


async def test_the_node_key_is_kept_unless_nodekey_is_given(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    peer_ids = []
    for _ in range(2):
        node = await _start(*_node(data_dir))
        try:
            assert await _line(node, "data dir ") == (
                f"data dir {data_dir} (node key from {data_dir}/{NODEKEY_FILE})"
            )
            peer_ids.append((await _line(node, "pystatus ")).rsplit(" ", 1)[-1])
        finally:
            assert (await _stop(node))[0] == 0
    assert peer_ids[0] == peer_ids[1]
    kept = (data_dir / NODEKEY_FILE).read_bytes()
    assert stat.S_IMODE((data_dir / NODEKEY_FILE).stat().st_mode) == 0o600
    node = await _start(*_node(data_dir, f"--nodekey={NODEKEY}"))
    try:
        assert (await _line(node, "pystatus ")).endswith(f" peer id {NODEKEY_PEER}")
    finally:
        code, stderr = await _stop(node)
    assert code == 0
    assert (data_dir / NODEKEY_FILE).read_bytes() == kept  # --nodekey wins and is not written
    assert NODEKEY not in stderr


def _full() -> None:
    """In the child: every write past the first byte of a file fails with EFBIG, as on a full
    disk (Python ignores SIGXFSZ, so the write fails instead of killing the process)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _nearly_full() -> None:
    """Room for the lock file and the node key, not for a chat database."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


async def test_a_file_where_the_data_dir_should_be_gives_one_line(tmp_path: Path) -> None:
    where = tmp_path / "file"
    where.write_text("")
    commands = [
        (_node(where), f"error: data dir {where} is not a directory"),
        (_node(where / "below"), f"error: data dir {where}/below: cannot create it: "),
        (("account", "create", f"--data-dir={where}"), f"data dir {where} is not a directory"),
    ]
    watch = ("chat", "watch", f"--data-dir={where}", f"--staticnode={NOBODY}")
    *results, (code, _, stderr) = await _run_all([*(args for args, _ in commands), watch])
    for (args, expected), (code_, _, stderr_) in zip(commands, results, strict=True):
        assert code_ == 1, (args, stderr_)
        assert expected in _one_line(stderr_), args
    assert code == 1 and "Traceback" not in stderr
    assert f"data dir {where} is not a directory" in _flat(stderr)


async def test_a_full_data_dir_gives_one_line_and_no_hang(tmp_path: Path) -> None:
    (code, _, stderr), (created, _, create_err) = await _together(
        _run(*_node(tmp_path / "full"), preexec=_full),
        _run("account", "create", f"--data-dir={tmp_path}/new", preexec=_full),
    )
    assert code == 1
    assert _one_line(stderr) == (
        f"error: data dir {tmp_path / 'full'}: cannot write its lock file: File too large"
    )
    assert created == 1 and "File too large" in _one_line(create_err)
    # The lock and the key fit, the chat database does not: the start fails, the command ends.
    data_dir = tmp_path / "nearly"
    bob = _account(tmp_path / "bob")
    _account(data_dir)
    for args in [
        _node(data_dir, "--chat"),
        (*_chat("send", data_dir), "--to", bob.chat_key, "--text", "hello", "--timeout=60"),
    ]:
        code, _, stderr = await _run(*args, preexec=_nearly_full)
        assert code == 1, (args, stderr)
        assert "Traceback" not in stderr, args


def _read_only_command(data_dir: Path) -> list[str] | None:
    """A command prefix that runs pystatus with ``data_dir`` read-only, or None if this machine
    cannot: chmod when not root; as root (chmod binds no one) a read-only bind mount in a
    mount namespace of the child's own, gone when it exits."""
    if os.geteuid() != 0:
        data_dir.chmod(0o500)
        (data_dir / "account").chmod(0o500)
        return [PYSTATUS]
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", script, str(data_dir), "true"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    if probe.returncode != 0:
        return None
    return [unshare, "-m", "sh", "-c", script, str(data_dir), PYSTATUS]


async def test_a_read_only_data_dir_gives_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "ro"
    _account(data_dir)
    command = _read_only_command(data_dir)
    if command is None:
        print("root without mount namespaces: no way to make a directory read-only here")
        pytest.skip("root without mount namespaces: no way to make a directory read-only here")
    try:
        code, _, stderr = await _run(*_node(data_dir, "--chat"), command=command)
        assert code == 1
        assert _one_line(stderr).startswith(f"error: data dir {data_dir}: cannot open its lock")
        code, _, stderr = await _run(
            "chat", "watch", f"--data-dir={data_dir}", f"--staticnode={NOBODY}", command=command
        )
        assert code == 1 and "Traceback" not in stderr
        assert f"data dir {data_dir}: cannot open its lock file" in _flat(stderr)
    finally:
        data_dir.chmod(0o700)
        (data_dir / "account").chmod(0o700)


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


async def test_event_numbers_go_on_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "alice"
    _account(data_dir)
    (data_dir / "account" / "keystore.json").chmod(0o644)  # as older versions left it
    bob = _account(tmp_path / "bob")
    args = _node(data_dir, "--chat", "--rest", "--rest-port=0")

    async def contact_event(api: httpx.AsyncClient, verb: str, since: int) -> dict[str, object]:
        """Ask bob to be a contact or take it back; the event it makes, and the next number."""
        body = {"text": "hi"} if verb == "request" else None
        ask = await api.post(f"/chat/v1/contacts/{bob.chat_key}/{verb}", json=body)
        assert ask.status_code == 200, ask.text
        answer = (await api.get("/chat/v1/events", params={"since": since, "wait": 10})).json()
        assert [e["kind"] for e in answer["events"]] == ["contact"], answer
        return dict(answer["events"][0]) | {"next": answer["next"]}

    node = await _start(*args)
    try:
        url = (await _line(node, "REST API on ")).removeprefix("REST API on ")
        async with httpx.AsyncClient(base_url=url, timeout=20) as api:
            first = await contact_event(api, "request", 0)
            assert first["seq"] == 1 and first["next"] == 2
    finally:
        node.kill()  # no clean shutdown: what is kept must already be on disk
        await node.communicate()
    node = await _start(*args)
    try:
        url = (await _line(node, "REST API on ")).removeprefix("REST API on ")
        async with httpx.AsyncClient(base_url=url, timeout=20) as api:
            nothing_old = (await api.get("/chat/v1/events", params={"since": 0})).json()
            assert nothing_old["events"] == [] and nothing_old["next"] > 2
            after = await contact_event(api, "retract", 2)  # the client last saw "next": 2
            assert int(str(after["seq"])) > 2
            assert after["next"] == int(str(after["seq"])) + 1
    finally:
        assert (await _stop(node))[0] == 0
    modes = _modes(data_dir)
    assert {"nodekey", LOCK_FILE, "account/chat.sqlite3", "account/events.seq"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode not in (0o600, 0o700)} == {}


USAGE_ERRORS = [
    ("node", "--tcp-port=many"),
    ("node", "--chat=perhaps"),
    ("account", "create", "--no-such-flag"),
    ("chat", "send", "--text", "no recipient"),
    ("store", "query"),
]


async def test_usage_errors_exit_2() -> None:
    # One test running them side by side: each is a Python start-up and little else.
    for args, (code, _, stderr) in zip(USAGE_ERRORS, await _run_all(USAGE_ERRORS), strict=True):
        assert code == 2, (args, stderr)
        assert "Traceback" not in stderr, args


async def test_bad_account_input_exits_2_and_a_taken_one_1(tmp_path: Path) -> None:
    data_dir = f"--data-dir={tmp_path / 'account'}"
    code, _, stderr = await _run("account", "restore", data_dir)  # stdin: no phrase at all
    assert code == 2 and "not a valid recovery phrase" in _one_line(stderr)
    code, _, stderr = await _run("account", "create", data_dir, password="short")
    assert code == 2 and "at least 6 characters" in _one_line(stderr)
    _account(tmp_path / "account")
    code, _, stderr = await _run("account", "create", data_dir)
    assert code == 1 and "already holds an account" in _one_line(stderr)


async def test_an_unreadable_file_in_the_data_dir_gives_one_line(tmp_path: Path) -> None:
    """Root reads any file, so "unreadable" is a directory where the file should be."""
    keyless = tmp_path / "keyless"
    (keyless / NODEKEY_FILE).mkdir(parents=True)
    storeless = tmp_path / "storeless"
    _account(storeless)
    (storeless / "account" / "chat.sqlite3").mkdir()
    (code, _, stderr), (storeless_code, _, storeless_err) = await _run_all(
        [_node(keyless), _node(storeless, "--chat")]
    )
    assert code == 1
    assert _one_line(stderr) == (
        f"error: data dir {keyless}: cannot read the node key: {keyless}/{NODEKEY_FILE}: "
        "Is a directory"
    )
    assert storeless_code == 1 and _one_line(storeless_err).startswith("error: ")
    assert "chat.sqlite3" in storeless_err or "sqlite3.OperationalError" in storeless_err
