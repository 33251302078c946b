"""What the web client's route modules share: the refusal error, cookies and form reading."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pystatus.web.security import SECURITY_HEADERS, WebError

COOKIE = "pystatus_session"
PRE_COOKIE = "pystatus_unlock"
"""A random token double-submitted by the unlock and account forms (login CSRF), before any
session."""
MAX_FORM = 64 * 1024
"""Bytes of a form body read; more is refused with 413."""


class Refused(WebError):
    """A request answered ``status`` with ``text``; ``reason`` labels the refusal metric."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.reason = reason


def origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def token() -> str:
    """A random 256-bit token, URL-safe text."""
    return secrets.token_urlsafe(32)


async def read_form(request: Request, max_fields: int = 16) -> dict[str, str]:
    """The url-encoded form of a POST, first value of each field. Raises :class:`Refused`:
    403 for another ``Origin``, 413 over :data:`MAX_FORM` bytes, 400 unreadable."""
    if request.headers.get("origin") not in (None, "null", origin(request)):
        raise Refused(403, "origin", "cross-origin request refused")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Refused(413, "too_large", "form too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "bad_form", "unreadable form") from None
    return {k: v[0] for k, v in parsed.items()}


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every answer, static files included, and
    ``no-store`` unless the answer says otherwise (pages may carry a recovery phrase)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self._app(scope, receive, with_headers)
