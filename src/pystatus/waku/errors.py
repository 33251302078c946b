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


class InvalidTopic(LocalWakuError):
    """A content or pubsub topic does not parse."""


class InvalidEnr(RemoteWakuError):
    """An ENR record does not decode or its signature does not verify."""
