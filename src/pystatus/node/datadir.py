"""The data dir: one process at a time, files only their owner reads, a node key kept there.

Layout (every file pystatus writes is 0600, every directory 0700)::

    <data dir>/pystatus.lock     the pid of the process holding the dir (flock'd while it runs)
    <data dir>/nodekey           the node's secp256k1 secret as 64 hex characters, the form of
                                 geth's ``<datadir>/geth/nodekey`` and nwaku's ``--nodekey``
    <data dir>/store.sqlite3     the archive (``--store`` with the default URL)
    <data dir>/account/          keystore.json, chat.sqlite3 (-wal, -shm), events.seq

The lock is ``flock(2)`` on ``pystatus.lock``: the kernel drops it when the holder's last
descriptor closes, so a process killed with SIGKILL leaves no stale lock, and the pid in the
file only names the holder in the message a second process prints, with what it runs
(:func:`holder_command_line`, read from ``/proc``). A process holds each data
dir at most once (:func:`lock_data_dir` is idempotent) until it exits or calls
:meth:`DataDir.release`.

Every ``OSError`` met here is translated into :class:`DataDirUnusable`, whose text names the
path and the system's reason and never a file's content.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import Counter

from pystatus.errors import NodeError
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.errors import DecodeError
from pystatus.redaction import register_secret

LOCK_FILE = "pystatus.lock"
NODEKEY_FILE = "nodekey"
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
PRIVATE_UMASK = 0o077
"""With this umask whatever the process creates (SQLite's database, -wal and -shm files,
keystores, archives) is born 0600 and its directories 0700."""
_PID_WIDTH = 16
"""The lock file always holds this many bytes, so rewriting the pid is one overwrite in place
and a reader never sees it half-truncated."""
_PID_READS = 5

DATA_DIR_ERRORS = Counter(
    "pystatus_node_data_dir_errors",
    "Data dirs that could not be used, by reason",
    ["reason"],
)


class DataDirError(NodeError):
    """The data dir cannot be used by this process."""


class DataDirInUse(DataDirError):
    """Another live process holds the data dir's lock: ``pid`` when it could be read,
    ``command`` its command line as :func:`holder_command_line` gives it."""

    def __init__(self, directory: Path, pid: int | None, command: str | None = None) -> None:
        holder = f"pid {pid}" if pid is not None else "another process"
        named = f" (`{command}`)" if command else ""
        super().__init__(f"data dir {directory} is in use by {holder}{named}")
        self.directory = directory
        self.pid = pid
        self.command = command


class DataDirMissing(DataDirError):
    """The data dir does not exist, and the command needs one made before (it would hold
    nothing of use: an account to open, a key to read); ``hint`` says what makes one."""

    def __init__(self, directory: Path, hint: str = "") -> None:
        super().__init__(f"data dir {directory} does not exist{hint}")
        self.directory = directory


class DataDirUnusable(DataDirError):
    """The data dir, or a file in it, cannot be created, read or written (read-only file
    system, no space left, permissions, a file where a directory should be, ...)."""


def os_error_text(exc: OSError) -> str:
    """A one-line account of ``exc``: the system's reason and the path it names."""
    reason = exc.strerror or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def unusable(directory: Path, doing: str, exc: OSError) -> DataDirUnusable:
    """``exc`` met while ``doing`` something in ``directory``, as the error callers catch."""
    DATA_DIR_ERRORS.labels(errno.errorcode.get(exc.errno or 0, "other").lower()).inc()
    return DataDirUnusable(f"data dir {directory}: cannot {doing}: {os_error_text(exc)}")


def use_private_umask() -> None:
    """Make everything the process creates from now on 0600 (files) and 0700 (directories).

    Process-wide, so it also covers files opened by libraries (SQLite and its -wal and -shm
    files) that take no mode argument.
    """
    os.umask(PRIVATE_UMASK)


@dataclass(eq=False)
class DataDir:
    """A data dir this process holds the lock of (see the module's docstring)."""

    path: Path
    _descriptor: int | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def release(self) -> None:
        """Give the lock up (closing the descriptor drops the flock)."""
        with _REGISTRY_LOCK:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None
            _HELD.pop(self.path, None)

    def node_key(self) -> Secp256k1PrivateKey:
        """The node key kept in ``<data dir>/nodekey``, made (0600) on first use.

        Raises :class:`DataDirUnusable` when the file cannot be read or written, and
        :class:`DataDirError` when it holds no valid secp256k1 secret.
        """
        path = self.path / NODEKEY_FILE
        try:
            text = path.read_text(encoding="ascii", errors="replace").strip()
        except FileNotFoundError:
            return self._new_node_key(path)
        except OSError as exc:
            raise unusable(self.path, "read the node key", exc) from None
        _tighten(path, FILE_MODE)
        register_secret(text.removeprefix("0x").lower())
        try:
            return Secp256k1PrivateKey.from_hex(text)
        except DecodeError:
            DATA_DIR_ERRORS.labels("bad_nodekey").inc()
            raise DataDirError(
                f"data dir {self.path}: {NODEKEY_FILE} is not a secp256k1 secret in 64 hex "
                "characters (remove it to make a new one, and the node a new peer id)"
            ) from None

    def _new_node_key(self, path: Path) -> Secp256k1PrivateKey:
        while True:
            secret = secrets.token_bytes(32)
            try:
                key = Secp256k1PrivateKey.from_bytes(secret)
            except DecodeError:  # zero or past the group order: 2^-128 odds, draw again
                continue
            break
        register_secret(secret)
        try:
            _write_private(path, secret.hex() + "\n")
        except OSError as exc:
            raise unusable(self.path, "write the node key", exc) from None
        return key


