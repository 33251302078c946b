"""How every `pystatus` command ends: exit code 0 on success, 1 on a runtime failure (one
line on stderr, no traceback), 2 on a usage error, and never a hang.

Commands print their own failures and raise ``typer.Exit``; :func:`run_command` catches what
got past them (a ``PystatusError``, an ``OSError``, a third-party error that escaped its
layer's translation) at the CLI's edge and turns it into one redacted line. After a failure
a thread may be left running (a database connection whose opening failed half-way); the
interpreter would wait for it forever at shutdown, so :func:`exit_now` gives such threads
:data:`EXIT_GRACE` seconds and then leaves without them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from pystatus import redaction
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.datadir import os_error_text

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_GRACE = 2.0
"""Seconds a finished command waits for threads left running before it exits without them."""
TRACEBACK_ENV = "PYSTATUS_TRACEBACK"
"""Set to let an unexpected error's traceback through, for a bug report."""


def error_line(console: Console, text: str) -> None:
    """``error: text`` on ``console``, with every key or phrase this process registered (and
    anything shaped like a recovery phrase) blanked: an error's text is not ours to trust."""
    console.print(f"[red]error:[/red] {escape(redaction.REDACTOR.redact(text))}", highlight=False)


def run_command(command: Callable[[], object], console: Console) -> NoReturn:
    """Run a click/typer command in standalone mode and exit with its code (see the module)."""
    code: int | str | None = EXIT_OK
    try:
        command()
    except SystemExit as exc:  # how click ends every command, success included
        code = exc.code
    except ConfigError as exc:  # a value checked past the commands' own handlers
        error_line(console, str(exc))
        code = EXIT_USAGE
    except (PystatusError, OSError) as exc:
        error_line(console, os_error_text(exc) if isinstance(exc, OSError) else str(exc))
        code = EXIT_FAILURE
    except Exception as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        # Its type says where to look (sqlite3.OperationalError: a database that cannot grow).
        error_line(console, f"{type(exc).__module__}.{type(exc).__name__}: {exc}")
        code = EXIT_FAILURE
    exit_now(code)


def exit_now(code: int | str | None) -> NoReturn:
    """Exit with ``code``; non-daemon threads still running after :data:`EXIT_GRACE` are left
    behind (``os._exit``, stdout and stderr flushed first) instead of waited for forever."""
    deadline = time.monotonic() + EXIT_GRACE
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon and t is not current for t in threading.enumerate()):
        if isinstance(code, str):
            print(code, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else EXIT_FAILURE if code else EXIT_OK)
    raise SystemExit(code)
