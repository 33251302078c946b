"""`pystatus account create|restore|show`: a Status account in the data directory.

Passwords come from a hidden prompt, or from ``PYSTATUS_PASSWORD`` for scripts; a recovery
phrase to restore from, from a hidden prompt or standard input. The new phrase of `create`
is printed once, to the terminal only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from pystatus.chat.account import Account
from pystatus.errors import PystatusError
from pystatus.node.config import default_data_dir

account_app = typer.Typer(help="Create, restore and show Status accounts.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option(help="Where the account lives (default: the node's data dir)")
]
Password = Annotated[
    str | None, typer.Option(envvar="PYSTATUS_PASSWORD", hidden=True, show_envvar=False)
]


def account_directory(data_dir: Path | None) -> Path:
    return (data_dir or default_data_dir()) / "account"


def password_or_prompt(given: str | None, *, confirm: bool) -> str:
    if given is not None:
        return given
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _show(account: Account) -> None:
    console.print(f"chat key        {account.chat_key}")
    console.print(f"wallet address  {account.wallet_address}")
    console.print(f"directory       {account.directory}")


@account_app.command()
def create(data_dir: DataDir = None, password: Password = None) -> None:
    """Create an account from a new 12-word recovery phrase."""
    try:
        account, phrase = Account.create(
            account_directory(data_dir), password_or_prompt(password, confirm=True)
        )
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(Panel(phrase, title="recovery phrase: write it down, it is shown only this once"))
    _show(account)


@account_app.command()
def restore(data_dir: DataDir = None, password: Password = None) -> None:
    """Restore an account from its recovery phrase (prompted, or read from standard input)."""
    if sys.stdin.isatty():
        phrase = str(typer.prompt("Recovery phrase", hide_input=True))
    else:
        phrase = sys.stdin.readline()
    try:
        account = Account.restore(
            account_directory(data_dir), phrase, password_or_prompt(password, confirm=True)
        )
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _show(account)


@account_app.command()
def show(data_dir: DataDir = None) -> None:
    """Print the account's chat key and wallet address (no password needed)."""
    try:
        public = Account.describe(account_directory(data_dir))
    except PystatusError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"chat key        {public.get('chatKey', '?')}")
    console.print(f"wallet address  {public.get('address', '?')}")
