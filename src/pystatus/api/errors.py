"""The REST API's one error: a status, a description, and the body nwaku answers it with.

nwaku's openapi decides the body route by route: plain text for most routes (relay, store's
refusals, admin, debug, light push v1), JSON for filter (``FilterSubscriptionResponse``:
``requestId`` and ``statusDesc``) and light push v3 (``PushResponse``: ``statusDesc``).
"""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Answer ``status`` with ``body`` as JSON, or with ``description`` as plain text."""

    def __init__(
        self, status: int, description: str, *, body: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.body = body
