"""The errors of :mod:`pystatus.chat.content`: a payload status-go would not accept, received
(:class:`InvalidContent`) or about to be sent (:class:`ContentRefused`)."""

from __future__ import annotations

from pystatus.errors import ChatError


class ContentError(ChatError):
    """A Status payload that status-go would not accept."""


class InvalidContent(ContentError):
    """Received bytes that do not decode, or that status-go's handlers reject (remote error)."""


class ContentRefused(ContentError):
    """We were asked to build a payload status-go would reject or never sends (local error)."""
