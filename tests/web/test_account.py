"""Creating and restoring the account in the browser (issue 18): the recovery phrase is shown
once, must be confirmed (a wrong word is refused) before the account exists, and is found
afterwards in no page, URL, cookie or log; a phrase restores its account; axe-core finds no
serious or critical violation on the account screens."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.keys import AccountKeys, new_mnemonic, seed_from_mnemonic
from pystatus.node import WakuNode
from tests.web.browser import chromium, serious_violations
from tests.web.helpers import node_config, setup_server

WAIT = 20_000  # ms
PASSWORD = "new web password"


async def test_create_account_confirm_phrase_then_restore(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT)
    caplog.set_level(logging.DEBUG)
    directory = tmp_path / "account"
    async with contextlib.AsyncExitStack() as stack:
        browser = await stack.enter_async_context(chromium())
        node = await stack.enter_async_context(WakuNode(node_config()))
        server = await stack.enter_async_context(setup_server(directory, node=node))
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(WAIT)
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url))

        await page.goto(server.url + "/")
        assert await serious_violations(page) == []
        create = page.get_by_role("region", name="Create account")
        await create.get_by_label("Display name").fill("Alice Web")
        await create.get_by_label("Password", exact=True).fill(PASSWORD)
        await create.get_by_label("Repeat password").fill(PASSWORD + "x")
        await create.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("alert")).to_have_text("the two passwords differ")
        create = page.get_by_role("region", name="Create account")
        await create.get_by_label("Display name").fill("Alice Web")
        await create.get_by_label("Password", exact=True).fill(PASSWORD)
        await create.get_by_label("Repeat password").fill(PASSWORD)
        await create.get_by_role("button", name="Create account").click()

        # The phrase, shown once: twelve words; nothing is on disk yet.
        words_list = page.get_by_role("list", name="Recovery phrase").get_by_role("listitem")
        await expect(words_list).to_have_count(12)
        words = await words_list.all_inner_texts()
        phrase = " ".join(words)
        assert await serious_violations(page) == []
        assert not (directory / "keystore.json").exists()
        await page.get_by_role("link", name="I wrote it down").click()

        # A wrong word is refused; the phrase is not shown again.
        fields = page.get_by_role("textbox", name="Word")
        await expect(fields).to_have_count(3)
        labels = [await fields.nth(i).get_attribute("id") for i in range(3)]
        asked = [int(str(label).removeprefix("word-")) for label in labels]
        for n, i in enumerate(asked):
            wrong = words[(i + 1) % 12] if n == 0 else words[i]
            await fields.nth(n).fill(wrong if wrong != words[i] else "zoo")
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Those are not the words of your recovery phrase"
        )
        assert await serious_violations(page) == []
        assert not (directory / "keystore.json").exists()
        await page.goto(server.url + "/account/phrase")  # shown once: on to the confirmation
        await expect(
            page.get_by_role("heading", name="Confirm your recovery phrase")
        ).to_be_visible()
        assert phrase not in await page.content()

        # The right words make the account and open it.
        fields = page.get_by_role("textbox", name="Word")
        for n, i in enumerate(asked):
            await fields.nth(n).fill(words[i].upper() + " ")  # case and spaces aside
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.get_by_role("textbox", name="Chat key")).to_be_visible()
        assert server.messenger is not None
        chat_key = server.messenger.chat_key
        await expect(page.locator(".me .name")).to_have_text("Alice Web")
        assert (directory / "keystore.json").exists()
        assert Account.unlock(directory, PASSWORD).chat_key == chat_key

        # The phrase is nowhere now: the page, the URLs asked, the cookies, the logs.
        await page.goto(server.url + "/account/phrase")
        assert phrase not in await page.content()
        await page.goto(server.url + "/")
        assert phrase not in await page.content()
        assert all(w not in url for url in urls for w in (phrase, phrase.replace(" ", "+")))
        assert all(phrase not in c["value"] for c in await context.cookies())
        assert phrase not in caplog.text
        assert (await page.evaluate("document.cookie")) == ""  # HttpOnly, all of them

        # Restore, in a new browser context, into another data dir without an account.
        restorer = await stack.enter_async_context(setup_server(tmp_path / "restored", node=node))
        phrase = new_mnemonic()
        expected = AccountKeys.from_seed(seed_from_mnemonic(phrase)).chat_key_text
        page = await (await browser.new_context()).new_page()
        page.set_default_timeout(WAIT)
        await page.goto(restorer.url + "/")
        restore = page.get_by_role("region", name="Restore from recovery phrase")
        words = phrase.split()
        bad = " ".join([*words[:11], "zzzz"])
        await restore.get_by_label("Recovery phrase").fill(bad)
        await restore.get_by_label("Password", exact=True).fill(PASSWORD)
        await restore.get_by_label("Repeat password").fill(PASSWORD)
        await restore.get_by_role("button", name="Restore account").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("not a valid recovery phrase")
        assert bad not in await page.content()  # the typed phrase is not sent back
        restore = page.get_by_role("region", name="Restore from recovery phrase")
        await restore.get_by_label("Recovery phrase").fill(phrase)
        await restore.get_by_label("Display name").fill("Restored")
        await restore.get_by_label("Password", exact=True).fill(PASSWORD)
        await restore.get_by_label("Repeat password").fill(PASSWORD)
        await restore.get_by_role("button", name="Restore account").click()
        await expect(page.get_by_role("textbox", name="Chat key")).to_be_visible()
        await expect(page.locator(".me .key")).to_have_text(expected)
        assert restorer.messenger is not None and restorer.messenger.chat_key == expected
