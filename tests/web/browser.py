"""Debian's Chromium under Playwright for the web client's tests (no browser download).

:func:`chromium` skips the test with a printed reason when Chromium or the playwright package
is missing, and fails it instead when ``PYSTATUS_REQUIRE_PEERS=1`` (CI).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str) -> None:
    if os.environ.get("PYSTATUS_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (PYSTATUS_REQUIRE_PEERS=1)")
    print(f"skipped: {reason}")
    pytest.skip(reason)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """One headless Chromium with a fresh profile (Playwright makes a new temporary
    user-data-dir per launch), closed on exit."""
    if not CHROMIUM.exists():  # noqa: ASYNC240 (one stat, before anything runs)
        _missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("the playwright package is not installed (make setup)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (axe is evaluated
    through the debugging protocol, which the page's CSP does not govern)."""
    if not AXE.exists():
        _missing(f"no axe-core at {AXE} (make setup installs tests/interop's npm packages)")
    await page.evaluate(AXE.read_text())
    results: dict[str, Any] = await page.evaluate("axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
