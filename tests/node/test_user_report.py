"""DAU, MAU and DAU/MAU on a synthetic connection log with answers worked out by hand: an
excluded test peer, a peer connected across midnight, a gap of empty days, and peers leaving
the 30-day window; the exclude file's parser names a bad line."""

from __future__ import annotations

import datetime

import pytest

from pystatus.errors import ConfigError
from pystatus.node.peer_log import PeerLog, day_of, peer_hash
from pystatus.node.user_report import (
    DayActivity,
    ExcludeFileError,
    date_day,
    parse_exclude_list,
    parse_since,
    user_report,
)
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.peer_id import PeerId

BASE = date_day(datetime.date(2026, 10, 1))
SALT = b"\x07" * 32


def _peer() -> PeerId:
    return PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key)


def _at(day: int, hour: int, minute: int = 0) -> float:
    return float(day * 86400 + hour * 3600 + minute * 60)


def synthetic_log(
    alice: bytes, bob: bytes, midnight: bytes, tester: bytes
) -> list[tuple[int, bytes]]:
    """The sightings, made by the log's own core from connection events:

    - alice on days 0, 1 and 2, and again on day 31 after a gap;
    - bob on day 1 only;
    - midnight connects on day 2 at 23:59 and stays until day 3 at 00:10;
    - tester (the excluded test peer) on days 0 to 4.
    """
    log = PeerLog(flush_interval=60.0)
    rows = []
    now = 0.0

    def visit(peer: bytes, start: float, end: float) -> None:
        nonlocal now
        now += 1
        log.connected(peer, wall=start, now=now)
        log.disconnected(peer, wall=end, now=now)

    for day in (0, 1, 2, 31):
        visit(alice, _at(BASE + day, 9), _at(BASE + day, 10))
    visit(bob, _at(BASE + 1, 12), _at(BASE + 1, 12, 5))
    for day in range(5):
        visit(tester, _at(BASE + day, 8), _at(BASE + day, 8, 1))
    log.connected(midnight, wall=_at(BASE + 2, 23, 59), now=now)
    # The flush a minute later falls after midnight: held, the peer is seen on day 3.
    rows += log.handle_timer(now=now + 60, wall=_at(BASE + 3, 0, 0) + 30)
    log.disconnected(midnight, wall=_at(BASE + 3, 0, 10), now=now + 100)
    rows += log.drain(wall=_at(BASE + 3, 0, 11))
    return [(r.day, r.peer_hash) for r in rows]


def _by_offset(report: list[DayActivity]) -> dict[int, tuple[int, int]]:
    return {d.day - BASE: (d.dau, d.mau) for d in report}


def test_known_answers_with_a_test_peer_left_out() -> None:
    alice, bob, midnight, tester = (peer_hash(SALT, _peer()) for _ in range(4))
    activity = synthetic_log(alice, bob, midnight, tester)
    # Two flushes each carry a day-3 row for it (the store would upsert them into one).
    assert sorted(d - BASE for d, p in activity if p == midnight) == [2, 3, 3]
    report = user_report(
        activity, first_day=BASE, last_day=BASE + 33, excluded={peer_hash(SALT, _peer()), tester}
    )
    assert [d.day for d in report] == list(range(BASE, BASE + 34))
    days = _by_offset(report)
    # (DAU, MAU) by hand. MAU of day d counts days d-29..d.
    assert days[0] == (1, 1)  # alice
    assert days[1] == (2, 2)  # alice, bob
    assert days[2] == (2, 3)  # alice, midnight; window alice, bob, midnight
    assert days[3] == (1, 3)  # midnight (held across midnight)
    assert days[4] == (0, 3)  # the gap: only the test peer came
    assert all(days[d] == (0, 3) for d in range(5, 31))
    assert days[31] == (1, 2)  # alice; window days 2..31: alice, midnight (bob left)
    assert days[32] == (0, 2)  # window 3..32: midnight (day 3), alice (day 31)
    assert days[33] == (0, 1)  # window 4..33: alice
    ratios = {d.day - BASE: d.ratio for d in report}
    assert ratios[0] == 1.0 and ratios[1] == 1.0
    assert ratios[2] == pytest.approx(2 / 3) and ratios[3] == pytest.approx(1 / 3)
    assert ratios[4] == 0.0 and ratios[31] == 0.5


def test_the_test_peer_counts_when_not_excluded() -> None:
    alice, bob, midnight, tester = (peer_hash(SALT, _peer()) for _ in range(4))
    days = _by_offset(
        user_report(synthetic_log(alice, bob, midnight, tester), first_day=BASE, last_day=BASE + 33)
    )
    assert days[0] == (2, 2) and days[4] == (1, 4) and days[33] == (0, 2)


def test_days_before_the_range_count_towards_the_first_days_mau() -> None:
    activity = [(BASE - 29, b"old"), (BASE - 30, b"older"), (BASE, b"new"), (BASE + 5, b"late")]
    (only,) = user_report(activity, first_day=BASE, last_day=BASE)
    assert (only.dau, only.mau) == (1, 2), "day -29 is in the window, day -30 and day 5 are not"
    assert user_report([], first_day=BASE, last_day=BASE)[0].ratio is None
    with pytest.raises(ValueError, match="non-empty range"):
        user_report([], first_day=BASE, last_day=BASE - 1)


def test_midnight_is_utc() -> None:
    midnight = datetime.datetime(2026, 10, 2, tzinfo=datetime.UTC).timestamp()
    assert day_of(midnight - 0.001) == BASE and day_of(midnight) == BASE + 1


def test_exclude_lists_name_the_bad_line() -> None:
    first, second = _peer(), _peer()
    text = f"# test peers\n\n{first}\n  {second}   # the CI runner\n"
    assert parse_exclude_list(text) == [first, second]
    with pytest.raises(ExcludeFileError, match=r"peers\.txt, line 3: 'not-a-peer' is not a peer"):
        parse_exclude_list(f"{first}\n# ok\nnot-a-peer\n", source="peers.txt")
    with pytest.raises(ExcludeFileError, match=r"line 1: .* is not one peer id"):
        parse_exclude_list(f"{first} {second}\n")
    assert issubclass(ExcludeFileError, ConfigError)


def test_since_takes_days_or_weeks() -> None:
    assert parse_since("30d") == 30 and parse_since("2w") == 14
    for bad in ("0d", "30", "-1d", "401d", "1y", ""):
        with pytest.raises(ConfigError):
            parse_since(bad)
