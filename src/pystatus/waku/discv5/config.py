"""The configuration of one discv5 node (limits and timers)."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class Discv5Config:
    """Limits and timers of one discv5 node; times in seconds, counts in entries.

    Defaults follow discv5-theory.md (k = 16, alpha = 3) and discv5-wire.md's advice on
    timeouts (500 ms a request, 1 s a handshake; we allow 1 s a request because Python cores
    share a loaded host). Raises :class:`~pystatus.errors.ConfigError` for a bad value.
    """

    request_timeout: float = 1.0
    request_retries: int = 1
    handshake_timeout: float = 1.0
    max_sessions: int = 1024
    max_challenges: int = 1024
    max_pending_requests: int = 512
    bucket_size: int = 16
    replacements: int = 10
    alpha: int = 3
    max_lookups: int = 8
    revalidate_interval: float = 5.0
    refresh_interval: float = 30.0
    max_nodes_responses: int = 16
    judged_records: int = 4096
    # Requests answered per peer: a token bucket. go-waku's random walk, alone with one peer,
    # asks it FINDNODE back to back (about 1,000 a second, seen in tests): answer a steady
    # 10 a second with bursts of 20, drop the rest (counted), and its walk slows down.
    request_rate: float = 10.0
    request_burst: int = 20
    # 33/WAKU2-DISCV5: Waku's discv5 network is its own ("d5waku", as go-waku and nwaku);
    # b"discv5" joins Ethereum's.
    protocol_id: bytes = b"d5waku"

    def __post_init__(self) -> None:
        for name in ("request_timeout", "handshake_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"discv5 {name} must be positive")
        for name in ("revalidate_interval", "refresh_interval"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"discv5 {name} must be positive")
        if self.request_retries < 0:
            raise ConfigError("discv5 request_retries must be 0 or more")
        for name in (
            "max_sessions",
            "max_challenges",
            "max_pending_requests",
            "bucket_size",
            "alpha",
            "max_lookups",
            "max_nodes_responses",
            "judged_records",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"discv5 {name} must be at least 1")
        if not self.request_rate > 0 or self.request_burst < 1:
            raise ConfigError("discv5 request_rate must be positive and request_burst >= 1")
        if len(self.protocol_id) != 6:
            raise ConfigError("a discv5 protocol_id is 6 bytes")
        if self.replacements < 0:
            raise ConfigError("discv5 replacements must be 0 or more")
