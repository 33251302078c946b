"""When a community message nobody answered goes again: status-go's raw-message resend
schedule (``messenger_raw_message_resend.go``), shared by our requests to join
(:mod:`community_chats`) and the control node's answers and kicks (:mod:`community_answers`)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pystatus.chat.community_chats import Send

RESEND_DELAY_MS = 30_000
"""A request to join with no answer goes again ``2^(n-1)`` times this after its n-th send
(status-go's ``messageResendMinDelay``, ``messenger_raw_message_resend.go``
shouldResendMessage)."""
MAX_RESENDS = 3
"""status-go resends a watched raw message while its ``send_count <= 3``
(``messageResendMaxCount``, ``persistence.go`` ExpiredMessagesIDs): four sends at most."""


def resend_due(table: MutableMapping[Any, tuple[Send, int, int]], now_ms: int) -> list[Send]:
    """The sends of ``table`` (key -> (send, sends so far, due in wall-clock ms)) due at
    ``now_ms``, rescheduled 30, 60 and 120 s after the first, second and third sends, and
    dropped after the last (:data:`MAX_RESENDS`)."""
    out: list[Send] = []
    for key, (send, count, due) in list(table.items()):
        if due > now_ms:
            continue
        out.append(send)
        count += 1
        if count > MAX_RESENDS:
            del table[key]
        else:
            table[key] = (send, count, now_ms + RESEND_DELAY_MS * 2 ** (count - 1))
    return out
