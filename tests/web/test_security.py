"""The web client's security over HTTP (issue 18, item 2): loopback, session cookie,
rate-limited unlock, CSRF, CSP, and message text escaped."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from pystatus.node import WakuNode
from pystatus.web.security import UnlockLimiter, UnlockRateLimited
from pystatus.web.server import WebConfig
from tests.web.helpers import node_config, web_peer

PASSWORD = "web password"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def _unlocked(client: httpx.AsyncClient, cookies: list[str] | None = None) -> str:
    """Unlock; the CSRF token of the session (``cookies`` gets the Set-Cookie lines)."""
    form = await client.get("/")
    answer = await client.post("/unlock", data={"csrf": _csrf(form.text), "password": PASSWORD})
    assert answer.status_code == 303
    if cookies is not None:
        cookies.extend(answer.headers.get_list("set-cookie"))
    return _csrf((await client.get("/")).text)


def test_loopback_by_default() -> None:
    assert WebConfig().address == "127.0.0.1"
    assert WebConfig().port == 8646


def test_unlock_limiter_refuses_the_sixth_attempt_in_a_minute() -> None:
    limiter = UnlockLimiter(attempts=5, window=60.0)
    for second in range(5):
        limiter.attempt(100.0 + second)
    with pytest.raises(UnlockRateLimited) as refused:
        limiter.attempt(110.0)
    assert 49 < refused.value.retry_after <= 50
    limiter.attempt(160.5)  # the first attempt left the window


async def test_session_csrf_and_headers(tmp_path: Path) -> None:
    async with (
        WakuNode(node_config()) as node,
        web_peer(tmp_path / "me", PASSWORD, node=node, limiter=UnlockLimiter(3, 60.0)) as me,
        httpx.AsyncClient(base_url=me.url) as client,
    ):
        locked = await client.get("/")
        assert locked.status_code == 200
        assert '<label for="password">Password</label>' in locked.text
        assert ">Unlock</button>" in locked.text
        csp = locked.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        # The tab's icon is served (a browser asked for /favicon.ico and logged a 404).
        assert '<link rel="icon" href="/static/favicon.svg"' in locked.text
        icon = await client.get("/static/favicon.svg")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        # No inline script: every <script> names a file.
        assert re.findall(r"<script(?![^>]*\bsrc=)", locked.text) == []
        # Locked: nothing changes state, and the event stream is refused.
        assert (await client.post("/send", data={"chat": "x", "text": "y"})).status_code == 401
        assert (await client.get("/events")).status_code == 401
        wrong = await client.post(
            "/unlock", data={"csrf": _csrf(locked.text), "password": "not it!"}
        )
        assert wrong.status_code == 401 and "Wrong password" in wrong.text
        assert "set-cookie" not in wrong.headers or "pystatus_session" not in str(
            wrong.headers.get_list("set-cookie")
        )
        # Unlock without the form's token: refused (login CSRF).
        assert (await client.post("/unlock", data={"password": PASSWORD})).status_code == 403
        lines: list[str] = []
        token = await _unlocked(client, lines)
        cookie = next(c for c in lines if "pystatus_session" in c)
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        # State changes need the session's token, and no foreign Origin.
        join = {"name": "webtest", "csrf": token}
        assert (await client.post("/chats/join", data={"name": "webtest"})).status_code == 403
        assert (
            await client.post("/chats/join", data={**join, "csrf": "forged"})
        ).status_code == 403
        assert (
            await client.post("/chats/join", data=join, headers={"origin": "http://evil.example"})
        ).status_code == 403
        assert (await client.post("/chats/join", data=join)).status_code == 303
        # Rate limit: 3 attempts a minute here (one wrong, one right so far, the tokenless
        # one refused before counting).
        fresh = httpx.AsyncClient(base_url=me.url)
        async with fresh:
            form = await fresh.get("/")
            data = {"csrf": _csrf(form.text), "password": "wrong again"}
            assert (await fresh.post("/unlock", data=data)).status_code == 401
            limited = await fresh.post("/unlock", data=data)
            assert limited.status_code == 429 and "retry-after" in limited.headers


async def test_message_text_is_shown_as_text(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">click</a>'
    async with (
        WakuNode(node_config()) as node,
        web_peer(tmp_path / "me", PASSWORD, node=node) as me,
        httpx.AsyncClient(base_url=me.url) as client,
    ):
        token = await _unlocked(client)
        await client.post("/chats/join", data={"name": "xss", "csrf": token})
        sent = await client.post("/send", data={"chat": "xss", "text": hostile, "csrf": token})
        assert sent.status_code == 303
        # Stored before the send is answered, so the page shows it now.
        page = (await client.get("/?chat=xss")).text
        assert "<img" not in page and "javascript:alert(2)</a>" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
        assert "&lt;a href=&quot;javascript:alert(2)&quot;&gt;" in page
