"""The control node's answers to requests to join and its kicks, kept to send again (sans-IO).

A request to join goes again while unanswered (:meth:`CommunityChats.handle_timer`), but an
answer (accepted, declined) or a kick the transport refused was lost: the member waited for
ever, or kept reading as a member. status-go keeps such raw messages and resends them
(``messenger_raw_message_resend.go``: ``ResendTypeRawMessage``, at most
``messageResendMaxCount`` times, ``messageResendMinDelay`` apart and doubling); here each one
is sent again on the same schedule as our requests to join (:data:`RESEND_DELAY_MS`,
:data:`MAX_RESENDS`), once online, and kept across restarts (:meth:`AnswerResends.saved`,
written with the community; at start each goes again once online, counted from there).
A member takes a copy of an answer or kick it already has as it took the first (the same
clock), so a copy that was not needed costs bytes only.

Bounds: :data:`MAX_KEPT` (community, member) pairs, the newest answer to a pair replacing the
older; past the bound the oldest is dropped and counted
(``chat_community_answers_dropped_total{reason="evicted"}``); the table's size is
``chat_community_answers_kept``. Times are wall-clock ms (the clock status-go's resend uses).
"""

from __future__ import annotations

import json
from collections import OrderedDict

from prometheus_client import Counter, Gauge

from pystatus.chat.community import pubsub_topic
from pystatus.chat.community_chats import Send
from pystatus.chat.community_resend import RESEND_DELAY_MS, resend_due

MAX_KEPT = 256
"""Answers and kicks kept to send again, at most (one per community and member). An accept
answer carries the description (kilobytes), and the table is saved whole at each change;
each leaves it after its last send, about 3.5 min online."""

KEPT = Gauge("chat_community_answers_kept", "Answers to requests to join and kicks kept")
RESENT = Counter("chat_community_answers_resent", "Answers to requests and kicks sent again")
DROPPED = Counter(
    "chat_community_answers_dropped",
    "Answers and kicks no longer kept before their last send, by reason",
    ["reason"],
)


class AnswerResends:
    """Answers and kicks (``private`` :class:`Send` records) to send again (see the
    module)."""

    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        if max_kept < 1:
            raise ValueError("room for one answer at least")
        self.max_kept = max_kept
        # (community id, member key) -> (the send, sends so far, when it goes again: ms)
        self._kept: OrderedDict[tuple[str, bytes], tuple[Send, int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, community_id: str, sends: list[Send], now_ms: int) -> bool:
        """Keep the answers and kicks among ``sends`` (just sent at ``now_ms``); True when
        any was (the table changed: save it)."""
        kept = False
        for send in sends:
            if send.route != "private":
                continue
            key = (community_id, send.recipient)
            self._kept.pop(key, None)
            self._kept[key] = (send, 1, now_ms + RESEND_DELAY_MS)
            kept = True
            while len(self._kept) > self.max_kept:
                self._kept.popitem(last=False)
                DROPPED.labels("evicted").inc()
        KEPT.set(len(self._kept))
        return kept

    def next_deadline(self) -> int | None:
        """When one goes again (wall-clock ms), or None."""
        return min((due for _, _, due in self._kept.values()), default=None)

    def handle_timer(self, now_ms: int) -> list[Send]:
        """Those whose time came at ``now_ms``, sent again: 30, 60 and 120 s after the
        first, second and third sends, then no more."""
        out = resend_due(self._kept, now_ms)
        RESENT.inc(len(out))
        KEPT.set(len(self._kept))
        return out

    def saved(self) -> bytes:
        """The table as kept across restarts (JSON: community id, member key, wrapper)."""
        return json.dumps(
            [[c, r.hex(), s.wrapped.hex()] for (c, r), (s, _, _) in self._kept.items()]
        ).encode()

    def restore(self, data: bytes) -> None:
        """The table :meth:`saved` wrote: each goes again at once (once online). Raises
        ValueError for a damaged record (the caller logs it and starts empty)."""
        try:
            rows = json.loads(data)
            for community_id, recipient, wrapped in rows[-self.max_kept :]:
                send = Send(
                    "private",
                    bytes.fromhex(wrapped),
                    pubsub_topic(None),
                    recipient=bytes.fromhex(recipient),
                )
                self._kept[(str(community_id), send.recipient)] = (send, 1, 0)
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"damaged answers to resend: {exc}") from None
        KEPT.set(len(self._kept))
