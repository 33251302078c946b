"""`pystatus report users`: daily and monthly active peers from a node's connection log
(``<data dir>/peer_log.sqlite3``, see :mod:`pystatus.node.peer_log_store`), as a table, one
JSON document (``--json``) and a PNG plot (``--png``).

It reads the log while the node runs (SQLite WAL) and takes no lock on the data dir. Test
peers listed in ``--exclude-file`` (raw peer ids, one a line, ``#`` comments) are hashed with
the data dir's salt and left out.

Exit codes: 0 success, 1 runtime failure (no log, an unreadable salt or file), 2 usage error
(a bad ``--since`` or ``--until``, a malformed exclude file, named by line).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pystatus.cli.exits import EXIT_FAILURE, EXIT_USAGE, error_line
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.config import default_data_dir
from pystatus.node.datadir import os_error_text
from pystatus.node.peer_log import peer_hash
from pystatus.node.peer_log_store import PEER_LOG_FILE, SALT_FILE, PeerLogStore, load_salt
from pystatus.node.user_report import (
    MAU_WINDOW,
    DayActivity,
    date_day,
    parse_exclude_list,
    parse_since,
    user_report,
)

report_app = typer.Typer(help="Operator reports from the node's own records.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _until(text: str | None) -> int:
    if text is None:
        return date_day(datetime.datetime.now(datetime.UTC).date())
    try:
        return date_day(datetime.date.fromisoformat(text))
    except ValueError:
        raise ConfigError(f"--until {text!r} is not a date such as 2026-11-30") from None


def _excluded(exclude_file: Path | None, directory: Path) -> set[bytes]:
    """The salted hashes of the peers listed in ``exclude_file`` (none without one)."""
    if exclude_file is None:
        return set()
    try:
        text = exclude_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--exclude-file {exclude_file} is not UTF-8 text") from None
    peers = parse_exclude_list(text, source=str(exclude_file))
    if not peers:
        return set()
    salt = load_salt(directory / SALT_FILE)
    return {peer_hash(salt, peer) for peer in peers}


def report_json(days: list[DayActivity], *, excluded: int) -> dict[str, object]:
    """The report as one JSON document: dates in ISO form (UTC), counts in distinct peers,
    ``dau_mau`` a fraction (null when MAU is 0)."""
    return {
        "window_days": MAU_WINDOW,
        "excluded_peers": excluded,
        "days": [
            {
                "date": d.date.isoformat(),
                "dau": d.dau,
                "mau": d.mau,
                "dau_mau": None if d.ratio is None else round(d.ratio, 4),
            }
            for d in days
        ],
    }


def write_plot(days: list[DayActivity], path: Path) -> None:
    """DAU and MAU (left axis, peers) and DAU/MAU (right axis) against the date, as a PNG."""
    # matplotlib costs half a second to import: only a report with --png pays for it. The
    # object API with the Agg canvas: no pyplot state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    # Day numbers on the axis, labelled with their dates (about ten labels at most).
    dates = [d.day for d in days]
    step = max(1, len(days) // 10)
    axes.set_xticks(dates[::step], [d.date.isoformat() for d in days[::step]], rotation=30)
    axes.plot(dates, [d.dau for d in days], marker="o", label="DAU")
    axes.plot(dates, [d.mau for d in days], marker="s", label=f"MAU ({MAU_WINDOW} days)")
    axes.set_ylabel("distinct peers")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # peers come whole
    ratio_axes = axes.twinx()
    ratio_axes.plot(
        dates,
        [float("nan") if d.ratio is None else d.ratio for d in days],
        color="tab:green",
        linestyle="--",
        label="DAU/MAU",
    )
    ratio_axes.set_ylabel("DAU/MAU")
    ratio_axes.set_ylim(0, 1.05)
    lines = axes.get_lines() + ratio_axes.get_lines()
    # Below the plot, where it hides no line.
    axes.legend(
        lines,
        [str(line.get_label()) for line in lines],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncols=3,
    )
    axes.set_title("Active peers per day (UTC)")
    figure.savefig(path, format="png", dpi=100)


@report_app.command("users")
def users_command(
    since: Annotated[str, typer.Option(help="Days reported, ending --until: 30d, 8w")] = "30d",
    exclude_file: Annotated[
        Path | None,
        typer.Option(help="Peer ids to leave out (test peers), one a line, # comments"),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="The node's data dir (where peer_log.sqlite3 is)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day reported, YYYY-MM-DD (UTC); today by default")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Also plot the report to this PNG file")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document")] = False,
) -> None:
    """Daily active peers (DAU), peers active in the 30 days ending each day (MAU) and
    DAU/MAU, per UTC day, from the node's connection log."""
    directory = data_dir if data_dir is not None else default_data_dir()
    try:
        days = parse_since(since)
        last_day = _until(until)
        excluded = _excluded(exclude_file, directory)
        store = PeerLogStore(directory / PEER_LOG_FILE, readonly=True)
        try:
            first_day = last_day - days + 1
            activity = store.activity(first_day - MAU_WINDOW + 1, last_day)
        finally:
            store.close()
        report = user_report(activity, first_day=first_day, last_day=last_day, excluded=excluded)
        if png is not None:
            write_plot(report, png)
    except ConfigError as exc:
        error_line(errors, str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except PystatusError as exc:
        error_line(errors, str(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    except OSError as exc:
        error_line(errors, os_error_text(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    if json_output:
        print(json.dumps(report_json(report, excluded=len(excluded))), flush=True)
        return
    left_out = f"{len(excluded)} test peer{'' if len(excluded) == 1 else 's'} left out"
    table = Table(
        title="Active peers per UTC day",
        caption=f"MAU over {MAU_WINDOW} days to date; {left_out}",
    )
    for column in ("date", "DAU", "MAU", "DAU/MAU"):
        table.add_column(column, justify="left" if column == "date" else "right")
    for day in report:
        ratio = "-" if day.ratio is None else f"{day.ratio:.2f}"
        table.add_row(day.date.isoformat(), str(day.dau), str(day.mau), ratio)
    console.print(table)
    if png is not None:
        errors.print(f"plot written to {png}", highlight=False)
