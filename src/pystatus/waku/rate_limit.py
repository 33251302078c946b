"""Rate limits for the request/response services, in nwaku's ``--rate-limit`` terms.

A setting is ``volume`` requests per ``period`` seconds; a volume or period of zero means no
limit (nwaku's ``waku/common/rate_limit/setting.nim``). The flag is repeatable and each value is
``[protocol:]volume/period<unit>``: protocol one of ``store``, ``storev2``, ``storev3``,
``lightpush``, ``px``, ``filter`` (none: the global default for protocols not named), volume
and period whole numbers, unit ``h``, ``m``, ``s`` or ``ms``, spaces allowed around each part,
any case. ``store`` sets both store versions unless one was named on its own. Unless told
otherwise every service is unlimited, except filter, which nwaku limits to 30 requests a minute
per peer.

Per-peer token buckets enforce a setting (:class:`PeerRateLimiter`); time is passed in
(monotonic seconds), as everywhere in the protocol cores.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pystatus.errors import ConfigError

MAX_TRACKED_PEERS = 10_000


@dataclass(frozen=True, slots=True)
class RateLimitSetting:
    """``volume`` requests per ``period`` seconds; either zero means unlimited."""

    volume: int
    period: float

    @property
    def unlimited(self) -> bool:
        return self.volume <= 0 or self.period <= 0

    @property
    def rate(self) -> float:
        """Requests per second, 0.0 when unlimited (what :class:`PeerRateLimiter` takes)."""
        return 0.0 if self.unlimited else self.volume / self.period

    @property
    def burst(self) -> float:
        """Requests a peer may make at once: the whole volume, as nwaku's bucket starts full."""
        return 0.0 if self.unlimited else float(self.volume)

    def __str__(self) -> str:
        return "no-limit" if self.unlimited else f"{self.volume}/{self.period:g}s"


UNLIMITED = RateLimitSetting(0, 0.0)
FILTER_DEFAULT_PER_PEER = RateLimitSetting(30, 60.0)
"""nwaku's default for filter: a subscription set up in at most 30 calls, then a ping a minute."""


class RateLimitedProtocol(enum.Enum):
    GLOBAL = "global"
    STOREV2 = "storev2"
    STOREV3 = "storev3"
    LIGHTPUSH = "lightpush"
    PX = "px"
    FILTER = "filter"


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_SETTING = re.compile(
    r"\s*(?:(store|storev2|storev3|lightpush|px|filter)\s*:)?"
    r"\s*(\d+)\s*/\s*(\d+)\s*(ms|s|m|h)\s*"
)


@dataclass(frozen=True, slots=True)
class ProtocolRateLimits:
    """The setting of each rate-limited service; build it with :meth:`parse`."""

    settings: Mapping[RateLimitedProtocol, RateLimitSetting] = field(
        default_factory=lambda: MappingProxyType(
            {
                RateLimitedProtocol.GLOBAL: UNLIMITED,
                RateLimitedProtocol.FILTER: FILTER_DEFAULT_PER_PEER,
            }
        )
    )

    @classmethod
    def parse(cls, values: Iterable[str]) -> ProtocolRateLimits:
        """The settings ``--rate-limit`` values give; the last of a repeated protocol wins.

        Raises :class:`~pystatus.errors.ConfigError` naming the first value it cannot read.
        """
        table: dict[RateLimitedProtocol, RateLimitSetting] = {}
        for value in values:
            match = _SETTING.fullmatch(value.lower())
            if match is None:
                raise ConfigError(
                    f"--rate-limit {value!r}: expected [protocol:]volume/period<unit>, "
                    "e.g. store:100/1s (protocols store, storev2, storev3, lightpush, px, "
                    "filter; units h, m, s, ms)"
                )
            name, volume, period, unit = match.groups()
            setting = RateLimitSetting(int(volume), int(period) * _UNITS[unit])
            if name == "store":
                # The generic store setting fills in only the versions not named on their own.
                table.setdefault(RateLimitedProtocol.STOREV2, setting)
                table.setdefault(RateLimitedProtocol.STOREV3, setting)
            else:
                table[RateLimitedProtocol(name or "global")] = setting
        table.setdefault(RateLimitedProtocol.GLOBAL, UNLIMITED)
        table.setdefault(RateLimitedProtocol.FILTER, FILTER_DEFAULT_PER_PEER)
        return cls(MappingProxyType(table))

    def setting(self, protocol: RateLimitedProtocol) -> RateLimitSetting:
        """The setting for ``protocol``: its own, else the global one, else unlimited."""
        default = self.settings.get(RateLimitedProtocol.GLOBAL, UNLIMITED)
        return self.settings.get(protocol, default)


class TokenBucket:
    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class PeerRateLimiter:
    """``rate`` requests per second per peer, bursts up to ``burst``; time is passed in.

    A ``rate`` of zero or less is no limit (nwaku's zero volume), and then no peer is tracked.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[Hashable, TokenBucket] = {}

    @classmethod
    def from_setting(cls, setting: RateLimitSetting) -> PeerRateLimiter:
        return cls(setting.rate, setting.burst)

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def allow(self, peer: Hashable, now: float) -> bool:
        if self.unlimited:
            return True
        bucket = self._buckets.get(peer)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_PEERS:
                self._buckets.clear()  # bounded memory: forgetting buckets only forgives
            bucket = self._buckets[peer] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    def forget(self, peer: Hashable) -> None:
        self._buckets.pop(peer, None)
