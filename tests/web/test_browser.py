"""Two accounts, each on its own node, chat in two browser contexts of Debian's Chromium
(issue 18, item 4): unlock, add a contact and accept, exchange messages until the tick says
delivered, react, reload and see the history; hostile text does not run; axe-core finds no
serious or critical violation on the unlock and chat screens."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from pystatus.node import WakuNode
from pystatus.node.config import StoreConfig
from tests.p2p.hosts import wait_for, within
from tests.web.browser import chromium, serious_violations
from tests.web.helpers import WebPeer, node_config, web_peer

HOSTILE = '<img src=x onerror="window.pwned=1"> <a href="javascript:window.pwned=2">go</a>'
WAIT = 20_000  # ms: Playwright's unit


async def _meshed(nodes: list[WakuNode]) -> None:
    def ready() -> bool:
        return all(
            n.relay is not None and all(n.relay.mesh_size(t) > 0 for t in n.relay.topics)
            for n in nodes
        )

    await wait_for(ready, timeout=20, what="both nodes meshed")


async def test_two_accounts_chat_in_two_browsers(tmp_path: Path) -> None:
    from playwright.async_api import Page, expect

    expect.set_options(timeout=WAIT)

    async with contextlib.AsyncExitStack() as stack:
        browser = await stack.enter_async_context(chromium())
        # Alice's node keeps an archive, and Bob's catches up from it after its restart.
        archive = StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False)
        alice_node = await stack.enter_async_context(WakuNode(node_config(store=archive)))
        store_addr = alice_node.host.full_addrs()[0]
        bob_stack = await stack.enter_async_context(contextlib.AsyncExitStack())
        bob_node = await bob_stack.enter_async_context(WakuNode(node_config(storenode=store_addr)))
        await within(alice_node.connect(bob_node.host.full_addrs()[0]))
        await _meshed([alice_node, bob_node])
        alice = await stack.enter_async_context(
            web_peer(tmp_path / "alice", "alice password", node=alice_node)
        )
        bob = await bob_stack.enter_async_context(
            web_peer(tmp_path / "bob", "bob password", node=bob_node)
        )
        alice_page = await (await browser.new_context()).new_page()
        bob_page = await (await browser.new_context()).new_page()
        dialogs: list[str] = []
        for page in (alice_page, bob_page):
            page.set_default_timeout(WAIT)
            page.on("dialog", lambda d: dialogs.append(d.message))

        # Unlock both at once, from the labelled field and the button.
        async def unlocked(page: Page, peer: WebPeer, password: str) -> None:
            await page.goto(peer.url + "/")
            assert await serious_violations(page) == []
            await page.get_by_label("Password").fill(password)
            await page.get_by_role("button", name="Unlock").click()
            await expect(page.get_by_role("textbox", name="Chat key")).to_be_visible()
            await expect(page.locator("body[data-live='1']")).to_have_count(1)

        await asyncio.gather(
            unlocked(alice_page, alice, "alice password"), unlocked(bob_page, bob, "bob password")
        )
        bob_key = bob.messenger.chat_key
        alice_key = alice.messenger.chat_key

        # Alice starts a chat with Bob's key and asks him to be a contact; Bob accepts.
        await alice_page.get_by_role("textbox", name="Chat key").fill(bob_key)
        await alice_page.get_by_role("button", name="Start chat").click()
        await alice_page.get_by_role("button", name="Send contact request").click()
        await expect(alice_page.get_by_text("Contact request sent")).to_be_visible()
        accept = bob_page.get_by_role("listitem", name=f"Request from {alice_key}")
        await accept.get_by_role("button", name="Accept").click()  # arrived live, over SSE
        await expect(bob_page.get_by_role("listitem", name=alice_key)).to_be_visible()
        await bob_page.goto(bob.url + "/")  # away from the chat: its messages count as unread

        # Alice writes; the tick reaches delivered; Bob sees it live, with an unread count.
        await alice_page.get_by_role("textbox", name="Message").fill("hello bob")
        await alice_page.get_by_role("button", name="Send", exact=True).click()
        mine = alice_page.locator("#messages li", has_text="hello bob")
        await expect(mine.locator(".tick")).to_have_attribute("data-status", "delivered")
        chat_item = bob_page.get_by_role("listitem", name=alice_key)
        await expect(chat_item.locator(".unread")).to_have_text("1")
        await chat_item.get_by_role("link").click()
        theirs = bob_page.locator("#messages li", has_text="hello bob")
        await expect(theirs).to_be_visible()
        await expect(chat_item.locator(".unread")).to_have_count(0)

        # Bob reacts and replies; Alice sees both live.
        await theirs.get_by_role("button", name="React thumbs up").click()
        await expect(mine.locator(".reactions")).to_contain_text("\U0001f44d 1")
        await (
            bob_page.locator("#messages li", has_text="hello bob")
            .get_by_role("link", name="Reply")
            .click()
        )
        await bob_page.get_by_role("textbox", name="Message").fill("hi alice")
        await bob_page.get_by_role("button", name="Send", exact=True).click()
        reply = alice_page.locator("#messages li", has_text="hi alice")
        await expect(reply.locator("blockquote")).to_have_text("hello bob")
        assert await serious_violations(alice_page) == []

        # Hostile text is shown as text: no image, no link, nothing runs.
        await alice_page.get_by_role("textbox", name="Message").fill(HOSTILE)
        await alice_page.get_by_role("button", name="Send", exact=True).click()
        shown = bob_page.locator("#messages li .text", has_text="onerror")
        await expect(shown).to_have_text(HOSTILE)
        assert await bob_page.locator("#messages img, #messages li .text a").count() == 0
        assert await bob_page.evaluate("window.pwned") is None
        assert dialogs == []

        # A reload shows the history from the database.
        await bob_page.reload()
        await expect(bob_page.locator("#messages li:not(.mine) .text")).to_have_text(
            ["Hi, add me", "hello bob", HOSTILE]
        )
        await expect(bob_page.locator("#messages li.mine .text")).to_have_text("hi alice")
        assert await serious_violations(bob_page) == []

        # Bob's node stops; Alice writes; Bob's node starts again (same port, same account)
        # and the message arrives in his browser.
        bob_port = int(bob_node.host.listen_addrs[0].value_for("tcp") or 0)
        await bob_stack.aclose()
        await alice_page.get_by_role("textbox", name="Message").fill("while you were away")
        await alice_page.get_by_role("button", name="Send", exact=True).click()
        async with contextlib.AsyncExitStack() as again:
            bob_node = await again.enter_async_context(
                WakuNode(node_config(bob_port, storenode=store_addr))
            )
            await within(alice_node.connect(bob_node.host.full_addrs()[0]))
            await _meshed([alice_node, bob_node])
            bob = await again.enter_async_context(
                web_peer(tmp_path / "bob", "bob password", node=bob_node)
            )
            # From the keyboard alone: the password field has the focus, Enter unlocks; Tab
            # reaches the chat's link; in the chat the composer has the focus, Tab reaches
            # Send.
            await bob_page.goto(bob.url + "/")
            # Typing before the field has the focus loses keys (seen: "Wrong password").
            await expect(bob_page.get_by_label("Password")).to_be_focused()
            await bob_page.keyboard.type("bob password")
            await bob_page.keyboard.press("Enter")
            await expect(bob_page.get_by_role("textbox", name="Chat key")).to_be_visible()
            link = bob_page.get_by_role("listitem", name=alice_key).get_by_role("link")
            for _ in range(12):
                if await link.evaluate("e => e === document.activeElement"):
                    break
                await bob_page.keyboard.press("Tab")
            await bob_page.keyboard.press("Enter")
            await expect(
                bob_page.locator("#messages li", has_text="while you were away")
            ).to_be_visible()
            await bob_page.keyboard.type("back again")
            await bob_page.keyboard.press("Tab")
            await bob_page.keyboard.press("Enter")
            await expect(alice_page.locator("#messages li", has_text="back again")).to_be_visible()
