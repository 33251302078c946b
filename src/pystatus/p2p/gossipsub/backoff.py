"""PRUNE back-offs per (topic, peer), with the slack every router leaves on its own GRAFTs.

gossipsub-v1.1.md "PRUNE Backoff and Peer Exchange": after a PRUNE neither side may GRAFT the
other on that topic until the back-off ends, and a GRAFT that comes sooner is refused and
penalised (P7). Both sides start the clock when they see the PRUNE, so the side that sent it
ends its back-off first, by the PRUNE's transit time: a GRAFT sent the moment the back-off
ends can arrive while the other side's still runs. go-libp2p-pubsub therefore keeps each
back-off two heartbeats past its end before it grafts again (``gossipsub.go`` clearBackoff,
libp2p/specs#289), and nim-libp2p (nwaku) adds two seconds (``behavior.nim`` handlePrune).
Times are monotonic seconds.
"""

from __future__ import annotations

from pystatus.p2p.gossipsub.events import PeerKey


class Backoffs:
    """Back-off deadlines, at most ``max_entries`` (the earliest set is dropped first)."""

    def __init__(self, slack: float, max_entries: int) -> None:
        self._slack = slack
        self._max_entries = max_entries
        self._until: dict[tuple[str, PeerKey], float] = {}

    def __len__(self) -> int:
        return len(self._until)

    def extend(self, topic: str, peer: PeerKey, until: float) -> bool:
        """Back off ``peer`` on ``topic`` until ``until`` at least (a longer one stands).
        True when the table was full and the earliest back-off set was dropped for it."""
        key = (topic, peer)
        current = self._until.get(key)
        if current is not None:
            if until > current:
                self._until[key] = until
            return False
        evicted = len(self._until) >= self._max_entries
        if evicted:
            del self._until[next(iter(self._until))]
        self._until[key] = until
        return evicted

    def refuses_graft(self, topic: str, peer: PeerKey, now: float) -> bool:
        """A GRAFT from ``peer`` now falls within the back-off (to refuse and penalise)."""
        until = self._until.get((topic, peer))
        return until is not None and until > now

    def may_graft(self, topic: str, peer: PeerKey, now: float) -> bool:
        """We may GRAFT ``peer`` now: no back-off, or one that ended ``slack`` seconds ago."""
        until = self._until.get((topic, peer))
        return until is None or until + self._slack <= now

    def expire(self, now: float) -> None:
        """Forget back-offs that ended, slack included."""
        slack = self._slack
        expired = [key for key, until in self._until.items() if until + slack <= now]
        for key in expired:
            del self._until[key]
