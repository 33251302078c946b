"""A missing password without a terminal is one line and exit 2; a piped one is read."""

import io

import pytest
import typer

from pystatus.cli.account import password_or_prompt


def test_no_password_and_no_terminal_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(typer.Exit) as exit_info:
        password_or_prompt(None, confirm=False)
    assert exit_info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "no password: set PYSTATUS_PASSWORD or run in a terminal" in err
    assert "Warning" not in err


def test_piped_password_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert password_or_prompt(None, confirm=True) == "s3cret pass"
