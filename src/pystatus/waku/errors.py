"""Errors of the waku layer."""

from __future__ import annotations

from pystatus.errors import WakuError


class WakuProtocolError(WakuError):
    """A Waku protocol rule was broken."""


class LocalWakuError(WakuProtocolError):
    """We were asked to do something the protocol forbids (a caller's mistake)."""


class RemoteWakuError(WakuProtocolError):
    """A peer sent something the protocol forbids."""


class DecodeError(RemoteWakuError):
    """Bytes from the network did not decode into a valid message."""


class MessageTooLarge(DecodeError):
    """Bytes from the network hold a message over the network's size limit."""


class InvalidMessage(RemoteWakuError):
    """A decoded message breaks a validation rule.

    ``reason`` is short and machine-readable (a metric label): ``empty_payload``,
    ``empty_content_topic``, ``too_large``, ``timestamp_in_future``, ``timestamp_too_old``,
    ``meta_too_large``, ``bad_version``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class RequestRefused(WakuProtocolError):
    """A store, filter or light push request was refused with a status code.

    ``status`` is the code of the RFC's response message (``status_code``: 400 bad request,
    404 not found, 413 too large, 420/421 invalid message or topic, 429 too many requests,
    500 internal, 503 unavailable; WAKU2-STORE v3, WAKU2-FILTER v2 and WAKU2-LIGHTPUSH v3 share
    these), and ``description`` its ``status_desc`` text. Raised by a client for a peer's
    non-2xx answer, and by request validation before anything is sent (then ``status`` is the
    code a server would answer). The description is the peer's text or ours, never key
    material.
    """

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class InvalidTopic(LocalWakuError):
    """A content or pubsub topic does not parse."""


class InvalidEnr(RemoteWakuError):
    """An ENR record does not decode or its signature does not verify."""
