"""Daily and monthly active users from the connection log (pure functions, no I/O).

Definitions (the usual ones for DAU/MAU, on UTC days numbered from 1970-01-01):

- DAU of day *d*: distinct peers with a row on *d* (seen at any time that day, a connection
  held across midnight counting on both days);
- MAU of day *d*: distinct peers with a row on any of the ``window`` (30) days ending with *d*,
  *d* included;
- DAU/MAU: their ratio, None when MAU is 0.

Peers appear only as salted hashes (:func:`pystatus.node.peer_log.peer_hash`); test peers are
left out by hashing their raw ids with the same salt (:func:`parse_exclude_list`, then
``peer_hash``) and dropping those hashes before counting.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pystatus.errors import ConfigError
from pystatus.p2p.errors import P2PError
from pystatus.p2p.peer_id import PeerId

MAU_WINDOW = 30
"""Days a monthly active user counts over, the day itself included."""
MAX_SINCE_DAYS = 400
"""The longest report: the log keeps 400 days."""
MAX_EXCLUDE_LINE = 1024
_EPOCH = datetime.date(1970, 1, 1)
_SINCE = re.compile(r"([1-9][0-9]{0,5})([dw])")


class ExcludeFileError(ConfigError):
    """A line of an exclude file is not a peer id; the text names the line."""


@dataclass(frozen=True, slots=True)
class DayActivity:
    """One day of the report: ``day`` in days since 1970-01-01 (UTC), ``dau`` and ``mau``
    in distinct peers."""

    day: int
    dau: int
    mau: int

    @property
    def date(self) -> datetime.date:
        return day_date(self.day)

    @property
    def ratio(self) -> float | None:
        """DAU/MAU, None when there was nobody in the window."""
        return self.dau / self.mau if self.mau else None


def day_date(day: int) -> datetime.date:
    """The calendar date (UTC) of a day number."""
    return _EPOCH + datetime.timedelta(days=day)


def date_day(date: datetime.date) -> int:
    """The day number of a calendar date (UTC)."""
    return (date - _EPOCH).days


def user_report(
    activity: Iterable[tuple[int, bytes]],
    *,
    first_day: int,
    last_day: int,
    excluded: Collection[bytes] = (),
    window: int = MAU_WINDOW,
) -> list[DayActivity]:
    """DAU, MAU and their ratio for each day from ``first_day`` to ``last_day`` inclusive,
    from (day, peer hash) sightings (duplicates allowed; rows outside
    ``first_day - window + 1 .. last_day`` are ignored), leaving out ``excluded`` hashes.
    Raises ValueError for an empty range or a window under one day."""
    if window < 1 or last_day < first_day:
        raise ValueError("a report needs a window of at least one day and a non-empty range")
    start = first_day - window + 1
    by_day: dict[int, set[bytes]] = {}
    for day, peer in activity:
        if start <= day <= last_day and peer not in excluded:
            by_day.setdefault(day, set()).add(peer)
    # A sliding window: how many of the window's days each peer was seen on.
    in_window: Counter[bytes] = Counter()
    for day in range(start, first_day):
        in_window.update(by_day.get(day, ()))
    report = []
    for day in range(first_day, last_day + 1):
        in_window.update(by_day.get(day, ()))
        leaving = day - window
        for peer in by_day.get(leaving, ()) if leaving >= start else ():
            in_window[peer] -= 1
            if not in_window[peer]:
                del in_window[peer]
        report.append(DayActivity(day=day, dau=len(by_day.get(day, ())), mau=len(in_window)))
    return report


def parse_since(text: str) -> int:
    """``30d`` or ``4w`` as a number of days, 1 to :data:`MAX_SINCE_DAYS`; raises
    :class:`ConfigError`."""
    match = _SINCE.fullmatch(text.strip())
    days = 0
    if match is not None:
        days = int(match[1]) * (7 if match[2] == "w" else 1)
    if not 1 <= days <= MAX_SINCE_DAYS:
        raise ConfigError(
            f"--since {text!r}: give days as <n>d or weeks as <n>w, at most {MAX_SINCE_DAYS} days"
        )
    return days


def parse_exclude_list(text: str, *, source: str = "exclude file") -> list[PeerId]:
    """Peer ids from an exclude file: one per line, blank lines and ``#`` comments (whole
    line or after the id) ignored. Raises :class:`ExcludeFileError` naming ``source`` and the
    first bad line's number."""
    peers = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        shown = entry if len(entry) <= 60 else entry[:57] + "..."
        if len(entry) > MAX_EXCLUDE_LINE or len(entry.split()) != 1:
            raise ExcludeFileError(f"{source}, line {number}: {shown!r} is not one peer id")
        try:
            peers.append(PeerId.from_string(entry))
        except (P2PError, ValueError):
            raise ExcludeFileError(f"{source}, line {number}: {shown!r} is not a peer id") from None
    return peers
