"""`pystatus account create|restore|show`: a Status account in the data directory.

Passwords come from a hidden prompt, or from ``PYSTATUS_PASSWORD`` for scripts; a recovery
phrase to restore from, from a hidden prompt or standard input. The new phrase of `create`
is printed once, to the terminal only.

`create` and `restore` hold the data dir's lock (see :mod:`pystatus.node.datadir`) as every
command that opens an account does, so they fail at once, exit code 1, while a node or chat
command runs on it; `show` reads only the keystore's public part and takes no lock.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from pystatus.chat.account import MIN_PASSWORD_LENGTH, Account
from pystatus.chat.errors import InvalidMnemonic
from pystatus.errors import PystatusError
from pystatus.node.config import default_data_dir
from pystatus.node.datadir import (
    DataDirInUse,
    DataDirMissing,
    lock_data_dir,
    unusable,
    use_private_umask,
)

account_app = typer.Typer(help="Create, restore and show Status accounts.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # an error is one line, never wrapped

DataDir = Annotated[
    Path | None, typer.Option(help="Where the account lives (default: the node's data dir)")
]
Password = Annotated[
    str | None, typer.Option(envvar="PYSTATUS_PASSWORD", hidden=True, show_envvar=False)
]


ACCOUNT_SUBDIRECTORY = "account"


def account_directory(data_dir: Path | None, *, create: bool = True) -> Path:
    """``<data dir>/account``, once this process holds the data dir (the default one when
    ``data_dir`` is None) and creates its files 0600.

    Every command that opens an account comes through here, so a second process on the same
    data dir fails at once. Raises DataDirInUse ("data dir X is in use by pid N") or
    DataDirUnusable (read-only, full, not a directory). Without ``create`` (a command that
    opens an existing account) a missing data dir raises DataDirMissing, saying how to make
    one, and nothing is created.
    """
    use_private_umask()
    directory = data_dir or default_data_dir()
    try:
        held = lock_data_dir(directory, create=create)
    except DataDirMissing as exc:
        raise DataDirMissing(
            exc.directory,
            f" (nothing made there; `pystatus account create --data-dir {exc.directory}`"
            " makes an account)",
        ) from None
    return held.path / ACCOUNT_SUBDIRECTORY


INTERACTIVE_HINT = (
    "one process per data dir: to watch and send at once, run `pystatus node --chat --rest`"
    " (or --web) instead of `chat watch`, and chat through its REST API (or browser)"
)
"""What to run instead when a chat command meets the data dir's lock: usually a `chat watch`
holds it while its user tries to answer from a second terminal."""
NODE_HINT = "chat through that node's REST API (--rest) or browser client (--web)"
"""The same when a `pystatus node` holds it."""


class AccountInUse(DataDirInUse):
    """A chat command's data dir is held by another process, said with what to run instead
    (``command``: the holder's plain command words, :func:`holder_command`, pick the hint)."""

    def __init__(self, held: DataDirInUse, command: str | None) -> None:
        super().__init__(held.directory, held.pid, held.command)
        hint = NODE_HINT if command == "pystatus node" else INTERACTIVE_HINT
        # ``held`` names the holder's command line already (options included).
        self.args = (f"{held}: {hint}",)


def holder_command(pid: int | None) -> str | None:
    """``pystatus <command> [<subcommand>]`` that ``pid`` runs, read from /proc (Linux);
    None when it cannot be read or is no `pystatus` command. Only the command's plain words
    are kept: what follows (keys, texts, options) is not ours to repeat."""
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for index, word in enumerate(argv):
        if Path(word).name == "pystatus":
            words = []
            for rest in argv[index + 1 : index + 3]:
                if not rest.isalpha():
                    break
                words.append(rest)
            return " ".join(["pystatus", *words])
    return None


def chat_account_directory(data_dir: Path | None) -> Path:
    """:func:`account_directory` for the chat commands: raises :class:`AccountInUse` (the
    holder's command and what to run instead: `pystatus node --chat --rest`) where it raises
    DataDirInUse; a missing data dir raises DataDirMissing and is not made."""
    try:
        return account_directory(data_dir, create=False)
    except DataDirInUse as exc:
        raise AccountInUse(exc, holder_command(exc.pid)) from None


def open_account(data_dir: Path | None, password: str) -> Account:
    """The account in ``data_dir``, unlocked, with the data dir held (see
    :func:`account_directory`). Raises KeystoreError (no account, wrong password) and the
    data dir's errors; an OSError is raised as DataDirUnusable."""
    directory = account_directory(data_dir, create=False)
    try:
        return Account.unlock(directory, password)
    except OSError as exc:
        raise unusable(directory.parent, "read the account", exc) from None


def password_or_prompt(given: str | None, *, confirm: bool) -> str:
    """The password: ``given`` (--password / PYSTATUS_PASSWORD), else one line of stdin when
    it is not a terminal (a piped password; no echo warning), else a hidden prompt. Exits 2
    with one line when there is none."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            errors.print(
                "[red]error:[/red] no password: set PYSTATUS_PASSWORD or run in a terminal"
            )
            raise typer.Exit(2)
        return line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _show(account: Account) -> None:
    console.print(f"chat key        {account.chat_key}")
    console.print(f"wallet address  {account.wallet_address}")
    console.print(f"directory       {account.directory}")


def _new_password(given: str | None) -> str:
    """The new account's password; too short is a usage error (exit code 2)."""
    password = password_or_prompt(given, confirm=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.print(f"[red]error:[/red] a password has at least {MIN_PASSWORD_LENGTH} characters")
        raise typer.Exit(2)
    return password


@account_app.command()
def create(data_dir: DataDir = None, password: Password = None) -> None:
    """Create an account from a new 12-word recovery phrase."""
    try:
        directory = account_directory(data_dir)
        try:
            account, phrase = Account.create(directory, _new_password(password))
        except OSError as exc:
            raise unusable(directory.parent, "write the account", exc) from None
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(Panel(phrase, title="recovery phrase: write it down, it is shown only this once"))
    _show(account)


@account_app.command()
def restore(data_dir: DataDir = None, password: Password = None) -> None:
    """Restore an account from its recovery phrase (prompted, or read from standard input).

    Exit code 2 for a phrase that is not one (word list, checksum) or a short password."""
    try:
        # The lock first: someone told the data dir is busy has not typed a phrase for nothing.
        directory = account_directory(data_dir)
        if sys.stdin.isatty():
            phrase = str(typer.prompt("Recovery phrase", hide_input=True))
        else:
            phrase = sys.stdin.readline()
        try:
            account = Account.restore(directory, phrase, _new_password(password))
        except OSError as exc:
            raise unusable(directory.parent, "write the account", exc) from None
    except InvalidMnemonic as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _show(account)


@account_app.command()
def show(data_dir: DataDir = None) -> None:
    """Print the account's chat key and wallet address (no password needed)."""
    try:
        public = Account.describe((data_dir or default_data_dir()) / ACCOUNT_SUBDIRECTORY)
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"chat key        {public.get('chatKey', '?')}")
    console.print(f"wallet address  {public.get('address', '?')}")
