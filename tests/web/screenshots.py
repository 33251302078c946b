"""Screenshots of the web client's main screens into ``docs/`` (``make screenshots``).

Two accounts on two local nodes, as in the browser test: the first screen of a data dir
without an account, the unlock screen, a contact request waiting with its introduction, a
chat with delivery ticks, a reply and a reaction in the light theme, the same in the dark
theme, a private group with its member list, and a community: its control node's screen of a
channel with the members, and a member's screen of a read-only channel.
Run: ``python -m tests.web.screenshots [directory]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Page, ViewportSize, expect

from pystatus.node import WakuNode
from pystatus.node.config import StoreConfig
from tests.p2p.hosts import wait_for, within
from tests.web.browser import chromium
from tests.web.helpers import node_config, setup_server, web_peer

SIZE: ViewportSize = {"width": 1100, "height": 700}


async def _unlock(page: Page, url: str, password: str) -> None:
    await page.goto(url + "/")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Unlock").click()
    await expect(page.locator("body[data-live='1']")).to_have_count(1)


async def _send(page: Page, text: str) -> None:
    await page.get_by_role("textbox", name="Message").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def take(out: Path) -> None:
    expect.set_options(timeout=20_000)
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            browser = await stack.enter_async_context(chromium())
            # The first node keeps an archive: the community's description reaches the
            # joining member from its store.
            archive = StoreConfig(db_url=f"sqlite:///{tmp}/store.sqlite3", resume=False)
            first = await stack.enter_async_context(WakuNode(node_config(store=archive)))
            second = await stack.enter_async_context(
                WakuNode(node_config(storenode=first.host.full_addrs()[0]))
            )
            nodes = [first, second]
            await within(nodes[0].connect(nodes[1].host.full_addrs()[0]))
            await wait_for(
                lambda: all(
                    n.relay is not None and all(n.relay.mesh_size(t) for t in n.relay.topics)
                    for n in nodes
                ),
                timeout=20,
            )
            alice = await stack.enter_async_context(
                web_peer(Path(tmp) / "alice", "alice password", node=nodes[0])
            )
            bob = await stack.enter_async_context(
                web_peer(Path(tmp) / "bob", "bob password", node=nodes[1])
            )
            await bob.messenger.set_display_name("Bob Builder")
            await alice.messenger.set_display_name("Alice Liddell")
            alice_page = await (await browser.new_context(viewport=SIZE)).new_page()
            bob_page = await (await browser.new_context(viewport=SIZE)).new_page()
            fresh = await stack.enter_async_context(
                setup_server(Path(tmp) / "fresh", node=nodes[0])
            )
            await alice_page.goto(fresh.url + "/")
            await alice_page.screenshot(path=out / "web-account.png")
            await alice_page.goto(alice.url + "/")
            await alice_page.screenshot(path=out / "web-unlock.png")
            await _unlock(alice_page, alice.url, "alice password")
            await _unlock(bob_page, bob.url, "bob password")
            await alice_page.get_by_role("textbox", name="Chat key").fill(bob.messenger.chat_key)
            await alice_page.get_by_role("button", name="Start chat").click()
            await alice_page.get_by_role("textbox", name="Introduction").fill(
                "Hi Bob, Alice here: we met at the meetup."
            )
            await alice_page.get_by_role("button", name="Send contact request").click()
            await expect(bob_page.get_by_role("button", name="Accept")).to_be_visible()
            await bob_page.screenshot(path=out / "web-request.png")
            await bob_page.get_by_role("button", name="Accept").click()
            await _send(alice_page, "Hello Bob, this is the web client.")
            mine = alice_page.locator("#messages li", has_text="Hello Bob")
            await expect(mine.locator(".tick")).to_have_attribute("data-status", "delivered")
            theirs = bob_page.locator("#messages li", has_text="Hello Bob")
            await theirs.get_by_role("button", name="React thumbs up").click()
            await theirs.get_by_role("link", name="Reply").click()
            await _send(bob_page, "Hi Alice! <b>tags</b> stay text.")
            await expect(alice_page.locator("#messages li", has_text="Hi Alice")).to_be_visible()
            await expect(mine.locator(".reactions")).to_be_visible()
            await alice_page.screenshot(path=out / "web-chat-light.png")
            await alice_page.get_by_role("button", name="Dark theme").click()
            await alice_page.screenshot(path=out / "web-chat-dark.png")
            await alice_page.get_by_role("button", name="Light theme").click()
            await alice_page.locator(".new-group > summary").click()
            await alice_page.get_by_role("textbox", name="Group name").fill("Tea party")
            await alice_page.get_by_role("textbox", name="Members").fill(bob.messenger.chat_key)
            await alice_page.get_by_role("button", name="Create group").click()
            group = bob_page.get_by_role("list", name="Groups").get_by_role("listitem")
            await group.get_by_role("link").click()
            await _send(bob_page, "Thanks for the invitation!")
            await expect(alice_page.locator("#messages li", has_text="Thanks")).to_be_visible()
            await alice_page.locator("#members-box > summary").click()
            await alice_page.screenshot(path=out / "web-group.png")
            await _community(alice_page, bob_page, out)


async def _community(alice: Page, bob: Page, out: Path) -> None:
    """Alice makes "Cat lovers" with #general and a read-only #news; Bob joins, she accepts."""
    await alice.locator(".new-community > summary").click()
    await alice.get_by_role("textbox", name="Community name").fill("Cat lovers")
    await alice.get_by_role("button", name="Create community").click()
    community_id = await alice.locator("main").get_attribute("data-community")
    assert community_id is not None
    await alice.get_by_role("textbox", name="Channel name").fill("news")
    await alice.get_by_role("checkbox", name="Read-only (only admins post)").check()
    await alice.get_by_role("button", name="Add channel").click()
    await alice.get_by_role("textbox", name="Channel name").fill("general")
    await alice.get_by_role("button", name="Add channel").click()
    await _send(alice, "Welcome to Cat lovers!")
    await bob.get_by_role("textbox", name="Community id").fill(community_id)
    await bob.get_by_role("button", name="Join community").click()
    await alice.get_by_role("button", name="Accept Bob Builder").click()
    channels = bob.get_by_role("list", name="Channels")
    await channels.get_by_role("listitem", name="general").get_by_role("link").click()
    await _send(bob, "Glad to be here. Mine is called Biscuit.")
    await expect(alice.locator("#messages li", has_text="Biscuit")).to_be_visible()
    await alice.screenshot(path=out / "web-community.png")
    news = alice.get_by_role("list", name="Channels").get_by_role("listitem", name="news")
    await news.get_by_role("link").click()
    await _send(alice, "Adoption day is on Saturday.")
    await channels.get_by_role("listitem", name="news").get_by_role("link").click()
    await expect(bob.locator("#messages li", has_text="Adoption day")).to_be_visible()
    await bob.screenshot(path=out / "web-community-read-only.png")


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(target))
