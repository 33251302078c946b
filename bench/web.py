"""Web client latency (issue 18, item 5): from clicking Send in one browser to the message
showing in another, beside the same path through the REST API.

Two accounts, each on its own pystatus relay node on loopback, both in the public chat
``webbench``. Browser path: Playwright clicks Send in Alice's page (Debian's Chromium) and
waits until Bob's page shows the text (his page learns of it over SSE and fetches itself
again). REST path: ``POST /chat/v1/public/webbench/messages`` on Alice's REST API, then Bob's
``GET /chat/v1/events`` long poll until the message is among them. Each message is sent once
the previous one arrived. Times are wall-clock (``time.perf_counter``) in the bench process,
Playwright's and httpx's own round trips included.

Alice's page sends with fetch and stays (no reload per message, as a user's page does since
the composer posts in the background); each message is sent once the previous one arrived
and Alice's composer is empty again.

Run: ``python -m bench --only web`` (``--web-messages``, 100 by default) or
``python -m bench.web [count]``. The ratio is browser over REST (lower is better).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from pystatus.api.app import create_app
from pystatus.api.server import AsgiServer
from pystatus.node import WakuNode
from tests.p2p.hosts import wait_for, within
from tests.web.browser import chromium
from tests.web.helpers import node_config, web_peer

if TYPE_CHECKING:
    from rich.table import Table

CHAT = "webbench"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def run_web(count: int = 100) -> dict[str, tuple[float, float]]:
    """{"browser": (p50, p99), "rest": (p50, p99)} in ms over ``count`` messages each."""
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            browser = await stack.enter_async_context(chromium())
            nodes = [await stack.enter_async_context(WakuNode(node_config())) for _ in range(2)]
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
            for peer in (alice, bob):
                await peer.messenger.join_public_chat(CHAT)
            pages = []
            for peer, password in ((alice, "alice password"), (bob, "bob password")):
                page = await (await browser.new_context()).new_page()
                await page.goto(peer.url + "/")
                await page.get_by_label("Password").fill(password)
                await page.get_by_role("button", name="Unlock").click()
                await page.goto(f"{peer.url}/?chat={CHAT}&limit=5")
                await expect(page.locator("body[data-live='1']")).to_have_count(1)
                pages.append(page)
            alice_page, bob_page = pages
            browser_times = []
            for i in range(count):
                text = f"browser {i}"
                await alice_page.get_by_role("textbox", name="Message").fill(text)
                started = time.perf_counter()
                await alice_page.get_by_role("button", name="Send", exact=True).click()
                await bob_page.locator("#messages .text", has_text=text).wait_for()
                browser_times.append(time.perf_counter() - started)
                # Alice's send finished (her composer emptied) before the next one.
                await expect(alice_page.get_by_role("textbox", name="Message")).to_have_value("")

            rest_servers = []
            for peer in (alice, bob):
                server = AsgiServer(
                    create_app(peer.node, peer.messenger), "127.0.0.1", 0, name="REST"
                )
                await server.start()
                stack.push_async_callback(server.stop)
                rest_servers.append(server)
            rest_times = []
            async with (
                httpx.AsyncClient(base_url=rest_servers[0].url) as sender,
                httpx.AsyncClient(base_url=rest_servers[1].url, timeout=15) as receiver,
            ):
                since = (await receiver.get("/chat/v1/events")).json()["next"]
                for i in range(count):
                    text = f"rest {i}"
                    started = time.perf_counter()
                    sent = await sender.post(
                        f"/chat/v1/public/{CHAT}/messages", json={"text": text}
                    )
                    sent.raise_for_status()
                    arrived = False
                    while not arrived:
                        answer = (
                            await receiver.get(
                                "/chat/v1/events", params={"since": since, "wait": 10}
                            )
                        ).json()
                        since = answer["next"]
                        arrived = any(
                            e["kind"] == "message" and e["text"] == text for e in answer["events"]
                        )
                    rest_times.append(time.perf_counter() - started)
    return {"browser": _percentiles(browser_times), "rest": _percentiles(rest_times)}


def web_table(results: dict[str, tuple[float, float]], count: int) -> Table:
    """The bench's table: p50 and p99 of each path and their ratio (browser / REST)."""
    from rich.table import Table

    table = Table(
        title=f"web client: send to shown in the other client, {count} messages, public chat "
        "over two relay nodes on loopback"
    )
    for column in ("metric", "browser (Chromium)", "REST API", "ratio (browser/REST)"):
        table.add_column(column, justify="right")
    for index, name in enumerate(("p50 (ms)", "p99 (ms)")):
        browser, rest = results["browser"][index], results["rest"][index]
        ratio = browser / rest if rest else float("nan")
        table.add_row(name, f"{browser:,.1f}", f"{rest:,.1f}", f"{ratio:.1f} (lower is better)")
    return table


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    results = asyncio.run(run_web(count))
    print(f"send to shown, {count} messages, public chat over two relay nodes on loopback")
    for path, (p50, p99) in results.items():
        print(f"  {path:8} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")


if __name__ == "__main__":
    main()
