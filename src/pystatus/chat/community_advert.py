"""When a control node publishes its communities' descriptions again, sans-IO.

status-go v1.1.0 publishes a community's description after each change, and its control node
also advertises every community it controls again once ``communityAdvertiseIntervalSecond``
(24 h) passed since the last advert, checked on a 5-minute ticker and only while online
(``protocol/messenger.go``, ``handleCommunitiesSubscription`` in
``protocol/messenger_communities.go``). The advert is the current description unchanged (same
clock): members who have it drop it, and a store node keeps a recent copy, which is where a
joiner that was not listening finds it (``FetchCommunity``).

Here the first advert is due as soon as the node is online after a start (a store may have
aged the last copy out while the control node was down), then every
:data:`ADVERTISE_INTERVAL_MS`. Times are wall-clock milliseconds, passed in, as the rest of
:class:`~pystatus.chat.community_chats.CommunityChats`; no clock is read here.
"""

from __future__ import annotations

from prometheus_client import Counter

ADVERTISE_INTERVAL_MS = 24 * 3600 * 1000
"""status-go's ``communityAdvertiseIntervalSecond`` (24 h), in ms."""

ADVERTISED = Counter(
    "chat_community_descriptions_advertised",
    "Descriptions of communities we control published again on the advert schedule",
)


class Advertiser:
    """One schedule for every community this account controls (status-go keeps one
    ``lastPublished`` for all of them)."""

    def __init__(self) -> None:
        self._due: int | None = None
        """When the next advert is due (wall-clock ms); None: we control no community."""

    def restored(self) -> None:
        """A community we control was read back at start: advertise once online."""
        self._due = 0

    def created(self, now_ms: int) -> None:
        """A community we created was just published: the next advert in 24 h, unless one
        is due sooner."""
        later = now_ms + ADVERTISE_INTERVAL_MS
        self._due = later if self._due is None else min(self._due, later)

    def next_deadline(self, online: bool) -> int | None:
        """When :meth:`handle_timer` has an advert to make (wall-clock ms), or None: nothing
        while offline (the adapter looks again when it is back online)."""
        return self._due if online else None

    def handle_timer(self, now_ms: int, online: bool) -> bool:
        """Whether to advertise every community we control now; if so the next advert is
        due :data:`ADVERTISE_INTERVAL_MS` later."""
        if not online or self._due is None or self._due > now_ms:
            return False
        self._due = now_ms + ADVERTISE_INTERVAL_MS
        ADVERTISED.inc()
        return True
