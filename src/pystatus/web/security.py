"""Sessions, CSRF tokens and the unlock rate limit of the web client, sans-IO.

Nothing here reads a clock: every entry point takes ``now`` in monotonic seconds
(``time.monotonic()`` in the adapter). The tables are bounded: :data:`MAX_SESSIONS` sessions
(the oldest is dropped for a new one) and one global unlock budget, since the client serves
one account on the loopback interface.

The cookie rules follow OWASP's session management cheat sheet (HttpOnly, SameSite=Strict, a
random 256-bit id) and its CSRF cheat sheet (a synchronizer token per session, compared in
constant time, plus an Origin check).
"""

from __future__ import annotations

import collections
import hmac
import secrets
from dataclasses import dataclass

from pystatus.errors import PystatusError

MAX_SESSIONS = 32
"""Sessions kept at once; a new one beyond this drops the oldest."""
SESSION_LIFETIME = 12 * 3600.0
"""Seconds a session lasts from its unlock (monotonic clock)."""
UNLOCK_ATTEMPTS = 5
"""Unlock attempts allowed per :data:`UNLOCK_WINDOW` (failed or not)."""
UNLOCK_WINDOW = 60.0
"""Seconds over which :data:`UNLOCK_ATTEMPTS` are counted (monotonic clock)."""


class WebError(PystatusError):
    """A request the web client refuses."""


class UnlockRateLimited(WebError):
    """Too many unlock attempts; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many unlock attempts: try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Session:
    """``id`` goes in the HttpOnly cookie, ``csrf`` in every form; ``expires`` is monotonic."""

    id: str
    csrf: str
    expires: float


class Sessions:
    """The unlocked sessions, at most :data:`MAX_SESSIONS`, oldest dropped first."""

    def __init__(self, capacity: int = MAX_SESSIONS, lifetime: float = SESSION_LIFETIME) -> None:
        self._table: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self._capacity = capacity
        self._lifetime = lifetime
        self.evicted = 0
        """Sessions dropped to make room (a metric's source)."""

    def __len__(self) -> int:
        return len(self._table)

    def open(self, now: float) -> Session:
        """A new session for a caller that just gave the right password."""
        while len(self._table) >= self._capacity:
            self._table.popitem(last=False)
            self.evicted += 1
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + self._lifetime
        )
        self._table[session.id] = session
        return session

    def get(self, session_id: str | None, now: float) -> Session | None:
        """The live session of that cookie value, or None (unknown or expired: then dropped)."""
        if not session_id:
            return None
        session = self._table.get(session_id)
        if session is None:
            return None
        if session.expires <= now:
            del self._table[session_id]
            return None
        return session

    def close(self, session_id: str) -> None:
        self._table.pop(session_id, None)


def csrf_matches(session: Session, token: str | None) -> bool:
    """True when ``token`` is the session's CSRF token (compared in constant time)."""
    return token is not None and hmac.compare_digest(session.csrf.encode(), token.encode())


class UnlockLimiter:
    """At most ``attempts`` unlock attempts in any ``window`` seconds (a sliding log)."""

    def __init__(self, attempts: int = UNLOCK_ATTEMPTS, window: float = UNLOCK_WINDOW) -> None:
        self._log: collections.deque[float] = collections.deque(maxlen=attempts)
        self._attempts = attempts
        self._window = window

    def attempt(self, now: float) -> None:
        """Count an attempt at ``now``; raises :class:`UnlockRateLimited` when over budget
        (the refused attempt is not counted)."""
        if len(self._log) == self._attempts and now - self._log[0] < self._window:
            raise UnlockRateLimited(self._window - (now - self._log[0]))
        self._log.append(now)


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style, no other origin: what the pages load comes from /static."""

SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
