"""What a person sees when the argument parser refuses a `pystatus` command line: one line,
``pystatus <command>: error: <what>; try 'pystatus <command> --help'``, on stderr, and exit
code 2, for every command at once (an unknown option, a missing argument, a bad value).

typer shows these errors in a box of five lines or more when it runs a command in click's
standalone mode; :func:`invoke` runs the app with ``standalone_mode=False`` instead, so the
parser's errors reach it as exceptions, and leaves everything else as standalone mode does
it: ``--help`` prints the same help, a bare group prints its help and exits 2, a command's
``typer.Exit(code)`` exits with ``code``, Ctrl-C exits 130.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from pystatus import redaction
from pystatus.cli.exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

PROGRAM = "pystatus"


def invoke(app: typer.Typer, args: list[str], console: Console) -> NoReturn:
    """Run ``app`` on ``args``; raise ``SystemExit`` with its exit code. A usage error is
    printed on ``console`` as one line (see the module), with whatever the person typed
    redacted as every error line is (:func:`pystatus.cli.exits.error_line`)."""
    try:
        result = app(args, prog_name=PROGRAM, standalone_mode=False)
    except typer.TyperException as exc:  # click's ClickException, vendored by typer
        # click printed the help already; its exit code stays that of a usage error.
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise SystemExit(EXIT_USAGE) from None
        code = int(getattr(exc, "exit_code", EXIT_FAILURE))
        context = getattr(exc, "ctx", None)
        command = str(getattr(context, "command_path", "")) or _command_path(app, args)
        hint = f"; try '{command} --help'" if code == EXIT_USAGE else ""
        text = redaction.REDACTOR.redact(exc.format_message().rstrip("."))
        console.print(f"{escape(command)}: error: {escape(text)}{escape(hint)}", highlight=False)
        raise SystemExit(code) from None
    except typer.Abort:  # end of input at a prompt
        console.print(f"{PROGRAM}: aborted", highlight=False)
        raise SystemExit(EXIT_FAILURE) from None
    # A command ended by typer.Exit(code) returns code; one that returned, None.
    raise SystemExit(result if isinstance(result, int) else EXIT_OK)


def _command_path(app: typer.Typer, args: list[str]) -> str:
    """``pystatus`` and the (sub)command names that lead ``args``: the parser names no
    command for some errors (an option missing its value)."""
    words = [PROGRAM]
    command = typer.main.get_command(app)
    for word in args:
        commands = getattr(command, "commands", None)
        if not isinstance(commands, dict) or word not in commands:
            break
        words.append(word)
        command = commands[word]
    return " ".join(words)
