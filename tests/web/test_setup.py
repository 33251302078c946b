"""The account screens' rules without a browser: pending accounts are bounded and expire
(sans-IO, monotonic seconds), confirmation takes exactly the asked words, and the account
routes refuse a missing CSRF token, another Origin and mismatched passwords."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from pystatus.chat.keys import new_mnemonic
from pystatus.node import WakuNode
from pystatus.web.setup import CONFIRM_WORDS, PendingAccounts
from tests.web.helpers import node_config, setup_server


def test_pending_accounts_are_bounded_and_expire() -> None:
    table = PendingAccounts(capacity=2, lifetime=60.0)
    first = table.new(new_mnemonic(), "password", "", now=0.0)
    second = table.new(new_mnemonic(), "password", "", now=1.0)
    third = table.new(new_mnemonic(), "password", "", now=2.0)
    assert len(table) == 2
    assert table.get(first.id, 3.0) is None  # the oldest made room
    assert table.get(second.id, 60.9) is second
    assert table.get(second.id, 61.0) is None  # expired, and dropped
    assert len(table) == 1 and table.get(third.id, 3.0) is third


def test_confirmation_takes_exactly_the_asked_words() -> None:
    pending = PendingAccounts().new(new_mnemonic(), "password", "", now=0.0)
    words = pending.words()
    assert len(pending.asked) == CONFIRM_WORDS == len(set(pending.asked))
    right = [words[i] for i in pending.asked]
    assert pending.confirms(right)
    assert pending.confirms([f" {w.upper()} " for w in right])
    assert not pending.confirms(right[:-1])
    assert not pending.confirms([*right[:-1], right[-1] + "x"])
    if right[0] != right[-1]:  # a phrase may repeat a word
        assert not pending.confirms(list(reversed(right)))


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def test_account_routes_refuse_forgeries(tmp_path: Path) -> None:
    async with (
        WakuNode(node_config()) as node,
        setup_server(tmp_path / "account", node=node) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        page = await client.get("/")
        assert page.status_code == 200 and ">Create account</button>" in page.text
        token = _csrf(page.text)
        form = {"password": "secret 1", "password2": "secret 1", "csrf": token}
        without = {k: v for k, v in form.items() if k != "csrf"}
        assert (await client.post("/account/create", data=without)).status_code == 403
        assert (
            await client.post(
                "/account/create", data=form, headers={"origin": "http://evil.example"}
            )
        ).status_code == 403
        differ = await client.post("/account/create", data={**form, "password2": "secret 2"})
        assert differ.status_code == 400 and "the two passwords differ" in differ.text
        assert (await client.get("/events")).status_code == 401  # no account, no stream
        made = await client.post("/account/create", data=form)
        assert made.status_code == 303 and made.headers["location"] == "/account/phrase"
        setup_cookie = next(
            c for c in made.headers.get_list("set-cookie") if c.startswith("pystatus_setup=")
        )
        assert "httponly" in setup_cookie.lower() and "samesite=strict" in setup_cookie.lower()
        shown = await client.get("/account/phrase")
        assert shown.headers["cache-control"] == "no-store"
        assert len(re.findall(r"<li>[a-z]+</li>", shown.text)) == 12
        again = await client.get("/account/phrase")  # shown once
        assert again.status_code == 303 and again.headers["location"] == "/account/confirm"
        assert not (tmp_path / "account" / "keystore.json").exists()