_HELD: dict[Path, DataDir] = {}
_REGISTRY_LOCK = threading.Lock()


def lock_data_dir(directory: Path, *, create: bool = True) -> DataDir:
    """Hold ``directory`` for this process: create it (0700) if needed and ``create``, tighten
    what pystatus keeps in it to 0600/0700, and take its lock without waiting.

    Without ``create`` a missing ``directory`` raises :class:`DataDirMissing` and nothing is
    made: a command that can only fail there (opening an account) leaves no half-made data
    dir, lock file and all, behind.

    Raises :class:`DataDirInUse` (naming the holder's pid and command) when another process
    holds it, and
    :class:`DataDirUnusable` when it cannot be created, opened or written.
    """
    path = Path(os.path.abspath(directory))
    with _REGISTRY_LOCK:
        held = _HELD.get(path)
        if held is not None and held.held:
            return held
        if not create and not os.path.lexists(path):
            DATA_DIR_ERRORS.labels("missing").inc()
            raise DataDirMissing(path)
        try:
            path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        except FileExistsError:  # something else by that name
            DATA_DIR_ERRORS.labels("not_a_directory").inc()
            raise DataDirUnusable(f"data dir {path} is not a directory") from None
        except OSError as exc:
            raise unusable(path, "create it", exc) from None
        lock_path = path / LOCK_FILE
        try:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise unusable(path, "open its lock file", exc) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(descriptor)
            os.close(descriptor)
            DATA_DIR_ERRORS.labels("in_use").inc()
            raise DataDirInUse(path, pid, holder_command_line(pid)) from None
        except OSError as exc:
            os.close(descriptor)
            raise unusable(path, "lock it", exc) from None
        try:
            os.pwrite(descriptor, f"{os.getpid()}\n".rjust(_PID_WIDTH).encode(), 0)
            os.ftruncate(descriptor, _PID_WIDTH)
            _tighten_tree(path)
        except OSError as exc:
            os.close(descriptor)
            raise unusable(path, "write its lock file", exc) from None
        data_dir = DataDir(path, descriptor)
        _HELD[path] = data_dir
        return data_dir


def _holder(descriptor: int) -> int | None:
    """The pid the holder wrote; it writes it right after locking, so a reader that comes in
    between reads again, a few times, rather than name nobody."""
    for _ in range(_PID_READS):
        try:
            text = os.pread(descriptor, _PID_WIDTH, 0).decode("ascii", errors="replace")
        except OSError:
            return None
        if text.strip().isdigit():
            return int(text.strip())
        os.sched_yield()
    return None


MAX_COMMAND_LINE = 200
"""Characters of a holder's command line named at most (an error is one line)."""


def holder_command_line(pid: int | None) -> str | None:
    """What process ``pid`` runs, from ``/proc/<pid>/cmdline`` (Linux; None where it cannot
    be read): from the ``pystatus`` word on (else the program's name), the command words
    (``pystatus node``, ``pystatus chat watch``) and the names of the options it was given
    (``--chat``, ``--data-dir``), at most :data:`MAX_COMMAND_LINE` characters.

    Option values and other arguments are left out: they may hold a node key, a password, a
    chat key or a message's text, and this text ends up in an error line."""
    if pid is None:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    argv = [word for word in raw.decode(errors="replace").split("\0") if word]
    if not argv:
        return None
    start = next((i for i, word in enumerate(argv) if Path(word).name == "pystatus"), 0)
    words = [Path(argv[start]).name]
    commands = True
    for word in argv[start + 1 :]:
        if word.startswith("-") and len(word) > 1:
            commands = False
            words.append(word.split("=", 1)[0])
        elif commands and word.isalpha():
            words.append(word)
        else:
            commands = False  # a value or an argument: not ours to repeat
    line = " ".join(words)
    return line if len(line) <= MAX_COMMAND_LINE else line[: MAX_COMMAND_LINE - 1] + "…"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600) in full or not at all: a temporary file, fsync'd,
    renamed over it."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_private(directory: Path, name: str, text: str) -> None:
    """Atomically replace ``directory/name`` with ``text``, 0600; raises DataDirUnusable."""
    try:
        _write_private(directory / name, text)
    except OSError as exc:
        raise unusable(directory, f"write {name}", exc) from None


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other permissions from a file or directory of ours made by an older
    version (they were 0644/0755); a file someone else owns is left as it is."""
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed meanwhile (a -journal, a .tmp)
        return
    wanted = stat.S_ISDIR if mode == DIRECTORY_MODE else stat.S_ISREG
    if not wanted(info.st_mode) or info.st_uid != os.geteuid():  # links are neither
        return
    if stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(mode)


OWN_FILES = (
    LOCK_FILE,
    NODEKEY_FILE,
    "store.sqlite3",
    "account/keystore.json",
    "account/chat.sqlite3",
    "account/events.seq",
)
"""What pystatus keeps in a data dir (SQLite's -wal, -shm and -journal files beside each
database); only these are tightened, never anything else a user keeps there."""
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _tighten_tree(root: Path) -> None:
    _tighten(root, DIRECTORY_MODE)
    _tighten(root / "account", DIRECTORY_MODE)
    for name in OWN_FILES:
        suffixes = _SQLITE_SIDE_FILES if name.endswith(".sqlite3") else ("",)
        for suffix in suffixes:
            _tighten(root / (name + suffix), FILE_MODE)
