"""A parser error (an unknown option, a missing argument, a bad value) is one line on stderr,
``pystatus <command>: error: ...; try '... --help'``, with exit code 2, for every command;
``--help`` and a bare command group print their help as before."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from pystatus.cli.main import app
from pystatus.cli.usage import invoke
from tests.cli.processes import start


async def _run(*args: str, code: int) -> tuple[str, str]:
    process = await start(*args)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, err.decode()
    return out.decode(), err.decode()


async def test_a_parser_error_is_one_line_with_exit_code_2() -> None:
    wrong = [
        ("community", "join"),  # a missing argument
        ("group", "send", "--bogus"),  # an unknown option
        ("community", "history", "0x02", "--limit", "0"),  # a bad value
    ]
    # Three `pystatus` processes at once, about 1 s of CPU each.
    said = await asyncio.gather(*(_run(*args, code=2) for args in wrong))
    for args, (out, err) in zip(wrong, said, strict=True):
        command = f"pystatus {args[0]} {args[1]}"
        assert out == "", out
        assert len(err.splitlines()) == 1, err
        assert err.startswith(f"{command}: error: "), err
        assert err.rstrip().endswith(f"try '{command} --help'"), err


def test_help_is_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    """What main() runs, in this process: --help prints the usage and the options, exit 0;
    a group without a command prints its help and exits 2, as before."""
    console = Console(file=io.StringIO())
    with pytest.raises(SystemExit) as ended:
        invoke(app, ["community", "join", "--help"], console)
    out = capsys.readouterr().out
    assert ended.value.code == 0
    assert "Usage: pystatus community join" in out and "--storenode" in out
    with pytest.raises(SystemExit) as ended:
        invoke(app, ["group"], console)
    assert ended.value.code == 2 and "Usage: pystatus group" in capsys.readouterr().out
